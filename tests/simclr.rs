//! SimCLR's NT-Xent loss against values computed independently by `tests/golden/nt_xent.py`
//! (NumPy, float64, written from the formula, not from this code), and its gradient against
//! that script's finite differences.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::nt_xent;
use selfsup::nn::ops::Mat;

const Z: [f32; 12] = [1.0, 0.0, 0.5, 0.2, 1.0, -0.3, 0.9, 0.1, 0.4, -0.1, 0.8, -0.5];
const Z_HARD: [f32; 12] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.9, 0.1, 1.0, 0.1, 0.0];

fn z(dev: &Cpu, values: &[f32]) -> Mat<Cpu> {
    dev.tensor_from_vec(values.to_vec(), (4, 3))
}

fn loss(values: &[f32], tau: f32) -> f32 {
    let dev = Cpu::default();
    nt_xent(z(&dev, values), tau).as_vec()[0]
}

#[test]
fn nt_xent_matches_numpy_reference() {
    // (tau, loss) printed by tests/golden/nt_xent.py
    for (tau, expected) in [(1.0, 0.537714390), (0.5, 0.233726311), (0.1, 0.000229495)] {
        let got = loss(&Z, tau);
        assert!((got - expected).abs() < 1e-5, "tau={tau}: got {got}, numpy says {expected}");
    }
    for (tau, expected) in [(0.5, 2.154503579f32), (0.01, 94.470860293)] {
        let got = loss(&Z_HARD, tau);
        assert!((got - expected).abs() / expected < 1e-5, "hard case tau={tau}: got {got}, numpy says {expected}");
    }
}

#[test]
fn nt_xent_has_no_overflow_at_tiny_temperature() {
    for tau in [1e-2f32, 1e-3, 1e-4] {
        let l = loss(&Z_HARD, tau);
        assert!(l.is_finite(), "tau={tau}: loss {l}");
        // With logits of 1/τ the loss grows like (s_neg − s_pos)/τ: here ≈ 0.9447/τ.
        assert!((l * tau - 0.9447).abs() < 0.01, "tau={tau}: loss·τ = {}", l * tau);
    }
}

#[test]
fn nt_xent_gradient_matches_numpy_finite_differences() {
    let expected = [
        0.023796598, 0.133708462, -0.047593195, 0.283946006, -0.005578864, 0.170701125, 0.017021531, 0.227908306,
        -0.095275521, 0.064457365, 0.004961134, -0.004953659,
    ];
    let dev = Cpu::default();
    let zt = z(&dev, &Z);
    let g = nt_xent(zt.leaky_trace(), 0.5).backward();
    let got = g.get(&zt).as_vec();
    for (i, (a, b)) in got.iter().zip(expected.iter()).enumerate() {
        assert!((a - b).abs() < 1e-5, "dL/dz[{i}]: got {a}, numpy says {b}");
    }
}

#[test]
fn nt_xent_masks_self_similarity() {
    // If the diagonal were not masked, every anchor would see exp(1/τ) for itself and the
    // loss of perfectly aligned pairs could not drop below log 2. With the mask it goes to 0.
    let aligned = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let l = loss(&aligned, 0.05);
    assert!(l < 1e-3, "aligned views with orthogonal negatives should cost ~0, got {l}");
}

#[test]
fn nt_xent_rejects_an_odd_batch() {
    let result = std::panic::catch_unwind(|| {
        let dev = Cpu::default();
        let z: Mat<Cpu> = dev.tensor_from_vec(vec![1.0; 9], (3, 3));
        nt_xent(z, 0.5)
    });
    assert!(result.is_err());
}
