//! Hidden tests of the `nt_xent` exercise (graders only; never copied into `exercises/`).

use dfdx::prelude::*;
use nt_xent::*;

mod check;

/// NT-Xent in f64, straight from the formula.
fn reference(z: &[f32], d: usize, tau: f64) -> f64 {
    let rows: Vec<Vec<f64>> = z.chunks(d).map(check::normalized).collect();
    let two_n = rows.len();
    let cos = |i: usize, k: usize| rows[i].iter().zip(&rows[k]).map(|(a, b)| a * b).sum::<f64>();
    let mut total = 0.0;
    for i in 0..two_n {
        let others: Vec<f64> = (0..two_n).filter(|&k| k != i).map(|k| cos(i, k) / tau).collect();
        total += check::logsumexp(&others) - cos(i, (i + two_n / 2) % two_n) / tau;
    }
    total / two_n as f64
}

// points: 3
#[test]
fn nt_xent_matches_the_formula_on_unnormalised_embeddings() {
    let dev = Cpu::default();
    let (two_n, d) = (6, 4);
    let z: Vec<f32> = check::pseudo_random(two_n * d, 21).iter().map(|x| 2.5 * x).collect();
    let got = nt_xent(dev.tensor_from_vec(z.clone(), (two_n, d)), 0.5).array();
    check::close("NT-Xent, 3 images × 2 views, rows of norm ≠ 1, τ = 0.5", got, reference(&z, d, 0.5) as f32, 1e-4);
}

// points: 2
#[test]
fn nt_xent_with_a_small_temperature() {
    let dev = Cpu::default();
    let (two_n, d) = (8, 5);
    let z = check::pseudo_random(two_n * d, 22);
    let got = nt_xent(dev.tensor_from_vec(z.clone(), (two_n, d)), 0.05).array();
    check::close("NT-Xent, 4 images × 2 views, τ = 0.05", got, reference(&z, d, 0.05) as f32, 1e-4);
}

#[test]
fn one_image_gives_zero_loss_whatever_its_views() {
    let dev = Cpu::default();
    let z = check::pseudo_random(2 * 3, 23);
    check::close("NT-Xent with N = 1 (the only non-self entry is the positive)", nt_xent(dev.tensor_from_vec(z, (2, 3)), 0.2).array(), 0.0, 1e-5);
}

// points: 2
#[test]
fn nt_xent_gradient_matches_finite_differences() {
    let dev = Cpu::default();
    let (two_n, d, tau) = (4, 3, 0.5f32);
    let z = check::pseudo_random(two_n * d, 24);
    let zt = dev.tensor_from_vec(z.clone(), (two_n, d));
    let grads = nt_xent(zt.leaky_trace(), tau).backward();
    let got = grads.get(&zt).as_vec();
    let eps = 1e-3;
    let want: Vec<f32> = (0..z.len())
        .map(|i| {
            let (mut up, mut down) = (z.clone(), z.clone());
            up[i] += eps;
            down[i] -= eps;
            ((reference(&up, d, tau as f64) - reference(&down, d, tau as f64)) / (2.0 * eps as f64)) as f32
        })
        .collect();
    check::all_close("∂NT-Xent/∂z vs finite differences (is the loss on z's tape? z·zᵀ needs a fresh copy)", &got, &want, d, 2e-2);
}
