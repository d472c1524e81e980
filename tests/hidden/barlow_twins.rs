//! Hidden tests of the `barlow_twins` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part2.py` (NumPy, float64, written
//! from the formula); `reference` below is the same formula in f64 for the other inputs.

#![allow(clippy::excessive_precision)]

use barlow_twins::*;
use dfdx::prelude::*;

mod check;

/// 5 images, 3 dimensions (N ≠ D): the inputs of `tests/golden/exercises_part2.py`.
const ZA: [f32; 15] = [0.9, -0.2, 1.4, 0.1, 0.8, -0.6, -1.1, 0.5, 0.3, 0.4, -1.3, 0.7, 1.6, 0.2, -0.9];
const ZB: [f32; 15] = [1.2, 0.1, 0.9, -0.3, 0.6, -0.2, -0.8, 1.0, 0.8, 0.5, -0.9, 0.1, 1.1, -0.4, -1.3];

fn mat(dev: &Cpu, values: &[f32], n: usize, d: usize) -> Tensor<(usize, usize), f32, Cpu> {
    dev.tensor_from_vec(values.to_vec(), (n, d))
}

/// Each column standardised over the rows: (z − mean) / sqrt(var + 10⁻⁵), biased variance.
fn standardise(z: &[f32], n: usize, d: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * d];
    for j in 0..d {
        let column: Vec<f64> = (0..n).map(|b| z[b * d + j] as f64).collect();
        let mean = column.iter().sum::<f64>() / n as f64;
        let var = column.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        (0..n).for_each(|b| out[b * d + j] = (column[b] - mean) / (var + 1e-5).sqrt());
    }
    out
}

/// The Barlow Twins loss in f64, straight from the formula.
fn reference(za: &[f32], zb: &[f32], n: usize, d: usize, lambda: f64) -> f64 {
    let (a, b) = (standardise(za, n, d), standardise(zb, n, d));
    let mut loss = 0.0;
    for i in 0..d {
        for j in 0..d {
            let c = (0..n).map(|r| a[r * d + i] * b[r * d + j]).sum::<f64>() / n as f64;
            loss += if i == j { (1.0 - c) * (1.0 - c) } else { lambda * c * c };
        }
    }
    loss
}

// points: 3
#[test]
fn barlow_twins_matches_numpy_with_n_different_from_d() {
    let dev = Cpu::default();
    // NumPy (tests/golden/exercises_part2.py): λ = 0 → 0.062163789, λ = 0.25 → 0.348157636.
    for (lambda, want) in [(0.0f32, 0.062163789f32), (0.25, 0.348157636)] {
        let got = barlow_twins_loss(mat(&dev, &ZA, 5, 3), mat(&dev, &ZB, 5, 3), lambda).array();
        check::close(&format!("Barlow Twins loss, 5 images × 3 dimensions, λ = {lambda} (C must be D × D = 3 × 3)"), got, want, 1e-4);
    }
}

// points: 2
#[test]
fn barlow_twins_matches_the_formula_on_random_views() {
    let dev = Cpu::default();
    let (n, d, lambda) = (8, 5, 0.05);
    // View B on another scale and offset than view A: only standardised values count.
    let za = check::pseudo_random(n * d, 31);
    let zb: Vec<f32> = check::pseudo_random(n * d, 32).iter().zip(&za).map(|(r, a)| 4.0 * (a + 0.5 * r) - 2.0).collect();
    let got = barlow_twins_loss(mat(&dev, &za, n, d), mat(&dev, &zb, n, d), lambda as f32).array();
    check::close("Barlow Twins loss, 8 images × 5 dimensions, λ = 0.05", got, reference(&za, &zb, n, d, lambda) as f32, 1e-4);
}

// points: 2
#[test]
fn each_view_is_standardised_on_its_own_statistics() {
    // View B is view A with every dimension rescaled and shifted (b_j = s_j a_j + o_j, s_j > 0):
    // standardised per view, both are the same, so every C_ii is 1 (up to ε) and, with λ = 0,
    // the loss is 0 (by hand). Standardising the two views together, or not at all, gives C_ii ≠ 1.
    let dev = Cpu::default();
    let (scale, offset) = ([3.0f32, 0.5, 10.0], [5.0f32, -2.0, 1.0]);
    let zb: Vec<f32> = ZA.iter().enumerate().map(|(k, a)| scale[k % 3] * a + offset[k % 3]).collect();
    let got = barlow_twins_loss(mat(&dev, &ZA, 5, 3), mat(&dev, &zb, 5, 3), 0.0).array();
    check::close("invariance term Σ(1 − C_ii)² when view B = s·A + o per dimension (each view standardised on its own)", got, 0.0, 1e-4);
    // With λ = 1 the rest is the squared correlations between different dimensions of A.
    let got = barlow_twins_loss(mat(&dev, &ZA, 5, 3), mat(&dev, &zb, 5, 3), 1.0).array();
    check::close("loss with λ = 1 when view B = s·A + o per dimension", got, reference(&ZA, &zb, 5, 3, 1.0) as f32, 1e-4);
}

// points: 2
#[test]
fn a_constant_dimension_gives_no_nan() {
    // Dimension 1 of view A is 0.5 for every image: its variance is 0. With ε inside the square
    // root its standardised values are 0/sqrt(ε) = 0, so C_11 = 0 and that dimension alone
    // costs (1 − 0)² = 1. NumPy: λ = 0 → 1.032353848, λ = 0.25 → 1.262276482.
    let dev = Cpu::default();
    let mut za = ZA;
    (0..5).for_each(|b| za[b * 3 + 1] = 0.5);
    for (lambda, want) in [(0.0f32, 1.032353848f32), (0.25, 1.262276482)] {
        let got = barlow_twins_loss(mat(&dev, &za, 5, 3), mat(&dev, &ZB, 5, 3), lambda).array();
        check::close(&format!("loss with a constant dimension in view A, λ = {lambda} (is ε inside the square root?)"), got, want, 1e-4);
    }
    let (a, b) = (mat(&dev, &za, 5, 3), mat(&dev, &ZB, 5, 3));
    let grads = barlow_twins_loss(a.leaky_trace(), b.leaky_trace(), 0.25).backward();
    let all: Vec<f32> = grads.get(&a).as_vec().into_iter().chain(grads.get(&b).as_vec()).collect();
    assert!(all.iter().all(|g| g.is_finite()), "a constant dimension must give a finite gradient, got {all:?}");
}

// points: 2
#[test]
fn barlow_twins_gradient_matches_finite_differences() {
    let dev = Cpu::default();
    let (n, d, lambda) = (6, 4, 0.3);
    let (za, zb) = (check::pseudo_random(n * d, 33), check::pseudo_random(n * d, 34));
    let (a, b) = (mat(&dev, &za, n, d), mat(&dev, &zb, n, d));
    let grads = barlow_twins_loss(a.leaky_trace(), b.leaky_trace(), lambda as f32).backward();
    let eps = 1e-3;
    let finite_difference = |view: usize, i: usize| {
        let (mut up, mut down) = ([za.clone(), zb.clone()], [za.clone(), zb.clone()]);
        up[view][i] += eps;
        down[view][i] -= eps;
        ((reference(&up[0], &up[1], n, d, lambda) - reference(&down[0], &down[1], n, d, lambda)) / (2.0 * eps as f64)) as f32
    };
    for (view, name, tensor) in [(0, "z_a", &a), (1, "z_b", &b)] {
        let want: Vec<f32> = (0..n * d).map(|i| finite_difference(view, i)).collect();
        check::all_close(&format!("∂L/∂{name} vs finite differences (both views on the tape?)"), &grads.get(tensor).as_vec(), &want, d, 2e-2);
    }
}
