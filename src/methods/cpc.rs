//! # CPC — Contrastive Predictive Coding, on images
//!
//! van den Oord, Li & Vinyals 2018, "Representation Learning with Contrastive Predictive
//! Coding"; Hénaff et al. 2020, "Data-Efficient Image Recognition with Contrastive Predictive
//! Coding" (CPC v2).
//!
//! CPC learns by predicting the future of a sequence in representation space. An image becomes
//! a sequence by cutting it into a `GRID × GRID` grid of overlapping patches (here 24×24 patches
//! every 4 pixels on 32×32 images) and reading the rows top to bottom:
//!
//! ```text
//! z_{t,j} = g(f(x_{t,j}))                          embedding of the patch in row t, column j
//! c_{t,j} = relu(A z_{t,j} + B m_t),  m_t = mean{ z_{t',j'} : t' ≤ t }     causal context
//! ẑ_{t+k,j} = W_k c_{t,j}                          prediction k = 1..K rows below
//! score(z, ẑ) = cos(z, ẑ) / τ
//! L = − mean_{t,j,k} log  exp(score(z_{t+k,j}, ẑ_{t+k,j})) / Σ_{z' ∈ batch} exp(score(z', ẑ_{t+k,j}))
//! ```
//!
//! The context `c_{t,j}` only sees rows `≤ t`, so it cannot copy the answer: it must guess
//! what the image looks like further down. The guess is scored by InfoNCE
//! ([`crate::methods::infonce`]): the true patch must win against **every other patch of the
//! batch**, both the other images' patches and the other positions of the same image.
//!
//! Simplifications of the papers, for small images and CPU budgets: a 3×3 grid instead of 7×7;
//! the context network is a masked mean plus one linear layer instead of a PixelCNN (v1) or a
//! deep masked convnet (v2); predictions and embeddings are compared by cosine over a
//! temperature, as in SimCLR, instead of the papers' bilinear score `zᵀ W_k c` (more stable at
//! small batches). As in CPC v2 each patch is augmented on its own ([`PatchMosaic`]), so
//! neighbouring patches cannot be matched by colour alone.
//!
//! For evaluation an image is cut into the same grid and its representation is the **mean of
//! its patches' encoder features** `f(x_{t,j})` — the encoder only ever saw patches in training.

use std::sync::Arc;

use crate::augment::{ColorJitter, PatchGrid, PatchMosaic, Pipeline, RandomGrayscale, RandomHorizontalFlip, RandomResizedCrop, ViewConfig, ViewGenerator};
use crate::methods::infonce::info_nce_from_logits;
use crate::methods::settings::check_tau;
use crate::methods::{Batch, Method, Settings};
use crate::train::TrainConfig;
use crate::nn::functional::{dot_matrix, l2_normalize};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder};
use dfdx::nn::modules::{Linear, Repeated};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};

/// CPC's settings (`--method cpc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Temperature τ of InfoNCE over the predicted patches.
    #[arg(long)]
    pub tau: f64,
    /// The crop and colour jitter before the patch grid (see [`cpc_pipeline`]).
    #[command(flatten)]
    pub views: ViewConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self { tau: 0.1, views: ViewConfig::default() }
    }
}

impl Settings for Config {
    /// 4 epochs: each image costs nine 24×24 patches (≈ 2.5× SimCLR's two 32×32 views).
    /// Against 23.8 / 23.9 / 26.2% kNN at random init (seeds 0 / 1 / 2), 2 epochs gave
    /// 48.8 / 43.5 / 40.1% and 3 epochs 54.4 / 49.9 / 45.5%, short of 20 points at seed 2;
    /// 4 epochs give 57.7 / 51.9 / 48.8% (see `docs/results.md`).
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 4, ..base }
    }

    fn validate(&self) -> crate::Result<()> {
        check_tau(self.tau)?;
        self.views.validate()
    }

    fn check_encoder(&self, encoder: &str) -> crate::Result<()> {
        if encoder == "vit" {
            return Err(crate::Error::config("cpc trains the convnet encoders only: its 24x24 patches through the vit (resampled position embeddings) are not tested"));
        }
        Ok(())
    }
}

/// Patches along each side of the image.
pub const GRID: usize = 3;
/// `K`: how many rows ahead the context predicts (`k = 1..=K`).
pub const STEPS: usize = 2;

/// The patch grid of a `size × size` image: [`GRID`] = 3 patches per side, one every
/// `s = size / 8` pixels, each `size − 2s` wide (24×24 every 4 pixels at 32×32). Large, strongly
/// overlapping patches measured far better than 16×16 every 8 pixels on `shapes` (kNN +14 vs
/// +2.5 points over random init in a 2-epoch run).
pub fn patch_grid(size: usize) -> PatchGrid {
    assert!(size >= 10, "CPC: images must be at least 10 pixels wide, got {size}");
    let stride = size / 8;
    let grid = PatchGrid::new(size - 2 * stride, stride);
    debug_assert_eq!(grid.per_side(size), GRID);
    grid
}

/// The causal averaging matrix `L`, `(R·C) × (R·C)` for a grid of `rows × cols` patches in
/// row-major order: row `i` (patch in grid row `t`) holds `1 / ((t + 1) · C)` on the patches
/// of rows `≤ t` and 0 on the others, so `L · z` gives every patch the mean `m_t` of what it
/// is allowed to see. Row-major, `(R·C)²` values.
pub fn causal_mean_matrix(rows: usize, cols: usize) -> Vec<f32> {
    let n = rows * cols;
    let mut l = vec![0.0f32; n * n];
    for i in 0..n {
        let t = i / cols;
        let visible = (t + 1) * cols; // patches of rows 0..=t come first in row-major order
        l[i * n..i * n + visible].fill(1.0 / visible as f32);
    }
    l
}

/// `m`: for every patch of every image, the mean of the embeddings of its image's patches in
/// the same or earlier rows. `z` is `(B·R·C, d)`, image by image, row-major within an image;
/// the result has the same shape.
pub fn causal_mean<D: Device<f32>, T: Tape<f32, D>>(z: Mat<D, T>, rows: usize, cols: usize) -> Mat<D, T> {
    let (total, d) = *z.shape();
    let n = rows * cols;
    assert!(n > 0 && total % n == 0, "CPC: {total} patch embeddings do not make whole {rows}x{cols} grids");
    let b = total / n;
    let l = z.device().tensor_from_vec(causal_mean_matrix(rows, cols), (n, n));
    // m_b = L z_b for every image b, written (z_bᵀ Lᵀ)ᵀ so that the taped tensor comes first.
    let zt = z.reshape_like(&(b, n, d)).permute::<_, Axes3<0, 2, 1>>(); // (B, d, n)
    let lt = l.permute::<_, Axes2<1, 0>>().broadcast_like::<_, Axis<0>>(&(b, n, n));
    zt.matmul(lt).permute::<_, Axes3<0, 2, 1>>().reshape_like(&(total, d))
}

/// `g_ar`, the autoregressive context network: `c_{t,j} = relu(A z_{t,j} + B m_t)`, where
/// `m_t` is [`causal_mean`]. `A` keeps where the patch is (its own content), `B` summarises
/// the rows seen so far.
#[derive(Debug, Clone)]
pub struct Context<const Z: usize, E: Dtype, D: Storage<E>> {
    /// `A`: the patch's own embedding.
    pub own: Linear<Z, Z, E, D>,
    /// `B`: the mean of the visible rows.
    pub past: Linear<Z, Z, E, D>,
}

impl<const Z: usize, E: Dtype + SampleUniform + num_traits::Float, D: Device<E>> TensorCollection<E, D> for Context<Z, E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Context<Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("own", |s| &s.own, |s| &mut s.own),
                Self::module("past", |s| &s.past, |s| &mut s.past),
            ),
            |(own, past)| Context { own, past },
        )
    }
}

/// `W x` for a `(n, Z)` batch with run-time dimensions.
fn linear<const Z: usize, D: Device<f32>, T: Tape<f32, D>>(w: &Linear<Z, Z, f32, D>, x: Mat<D, T>) -> Mat<D, T> {
    let n = x.shape().0;
    w.forward(x.reshape_like(&(n, Const::<Z>))).reshape_like(&(n, Z))
}

impl<const Z: usize, D: Device<f32>> Context<Z, f32, D> {
    /// `c` for every patch of `z: (B·R·C, Z)` (see the type's docs).
    pub fn forward<T: Tape<f32, D>>(&self, z: Mat<D, T>, rows: usize, cols: usize) -> Mat<D, T> {
        let m = causal_mean(z.retaped::<T>(), rows, cols);
        (linear(&self.own, z) + linear(&self.past, m)).relu()
    }
}

/// The prediction pairs of step `k` for `batch` images of `rows × cols` patches: for every
/// patch `(t, j)` with `t + k < rows`, its index (where the context is read) and the index of
/// the patch `k` rows below it (the positive), in the `(B·R·C)` row-major numbering.
pub fn prediction_pairs(batch: usize, rows: usize, cols: usize, k: usize) -> (Vec<usize>, Vec<usize>) {
    let n = rows * cols;
    (0..batch)
        .flat_map(|b| (0..rows.saturating_sub(k) * cols).map(move |i| (b * n + i, b * n + i + k * cols)))
        .unzip()
}

/// InfoNCE of predictions `pred: (N, d)` against every patch embedding `z: (M, d)`; row `i`'s
/// positive is `z[targets[i]]`, every other row of `z` is a negative. Scores are cosines over
/// `τ`; the positive is moved to column 0 for [`info_nce_from_logits`] (and masked out of the
/// rest, so it counts once). `pred` and `z` must be different tensors.
pub fn predictive_info_nce<D: Device<f32>, T: Tape<f32, D>>(pred: Mat<D, T>, z: Mat<D, T>, targets: &[usize], tau: f32) -> Tensor<Rank0, f32, D, T> {
    let (n, m) = (pred.shape().0, z.shape().0);
    assert_eq!(targets.len(), n, "CPC: one target per prediction expected");
    assert!(targets.iter().all(|&t| t < m), "CPC: a target index is out of range");
    assert!(tau > 0.0, "CPC: the temperature τ must be positive");
    let dev = pred.device().clone();
    let logits = dot_matrix(l2_normalize(pred), l2_normalize(z)) / tau; // (N, M)
    let positive = logits.with_empty_tape().select(dev.tensor_from_vec(targets.to_vec(), (n,))).reshape_like(&(n, 1));
    let mut mask = vec![0.0f32; n * m];
    targets.iter().enumerate().for_each(|(i, &t)| mask[i * m + t] = -1e9);
    let negatives = logits + dev.tensor_from_vec(mask, (n, m));
    info_nce_from_logits((positive, negatives).concat_along(Axis::<1>))
}

/// The CPC loss of a batch of patch embeddings `z: (B·R·C, Z)` (image by image, row-major):
/// contexts from `context`, one prediction per step `k = 1..=K` with `predictors[k − 1]`,
/// [`predictive_info_nce`] over all predictions of all steps together.
pub fn cpc_loss<const Z: usize, D: Device<f32>, T: Tape<f32, D>>(
    z: Mat<D, T>,
    context: &Context<Z, f32, D>,
    predictors: &[Linear<Z, Z, f32, D>],
    rows: usize,
    cols: usize,
    tau: f32,
) -> Tensor<Rank0, f32, D, T> {
    assert!(!predictors.is_empty() && rows > predictors.len(), "CPC: {rows} rows leave nothing to predict {} rows ahead", predictors.len());
    let batch = z.shape().0 / (rows * cols);
    let dev = z.device().clone();
    let mut c = Some(context.forward(z.retaped::<T>(), rows, cols));
    let mut predictions: Option<Mat<D, T>> = None;
    let mut targets = Vec::new();
    for (k, w) in (1..).zip(predictors) {
        let (queries, positives) = prediction_pairs(batch, rows, cols, k);
        // The last step takes `c` itself, so that its tape (the context's history) joins the loss.
        let c_k = if k == predictors.len() { c.take().expect("c is taken once") } else { c.as_ref().expect("c is still here").retaped::<T>() };
        let p = linear(w, c_k.gather(dev.tensor_from_vec(queries.clone(), (queries.len(),))));
        predictions = Some(match predictions {
            None => p,
            Some(prev) => (prev, p).concat_along(Axis::<0>),
        });
        targets.extend(positives);
    }
    let predictions = predictions.expect("at least one step");
    predictive_info_nce(predictions, z, &targets, tau)
}

/// CPC's trainable parts: the patch encoder `f` with its projection head `g` (giving `z`), the
/// context network `g_ar` and the `K` predictors `W_k`, plus τ (saved with the weights).
#[derive(Debug, Clone)]
pub struct Cpc<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    /// `z = g(f(x))` for every patch.
    pub branch: Branch<Enc, F, H, Z, E, D>,
    /// `c_{t,j}` from rows `≤ t`.
    pub context: Context<Z, E, D>,
    /// `W_1 … W_K`.
    pub predictors: Repeated<Linear<Z, Z, E, D>, STEPS>,
    /// τ and the views.
    pub config: Config,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for Cpc<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = Cpc<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("branch", |s| &s.branch, |s| &mut s.branch),
                Self::module("context", |s| &s.context, |s| &mut s.context),
                Self::module("predictors", |s| &s.predictors, |s| &mut s.predictors),
            ),
            |(branch, context, predictors)| Cpc { branch, context, predictors, config: Config::default() },
        )
    }
}

/// CPC's view: the whole image is randomly cropped and flipped, then cut into the patch grid
/// and every patch gets its own colour jitter and grayscale (SimCLR's strengths scaled by
/// `color_strength`), tiled back as a [`PatchMosaic`].
pub fn cpc_pipeline(size: usize, color_strength: f32, min_scale: f32) -> Pipeline {
    let s = color_strength;
    let per_patch = Pipeline::new()
        .then(ColorJitter::new(0.8 * s, 0.8 * s, 0.8 * s, (0.2 * s).min(0.5)).with_p(0.8))
        .then(RandomGrayscale::new(0.2));
    Pipeline::new()
        .then(RandomResizedCrop::new((size, size), (min_scale, 1.0)))
        .then(RandomHorizontalFlip::new(0.5))
        .then(PatchMosaic { grid: patch_grid(size), per_patch })
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for Cpc<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "cpc";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.config = settings.clone();
    }

    fn views(&self, image_size: usize) -> ViewGenerator {
        let views = &self.config.views;
        let pipeline = cpc_pipeline(image_size, views.color_strength as f32, views.crop_min_scale as f32);
        ViewGenerator::from_transforms(vec![Arc::new(pipeline)])
    }

    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        let view = &batch.views[0];
        let [_, _, side, _] = view.shape();
        let (data, shape) = PatchGrid::tiles(side / GRID).extract_batch(&view.data, view.shape());
        let patches = dev.tensor_from_vec(data, (shape[0], shape[1], shape[2], shape[3])).traced(grads);
        let z = self.branch.forward_train(patches);
        cpc_loss(z, &self.context, &self.predictors.modules, GRID, GRID, self.config.tau as f32)
    }

    /// The mean of the encoder features of the image's [`patch_grid`] patches.
    fn embed(&self, x: Img<D>) -> Mat<D> {
        let shape = *x.shape();
        let (data, [n, c, p, _]) = patch_grid(shape.2).extract_batch(&x.as_vec(), [shape.0, shape.1, shape.2, shape.3]);
        let h = self.branch.encoder.forward_eval(x.device().tensor_from_vec(data, (n, c, p, p)));
        let per_image = n / shape.0;
        h.reshape_like(&(shape.0, per_image, Enc::DIM)).mean::<(usize, usize), Axis<1>>()
    }
}
