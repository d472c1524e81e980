//! # SwAV — swapping assignments between views (Caron et al., NeurIPS 2020)
//!
//! *Unsupervised Learning of Visual Features by Contrasting Cluster Assignments.* DeepCluster
//! clusters the whole dataset offline and trains on the clusters; SwAV clusters **online**,
//! batch by batch, against `K` learnable **prototypes** `c_1 … c_K`, and makes each view
//! predict the cluster assignment (the **code**) of another view of the same image:
//!
//! ```text
//! z_{v,b} = g(f(x_{v,b})) / ‖·‖           projection of view v of image b, unit length
//! c_k     = c_k / ‖c_k‖                    prototypes, unit length
//! s_{v,b,k} = z_{v,b} · c_k                scores: a B × K matrix per view
//! q_v = Sinkhorn(s_v)                      codes of the assignment views (no gradient)
//! p_{v,b} = softmax(s_{v,b} / τ)           predictions, τ = 0.1
//! ℓ(q, p) = − Σ_k q_k log p_k
//! L = 1 / (n_q (V − 1)) · Σ_{i < n_q} Σ_{v ≠ i} mean_b ℓ(q_{i,b}, p_{v,b})
//! ```
//!
//! With two views, `L = ½ (ℓ(q_1, p_2) + ℓ(q_2, p_1))`: the paper's "swapped" prediction,
//! averaged over the pairs as the reference code does (facebookresearch/swav; solo-learn and
//! lightly agree; the paper writes the sum of the two terms). With multi-crop ([`crate::augment::MultiCrop`]) the codes come only
//! from the `n_q = 2` global views, and every other view, local crops included, predicts them.
//!
//! **The codes (the paper's online clustering).** Taking `q = argmax` would let every image pick the same
//! prototype (collapse). SwAV asks instead that the `K` prototypes share the batch equally:
//! with `Q` the `K × B` matrix of codes, it maximises `Tr(Qᵀ Cᵀ Z) + ε H(Q)` over
//! `{Q ≥ 0 : Q 1_B = 1_K / K, Qᵀ 1_K = 1_B / B}`. The solution is
//! `Q* = Diag(u) exp(CᵀZ / ε) Diag(v)`, whose scalings `u, v` the **Sinkhorn-Knopp** algorithm
//! finds by alternately normalising the rows and the columns (Cuturi, *Sinkhorn Distances:
//! Lightspeed Computation of Optimal Transport*, NeurIPS 2013): [`sinkhorn`], three iterations
//! with `ε = 0.05`. The codes are targets: they carry no gradient (only the predictions do).
//!
//! **Where this lives.** Sinkhorn is here rather than in a shared `nn/sinkhorn.rs` because no
//! other method of the course uses it: DINO replaces it by centring and sharpening the
//! teacher's output (an EMA of the mean logits, subtracted before a low-temperature softmax),
//! which has no iterative normalisation to share. DINO's loss does have the same form as
//! [`swav_loss`] (targets of the global views against the predictions of all other views); if
//! it comes to share it, [`swav_loss`] moves to `nn/functional.rs`.
//!
//! The method itself (projector, prototypes and their freezing, the queue) is built on these
//! pieces, with the tricks it needs against collapse on small data (frozen prototypes at first,
//! a queue of past batches, a smaller ε: the swav repository's README).

use crate::error::{Error, Result};
use crate::nn::functional::{dot_matrix, l2_normalize};
use crate::nn::ops::Mat;
use dfdx::prelude::*;

/// SwAV's `ε`: the weight of the entropy term in the codes (smaller = sharper codes).
pub const DEFAULT_EPSILON: f32 = 0.05;
/// Sinkhorn-Knopp iterations per batch in SwAV.
pub const DEFAULT_SINKHORN_ITERATIONS: usize = 3;
/// SwAV's temperature `τ` of the predictions `softmax(s / τ)`.
pub const DEFAULT_TAU: f32 = 0.1;

/// Settings of [`sinkhorn`]: `ε` and the number of iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SinkhornConfig {
    pub epsilon: f32,
    pub iterations: usize,
}

impl Default for SinkhornConfig {
    /// SwAV's `ε = 0.05` and 3 iterations, as in facebookresearch/swav, solo-learn and lightly.
    fn default() -> Self {
        Self { epsilon: DEFAULT_EPSILON, iterations: DEFAULT_SINKHORN_ITERATIONS }
    }
}

impl SinkhornConfig {
    /// Errors unless `ε` is positive and finite and there is at least one iteration.
    pub fn validate(&self) -> Result<()> {
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(Error::config(format!("sinkhorn: epsilon must be positive and finite, got {}", self.epsilon)));
        }
        if self.iterations == 0 {
            return Err(Error::config("sinkhorn: needs at least one iteration"));
        }
        Ok(())
    }
}

// ANCHOR: sinkhorn_knopp
/// SwAV's codes by Sinkhorn-Knopp: from `scores`, a row-major `batch × prototypes` matrix
/// (row `b` holds sample `b`'s scores against the `K` prototypes, as `z · Cᵀ` comes out of
/// the network), returns the codes in the same `B × K` layout. The paper's `Q` is the
/// transpose, `K × B`.
///
/// ```text
/// Q ∝ exp(scores / ε)
/// repeat `iterations` times:
///     every prototype (column here, row of the paper's Q) is scaled to total 1/K
///     every sample    (row here, column of the paper's Q) is scaled to total 1/B
/// codes = B · Q
/// ```
///
/// After the last step each sample's code sums to 1 (up to rounding): a distribution over the
/// prototypes. Each prototype's total is then close to `B / K`, exactly so only once the
/// iterations have converged (three are enough for training; the batch shares the prototypes
/// roughly equally). The reference code first divides `Q` by its sum; the first prototype
/// scaling makes that a no-op, so it is left out.
///
/// **Stability.** The scalings are applied to `log Q` (starting from `scores / ε`), and every
/// normalising sum is a log-sum-exp that subtracts its maximum before exponentiating, all in
/// `f64`. So large scores or a tiny `ε` neither overflow nor turn a row into zeros (and NaN):
/// the codes only get sharper.
///
/// With SwAV's queue (small batches), stack the queue's scores under the batch's, run this on
/// all the rows, and keep the batch's rows.
///
/// Errors ([`Error::Config`]) on a bad `ε`, zero iterations, an empty batch, no prototype, or
/// `scores` not `batch × prototypes` long. Non-finite scores give non-finite codes, so a
/// diverged network shows up as a NaN loss that the training loop reports.
pub fn sinkhorn(scores: &[f32], batch: usize, prototypes: usize, cfg: &SinkhornConfig) -> Result<Vec<f32>> {
    cfg.validate()?;
    if batch == 0 || prototypes == 0 || scores.len() != batch * prototypes {
        return Err(Error::config(format!(
            "sinkhorn: {} scores for a batch of {batch} and {prototypes} prototypes; expected a non-empty batch × prototypes matrix",
            scores.len()
        )));
    }
    // BEGIN SOLUTION
    // HINT: work with log Q in f64: start from scores / ε (entry [sample * K + prototype]).
    // HINT: scaling a set of entries so their total is t means subtracting log Σ exp(entries) − log t from their logs; `log_sum_exp` computes log Σ exp stably.
    // HINT: each iteration: every prototype's column to total 1/K, then every sample's row to total 1/B (in that order).
    // HINT: at the end return B · exp(log Q) as f32, so each sample's code sums to 1.
    let (b, k) = (batch, prototypes);
    let epsilon = cfg.epsilon as f64;
    let mut log_q: Vec<f64> = scores.iter().map(|&s| s as f64 / epsilon).collect();
    for _ in 0..cfg.iterations {
        for prototype in 0..k {
            let total = log_sum_exp((0..b).map(|sample| log_q[sample * k + prototype]));
            let shift = total + (k as f64).ln();
            (0..b).for_each(|sample| log_q[sample * k + prototype] -= shift);
        }
        for code in log_q.chunks_exact_mut(k) {
            let shift = log_sum_exp(code.iter().copied()) + (b as f64).ln();
            code.iter_mut().for_each(|l| *l -= shift);
        }
    }
    Ok(log_q.iter().map(|&l| (l.exp() * b as f64) as f32).collect())
    // END SOLUTION
}
// ANCHOR_END: sinkhorn_knopp

/// [`sinkhorn`] of a `(B, K)` tensor of scores: the codes as a new `(B, K)` tensor on the same
/// device, off the tape (the scores' tape, if any, is left untouched: no gradient can reach
/// the codes).
pub fn sinkhorn_codes<D: Device<f32>, T: Tape<f32, D>>(scores: &Mat<D, T>, cfg: &SinkhornConfig) -> Result<Mat<D>> {
    let (b, k) = *scores.shape();
    let codes = sinkhorn(&scores.as_vec(), b, k, cfg)?;
    Ok(scores.device().tensor_from_vec(codes, (b, k)))
}

// ANCHOR: sinkhorn_knopp
/// `log Σ_i exp(x_i)`, computed as `m + log Σ_i exp(x_i − m)` with `m = max_i x_i`, so no
/// term overflows and the largest is exactly 1. A NaN anywhere gives NaN.
pub fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max.is_infinite() {
        return max;
    }
    max + values.map(|x| (x - max).exp()).sum::<f64>().ln()
}
// ANCHOR_END: sinkhorn_knopp

/// The scores `s = (z / ‖z‖) · (C / ‖C‖)ᵀ`: cosine similarities between the `(N, d)`
/// projections `z` and the `(K, d)` prototypes `C`, an `(N, K)` matrix. Both are normalised on
/// the tape, so the gradient reaches the projections and the prototypes (the reference code
/// instead re-normalises the prototypes in place before each step; the values are the same).
pub fn prototype_scores<D: Device<f32>, T: Tape<f32, D>>(z: Mat<D, T>, prototypes: Mat<D, T>) -> Mat<D, T> {
    assert_eq!(z.shape().1, prototypes.shape().1, "prototype_scores: projections and prototypes differ in dimension");
    dot_matrix(l2_normalize(z), l2_normalize(prototypes))
}

// ANCHOR: swav_loss
/// SwAV's swapped-prediction loss (see the module docs):
/// `L = 1 / (n_q (V − 1)) · Σ_{i < n_q} Σ_{v ≠ i} mean_b [ − Σ_k q_{i,b,k} log softmax(s_{v,b} / τ)_k ]`.
///
/// * `scores` — the scores `s_v` of all `V` views, in view order, on the tape. Each tensor
///   holds one or more whole views stacked (rows `u·B .. (u + 1)·B` are one view), so one
///   forward pass per crop size fits: `[global (2B, K), local (N·B, K)]`, or one `(B, K)`
///   tensor per view.
/// * `codes` — the codes `q_i` of the first `n_q = codes.len()` views (the assignment views:
///   SwAV's two global crops), each `(B, K)` with rows summing to 1, from [`sinkhorn_codes`].
///   Constants: no gradient flows through them.
/// * `tau` — the temperature of the predictions ([`DEFAULT_TAU`]).
///
/// Each view's log-softmax is computed once: `Σ_i Σ_{v ≠ i} ⟨q_i, log p_v⟩` is
/// `Σ_v ⟨Σ_{i ≠ v} q_i, log p_v⟩`, so view `v` is compared with the sum of the other views'
/// codes. dfdx's log-softmax subtracts the row maximum, so large scores / small `τ` are safe.
///
/// Panics unless there are at least two views, at most one code per view, every code is
/// `(B, K)`, every score tensor has `K` columns and a whole number of views, and `τ > 0`.
pub fn swav_loss<D: Device<f32>, T: Tape<f32, D>>(scores: Vec<Mat<D, T>>, codes: &[Mat<D>], tau: f32) -> Tensor<Rank0, f32, D, T> {
    assert!(tau > 0.0, "swav_loss: the temperature τ must be positive");
    assert!(!codes.is_empty(), "swav_loss: needs the codes of at least one view");
    let (b, k) = *codes[0].shape();
    assert!(codes.iter().all(|q| q.shape() == &(b, k)), "swav_loss: every code must be (B, K) = ({b}, {k})");
    let views_per_tensor: Vec<usize> = scores
        .iter()
        .map(|s| {
            let (rows, cols) = *s.shape();
            assert!(cols == k && rows > 0 && rows % b == 0, "swav_loss: scores of shape ({rows}, {cols}) are not whole views of ({b}, {k})");
            rows / b
        })
        .collect();
    let n_views: usize = views_per_tensor.iter().sum();
    assert!(n_views >= 2 && codes.len() <= n_views, "swav_loss: {} codes for {n_views} views; needs two views or more, at most one code each", codes.len());
    let n_pairs = codes.len() * (n_views - 1);
    // BEGIN SOLUTION
    // HINT: the codes as plain vectors: `codes.iter().map(|q| q.as_vec())`; `swapped_targets(&those, first_view, n)` gives the targets Σ_{i ≠ v} q_i of views first_view .. first_view + n, stacked like the scores.
    // HINT: each score tensor holds `views_per_tensor[t]` whole views: keep a count of the views seen so far.
    // HINT: the predictions are `log_softmax` of s / τ over axis 1 (the prototypes); multiply by the targets and sum.
    // HINT: the loss is minus the total, divided by B times the number of (code, other view) pairs.
    let dev = codes[0].device().clone();
    let codes: Vec<Vec<f32>> = codes.iter().map(|q| q.as_vec()).collect();

    let mut total = None;
    let mut first_view = 0;
    for (s, n) in scores.into_iter().zip(views_per_tensor) {
        let targets = dev.tensor_from_vec(swapped_targets(&codes, first_view, n), (n * b, k));
        let log_p = (s / tau).log_softmax::<Axis<1>>();
        let term = (log_p * targets).sum::<Rank0, _>();
        total = Some(match total {
            None => term,
            Some(sum) => sum + term,
        });
        first_view += n;
    }
    total.expect("at least two views") * (-1.0 / (b * n_pairs) as f32)
    // END SOLUTION
}

/// The targets of views `first .. first + n`, stacked: for view `v`, `Σ_{i ≠ v} q_i` over the
/// codes (zero for a view whose own code is the only one).
pub fn swapped_targets(codes: &[Vec<f32>], first: usize, n: usize) -> Vec<f32> {
    // BEGIN SOLUTION
    // HINT: `codes[i]` is view i's (B, K) code, flattened; view v's target block is the sum of every code except its own (i ≠ v).
    // HINT: a view without a code of its own (a local crop, v ≥ codes.len()) sums all the codes.
    let block = codes[0].len();
    let mut targets = vec![0.0f32; n * block];
    for (u, target) in targets.chunks_exact_mut(block).enumerate() {
        for (_, q) in codes.iter().enumerate().filter(|&(i, _)| i != first + u) {
            target.iter_mut().zip(q).for_each(|(t, &v)| *t += v);
        }
    }
    targets
    // END SOLUTION
}
// ANCHOR_END: swav_loss
