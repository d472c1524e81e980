//! Hidden tests of the `byol` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part2.py` (NumPy, float64, written
//! from the paper's formulas) or worked out by hand in the comments; `reference` below is the
//! loss in f64 for the other inputs.

#![allow(clippy::excessive_precision)]

use byol::*;
use dfdx::prelude::*;

mod check;

/// 4 rows of 3 values, of different lengths: the inputs of `tests/golden/exercises_part2.py`.
const P: [f32; 12] = [2.0, -1.0, 0.5, 0.3, 0.4, -1.2, -1.5, 2.5, 1.0, 0.1, -0.2, 0.05];
const Z: [f32; 12] = [1.0, 0.5, 0.5, -0.6, 0.9, -0.3, -2.0, 1.0, 3.0, 0.4, -0.1, 0.2];

fn loss(p: &[f32], z: &[f32], d: usize) -> f32 {
    let dev = Cpu::default();
    let n = p.len() / d;
    byol_loss(dev.tensor_from_vec(p.to_vec(), (n, d)).leaky_trace(), dev.tensor_from_vec(z.to_vec(), (n, d))).array()
}

/// mean_b (2 − 2 cos(p_b, z_b)) in f64.
fn reference(p: &[f32], z: &[f32], d: usize) -> f64 {
    let rows: Vec<f64> = p.chunks(d).zip(z.chunks(d)).map(|(a, b)| 2.0 - 2.0 * check::dot(a, b) / (check::dot(a, a) * check::dot(b, b)).sqrt()).collect();
    rows.iter().sum::<f64>() / rows.len() as f64
}

// points: 2
#[test]
fn byol_loss_matches_numpy_on_rows_of_different_lengths() {
    // NumPy: 0.801313134.
    check::close("BYOL loss, 4 rows of different lengths", loss(&P, &Z, 3), 0.801313134, 1e-4);
    let (p, z) = (check::pseudo_random(6 * 5, 51), check::pseudo_random(6 * 5, 52));
    let p: Vec<f32> = p.iter().map(|v| 7.0 * v).collect();
    check::close("BYOL loss, 6 rows × 5 values", loss(&p, &z, 5), reference(&p, &z, 5) as f32, 1e-4);
}

// points: 2
#[test]
fn the_loss_ranges_from_zero_to_four() {
    // By hand: the same direction (any length) costs 0, orthogonal rows 2, opposite rows 4.
    let same: Vec<f32> = P.iter().map(|v| 5.0 * v).collect();
    check::close("ℓ(p, 5p) (same direction: 0)", loss(&P, &same, 3), 0.0, 1e-5);
    check::close("ℓ for orthogonal rows (2)", loss(&[3.0, 0.0, 0.0, 0.0, -2.0, 0.0], &[0.0, 4.0, 0.0, 0.0, 0.0, 0.5], 3), 2.0, 1e-5);
    let opposite: Vec<f32> = P.iter().map(|v| -0.1 * v).collect();
    check::close("ℓ(p, −0.1p) (opposite directions: 4 = 2 − 2·(−1))", loss(&P, &opposite, 3), 4.0, 1e-5);
}

#[test]
fn the_loss_is_a_mean_over_the_batch() {
    // The same 4 rows twice: the mean is unchanged (a sum would double).
    let (p2, z2) = ([P, P].concat(), [Z, Z].concat());
    check::close("BYOL loss of the batch repeated twice (a mean over rows)", loss(&p2, &z2, 3), 0.801313134, 1e-4);
}

// points: 2
#[test]
fn the_gradient_reaches_the_prediction_with_the_target_held_constant() {
    // ∂/∂p_b of (2 − 2 p̂_b·ẑ_b)/N = −(2/N) (ẑ_b − (p̂_b·ẑ_b) p̂_b) / ‖p_b‖ (z constant: the
    // stop-gradient), tangent to p_b.
    let dev = Cpu::default();
    let (n, d) = (4, 3);
    let p = dev.tensor_from_vec(P.to_vec(), (n, d));
    let grads = byol_loss(p.leaky_trace(), dev.tensor_from_vec(Z.to_vec(), (n, d))).backward();
    let mut want = Vec::new();
    for (pb, zb) in P.chunks(d).zip(Z.chunks(d)) {
        let (ph, zh, norm) = (check::normalized(pb), check::normalized(zb), check::dot(pb, pb).sqrt());
        let cos: f64 = ph.iter().zip(&zh).map(|(a, b)| a * b).sum();
        want.extend(ph.iter().zip(&zh).map(|(a, b)| (-(2.0 / n as f64) * (b - cos * a) / norm) as f32));
    }
    check::all_close("∂L/∂p with z constant", &grads.get(&p).as_vec(), &want, d, 1e-4);
}

// points: 2
#[test]
fn cosine_tau_at_the_start_halfway_and_at_the_end() {
    // By hand: τ_base, (1 + τ_base)/2, 1.
    for base in [0.99, 0.996, 0.5] {
        for (progress, want) in [(0.0, base), (0.5, (1.0 + base) / 2.0), (1.0, 1.0)] {
            let got = cosine_tau(base, progress);
            assert!((got - want).abs() < 1e-12, "\ncosine_tau({base}, {progress})\n  expected: {want}\n       got: {got}\n");
        }
    }
}

// points: 2
#[test]
fn cosine_tau_follows_a_cosine_in_between() {
    // NumPy: a quarter and three quarters of the way, and early in training with τ_base = 0.9.
    // (By hand: 1 − 0.01 · (1 ± √2/2)/2 for the first two.) A linear ramp gives 0.9925 and 0.9975.
    for (base, progress, want) in [(0.99, 0.25, 0.991464466094), (0.99, 0.75, 0.998535533906), (0.9, 0.1, 0.902447174185)] {
        let got = cosine_tau(base, progress);
        assert!((got - want).abs() < 1e-10, "\ncosine_tau({base}, {progress})\n  expected: {want}\n       got: {got}\n");
    }
}
