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
use crate::nn::functional::{fresh_copy, l2_normalize};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder, Mlp, Target};
use crate::train::TrainConfig;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

// ANCHOR: byol
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
// ANCHOR_END: byol

// ANCHOR: byol
/// The target's rate at `progress ∈ [0, 1]` of training: `1 − (1 − τ_base)(cos(π·progress) + 1)/2`.
pub fn cosine_tau(tau_base: f64, progress: f64) -> f64 {
    // BEGIN SOLUTION
    // HINT: `std::f64::consts::PI`; the rate is τ_base at progress 0, (1 + τ_base)/2 halfway, 1 at the end.
    1.0 - (1.0 - tau_base) * ((std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos() + 1.0) / 2.0
    // END SOLUTION
}
// ANCHOR_END: byol

/// Which of BYOL's guards against collapse to remove: the `byol-collapse` experiment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Ablation {
    /// BYOL as published.
    #[default]
    Full,
    /// No predictor: the online projection itself is compared with the target's, `p = z`.
    NoPredictor,
    /// No moving average: τ = 0, the target is a copy of the online network after every step
    /// (its output still receives no gradient; SimSiam's setting, Chen & He 2021).
    NoEma,
    /// No stop-gradient: the target's side is the online network itself, and the loss is
    /// back-propagated through both sides.
    NoStopGradient,
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
    /// Remove one of BYOL's guards against collapse (for the `byol-collapse` experiment).
    #[arg(long, value_enum)]
    pub ablation: Ablation,
}

impl Default for Config {
    /// τ_base = 0.99, as solo-learn's CIFAR recipe (the paper's 0.996 is for about 300 000
    /// steps; with the kit's ~1 000 a target with a half-life of 173 steps barely moves).
    /// Colour strength 2: BYOL's jitter doubled, as strong as SimCLR's on the built-in set,
    /// whose classes ignore colour; the kit's crop range (see [`ViewConfig`]), which the
    /// `natural` recipe narrows to 80–100% ([`crate::train::recipe::LARGER_CROPS_WHY`]).
    fn default() -> Self {
        Self { tau_base: 0.99, views: ViewConfig { color_strength: 2.0, ..ViewConfig::default() }, first_view_blur: 1.0, ablation: Ablation::Full }
    }
}

impl Settings for Config {
    /// Two networks per step and a slowly moving target: BYOL takes off later than SimCLR.
    /// 16 epochs: on `textures` (seed 0 / 1 / 2, kNN gain over random init) 8 epochs gave
    /// +6.0 / +8.5 / +9.0 points, 16 epochs +23.1 / +32.5 / +28.6 (288 s for seed 0 with a slides
    /// build beside it; docs/results.md, part 2).
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 16, ..base }
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
        self.tau = if settings.ablation == Ablation::NoEma { 0.0 } else { settings.tau_base };
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
        if self.config.ablation == Ablation::NoStopGradient {
            // Both sides are the online network, on one tape: the gradient flows through the
            // "target" side too. The same ℓ as `byol_loss`, with a differentiable z.
            let z = self.online.forward_train(x.traced(grads));
            let p = self.predictor.forward_train(fresh_copy(&z));
            let z_other = (z.with_empty_tape().slice((n.., ..)), z.slice((0..n, ..))).concat_along(Axis::<0>);
            let cos = (l2_normalize(p) * l2_normalize(z_other)).sum::<(usize,), Axis<1>>();
            return (cos * -2.0 + 2.0).mean() * 2.0;
        }
        let z_online = self.online.forward_train(x.clone().traced(grads));
        let p = match self.config.ablation {
            Ablation::NoPredictor => z_online,
            _ => self.predictor.forward_train(z_online),
        };
        // The target's output, without a tape: the stop-gradient.
        let z = self.target.net_mut().forward_train(x).as_vec();
        let swapped: Vec<f32> = [&z[n * Z..], &z[..n * Z]].concat();
        // Over 2N rows the mean of ℓ is half the sum of the two directions' means.
        byol_loss(p, dev.tensor_from_vec(swapped, (2 * n, Z))) * 2.0
    }

    fn after_step(&mut self, progress: f32) {
        self.target.update(&self.online, self.tau);
        self.tau = match self.config.ablation {
            Ablation::NoEma => 0.0,
            _ => cosine_tau(self.config.tau_base, progress as f64),
        };
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.online.encoder.forward_eval(x)
    }

    /// `z = g(f(x))`, where the loss acts.
    fn project(&self, x: Img<D>) -> Option<Mat<D>> {
        Some(self.online.forward_eval(x))
    }
}
