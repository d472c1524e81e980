//! # BYOL — bootstrap your own latent (Grill et al., NeurIPS 2020)
//!
//! Two networks. The **online** network (encoder `f_θ`, projector `g_θ`, predictor `q_θ`) is
//! trained; the **target** network (encoder `f_ξ`, projector `g_ξ`, no predictor) is a slowly
//! moving average of it and receives no gradient. For two views `v`, `v′` of an image:
//!
//! ```text
//! p = q_θ(g_θ(f_θ(v))),   z′ = g_ξ(f_ξ(v′))
//! ℓ(p, z′) = ‖p/‖p‖ − z′/‖z′‖‖² = 2 − 2 · cos(p, sg(z′))
//! L = ℓ(p, z′) + ℓ(p′, z)                 (symmetrised: each view predicts the other's target)
//! ```
//!
//! `sg` is the stop-gradient: the target's output is a constant for the loss. After each step
//! the target follows the online network,
//!
//! ```text
//! ξ ← τ · ξ + (1 − τ) · θ,     τ = 1 − (1 − τ_base) · (cos(π k / K) + 1) / 2
//! ```
//!
//! rising from `τ_base` to 1 over the `K` steps of training. No negatives: what keeps the
//! online network from collapsing to a constant is the asymmetry (the predictor on one side,
//! the stop-gradient and the slow target on the other), with BatchNorm in the MLPs. The target
//! is a [`Target`]: its own tensors, filled with the online network's values once, never
//! visited by the optimizer (see `src/nn/target.rs` for why not a `clone()`).

use crate::augment::{Pipeline, ViewConfig, ViewGenerator};
use crate::methods::{stack_views, Batch, Method, Settings};
use crate::nn::functional::l2_normalize;
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder, Mlp, Target};
use crate::train::TrainConfig;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

// ANCHOR: byol_loss
/// `mean_b (2 − 2 · cos(p_b, z_b))` over the rows of `p` (on the tape) and `z` (the target's
/// output, a constant): BYOL's ℓ for one direction.
pub fn byol_loss<D: Device<f32>, T: Tape<f32, D>>(p: Mat<D, T>, z: Mat<D>) -> Tensor<Rank0, f32, D, T> {
    assert_eq!(p.shape(), z.shape(), "byol_loss: prediction and target need the same shape");
    // BEGIN SOLUTION
    // HINT: normalise both rows to unit length; cos is then the row-wise dot product.
    let cos = (l2_normalize(p) * l2_normalize(z)).sum::<(usize,), Axis<1>>();
    (cos * -2.0 + 2.0).mean()
    // END SOLUTION
}
// ANCHOR_END: byol_loss

/// The target's rate at `progress ∈ [0, 1]` of training: `1 − (1 − τ_base)(cos(π·progress) + 1)/2`.
pub fn cosine_tau(tau_base: f64, progress: f64) -> f64 {
    1.0 - (1.0 - tau_base) * ((std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos() + 1.0) / 2.0
}

/// BYOL's settings (`--method byol`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// τ_base: the target's starting EMA rate, raised to 1 on a cosine over training.
    #[arg(long)]
    pub tau_base: f64,
    /// BYOL's two asymmetric views (blur on the first, solarisation on the second); the
    /// colour strength s scales BYOL's jitter (0.4s, 0.4s, 0.2s, 0.1s).
    #[command(flatten)]
    pub views: ViewConfig,
    /// Probability of the Gaussian blur on the first view (the paper: 1; the second view's is 0.1).
    #[arg(long)]
    pub first_view_blur: f64,
}

impl Default for Config {
    /// τ_base = 0.99, as solo-learn's CIFAR recipe (the paper's 0.996 is for about 300 000
    /// steps; with the kit's ~1 000 a target with a half-life of 173 steps barely moves).
    /// Colour strength 2: BYOL's jitter doubled, as strong as SimCLR's on the built-in set,
    /// whose classes ignore colour; the kit's crop range (see [`ViewConfig`]).
    fn default() -> Self {
        Self { tau_base: 0.99, views: ViewConfig { color_strength: 2.0, ..ViewConfig::default() }, first_view_blur: 1.0 }
    }
}

impl Settings for Config {
    /// Two networks per step and a slowly moving target: BYOL takes off later than SimCLR.
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 8, ..base }
    }

    fn validate(&self) -> crate::Result<()> {
        if !(0.0..=1.0).contains(&self.tau_base) {
            return Err(crate::Error::config("--tau-base must be in [0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.first_view_blur) {
            return Err(crate::Error::config("--first-view-blur must be in [0, 1]"));
        }
        self.views.validate()
    }
}

/// BYOL: the online branch and predictor (trained), the target branch (moving average), and
/// its settings.
#[derive(Debug, Clone)]
pub struct Byol<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    /// `g_θ(f_θ(·))`.
    pub online: Branch<Enc, F, H, Z, E, D>,
    /// `q_θ: Z → H → Z`.
    pub predictor: Mlp<Z, H, Z, E, D>,
    /// `g_ξ(f_ξ(·))`, filled by [`Method::begin`], moved only by the EMA.
    pub target: Target<Branch<Enc, F, H, Z, E, D>>,
    pub config: Config,
    /// The target's current rate τ (from the cosine schedule).
    pub tau: f64,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for Byol<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = Byol<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("online", |s| &s.online, |s| &mut s.online),
                Self::module("predictor", |s| &s.predictor, |s| &mut s.predictor),
                Self::module("target", |s| &s.target, |s| &mut s.target),
            ),
            |(online, predictor, target)| {
                let config = Config::default();
                Byol { online, predictor, target, tau: config.tau_base, config }
            },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for Byol<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "byol";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.config = settings.clone();
        self.tau = settings.tau_base;
    }

    fn views(&self, image_size: usize) -> ViewGenerator {
        let v = &self.config.views;
        let (first, second) = Pipeline::byol_views_with(image_size, v.color_strength as f32, v.crop_min_scale as f32, self.config.first_view_blur);
        ViewGenerator::from_transforms(vec![Arc::new(first), Arc::new(second)])
    }

    /// The target starts as a copy of the online branch (unless a resumed run restored it).
    fn begin(&mut self, _dev: &D, _data: &crate::data::dataset::ImageDataset) {
        self.target.start_from(&self.online);
    }

    /// `ℓ(p, z̄′) + ℓ(p′, z̄)`: both views through each network in one batch; row `b` of the
    /// predictions is paired with the *other* view's target output.
    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        let n = batch.views[0].shape()[0];
        let x = stack_views(dev, &batch.views);
        let p = self.predictor.forward_train(self.online.forward_train(x.clone().traced(grads)));
        // The target's output, without a tape: the stop-gradient.
        let z = self.target.net_mut().forward_train(x).as_vec();
        let swapped: Vec<f32> = [&z[n * Z..], &z[..n * Z]].concat();
        // Over 2N rows the mean of ℓ is half the sum of the two directions' means.
        byol_loss(p, dev.tensor_from_vec(swapped, (2 * n, Z))) * 2.0
    }

    fn after_step(&mut self, progress: f32) {
        self.target.update(&self.online, self.tau);
        self.tau = cosine_tau(self.config.tau_base, progress as f64);
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.online.encoder.forward_eval(x)
    }
}
