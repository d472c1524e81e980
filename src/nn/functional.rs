//! Small differentiable functions shared by the methods' losses.

use crate::nn::ops::Mat;
use dfdx::prelude::*;

// ANCHOR: info_nce
/// Row-wise L2 normalisation: `z_i / sqrt(‖z_i‖² + ε)` with ε = 1e-12, so every row lies on
/// the unit sphere (dot products become cosine similarities) and a zero row stays finite.
pub fn l2_normalize<D: Device<f32>, T: Tape<f32, D>>(z: Mat<D, T>) -> Mat<D, T> {
    // BEGIN SOLUTION
    // HINT: ‖z_i‖ is a sum over axis 1; `retaped` reuses z in two places on one tape.
    // HINT: broadcast the (N,) norms back to (N, D) along axis 1 before dividing.
    let shape = *z.shape();
    let norm = (z.retaped::<T>().square().sum::<(usize,), Axis<1>>() + 1e-12f32).sqrt();
    z / norm.broadcast_like::<_, Axis<1>>(&shape)
    // END SOLUTION
}

/// `a · bᵀ` for two `(N, D)` and `(M, D)` batches: the `(N, M)` matrix of dot products.
///
/// When `a` and `b` are the same tensor, pass a copy as `b`: dfdx identifies tensors by id
/// and a product of a tensor with itself would mix up its gradients (see [`fresh_copy`]).
pub fn dot_matrix<D: Device<f32>, T: Tape<f32, D>>(a: Mat<D, T>, b: Mat<D, T>) -> Mat<D, T> {
    // BEGIN SOLUTION
    // HINT: a (N, D) times bᵀ (D, M); `permute::<_, Axes2<1, 0>>()` transposes.
    a.matmul(b.permute::<_, Axes2<1, 0>>())
    // END SOLUTION
}
// ANCHOR_END: info_nce

/// The same values under a new tensor id, on an empty tape that merges back into `z`'s when
/// the two meet in an op (gradients flow back to `z`). Keep using `z` itself afterwards:
/// its tape holds the history of everything before it.
pub fn fresh_copy<D: Device<f32>, T: Tape<f32, D>>(z: &Mat<D, T>) -> Mat<D, T> {
    z.with_empty_tape() * 1.0f32
}

