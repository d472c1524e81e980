//! Knowledge distillation: the loss against values computed independently by
//! `tests/golden/distill.py` (NumPy, float64, from Hinton et al.'s formula, not from this code),
//! its gradient against that script's finite differences, and large logits.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::{distillation_loss, Distillation};
use selfsup::nn::ops::Mat;

const S: [f32; 12] = [2.0, 0.5, -1.0, 0.1, 0.3, 1.5, 0.2, -0.4, -0.5, 0.0, 0.8, 1.2];
const T: [f32; 12] = [3.0, 1.0, -2.0, 0.0, 0.0, 2.5, 1.0, -1.0, -1.0, 0.5, 2.0, 1.0];
const Y: [usize; 3] = [0, 1, 3];

fn loss(scale: f32, temperature: f32, alpha: f32) -> f32 {
    let dev = Cpu::default();
    let s: Mat<Cpu> = dev.tensor_from_vec(S.iter().map(|v| v * scale).collect(), (3, 4));
    let t: Mat<Cpu> = dev.tensor_from_vec(T.iter().map(|v| v * scale).collect(), (3, 4));
    distillation_loss(s.leaky_trace(), t, &Y, Distillation { temperature, alpha }).as_vec()[0]
}

#[test]
fn distillation_loss_matches_numpy_reference() {
    // (T, α, loss) printed by tests/golden/distill.py; α = 0 is plain cross-entropy, α = 1 the
    // soft targets alone.
    for (temperature, alpha, expected) in [(1.0, 0.0, 0.554687424), (1.0, 1.0, 0.126640237), (4.0, 0.9, 0.258710643), (8.0, 0.5, 0.396039431)] {
        let got = loss(1.0, temperature, alpha);
        assert!((got - expected).abs() < 1e-5, "T = {temperature}, α = {alpha}: got {got}, numpy says {expected}");
    }
}

#[test]
fn large_logits_stay_finite() {
    let got = loss(100.0, 2.0, 0.5);
    assert!((got - 13.333333335).abs() / 13.333333335 < 1e-4, "logits ×100: got {got}");
}

#[test]
fn distillation_gradient_matches_numpy_finite_differences() {
    let expected = [
        -0.085797966, -0.005965169, 0.059605239, 0.032157896, 0.050612292, -0.079687278, -0.026175293, 0.055250280, 0.047698710,
        -0.006577644, -0.068916252, 0.027795187,
    ];
    let dev = Cpu::default();
    let s: Mat<Cpu> = dev.tensor_from_vec(S.to_vec(), (3, 4));
    let t: Mat<Cpu> = dev.tensor_from_vec(T.to_vec(), (3, 4));
    let grads = distillation_loss(s.leaky_trace(), t, &Y, Distillation { temperature: 4.0, alpha: 0.9 }).backward();
    for (i, (g, e)) in grads.get(&s).as_vec().iter().zip(expected).enumerate() {
        assert!((g - e).abs() < 1e-5, "dL/ds[{i}]: got {g}, numpy says {e}");
    }
}
