//! # Barlow Twins — self-supervised learning by redundancy reduction (Zbontar et al., ICML 2021)
//!
//! No negatives, no second network. Two views of each of `N` images go through the same
//! encoder and projector, giving `z^A` and `z^B` (`N × D`). Each output dimension is
//! standardised over the batch, view by view (`ẑ = (z − mean) / std`), and the two views are
//! compared through their **cross-correlation matrix**
//!
//! ```text
//! C_ij = (1/N) Σ_b ẑ^A_{b,i} ẑ^B_{b,j}                     (D × D, every entry in [−1, 1])
//! L    = Σ_i (1 − C_ii)²  +  λ Σ_i Σ_{j≠i} C_ij²
//!        invariance         redundancy reduction
//! ```
//!
//! The first term makes each dimension agree across the two views (invariance to the
//! augmentations); the second decorrelates different dimensions, so they cannot all carry the
//! same information. A collapsed network (every `z` equal) has zero variance, so its
//! standardised outputs are meaningless and `C` cannot reach the identity: collapse is
//! prevented by the loss itself, without negatives, momentum encoder or stop-gradient.
//!
//! **λ.** The redundancy term has `D(D − 1)` entries against `D` for invariance. The paper's
//! `λ = 5·10⁻³` is for `D = 8192`; the kit's projector gives `D = 128` (see [`Config`]).

use crate::augment::{ViewConfig, ViewGenerator};
use crate::methods::{stack_views, Batch, Method, Settings};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder};
use crate::train::TrainConfig;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};

/// Epsilon of the per-dimension standardisation (BatchNorm's).
pub const STANDARDISE_EPS: f64 = 1e-5;

// ANCHOR: barlow_twins
/// The Barlow Twins loss of two views `z_a`, `z_b` (`N × D`, row `b` of each is image `b`):
/// standardise each dimension over the batch, view by view (biased variance, `ε = 10⁻⁵`), then
/// `Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij²` with `C = ẑ_aᵀ ẑ_b / N`.
pub fn barlow_twins_loss<D: Device<f32>, T: Tape<f32, D> + Merge<T>>(z_a: Mat<D, T>, z_b: Mat<D, T>, lambda: f32) -> Tensor<Rank0, f32, D, T> {
    let (n, d) = *z_a.shape();
    assert_eq!(z_b.shape(), &(n, d), "barlow_twins_loss: both views need the same (N, D) shape");
    assert!(n >= 2, "barlow_twins_loss: standardising over the batch needs at least 2 images");
    let dev = z_a.device().clone();
    // BEGIN SOLUTION
    // HINT: `normalize::<Axis<0>>(eps)` standardises every column (dimension) over the rows.
    // HINT: C = ẑ_aᵀ ẑ_b / N is D × D; weigh (C − I)² by 1 on the diagonal and λ elsewhere.
    let z_a = z_a.normalize::<Axis<0>>(STANDARDISE_EPS);
    let z_b = z_b.normalize::<Axis<0>>(STANDARDISE_EPS);
    let c = z_a.permute::<_, Axes2<1, 0>>().matmul(z_b) / n as f32;
    let (mut identity, mut weight) = (vec![0.0f32; d * d], vec![lambda; d * d]);
    for i in 0..d {
        identity[i * d + i] = 1.0;
        weight[i * d + i] = 1.0;
    }
    let off_target = c - dev.tensor_from_vec(identity, (d, d));
    (off_target.square() * dev.tensor_from_vec(weight, (d, d))).sum()
    // END SOLUTION
}
// ANCHOR_END: barlow_twins

/// The cross-correlation matrix `C` that [`barlow_twins_loss`] compares with the identity, as
/// numbers to look at (no tape): `z_a`, `z_b` are `n × d` row-major (row `b` of each is image
/// `b`), each dimension is standardised over the batch as the loss does it (biased variance,
/// `ε` = [`STANDARDISE_EPS`]), and `C[i·d + j] = (1/n) Σ_b ẑ^A_{b,i} ẑ^B_{b,j}`. Computed in
/// `f64`; the slides' heatmap of `C` is drawn from it.
pub fn cross_correlation(z_a: &[f32], z_b: &[f32], n: usize, d: usize) -> Vec<f32> {
    assert!(n >= 2 && d >= 1, "cross_correlation: needs at least 2 images and 1 dimension");
    assert!(z_a.len() == n * d && z_b.len() == n * d, "cross_correlation: both views need n × d = {} values", n * d);
    let standardise = |z: &[f32]| -> Vec<f64> {
        let mut out = vec![0.0f64; n * d];
        for j in 0..d {
            let mean = (0..n).map(|b| z[b * d + j] as f64).sum::<f64>() / n as f64;
            let var = (0..n).map(|b| (z[b * d + j] as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            let scale = (var + STANDARDISE_EPS).sqrt();
            (0..n).for_each(|b| out[b * d + j] = (z[b * d + j] as f64 - mean) / scale);
        }
        out
    };
    let (a, b) = (standardise(z_a), standardise(z_b));
    let mut c = vec![0.0f32; d * d];
    for i in 0..d {
        for j in 0..d {
            c[i * d + j] = ((0..n).map(|k| a[k * d + i] * b[k * d + j]).sum::<f64>() / n as f64) as f32;
        }
    }
    c
}

/// Barlow Twins' settings (`--method barlow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// λ: weight of the redundancy-reduction (off-diagonal) term.
    #[arg(long)]
    pub lambda: f64,
    #[command(flatten)]
    pub views: ViewConfig,
}

impl Default for Config {
    /// λ = 4/D = 1/32 for the kit's `D = 128`. With `D` dimensions the off-diagonal sum has
    /// `D(D − 1)` terms, so λ is scaled with `1/D` to keep the two terms' balance as `D` changes
    /// (the paper tuned its 0.005 for `D = 8192`). Measured on `shapes` (default run, seeds
    /// 0 / 1 / 2, kNN gain over random init): `1/D` gave +27.9 / +14.9 / +17.1 points, `4/D`
    /// gives +30.0 / +21.4 / +20.4; the `barlow-lambda` experiment sweeps it. SimCLR's views;
    /// on natural data the recipe gives crops of 80–100%, not 20–100%
    /// ([`crate::train::recipe::LARGER_CROPS_WHY`]).
    fn default() -> Self {
        Self { lambda: 1.0 / 32.0, views: ViewConfig::default() }
    }
}

impl Settings for Config {
    /// 8 epochs: on `textures` (seed 0 / 1 / 2, kNN gain over random init) 4 epochs gave
    /// +34.8 / +27.5 / +12.7 points, 8 epochs +46.1 / +45.0 / +38.8 (150–162 s each;
    /// docs/results.md, part 2).
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 8, ..base }
    }

    fn validate(&self) -> crate::Result<()> {
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(crate::Error::config("--lambda must be zero or positive"));
        }
        self.views.validate()
    }
}

/// Barlow Twins' trainable parts: encoder `f` and projector `g` (`F → H → Z`), shared by both
/// views.
#[derive(Debug, Clone)]
pub struct BarlowTwins<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    pub branch: Branch<Enc, F, H, Z, E, D>,
    pub config: Config,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for BarlowTwins<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = BarlowTwins<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("branch", |s| &s.branch, |s| &mut s.branch), |branch| BarlowTwins { branch, config: Config::default() })
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for BarlowTwins<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "barlow";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.config = settings.clone();
    }

    fn views(&self, image_size: usize) -> ViewGenerator {
        ViewGenerator::two_view(self.config.views.simclr(image_size))
    }

    /// Both views through the network in one batch (the network's own BatchNorm sees all 2N
    /// images), then the loss standardises each view on its own statistics.
    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        let n = batch.views[0].shape()[0];
        let z = self.branch.forward_train(stack_views(dev, &batch.views).traced(grads));
        let (z_a, z_b) = (z.with_empty_tape().slice((0..n, ..)), z.slice((n.., ..)));
        barlow_twins_loss(z_a, z_b, self.config.lambda as f32)
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.branch.encoder.forward_eval(x)
    }

    /// `z = g(f(x))`, where the loss acts.
    fn project(&self, x: Img<D>) -> Option<Mat<D>> {
        Some(self.branch.forward_eval(x))
    }
}
