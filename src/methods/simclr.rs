//! # SimCLR — a simple framework for contrastive learning (Chen et al., ICML 2020)
//!
//! Two augmented views of each of `N` images go through the same encoder `f` and projection
//! head `g`, giving `2N` embeddings `z`. For each embedding the other view of the same image
//! is the positive; the other `2(N − 1)` embeddings in the batch are the negatives. The
//! **NT-Xent** (normalised temperature-scaled cross-entropy) loss is
//!
//! ```text
//! ℓ(i, j) = −log  exp(sim(z_i, z_j) / τ) / Σ_{k=1..2N, k≠i} exp(sim(z_i, z_k) / τ)
//! L = (1 / 2N) Σ_i ℓ(i, pos(i)),     sim(u, v) = uᵀv / (‖u‖‖v‖)
//! ```
//!
//! The indicator `k ≠ i` masks each embedding's similarity with itself (always 1, it would
//! dominate the denominator). Negatives come from the batch, so SimCLR needs large batches;
//! MoCo keeps them in a queue instead.

use crate::augment::{ViewConfig, ViewGenerator};
use crate::methods::settings::check_tau;
use crate::methods::{stack_views, Batch, Method, Settings};
use crate::nn::functional::{dot_matrix, fresh_copy, l2_normalize};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};
use crate::train::TrainConfig;

// ANCHOR: nt_xent
/// NT-Xent over `z = [z⁽¹⁾; z⁽²⁾]`, a `(2N, D)` batch where rows `i` and `i + N` are the two
/// views of image `i`. Returns the mean loss over the `2N` anchors.
///
/// Numerically stable for any τ > 0: the masked entries get −10⁹ (not −∞, so no `0 · ∞`), and
/// dfdx's `logsumexp` subtracts the row maximum before exponentiating.
pub fn nt_xent<D: Device<f32>, T: Tape<f32, D>>(z: Mat<D, T>, tau: f32) -> Tensor<Rank0, f32, D, T> {
    let (two_n, _) = *z.shape();
    assert!(two_n % 2 == 0 && two_n >= 2, "nt_xent: expected an even number of rows (two views), got {two_n}");
    assert!(tau > 0.0, "nt_xent: the temperature τ must be positive");
    // BEGIN SOLUTION
    // HINT: sim = normalised z times its own transpose, divided by τ: a (2N, 2N) matrix.
    // HINT: `dot_matrix(z, z)` would use one tensor twice: pass `fresh_copy(&z)` as the second.
    // HINT: mask the diagonal (k = i) with a large negative number, not −∞ (0 · ∞ is NaN).
    // HINT: the positive of row i is row (i + N) mod 2N; the loss is the mean over all 2N rows.
    let n = two_n / 2;
    let dev = z.device().clone();
    let z = l2_normalize(z);
    let z_copy = fresh_copy(&z); // a new id: z · zᵀ must not be a product of a tensor with itself
    let sim = dot_matrix(z, z_copy) / tau; // (2N, 2N) cosine / τ, still on z's tape

    // 1[k ≠ i]: push the diagonal to −10⁹ so it vanishes from the log-sum-exp.
    let mut mask = vec![0.0f32; two_n * two_n];
    (0..two_n).for_each(|i| mask[i * two_n + i] = -1e9);
    let sim = sim + dev.tensor_from_vec(mask, (two_n, two_n));

    // pos(i) = i + N for the first view, i − N for the second.
    let positives: Vec<usize> = (0..two_n).map(|i| (i + n) % two_n).collect();
    let pos_logit = sim.with_empty_tape().select(dev.tensor_from_vec(positives, (two_n,)));
    let log_denominator = sim.logsumexp::<(usize,), Axis<1>>();
    (log_denominator - pos_logit).mean()
    // END SOLUTION
}
// ANCHOR_END: nt_xent

/// SimCLR's settings (`--method simclr`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Temperature τ of the contrastive softmax.
    #[arg(long)]
    pub tau: f64,
    #[command(flatten)]
    pub views: ViewConfig,
}

impl Default for Config {
    /// τ = 0.1: the paper uses 0.5 for CIFAR-10 at batch 512; the kit's batches of 64 on small
    /// images learn best at 0.1 (`selfsup experiment temperature`). SimCLR's views with the
    /// kit's default crop and colour strength ([`ViewConfig::default`]).
    fn default() -> Self {
        Self { tau: 0.1, views: ViewConfig::default() }
    }
}

impl Settings for Config {
    /// 8 epochs: with the papers' crop range (20–100% of the image) SimCLR is far from done after
    /// 4 (on a draft of `textures`, seed 2: 57.6% kNN after 4 epochs, 78.5% after 8; see
    /// docs/results.md); 8 epochs of 10 000 images took 144 s on two cores (seed 0).
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 8, ..base }
    }

    fn validate(&self) -> crate::Result<()> {
        check_tau(self.tau)?;
        self.views.validate()
    }
}

/// SimCLR's trainable parts: encoder `f` (kept for evaluation) and projection head `g`
/// (thrown away), plus its settings.
#[derive(Debug, Clone)]
pub struct SimClr<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    /// `z = g(f(x))`: encoder `f` and projection head `g`.
    pub branch: Branch<Enc, F, H, Z, E, D>,
    /// τ and the views. Smaller τ sharpens the softmax and weighs hard negatives more.
    pub config: Config,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for SimClr<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = SimClr<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("branch", |s| &s.branch, |s| &mut s.branch), |branch| SimClr { branch, config: Config::default() })
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for SimClr<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "simclr";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.config = settings.clone();
    }

    fn views(&self, image_size: usize) -> ViewGenerator {
        ViewGenerator::two_view(self.config.views.simclr(image_size))
    }

    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        // Both views in one batch: BatchNorm sees all 2N images, as in SimCLR's global BN.
        let x = stack_views(dev, &batch.views).traced(grads);
        nt_xent(self.branch.forward_train(x), self.config.tau as f32)
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.branch.encoder.forward_eval(x)
    }
}
