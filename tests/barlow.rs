//! Barlow Twins: the loss against values computed independently by `tests/golden/barlow.py`
//! (NumPy, float64, written from the formula, not from this code), its gradient against that
//! script's finite differences, and the loss's two limits.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::barlow_twins_loss;
use selfsup::nn::ops::Mat;

/// 4 images, 3 dimensions: the inputs of `tests/golden/barlow.py`.
const ZA: [f32; 12] = [0.5, -1.0, 0.3, 1.2, 0.4, -0.7, -0.3, 0.9, 0.8, 0.1, -0.2, 1.5];
const ZB: [f32; 12] = [0.6, -0.8, 0.1, 1.0, 0.7, -0.5, -0.5, 1.1, 0.9, 0.3, 0.0, 1.1];

fn views(dev: &Cpu, a: &[f32], b: &[f32]) -> (Mat<Cpu>, Mat<Cpu>) {
    (dev.tensor_from_vec(a.to_vec(), (4, 3)), dev.tensor_from_vec(b.to_vec(), (4, 3)))
}

#[test]
fn barlow_twins_loss_matches_numpy_reference() {
    let dev = Cpu::default();
    // (λ, loss) printed by tests/golden/barlow.py
    for (lambda, expected) in [(0.0, 0.003653563), (0.0078125, 0.015853400), (1.0, 1.565232676)] {
        let (a, b) = views(&dev, &ZA, &ZB);
        let got = barlow_twins_loss(a, b, lambda).as_vec()[0];
        assert!((got - expected).abs() < 1e-5, "λ = {lambda}: got {got}, numpy says {expected}");
    }
    // λ = 1 sums every (C − I)² entry: the C printed by the script gives the same.
    let c = [0.947685628f32, -0.165443896, -0.923264738, -0.477996048, 0.998352500, 0.137778257, -0.643928117, -0.140296699, 0.969766655];
    let by_hand: f32 = c.iter().enumerate().map(|(k, v)| if k % 4 == 0 { (1.0 - v).powi(2) } else { v * v }).sum();
    assert!((by_hand - 1.565232676).abs() < 1e-5, "{by_hand}");
}

#[test]
fn identical_views_cost_only_their_redundancy() {
    let dev = Cpu::default();
    let (a, b) = views(&dev, &ZA, &ZA);
    let got = barlow_twins_loss(a, b, 0.0).as_vec()[0];
    // NumPy: 0.000000002 (not 0: the ε added to the variance keeps C_ii just below 1).
    assert!((got - 0.000000002).abs() < 1e-5, "identical views: diag(C) = 1, the invariance term vanishes (got {got})");
}

#[test]
fn barlow_twins_gradient_matches_numpy_finite_differences() {
    let expected_a = [
        0.202710122, 0.026907305, 0.006706975, -0.041296755, -0.314017858, -0.066266100, 0.089080452, 0.190855840, 0.196758851,
        -0.250493819, 0.096254713, -0.137199727,
    ];
    let expected_b = [
        0.255166243, 0.021323181, -0.005338234, -0.048780346, -0.024077709, -0.027713362, 0.052982060, 0.030830708, 0.248298953,
        -0.259367956, -0.028076180, -0.215247357,
    ];
    let dev = Cpu::default();
    let (a, b) = views(&dev, &ZA, &ZB);
    let grads = barlow_twins_loss(a.leaky_trace(), b.leaky_trace(), 0.5).backward();
    for (name, got, expected) in [("z_a", grads.get(&a).as_vec(), &expected_a[..]), ("z_b", grads.get(&b).as_vec(), &expected_b[..])] {
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            assert!((g - e).abs() < 1e-4, "dL/d{name}[{i}]: got {g}, numpy says {e}");
        }
    }
}

#[test]
fn a_constant_dimension_gives_a_finite_loss_and_gradient() {
    // Dimension 1 of view A is the same for every image: its variance is 0, and the ε in the
    // standardisation must keep it from dividing by zero. Its standardised values are all 0,
    // so C_11 = 0.
    let dev = Cpu::default();
    let mut a = ZA;
    (0..4).for_each(|b| a[b * 3 + 1] = 0.7);
    let (za, zb) = views(&dev, &a, &ZB);
    let loss = barlow_twins_loss(za.leaky_trace(), zb.leaky_trace(), 0.5);
    let value = loss.as_vec()[0];
    let grads = loss.backward();
    assert!(value.is_finite(), "loss {value}");
    assert!(grads.get(&za).as_vec().iter().chain(grads.get(&zb).as_vec().iter()).all(|g| g.is_finite()), "a non-finite gradient");
    // C_11 = 0 exactly: the invariance term of dimension 1 is 1 (λ = 0 leaves only that term).
    let (za, zb) = views(&dev, &a, &ZB);
    let invariance = barlow_twins_loss(za, zb, 0.0).as_vec()[0];
    assert!(invariance >= 1.0 - 1e-5, "dimension 1 alone costs (1 − 0)² = 1, got {invariance}");
}

#[test]
fn cross_correlation_is_the_matrix_the_loss_compares_with_the_identity() {
    // The C printed by tests/golden/barlow.py for the same two views.
    let expected = [0.947685628f32, -0.165443896, -0.923264738, -0.477996048, 0.998352500, 0.137778257, -0.643928117, -0.140296699, 0.969766655];
    let c = selfsup::methods::barlow::cross_correlation(&ZA, &ZB, 4, 3);
    for (k, (got, want)) in c.iter().zip(expected).enumerate() {
        assert!((got - want).abs() < 1e-6, "C[{}][{}]: got {got}, numpy says {want}", k / 3, k % 3);
    }
    // Σ(1 − C_ii)² + λ Σ_{i≠j} C_ij² from it is the loss.
    let dev = Cpu::default();
    for lambda in [0.0f32, 0.0078125, 1.0] {
        let from_c: f32 = c.iter().enumerate().map(|(k, v)| if k % 4 == 0 { (1.0 - v).powi(2) } else { lambda * v * v }).sum();
        let (a, b) = views(&dev, &ZA, &ZB);
        let loss = barlow_twins_loss(a, b, lambda).as_vec()[0];
        assert!((from_c - loss).abs() < 1e-5, "λ = {lambda}: from C {from_c}, loss {loss}");
    }
}
