//! Helpers for the op tests (`tests/ops*.rs`): comparing a fast kernel with its reference, and
//! central finite differences. Included with `#[path = "common/op_check.rs"] mod op_check;`.
#![allow(dead_code)]

use dfdx::prelude::*;
use selfsup::nn::ops::Img;

/// max |fast − reference| / max(1, max |reference|) must stay below `tol`.
pub fn assert_close(what: &str, fast: &[f32], reference: &[f32], tol: f32) {
    assert_eq!(fast.len(), reference.len(), "{what}: length mismatch");
    let scale = reference.iter().map(|v| v.abs()).fold(1.0, f32::max);
    let err = fast.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max) / scale;
    assert!(err <= tol, "{what}: relative max error {err:e} > {tol:e}");
}

/// A batch of images with standard-normal entries.
pub fn sample(seed: u64, shape: (usize, usize, usize, usize)) -> Img<Cpu> {
    Cpu::seed_from_u64(seed).sample_normal_like(&shape)
}

/// Twelve coordinates spread over `0..n` (with repeats when `n` is small).
pub fn some_coords(n: usize) -> Vec<usize> {
    (0..12).map(|i| (i * 7919 + 13) % n).collect()
}

/// Central finite differences of `L = Σ f(x) ⊙ r` (fixed random `r`, seed 99) at a few
/// coordinates of `x`, summed in f64. `x` and `f(x)` may have any shapes.
pub fn finite_diff<S: Shape, O: Shape, F>(f: F, x: &Tensor<S, f32, Cpu>, coords: &[usize], eps: f32) -> Vec<f32>
where
    F: Fn(Tensor<S, f32, Cpu>) -> Tensor<O, f32, Cpu>,
{
    let base = x.as_vec();
    let shape = *x.shape();
    let loss = |v: Vec<f32>| -> f64 {
        let y = f(x.device().tensor_from_vec(v, shape));
        let r: Tensor<O, f32, Cpu> = Cpu::seed_from_u64(99).sample_normal_like(y.shape());
        y.as_vec().iter().zip(r.as_vec()).map(|(a, b)| *a as f64 * b as f64).sum()
    };
    coords
        .iter()
        .map(|&i| {
            let (mut plus, mut minus) = (base.clone(), base.clone());
            plus[i] += eps;
            minus[i] -= eps;
            ((loss(plus) - loss(minus)) / (2.0 * eps as f64)) as f32
        })
        .collect()
}
