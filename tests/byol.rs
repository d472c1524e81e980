//! BYOL: the loss and the target's cosine rate against values computed independently by
//! `tests/golden/byol.py` (NumPy, float64, from the paper's formulas, not from this code), the
//! loss's gradient against that script's finite differences. The target network itself is
//! tested under a real optimizer in `tests/target.rs`.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::byol::{byol_loss, cosine_tau};
use selfsup::nn::ops::Mat;

const P: [f32; 9] = [0.5, -1.0, 0.3, 1.2, 0.4, -0.7, -0.3, 0.9, 0.8];
const Z: [f32; 9] = [0.6, -0.8, 0.1, -1.0, 0.7, -0.5, -0.5, 1.1, 0.9];

#[test]
fn byol_loss_matches_numpy_reference() {
    let dev = Cpu::default();
    let p: Mat<Cpu> = dev.tensor_from_vec(P.to_vec(), (3, 3));
    let got = byol_loss(p.clone(), dev.tensor_from_vec(Z.to_vec(), (3, 3))).as_vec()[0];
    assert!((got - 0.888510103).abs() < 1e-5, "got {got}");
    // Opposite directions cost the maximum, 4; the same direction (any length) costs 0.
    let opposite = byol_loss(p.clone(), dev.tensor_from_vec(P.iter().map(|v| -v).collect(), (3, 3))).as_vec()[0];
    assert!((opposite - 4.000000000).abs() < 1e-5, "got {opposite}");
    let same = byol_loss(p, dev.tensor_from_vec(P.iter().map(|v| 3.0 * v).collect(), (3, 3))).as_vec()[0];
    assert!(same.abs() < 1e-5, "got {same}");
}

#[test]
fn byol_gradient_matches_numpy_finite_differences() {
    let expected = [-0.102208910, -0.024803836, 0.087668730, 0.235179795, -0.282851376, 0.241536006, 0.049085203, -0.004630679, 0.023616466];
    let dev = Cpu::default();
    let p: Mat<Cpu> = dev.tensor_from_vec(P.to_vec(), (3, 3));
    let grads = byol_loss(p.leaky_trace(), dev.tensor_from_vec(Z.to_vec(), (3, 3))).backward();
    for (i, (g, e)) in grads.get(&p).as_vec().iter().zip(expected).enumerate() {
        assert!((g - e).abs() < 1e-5, "dL/dp[{i}]: got {g}, numpy says {e}");
    }
}

#[test]
fn the_targets_rate_rises_from_tau_base_to_one_on_a_cosine() {
    for (progress, expected) in [(0.0, 0.990000000), (0.25, 0.991464466), (0.5, 0.995000000), (1.0, 1.000000000)] {
        let got = cosine_tau(0.99, progress);
        assert!((got - expected).abs() < 1e-9, "τ at {progress}: got {got}, numpy says {expected}");
    }
}
