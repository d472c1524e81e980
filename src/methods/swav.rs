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
//! [`swav_loss`] (targets of the global views against the predictions of all other views), and
//! [`crate::methods::dino`] calls it with the teacher's distributions as the codes.
//!
//! ## The method (`--method swav`)
//!
//! One training step, in the lecture's notation (`f` encoder, `g` projection head, `C` the
//! `K × d` matrix of prototypes with unit rows `c_k`, `B` images per batch):
//!
//! ```text
//! views     2 global crops (32 px) + N local crops (16 px) of every image: multi-crop
//! z_v       = g(f(x_v)) / ‖·‖                      one forward pass per crop size
//! s_v       = z_v Cᵀ        (B × K)                scores z·c_k, cosine similarities
//! q_i       = Sinkhorn_ε(s_i),  i ∈ {global 1, 2}  codes, computed without gradient; with the
//!                                                  queue, its scores are stacked on top first
//! p_v       = softmax(s_v / τ)                     predictions of every crop
//! L         = mean over pairs (i, v ≠ i) of  − mean_b Σ_k q_{i,b,k} log p_{v,b,k}
//! θ, C      ← optimizer step on L                  C stays fixed for the first steps
//! c_k       ← c_k / ‖c_k‖                          after every step that moved C
//! ```
//!
//! The swap: a global crop never predicts its own code, every other crop (local ones
//! included) predicts it. The gradient reaches `f`, `g` and `C` only through `p_v`, the
//! predicting side ([`swav_batch_loss`]).
//!
//! **Against collapse on small data** (swav's README and code; `SSL_RECIPES.md` §6.3):
//! * *Equipartition.* Sinkhorn with a small `ε` (the paper's [`DEFAULT_EPSILON`] = 0.05; the
//!   method's default is 0.02, see [`Config::default`]) spreads each batch over the prototypes. `--codes softmax` replaces it by `softmax(s / ε)` (no
//!   equipartition) for the `swav-equipartition` experiment: the codes then follow whatever the
//!   prototypes already prefer, and a loss pinned at `ln K` means uniform collapse.
//! * *Frozen prototypes.* For the first `--freeze-prototypes-steps` steps `C` is not trained
//!   at all: it is kept off the tape and its gradient slot is left out of the optimizer's
//!   gradients, so neither the gradient, nor weight decay, nor Adam's moments touch it
//!   (the reference code sets the prototypes' gradient to `None` for the same reason).
//! * *A queue.* When the batch is small against `K`, Sinkhorn has too few samples to share
//!   out; `--queue-length L` keeps the last `L` global-crop projections (detached, FIFO), whose
//!   scores against the *current* prototypes are stacked above the batch's before Sinkhorn;
//!   only the batch's rows of the codes are kept. The queue is used only once full.
//!
//! **Where `C` is normalised.** [`prototype_scores`] normalises `C` on the tape (so the
//! gradient is that of `c / ‖c‖`, tangent to the sphere), and [`Method::after_step`]
//! re-normalises the stored rows after every step that trained them, as the reference code
//! does before each forward: the stored prototypes are unit rows at every step.

use crate::augment::{LocalCrops, MultiCrop, Pipeline, ViewConfig, ViewGenerator};
use crate::error::{Error, Result};
use crate::methods::{Batch, Method, Settings};
use crate::nn::functional::{dot_matrix, l2_normalize};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder};
use crate::train::TrainConfig;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};

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

// ------------------------------------------------------------------------------ the method

/// The global crops of multi-crop: SwAV takes its codes from these two.
pub const N_GLOBAL: usize = 2;

/// The most prototypes a model holds. dfdx 0.13 builds, trains and checkpoints only tensors of
/// a compile-time shape inside a module, so `C` is stored as `MAX_PROTOTYPES × Z` and the
/// first `K` rows (`--prototypes`) are the prototypes; the other rows are never used and get
/// no gradient. 4096 covers the reference values (3000 in swav and solo-learn).
pub const MAX_PROTOTYPES: usize = 4096;

/// How the codes `q` are made from the global crops' scores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Codes {
    /// Sinkhorn-Knopp: the batch (and queue) shared equally among the prototypes. SwAV as
    /// published.
    #[default]
    Sinkhorn,
    /// softmax(s / ε) of each sample on its own: the same sharpness, no equipartition. Not
    /// SwAV: the ablation of the swav-equipartition experiment (it collapses to one prototype).
    Softmax,
}

/// The codes of one assignment view from its scores (`batch × prototypes`, row-major, no
/// gradient), in the same layout.
///
/// * [`Codes::Sinkhorn`]: [`sinkhorn`] of the scores, or, with `queue_scores` (`L ×
///   prototypes`, the queue's scores against the current prototypes), of the queue's rows
///   stacked **above** the batch's, keeping only the batch's `batch` rows (the reference code's
///   `out = cat(queue @ C, out)` then `[-bs:]`).
/// * [`Codes::Softmax`]: `softmax(s_b / ε)` of every row on its own (the queue is not used).
///
/// Errors as [`sinkhorn`] does, or if the queue's scores are not whole rows.
pub fn codes_from_scores(scores: &[f32], batch: usize, prototypes: usize, queue_scores: Option<&[f32]>, codes: Codes, cfg: &SinkhornConfig) -> Result<Vec<f32>> {
    match codes {
        Codes::Softmax => {
            cfg.validate()?;
            if batch == 0 || prototypes == 0 || scores.len() != batch * prototypes {
                return Err(Error::config(format!("softmax codes: {} scores for a batch of {batch} and {prototypes} prototypes", scores.len())));
            }
            let epsilon = cfg.epsilon as f64;
            let mut out = Vec::with_capacity(scores.len());
            for row in scores.chunks_exact(prototypes) {
                let logits: Vec<f64> = row.iter().map(|&s| s as f64 / epsilon).collect();
                let log_z = log_sum_exp(logits.iter().copied());
                out.extend(logits.iter().map(|&l| (l - log_z).exp() as f32));
            }
            Ok(out)
        }
        Codes::Sinkhorn => match queue_scores {
            None => sinkhorn(scores, batch, prototypes, cfg),
            Some(queued) => {
                if prototypes == 0 || queued.len() % prototypes != 0 {
                    return Err(Error::config(format!("sinkhorn: {} queue scores are not whole rows of {prototypes} prototypes", queued.len())));
                }
                let rows = queued.len() / prototypes;
                let stacked = [queued, scores].concat();
                let codes = sinkhorn(&stacked, rows + batch, prototypes, cfg)?;
                Ok(codes[rows * prototypes..].to_vec())
            }
        },
    }
}

/// The scores of the queue's rows (`L × d`, unit rows) against the prototypes (`K × d`,
/// normalised here): the `L × K` matrix `queue · (C / ‖C‖)ᵀ`, off the tape.
pub fn queue_scores(queue: &[f32], prototypes: &[f32], dim: usize) -> Vec<f32> {
    let mut c = prototypes.to_vec();
    crate::eval::l2_normalize_rows(&mut c, dim);
    queue
        .chunks_exact(dim)
        .flat_map(|z| c.chunks_exact(dim).map(move |c_k| z.iter().zip(c_k).map(|(a, b)| a * b).sum::<f32>()))
        .collect()
}

/// SwAV's queue: the last `capacity` projections of global crops (unit rows of `dim` values),
/// first in, first out. Not saved in checkpoints: a resumed run refills it in
/// `capacity / (2B)` steps, and it is used only once full.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureQueue {
    rows: Vec<f32>,
    dim: usize,
    /// Row the next projection overwrites (the oldest once full).
    next: usize,
    /// Rows filled so far (at most the capacity).
    len: usize,
}

impl FeatureQueue {
    /// An empty queue of `capacity` rows of `dim` values.
    pub fn new(capacity: usize, dim: usize) -> Self {
        assert!(capacity > 0 && dim > 0, "FeatureQueue: capacity and dimension must be positive");
        Self { rows: vec![0.0; capacity * dim], dim, next: 0, len: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.rows.len() / self.dim
    }

    /// Rows filled so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every row holds a projection: only then is the queue used.
    pub fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Enqueues `batch` (row-major, `dim` values per row), in order: each row overwrites the
    /// oldest one once the queue is full.
    pub fn push(&mut self, batch: &[f32]) {
        assert_eq!(batch.len() % self.dim, 0, "FeatureQueue::push: rows of {} values expected", self.dim);
        let capacity = self.capacity();
        for row in batch.chunks_exact(self.dim) {
            self.rows[self.next * self.dim..(self.next + 1) * self.dim].copy_from_slice(row);
            self.next = (self.next + 1) % capacity;
            self.len = (self.len + 1).min(capacity);
        }
    }

    /// The filled rows, oldest first (row-major).
    pub fn rows(&self) -> Vec<f32> {
        let start = if self.is_full() { self.next } else { 0 };
        (0..self.len).flat_map(|r| {
            let row = (start + r) % self.capacity();
            self.rows[row * self.dim..(row + 1) * self.dim].iter().copied()
        }).collect()
    }
}

/// What [`swav_batch_loss`] returns: the loss on the tape, and the codes of the global views.
pub type BatchLoss<D, T> = (Tensor<Rank0, f32, D, T>, Vec<Mat<D>>);

/// SwAV's loss for one batch, from the projections of all its crops (see the module docs):
/// scores `s = z · Cᵀ` ([`prototype_scores`]), codes of the first `n_global` views
/// ([`codes_from_scores`], off the tape, with the `queue`'s rows stacked above each view's
/// batch when given), then [`swav_loss`] over every pair (global view `i`, other view `v ≠ i`).
///
/// * `z` — `(V·B, d)` projections on the tape, view-major (rows `v·B .. (v + 1)·B` are view
///   `v`), the `n_global` global views first; normalised here.
/// * `prototypes` — `(K, d)` on the same tape (or a copy off it, to keep `C` out of the
///   gradient); normalised here.
/// * `queue` — unit rows of past projections (`L × d`), or `None`.
///
/// Returns the loss and the codes of the global views (`(B, K)` each, no tape). Errors on bad
/// Sinkhorn settings; panics on shapes that do not fit (see [`swav_loss`]).
#[allow(clippy::too_many_arguments)]
pub fn swav_batch_loss<D: Device<f32>, T: Tape<f32, D>>(
    z: Mat<D, T>,
    prototypes: Mat<D, T>,
    batch: usize,
    n_global: usize,
    queue: Option<&[f32]>,
    codes: Codes,
    cfg: &SinkhornConfig,
    tau: f32,
) -> Result<BatchLoss<D, T>> {
    let (rows, dim) = *z.shape();
    let k = prototypes.shape().0;
    assert!(batch > 0 && rows % batch == 0, "swav_batch_loss: {rows} projections are not whole views of {batch}");
    assert!(n_global >= 1 && n_global <= rows / batch, "swav_batch_loss: {n_global} global views out of {}", rows / batch);
    let dev = z.device().clone();
    let queued = queue.map(|q| queue_scores(q, &prototypes.as_vec(), dim));
    let scores = prototype_scores(z, prototypes); // (V·B, K), on the tape
    let host = scores.as_vec(); // the codes' input: values only, no gradient
    let codes = (0..n_global)
        .map(|i| {
            let s = &host[i * batch * k..(i + 1) * batch * k];
            codes_from_scores(s, batch, k, queued.as_deref(), codes, cfg).map(|q| dev.tensor_from_vec(q, (batch, k)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((swav_loss(vec![scores], &codes, tau), codes))
}

/// SwAV's settings (`--method swav`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// K, the number of prototypes.
    #[arg(long)]
    pub prototypes: usize,
    /// Local (half-size) crops per image besides the two global ones; 0: two-view SwAV.
    #[arg(long)]
    pub local_crops: usize,
    /// Smallest area fraction of a local crop.
    #[arg(long)]
    pub local_min_scale: f64,
    /// Largest area fraction of a local crop.
    #[arg(long)]
    pub local_max_scale: f64,
    /// Side of a local crop in pixels; 0: half the image's side (16 px for 32-px images).
    #[arg(long)]
    pub local_size: usize,
    /// Optimizer steps at the start during which the prototypes are not trained at all.
    #[arg(long)]
    pub freeze_prototypes_steps: usize,
    /// L, past global-crop projections stacked under each batch before Sinkhorn (used once full); 0: no queue.
    #[arg(long)]
    pub queue_length: usize,
    /// Temperature τ of the predictions softmax(s / τ).
    #[arg(long)]
    pub tau: f64,
    /// ε of the codes (Sinkhorn's entropy weight; the softmax's temperature with --codes softmax).
    #[arg(long)]
    pub epsilon: f64,
    /// Sinkhorn-Knopp iterations per batch.
    #[arg(long)]
    pub sinkhorn_iterations: usize,
    /// How the codes are made: sinkhorn (SwAV) or softmax (no equipartition; an ablation).
    #[arg(long, value_enum)]
    pub codes: Codes,
    /// Colour strength of every crop; the smallest area of the global crops (local crops: 8–40%).
    #[command(flatten)]
    pub views: ViewConfig,
}

impl Default for Config {
    /// Measured on `shapes` (default budget: 4 epochs of 10 000 images, batch 64, AdamW 2·10⁻³;
    /// kNN top-1 against random init, seed in brackets; `docs/results.md`):
    ///
    /// * `ε = 0.02`, not the paper's 0.05. With 0.05 the codes of a young network are nearly
    ///   uniform (its projections hardly differ, and Sinkhorn's sharpness is their spread over
    ///   ε), the loss hangs just below `ln K`, and learning is slow and seed-dependent: two-view
    ///   SwAV for 6 epochs gave +21.2 points [0] but +5.8 [1]; `ε = 0.02` gave +35.5 [1]. The
    ///   swav README's advice against collapse is the same: a lower ε.
    /// * `K = 512` prototypes (lightly's CIFAR value), more than the projection's 128
    ///   dimensions: with fewer prototypes than dimensions a projection can be orthogonal to
    ///   all of them, every score 0 and every prediction uniform (a short trial with `K = 64`,
    ///   at `ε = 0.05`, sat at exactly `ln 64`). K was not swept at `ε = 0.02`.
    /// * No local crops: multi-crop's 16-px crops of 8–40% of the image hurt at this budget
    ///   (2 local crops, `ε = 0.02`: −0.2 points [2] against +30.2 without; at 8 epochs +27.6
    ///   against +45.7 [0]). The `multi-crop` experiment's controls point at the 16-px
    ///   resolution rather than the crops' content: four extra crops of 80–100% of the image
    ///   give 35.6% kNN at 16 px and 62.7% at 32 px (two crops: 58.3%) [0]. `--local-crops N`
    ///   turns them on, `--local-size` sets their side.
    /// * No queue: `K = 512` is already 8 batches; a 1 024-row queue (`ε = 0.05`) collapsed
    ///   the run to uniform codes (loss pinned at `ln 512 = 6.238`, kNN 14.6% [0]).
    /// * Prototypes frozen for the first 156 steps, one epoch (the reference freezes them for
    ///   about one epoch; not tuned). τ = 0.1, 3 Sinkhorn iterations: the paper's.
    /// * SimCLR's views with the kit's crop (80–100% of the image) for the global crops.
    fn default() -> Self {
        Self {
            prototypes: 512,
            local_crops: 0,
            local_min_scale: 0.08,
            local_max_scale: 0.4,
            local_size: 0,
            freeze_prototypes_steps: 156,
            queue_length: 0,
            tau: 0.1, // DEFAULT_TAU, written as an f64 (the f32 widened would print 0.10000000149)
            epsilon: 0.02,
            sinkhorn_iterations: DEFAULT_SINKHORN_ITERATIONS,
            codes: Codes::Sinkhorn,
            views: ViewConfig::default(),
        }
    }
}

impl Config {
    /// ε and the iterations as [`sinkhorn`] takes them.
    pub fn sinkhorn(&self) -> SinkhornConfig {
        SinkhornConfig { epsilon: self.epsilon as f32, iterations: self.sinkhorn_iterations }
    }

    /// The local-crop flags as [`LocalCrops`] (SwAV keeps them flat in its `config.json`,
    /// as runs and experiments saved them; DINO nests the same struct).
    pub fn local(&self) -> LocalCrops {
        LocalCrops { local_crops: self.local_crops, local_min_scale: self.local_min_scale, local_max_scale: self.local_max_scale, local_size: self.local_size }
    }

    /// The crops for `image_size`-pixel images ([`LocalCrops::multi_crop`]), the global
    /// crops' smallest area from `--crop-min-scale`.
    pub fn multi_crop(&self, image_size: usize) -> MultiCrop {
        self.local().multi_crop(image_size, self.views.crop_min_scale)
    }
}

impl Settings for Config {
    /// The loop's budget (4 epochs, AdamW 2·10⁻³): two views per image, like SimCLR.
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        base
    }

    fn validate(&self) -> Result<()> {
        if !(1..=MAX_PROTOTYPES).contains(&self.prototypes) {
            return Err(Error::config(format!("--prototypes must be between 1 and {MAX_PROTOTYPES}")));
        }
        crate::methods::settings::check_tau(self.tau)?;
        if !(self.epsilon > 0.0 && self.epsilon.is_finite() && self.epsilon as f32 > 0.0) {
            return Err(Error::config("--epsilon must be positive"));
        }
        if self.sinkhorn_iterations == 0 {
            return Err(Error::config("--sinkhorn-iterations must be at least 1"));
        }
        self.local().validate()?;
        self.views.validate()
    }

    /// The ViT takes the local crops when they are whole patches ([`LocalCrops::check_encoder`]).
    fn check_encoder(&self, encoder: &str) -> Result<()> {
        self.local().check_encoder(encoder)
    }
}

/// SwAV's parts: encoder `f` and projection head `g`, the prototypes `C`, the queue, and its
/// settings.
#[derive(Debug, Clone)]
pub struct SwAV<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    /// `z = g(f(x))`.
    pub branch: Branch<Enc, F, H, Z, E, D>,
    /// `C`: its first `K` rows are the prototypes (unit rows; see [`MAX_PROTOTYPES`]),
    /// trained like the network after the first `freeze_prototypes_steps` steps.
    pub prototypes: Tensor<Rank2<MAX_PROTOTYPES, Z>, E, D>,
    pub config: Config,
    /// Optimizer steps taken (saved in checkpoints, so a resumed run does not freeze `C` again).
    pub steps: f64,
    /// Made by the first loss when `queue_length > 0`.
    pub queue: Option<FeatureQueue>,
    /// Whether the last loss let `C` be trained (then [`Method::after_step`] re-normalises it).
    prototypes_trained: bool,
}

/// `reset` of the prototypes: uniform in `[−1, 1]`, then every row scaled to unit length.
pub(crate) fn random_unit_rows<const Z: usize, E: Dtype + SampleUniform + num_traits::Float, D: Device<E>>(t: &mut Tensor<Rank2<MAX_PROTOTYPES, Z>, E, D>) -> std::result::Result<(), D::Err> {
    t.try_fill_with_distr(rand_distr::Uniform::new(-E::one(), E::one()))?;
    let dim = Z;
    let mut values = t.as_vec();
    for row in values.chunks_exact_mut(dim) {
        let norm = row.iter().fold(E::zero(), |acc, &v| acc + v * v).sqrt();
        row.iter_mut().for_each(|v| *v /= norm);
    }
    t.copy_from(&values);
    Ok(())
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for SwAV<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = SwAV<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        let prototypes = TensorOptions::reset_with(random_unit_rows::<Z, E, D>);
        visitor.visit_fields(
            (
                Self::module("branch", |s| &s.branch, |s| &mut s.branch),
                Self::tensor("prototypes", |s| &s.prototypes, |s| &mut s.prototypes, prototypes),
                Self::scalar("steps", |s| &s.steps, |s| &mut s.steps, ScalarOptions::from_default(0.0)),
            ),
            |(branch, prototypes, steps)| SwAV { branch, prototypes, steps, config: Config::default(), queue: None, prototypes_trained: false },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> SwAV<Enc, F, H, Z, f32, D> {
    /// Whether the prototypes are still frozen (the first `freeze_prototypes_steps` steps).
    pub fn prototypes_frozen(&self) -> bool {
        (self.steps as usize) < self.config.freeze_prototypes_steps
    }

    /// The `K` prototypes' current values, row-major `K × Z`.
    pub fn prototype_values(&self) -> Vec<f32> {
        self.prototypes.as_vec()[..self.config.prototypes * Z].to_vec()
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for SwAV<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "swav";
    type Config = Config;

    /// Keeps the settings (`K` = `--prototypes` ≤ [`MAX_PROTOTYPES`], checked by
    /// [`Settings::validate`]).
    fn configure(&mut self, settings: &Config) {
        assert!(settings.prototypes <= MAX_PROTOTYPES, "swav: at most {MAX_PROTOTYPES} prototypes");
        self.config = settings.clone();
        self.queue = None;
    }

    /// Two global crops then `local_crops` local ones ([`Config::multi_crop`]), each followed
    /// by SimCLR's flip, colour distortion and blur at the config's colour strength.
    fn views(&self, image_size: usize) -> ViewGenerator {
        let colour = Pipeline::simclr_colour(self.config.views.color_strength as f32);
        ViewGenerator::multi_crop_with(&self.config.multi_crop(image_size), colour).unwrap_or_else(|e| panic!("swav: {e}"))
    }

    /// One forward pass per crop size ([`Branch::forward_multi_crop`]), then [`swav_batch_loss`].
    ///
    /// While the prototypes are frozen they must not move at all: `C` enters as a copy with
    /// its own tensor id (its gradient goes nowhere), and the loop's gradients — which hold a
    /// zero slot for `C` that would still let weight decay and Adam's moments move it — are
    /// replaced by fresh ones, so `C` has no gradient and the optimizer skips it.
    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        let n_local = batch.views.len().checked_sub(N_GLOBAL).unwrap_or_else(|| panic!("swav: needs at least {N_GLOBAL} views"));
        let crops = MultiCrop::for_image_size(batch.views[0].shape()[2], n_local).stack(&batch.views).unwrap_or_else(|e| panic!("swav: {e}"));
        let b = crops.batch_size;
        let frozen = self.prototypes_frozen();
        let grads = if frozen { Gradients::leaky() } else { grads };
        let z = self.branch.forward_multi_crop(dev, crops, grads);
        let k = self.config.prototypes;
        let prototypes: Mat<D, OwnedTape<f32, D>> = if frozen {
            dev.tensor_from_vec(self.prototype_values(), (k, Z)).retaped()
        } else {
            self.prototypes.clone().retaped::<OwnedTape<f32, D>>().slice((0..k, ..)).reshape_like(&(k, Z))
        };
        let mut global: Vec<f32> = z.as_vec()[..N_GLOBAL * b * Z].to_vec();
        crate::eval::l2_normalize_rows(&mut global, Z);
        let queue = self.queue.as_ref().filter(|q| q.is_full()).map(FeatureQueue::rows);
        let (loss, _codes) = swav_batch_loss(z, prototypes, b, N_GLOBAL, queue.as_deref(), self.config.codes, &self.config.sinkhorn(), self.config.tau as f32)
            .unwrap_or_else(|e| panic!("swav: {e}"));
        if self.config.queue_length > 0 {
            self.queue.get_or_insert_with(|| FeatureQueue::new(self.config.queue_length, Z)).push(&global);
        }
        self.prototypes_trained = !frozen;
        loss
    }

    /// Counts the step, and puts the prototypes back on the unit sphere if it moved them.
    fn after_step(&mut self, _progress: f32) {
        self.steps += 1.0;
        if std::mem::take(&mut self.prototypes_trained) {
            let mut values = self.prototypes.as_vec();
            crate::eval::l2_normalize_rows(&mut values[..self.config.prototypes * Z], Z);
            self.prototypes.copy_from(&values);
        }
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.branch.encoder.forward_eval(x)
    }

    /// `z = g(f(x)) / ‖g(f(x))‖`, the unit projections the prototypes score.
    fn project(&self, x: Img<D>) -> Option<Mat<D>> {
        Some(l2_normalize(self.branch.forward_eval(x)))
    }
}
