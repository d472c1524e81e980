//! # DeepCluster — deep clustering for unsupervised learning of visual features (Caron et al., ECCV 2018)
//!
//! No pairs of views at all: the network's own features, clustered, become the labels it
//! learns to predict. Each epoch alternates the two steps of the paper (§3.2):
//!
//! ```text
//! 1. cluster    h_i = f_θ(x_i)                      every training image, eval mode, no augmentation
//!                                                   (f_θ(S(x_i)) with the Sobel filter S, `--sobel`)
//!               y_i = normalize(P (h_i − μ))         PCA to d' dims, whitened (P's rows: v_j / √λ_j), L2 rows
//!               min_{C, a} Σ_i ‖y_i − c_{a_i}‖²       k-means; the pseudo-label of image i is a_i ∈ {0 … k−1}
//! 2. classify   g ← a new linear layer F → k          W ~ N(0, 0.01²), b = 0, every epoch
//!               L = (1/B) Σ_b −log softmax(W f_θ(t(x_b)) + b)_{a_b}
//!                                                   cross-entropy on one augmented view t(x) per image,
//!                                                   θ and W trained together for the epoch
//! ```
//!
//! **Trivial solutions** (§3.3). Predicting clusters is easy if there is one cluster, or if the
//! network maps everything to a few points: then most clusters go empty and the rest grow.
//! The paper's two defences, both on by default here and both switchable off for the
//! `deepcluster-collapse` experiment:
//!
//! - *Empty clusters*: during k-means an empty cluster takes over half of a large one
//!   ([`EmptyClusters::Split`]; `--empty-cluster-fix false` gives naive Lloyd,
//!   [`EmptyClusters::Keep`]).
//! - *Uniform sampling*: the epoch's images are drawn uniformly over the pseudo-labels, not over
//!   the images ([`uniform_label_sampler`], the reference code's `UnifLabelSampler`), so a huge
//!   cluster does not dominate the loss; `--uniform-sampling false` gives the loop's shuffle.
//!
//! The classifier is new every epoch because cluster `j` of one epoch has nothing to do with
//! cluster `j` of the next. Its tensors get new dfdx ids, so the optimizer's state for the old
//! ones (momentum, Adam's moments, keyed by id) cannot reach it. (Adam's bias correction still
//! uses the optimizer's global step count, so for a steady gradient a new classifier's first
//! steps are up to about 6× larger than a brand-new Adam's, `(1 − 0.9ⁿ)/√(1 − 0.999ⁿ)` at its
//! n-th step instead of 1; with SGD there is no such subtlety.)
//!
//! **Epoch 0** is clustered on the initial, random encoder before any step, as the reference
//! code does: random convnet features already carry some signal (the paper's introduction: an
//! MLP on a random AlexNet's last convolutional layer reaches 12% on ImageNet, chance 0.1%),
//! which the first epochs amplify.
//!
//! **Scale.** The paper clusters ImageNet's 1.3M images into k = 10 000 clusters after PCA to
//! 256 dims. faiss warns below 39 points per centroid, so 10 000 images allow k ≤ 256; the
//! tiny encoder's features have 128 dims, so PCA keeps fewer (see [`Config`]).

use crate::augment::{ViewConfig, ViewGenerator};
use crate::data::dataset::ImageDataset;
use crate::eval::{embed_dataset, kmeans, nmi, EmptyClusters, KMeansConfig, Pca};
use crate::methods::{stack_views, Batch, EpochPlan, EpochReport, Method, Settings};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::Encoder;
use crate::train::TrainConfig;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Standard deviation of the new classifier's weights (the reference code's `normal_(0, 0.01)`).
pub const CLASSIFIER_INIT_STD: f32 = 0.01;

/// Images per forward pass when the epoch's features are computed.
const EMBED_BATCH: usize = 500;

// ANCHOR: sobel
/// DeepCluster's fixed Sobel filter in front of the network (the reference code's `--sobel`),
/// which removes colour and keeps edges: for `n` images `c × h × w` (row-major, CHW), the grey
/// level `g = mean over the channels`, then its horizontal and vertical Sobel derivatives
///
/// ```text
///        [1 0 −1]          [ 1  2  1]
/// G_x =  [2 0 −2] ⋆ g,  G_y = [ 0  0  0] ⋆ g
///        [1 0 −1]          [−1 −2 −1]
/// ```
///
/// as channels 0 and 1 of a 3-channel image, channel 2 all zeros (the reference feeds the two
/// derivatives to a 2-channel first layer; the kit's encoders take 3). Border pixels are
/// repeated (the reference pads with zeros, which makes the image border an edge whose
/// strength is the background's brightness).
pub fn sobel(pixels: &[f32], n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    assert_eq!(pixels.len(), n * c * h * w, "sobel: {} values for {n} images of {c}×{h}×{w}", pixels.len());
    let mut out = vec![0.0f32; n * 3 * h * w];
    let mut grey = vec![0.0f32; h * w];
    for (image, result) in pixels.chunks_exact(c * h * w).zip(out.chunks_exact_mut(3 * h * w)) {
        grey.iter_mut().enumerate().for_each(|(p, g)| *g = (0..c).map(|ch| image[ch * h * w + p]).sum::<f32>() / c as f32);
        let at = |y: isize, x: isize| grey[y.clamp(0, h as isize - 1) as usize * w + x.clamp(0, w as isize - 1) as usize];
        let (gx, rest) = result.split_at_mut(h * w);
        let gy = &mut rest[..h * w];
        for y in 0..h as isize {
            for x in 0..w as isize {
                let p = y as usize * w + x as usize;
                gx[p] = (at(y - 1, x - 1) + 2.0 * at(y, x - 1) + at(y + 1, x - 1)) - (at(y - 1, x + 1) + 2.0 * at(y, x + 1) + at(y + 1, x + 1));
                gy[p] = (at(y - 1, x - 1) + 2.0 * at(y - 1, x) + at(y - 1, x + 1)) - (at(y + 1, x - 1) + 2.0 * at(y + 1, x) + at(y + 1, x + 1));
            }
        }
    }
    out
}
// ANCHOR_END: sobel

// ANCHOR: preprocess_features
/// DeepCluster's `preprocess_features`: the row-major `n × d` features, PCA-whitened to
/// `d' = min(pca_dim, d)` dimensions ([`Pca::whiten`]) and L2-normalised row by row. Returns the
/// `n × d'` result and `d'`.
pub fn preprocess_features(features: &[f32], d: usize, pca_dim: usize) -> (Vec<f32>, usize) {
    let d_out = pca_dim.min(d);
    let mut y = Pca::fit(features, d, d_out).whiten(features);
    for row in y.chunks_exact_mut(d_out.max(1)) {
        let norm = row.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v = (*v as f64 / norm) as f32);
    }
    (y, d_out)
}
// ANCHOR_END: preprocess_features

// ANCHOR: uniform_label_sampler
/// The reference code's `UnifLabelSampler`: an epoch's order of `n` image indices drawn
/// uniformly over the pseudo-labels `labels` (one per image, each `< k`).
///
/// Each non-empty cluster gets the same quota `⌊n / n_nonempty⌋ + 1` of draws: with
/// replacement if the cluster has no more images than the quota, without otherwise; empty
/// clusters get none. The draws are shuffled, then cut to `n` (padded by repeating them from
/// the start, should there ever be too few).
pub fn uniform_label_sampler(labels: &[usize], k: usize, n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &a) in labels.iter().enumerate() {
        assert!(a < k, "uniform_label_sampler: label {a} of image {i} is not below k = {k}");
        members[a].push(i);
    }
    let non_empty = members.iter().filter(|m| !m.is_empty()).count();
    if non_empty == 0 || n == 0 {
        return Vec::new();
    }
    let quota = n / non_empty + 1;
    let mut order = Vec::with_capacity(quota * non_empty);
    for cluster in members.iter().filter(|m| !m.is_empty()) {
        if cluster.len() <= quota {
            order.extend((0..quota).map(|_| cluster[rng.gen_range(0..cluster.len())]));
        } else {
            order.extend(cluster.choose_multiple(rng, quota).copied());
        }
    }
    order.shuffle(rng);
    let drawn = order.len();
    (0..n).map(|i| order[i % drawn]).collect()
}
// ANCHOR_END: uniform_label_sampler

// ANCHOR: pseudo_label_loss
/// The classification loss on pseudo-labels: the mean over the batch of
/// `−log softmax(logits_b)_{a_b} = logsumexp(logits_b) − logits_{b, a_b}`, for `(B, k)`
/// `logits` and one target `a_b < k` per row. dfdx's `logsumexp` subtracts the row maximum, so
/// large logits are safe.
pub fn pseudo_label_loss<D: Device<f32>, T: Tape<f32, D>>(logits: Mat<D, T>, targets: &[usize]) -> Tensor<Rank0, f32, D, T> {
    let (b, k) = *logits.shape();
    assert_eq!(targets.len(), b, "pseudo_label_loss: {} targets for {b} rows of logits", targets.len());
    assert!(targets.iter().all(|&a| a < k), "pseudo_label_loss: every target must be below k = {k}");
    let dev = logits.device().clone();
    let picked = logits.with_empty_tape().select(dev.tensor_from_vec(targets.to_vec(), (b,)));
    (logits.logsumexp::<(usize,), Axis<1>>() - picked).mean()
}
// ANCHOR_END: pseudo_label_loss

/// DeepCluster's settings (`--method deepcluster`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Number of k-means clusters k (pseudo-classes); capped at the number of training images.
    #[arg(long)]
    pub clusters: usize,
    /// Dimensions kept by the PCA whitening before k-means (capped at the encoder's).
    #[arg(long)]
    pub pca_dim: usize,
    /// PCA-whiten the features before k-means (false: only L2-normalise them, no PCA).
    #[arg(long, action = clap::ArgAction::Set)]
    pub whiten: bool,
    /// Draw each epoch's images uniformly over the pseudo-labels (false: the loop's shuffle).
    #[arg(long, action = clap::ArgAction::Set)]
    pub uniform_sampling: bool,
    /// Split a cluster when another goes empty during k-means (false: naive Lloyd).
    #[arg(long, action = clap::ArgAction::Set)]
    pub empty_cluster_fix: bool,
    /// Put the fixed Sobel filter in front of the encoder (training, clustering and evaluation).
    #[arg(long, action = clap::ArgAction::Set)]
    pub sobel: bool,
    #[command(flatten)]
    pub views: ViewConfig,
}

/// The largest `--clusters`. dfdx 0.13 builds and saves only tensors of fixed shape, so the
/// classifier has this many rows and a run with `k` clusters uses the first `k` (the others get
/// no gradient). 512 is twice what faiss's 39-points-per-centroid rule allows on 10 000 images.
pub const MAX_CLUSTERS: usize = 512;

impl Default for Config {
    /// k = 100 on 10 000 images: 100 points per centroid, inside faiss's 39-point rule
    /// (k ≤ 256) and 10× the number of classes, as the paper over-clusters (k = 10 000 for
    /// ImageNet's 1 000 classes). PCA to 32 of the tiny encoder's 128 dims (the paper keeps 256
    /// of 4 096). Both defences against trivial solutions on. SimCLR's views with **colour
    /// strength 2** and no Sobel filter. Measured on `shapes`, seed 0, kNN top-1 (random init
    /// 21.2%), 6 epochs unless said:
    ///
    /// - **Colour is the trap.** The features of the initial network are mostly colour, so its
    ///   clusters are colour clusters. With no colour distortion (strength 0) the network
    ///   learns to predict them: 16.7%, below random init, and the NMI between clusters and
    ///   classes *falls* (0.055 → 0.027). Views whose colour is distorted can only be
    ///   classified by what is left (the shape): strength 1 / 1.5 / 2 / 3 give 37.9 / 48.7 /
    ///   58.2 / 57.8% (AdamW at 2·10⁻², see [`Settings::train_defaults`]).
    /// - **The paper's Sobel filter** removes colour too, but on `shapes` it does most of the
    ///   work by itself: behind it a *random* encoder already reaches 56.4%, and DeepCluster
    ///   adds 3.7 points (60.1%, lr 10⁻²). Off by default so the kNN margin measures what
    ///   DeepCluster learns; `--sobel true` for the comparison.
    /// - k = 30 / 100 / 256 gave 24.0 / 24.4 / 23.0% (at the loop's lr 2·10⁻³): not critical.
    fn default() -> Self {
        Self {
            clusters: 100,
            pca_dim: 32,
            whiten: true,
            uniform_sampling: true,
            empty_cluster_fix: true,
            sobel: false,
            views: ViewConfig { color_strength: 2.0, ..ViewConfig::default() },
        }
    }
}

impl Settings for Config {
    /// 8 epochs of AdamW at 2·10⁻². Each epoch starts a new classifier from scratch, which
    /// must learn k = 100 classes within the epoch's 156 steps before its gradient means much
    /// to the encoder, so a larger learning rate than SimCLR's pays: at 6 epochs (colour
    /// strength 1) lr 2·10⁻³ / 5·10⁻³ / 10⁻² / 2·10⁻² gave 24.4 / 32.4 / 35.8 / 37.9%. With
    /// colour strength 2, 8 epochs give 61.6% (6 epochs 58.2%), in about three minutes on two
    /// shared cores (an epoch also embeds all 10 000 images for the clustering).
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 8, lr: 2e-2, ..base }
    }

    fn validate(&self) -> crate::Result<()> {
        if !(2..=MAX_CLUSTERS).contains(&self.clusters) {
            return Err(crate::Error::config(format!("--clusters must be between 2 and {MAX_CLUSTERS}")));
        }
        if self.pca_dim == 0 {
            return Err(crate::Error::config("--pca-dim must be at least 1"));
        }
        self.views.validate()
    }
}

impl Config {
    /// The k-means empty-cluster policy these settings ask for.
    pub fn empty_clusters(&self) -> EmptyClusters {
        if self.empty_cluster_fix {
            EmptyClusters::Split
        } else {
            EmptyClusters::Keep
        }
    }
}

/// The clusterings of a finished (or running) DeepCluster run, one per epoch, from the
/// `epochs.jsonl` of its run directory `run_dir` (an empty list if it has none yet). Errors
/// name the file when a line is not a [`ClusterReport`].
pub fn read_reports(run_dir: impl AsRef<std::path::Path>) -> crate::Result<Vec<ClusterReport>> {
    let run = crate::train::RunDir { root: run_dir.as_ref().to_path_buf() };
    crate::train::read_epoch_reports(&run)?
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_value(line).map_err(|e| crate::Error::format(run.epochs(), format!("line {}: not a DeepCluster report ({e})", i + 1)))
        })
        .collect()
}

/// One epoch's clustering, written as a line of the run's `epochs.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    pub epoch: usize,
    /// Clusters asked of k-means (`--clusters`, capped at the number of images).
    pub k: usize,
    /// Images per cluster (length `k`), for histograms.
    pub sizes: Vec<usize>,
    /// Clusters with no image after k-means.
    pub empty_clusters: usize,
    /// Empty clusters re-seeded by splitting during k-means.
    pub reseeded: usize,
    /// The k-means objective `Σ_i ‖y_i − c_{a_i}‖²` of the final clustering.
    pub kmeans_objective: f64,
    /// NMI between this epoch's and the previous epoch's pseudo-labels (`None` at the first
    /// epoch of a session): near 1 once the clusters are stable.
    pub nmi_previous: Option<f64>,
    /// NMI between the pseudo-labels and the true classes (the labels are used for this report
    /// only), `None` for a dataset without labels.
    pub nmi_labels: Option<f64>,
    /// Seconds spent embedding, whitening and clustering.
    pub seconds: f64,
}

impl ClusterReport {
    /// How evenly this clustering spreads the images (largest share, effective number of
    /// clusters, sorted sizes).
    pub fn balance(&self) -> crate::eval::kmeans::ClusterBalance {
        crate::eval::kmeans::ClusterBalance::from_sizes(self.epoch, &self.sizes)
    }

    /// One line for the console.
    pub fn line(&self) -> String {
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        format!(
            "epoch {} clusters: k {}, {} empty, largest {}, NMI with labels {}, with previous epoch {}, objective {:.1} ({:.1} s)",
            self.epoch + 1,
            self.k,
            self.empty_clusters,
            self.sizes.iter().max().copied().unwrap_or(0),
            show(self.nmi_labels),
            show(self.nmi_previous),
            self.kmeans_objective,
            self.seconds
        )
    }
}

/// DeepCluster's parts: encoder `f` (kept for evaluation) and the classifier `W, b` on its
/// features (re-initialised every epoch), plus the epoch's pseudo-labels.
#[derive(Debug, Clone)]
pub struct DeepCluster<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    pub encoder: Enc,
    /// `W`: the classifier's weights, of which the first `k` rows are used.
    pub weight: Tensor<Rank2<MAX_CLUSTERS, F>, E, D>,
    /// `b`: the classifier's bias, of which the first `k` entries are used.
    pub bias: Tensor<Rank1<MAX_CLUSTERS>, E, D>,
    pub config: Config,
    /// The pseudo-label `a_i` of every training image, from this epoch's k-means.
    pub pseudo_labels: Vec<usize>,
    /// The number of clusters of this epoch's k-means (`--clusters`, at most the images).
    pub current_k: usize,
    /// The reports of this session's epochs, in order.
    pub reports: Vec<ClusterReport>,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, D> TensorCollection<f32, D> for DeepCluster<Enc, F, H, Z, f32, D>
where
    D: Device<f32>,
    Enc: TensorCollection<f32, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = DeepCluster<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("encoder", |s| &s.encoder, |s| &mut s.encoder),
                Self::tensor(
                    "classifier.weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(|t| t.try_fill_with_distr(Normal::new(0.0, CLASSIFIER_INIT_STD).expect("valid std"))),
                ),
                Self::tensor("classifier.bias", |s| &s.bias, |s| &mut s.bias, TensorOptions::reset_to_zeros()),
            ),
            |(encoder, weight, bias)| DeepCluster { encoder, weight, bias, config: Config::default(), pseudo_labels: Vec::new(), current_k: 0, reports: Vec::new() },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> DeepCluster<Enc, F, H, Z, f32, D> {
    /// A new classifier with new tensor ids: `W ~ N(0, 0.01²)` drawn from `seed`, `b = 0`.
    /// The optimizer has no state for the new ids, so nothing carries over.
    pub fn reset_classifier(&mut self, dev: &D, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, CLASSIFIER_INIT_STD).expect("valid std");
        let w: Vec<f32> = (0..MAX_CLUSTERS * F).map(|_| normal.sample(&mut rng)).collect();
        self.weight = dev.tensor_from_vec(w, (Const, Const));
        self.bias = dev.zeros();
    }

    /// The encoder's input: `x` itself, or its Sobel edges with `--sobel`.
    pub fn input(&self, x: Img<D>) -> Img<D> {
        if !self.config.sobel {
            return x;
        }
        let (n, c, h, w) = *x.shape();
        let edges = sobel(&x.as_vec(), n, c, h, w);
        x.device().tensor_from_vec(edges, (n, 3, h, w))
    }

    /// The classifier's logits `h Wᵀ + b` over the first `k` clusters, for `(B, F)` features
    /// `h`: `(B, k)`.
    pub fn classify<T: Tape<f32, D>>(&self, h: Mat<D, T>, k: usize) -> Mat<D, T> {
        assert!(k <= MAX_CLUSTERS, "classify: k = {k} is above MAX_CLUSTERS = {MAX_CLUSTERS}");
        assert_eq!(h.shape().1, F, "classify: expected {F} features");
        let b = h.shape().0;
        let w: Mat<D, T> = self.weight.retaped::<T>().slice((0..k, ..)).reshape_like(&(k, F));
        let bias: Tensor<(usize,), f32, D, T> = self.bias.retaped::<T>().slice((0..k,)).reshape_like(&(k,));
        h.matmul(w.permute::<_, Axes2<1, 0>>()) + bias.broadcast_like::<_, Axis<0>>(&(b, k))
    }

    /// Step 1 of the module docs on `data`: the features of every image (encoder in eval
    /// mode), whitened (unless `--whiten false`) and clustered. Returns the k-means result.
    pub fn cluster(&self, dev: &D, data: &ImageDataset, seed: u64) -> crate::Result<crate::eval::KMeans> {
        let (features, d) = embed_dataset(self, dev, data, EMBED_BATCH);
        let (y, d_pca) = if self.config.whiten {
            preprocess_features(&features, d, self.config.pca_dim)
        } else {
            let mut y = features;
            crate::eval::l2_normalize_rows(&mut y, d);
            (y, d)
        };
        let k = self.config.clusters.min(data.len());
        kmeans(&y, d_pca, &KMeansConfig::new(k).with_seed(seed).with_empty_clusters(self.config.empty_clusters()))
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for DeepCluster<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "deepcluster";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.config = settings.clone();
    }

    /// One augmented view per image: the target is the pseudo-label, not another view.
    fn views(&self, image_size: usize) -> ViewGenerator {
        ViewGenerator::from_transforms(vec![std::sync::Arc::new(self.config.views.simclr(image_size))])
    }

    /// Re-clusters the training images with the current encoder, re-initialises the
    /// classifier, and draws the epoch's images uniformly over the new pseudo-labels.
    fn begin_epoch(&mut self, dev: &D, data: &ImageDataset, epoch: usize, seed: u64) -> crate::Result<EpochPlan> {
        let started = Instant::now();
        let km = self.cluster(dev, data, seed)?;
        let previous = std::mem::replace(&mut self.pseudo_labels, km.assignments.clone());
        self.current_k = km.k;
        let nmi_previous = if previous.len() == data.len() { Some(nmi(&previous, &self.pseudo_labels)?) } else { None };
        let nmi_labels = if data.labels.len() == data.len() { Some(nmi(&data.labels, &self.pseudo_labels)?) } else { None };
        self.reset_classifier(dev, seed ^ 0xC1A5_51F1);
        let order = self.config.uniform_sampling.then(|| {
            uniform_label_sampler(&self.pseudo_labels, km.k, data.len(), &mut StdRng::seed_from_u64(seed ^ 0x05A3_B1E5))
        });
        let report = ClusterReport {
            epoch,
            k: km.k,
            empty_clusters: km.sizes.iter().filter(|&&s| s == 0).count(),
            sizes: km.sizes,
            reseeded: km.reseeded,
            kmeans_objective: km.inertia.last().copied().unwrap_or(0.0),
            nmi_previous,
            nmi_labels,
            seconds: started.elapsed().as_secs_f64(),
        };
        let line = report.line();
        let json = serde_json::to_value(&report).expect("serialisable");
        self.reports.push(report);
        Ok(EpochPlan { order, report: Some(EpochReport { line, json }) })
    }

    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        assert!(!self.pseudo_labels.is_empty(), "DeepCluster: no pseudo-labels (Method::begin_epoch was not called)");
        let targets: Vec<usize> = batch.indices.iter().map(|&i| self.pseudo_labels[i]).collect();
        let x = self.input(stack_views(dev, &batch.views)).traced(grads);
        let h = self.encoder.forward_train(x);
        pseudo_label_loss(self.classify(h, self.current_k), &targets)
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.encoder.forward_eval(self.input(x))
    }
}
