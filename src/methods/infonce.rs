//! # InfoNCE — the contrastive loss shared by InstDisc, MoCo and MoCHi
//!
//! For a query `q`, its positive key `k⁺` and a set of negative keys `{k⁻}`, all L2-normalised
//! (van den Oord et al. 2018; Wu et al. 2018; He et al. 2020):
//!
//! ```text
//! L(q, k⁺, {k⁻}) = −log  exp(q·k⁺ / τ) / ( exp(q·k⁺ / τ) + Σ_{k⁻} exp(q·k⁻ / τ) )
//! ```
//!
//! It is a `(1 + K)`-way softmax cross-entropy whose correct class is the positive: the
//! logits are `[q·k⁺, q·k⁻₁, …, q·k⁻_K] / τ` and the target is index 0. τ sets how peaked the
//! distribution is: small τ concentrates the loss on the hardest negatives.

use crate::nn::ops::Mat;
use dfdx::prelude::*;

// ANCHOR: info_nce
/// The logits `[q·k⁺ | q·negativesᵀ] / τ`, shape `(N, 1 + K)`, for `q: (N, d)`,
/// `k_pos: (N, d)` (row `i` is the positive of query `i`) and `negatives: (K, d)` shared by
/// all queries (a memory bank sample, a queue). Keys carry no gradient.
pub fn contrastive_logits<D: Device<f32>, T: Tape<f32, D>>(q: Mat<D, T>, k_pos: Mat<D>, negatives: Mat<D>, tau: f32) -> Mat<D, T> {
    let (n, d) = *q.shape();
    assert_eq!(k_pos.shape(), &(n, d), "InfoNCE: one positive key per query expected");
    assert_eq!(negatives.shape().1, d, "InfoNCE: negatives must have the queries' dimension");
    assert!(tau > 0.0, "InfoNCE: the temperature τ must be positive");
    // BEGIN SOLUTION
    // HINT: l_pos[i] = q_i · k⁺_i is an element-wise product summed over axis 1, reshaped to (N, 1).
    // HINT: l_neg = q · negativesᵀ is (N, K); the positive must end up in column 0.
    let l_pos = (q.with_empty_tape() * k_pos).sum::<(usize,), Axis<1>>().reshape_like(&(n, 1)); // (N, 1)
    let l_neg = q.matmul(negatives.permute::<_, Axes2<1, 0>>()); // (N, K)
    (l_pos, l_neg).concat_along(Axis::<1>) / tau
    // END SOLUTION
}

/// Mean InfoNCE loss over the `N` queries (see the module docs). Stable for large logits:
/// dfdx's `logsumexp` subtracts each row's maximum first.
pub fn info_nce<D: Device<f32>, T: Tape<f32, D>>(q: Mat<D, T>, k_pos: Mat<D>, negatives: Mat<D>, tau: f32) -> Tensor<Rank0, f32, D, T> {
    let logits = contrastive_logits(q, k_pos, negatives, tau);
    info_nce_from_logits(logits)
}
// ANCHOR_END: info_nce

/// InfoNCE with per-query extra negatives (MoCHi's synthetic points): `extra: (N, S, d)`
/// holds `S` more negatives for each query, appended to its logits after the shared ones:
/// `[q·k⁺ | q·negativesᵀ | q·extra_qᵀ] / τ`, shape `(N, 1 + K + S)`. No gradient flows into
/// `extra`.
pub fn info_nce_with_extra<D: Device<f32>, T: Tape<f32, D>>(
    q: Mat<D, T>,
    k_pos: Mat<D>,
    negatives: Mat<D>,
    extra: Tensor<(usize, usize, usize), f32, D>,
    tau: f32,
) -> Tensor<Rank0, f32, D, T> {
    let (n, s, d) = *extra.shape();
    assert_eq!((n, d), *q.shape(), "InfoNCE: extra negatives must be (N, S, d) for queries (N, d)");
    // q_i · extra_iⱼ for every j, as N small products (1 × d)·(d × S) in one batched matmul.
    let l_extra = q.with_empty_tape().reshape_like(&(n, 1, d)).matmul(extra.permute::<_, Axes3<0, 2, 1>>()).reshape_like(&(n, s)) / tau;
    let logits = contrastive_logits(q, k_pos, negatives, tau);
    info_nce_from_logits((logits, l_extra).concat_along(Axis::<1>))
}

// ANCHOR: info_nce
/// Mean of `logsumexp(row) − row[0]`: the cross-entropy with the positive in column 0.
pub fn info_nce_from_logits<D: Device<f32>, T: Tape<f32, D>>(logits: Mat<D, T>) -> Tensor<Rank0, f32, D, T> {
    // BEGIN SOLUTION
    // HINT: −log softmax(row)[0] = logsumexp(row) − row[0]. A naive `exp().sum().ln()`
    // HINT: overflows f32 once a logit exceeds ~88: subtract the row maximum first (or use
    // HINT: dfdx's `logsumexp`, which does). `select` with index 0 per row picks the positive.
    let n = logits.shape().0;
    let dev = logits.device().clone();
    let positive = logits.with_empty_tape().select(dev.tensor_from_vec(vec![0usize; n], (n,)));
    (logits.logsumexp::<(usize,), Axis<1>>() - positive).mean()
    // END SOLUTION
}
// ANCHOR_END: info_nce
