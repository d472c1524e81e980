//! # MoCo — momentum contrast (He et al., CVPR 2020; MoCo v2: Chen et al., 2020)
//!
//! A query encoder embeds one view, `q = normalize(g_q(f_q(x₁)))`; a **key encoder** embeds
//! the other, `k⁺ = normalize(g_k(f_k(x₂)))`, without gradients. The negatives are the keys of
//! earlier batches, kept in a FIFO **queue** of size `K` much larger than the batch. The loss
//! is InfoNCE (see [`crate::methods::infonce`]):
//!
//! ```text
//! L = −log  exp(q·k⁺ / τ) / ( exp(q·k⁺ / τ) + Σ_{k⁻ ∈ queue} exp(q·k⁻ / τ) )
//! ```
//!
//! After each step the key encoder follows the query encoder by **momentum**, and the batch's
//! keys replace the oldest ones in the queue:
//!
//! ```text
//! θ_k ← m · θ_k + (1 − m) · θ_q          (every tensor, BatchNorm statistics included)
//! ```
//!
//! With `m = 0` the key encoder is a copy of the query encoder that changes every step, and
//! the queue holds keys from inconsistent encoders; the lecture's table shows training then
//! fails, and that 0.99–0.999 works best.
//!
//! The key encoder is a [`Target`] network: built with its own tensors, filled with the query
//! encoder's *values* at the start, never visited by the optimizer. (A `clone()` of the query
//! encoder would share its tensor ids, hence its gradients and optimizer steps, in dfdx: the
//! key encoder would then train like the query encoder whatever `m` says.)
//!
//! **v1 and v2.** MoCo v1 ([`MoCoV1`], `--method moco-v1`) projects with one linear layer to
//! 128 dimensions and uses light augmentations (crop, flip, colour jitter, grayscale:
//! [`Pipeline::moco_v1`]). MoCo v2 ([`MoCo`], `--method moco`; Chen et al. 2020, "Improved
//! baselines with momentum contrastive learning") keeps everything else and borrows two things
//! from SimCLR: an MLP head `F → 512 → 128` and SimCLR's stronger augmentations (colour
//! jitter with `p = 0.8`, Gaussian blur). The type differs only in its head `G`.
//!
//! **BatchNorm leak.** MoCo computes the keys with BatchNorm over the batch; if the key of an
//! image and its query were normalised with the same batch statistics, the network could
//! tell the positive from the statistics alone. MoCo shuffles samples across GPUs ("shuffle
//! BN"). On one device the kit does the equivalent: queries and keys each go through their
//! encoder in [`SHUFFLE_BN_GROUPS`] groups of two independent random partitions of the batch,
//! so a query and its key are normalised with statistics of different sets of images.

use crate::augment::{Pipeline, ViewConfig, ViewGenerator};
use crate::methods::infonce::info_nce;
use crate::methods::settings::check_tau;
use crate::methods::{Batch, Method, Settings};
use crate::train::TrainConfig;
use crate::nn::functional::l2_normalize;
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::heads::{Head, HeadKind, LinearHead};
use crate::nn::{Branch, Encoder, Mlp, Target};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};

/// The FIFO queue of keys: a ring buffer of `capacity` rows of `dim` values. The oldest keys
/// are overwritten first.
#[derive(Debug, Clone)]
pub struct KeyQueue {
    pub keys: Vec<f32>,
    pub dim: usize,
    /// Row where the next key goes.
    pub ptr: usize,
}

impl KeyQueue {
    /// A queue of `capacity` random unit vectors (as MoCo initialises it).
    pub fn random(capacity: usize, dim: usize, seed: u64) -> Self {
        assert!(capacity > 0 && dim > 0, "KeyQueue: capacity and dimension must be positive");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut keys: Vec<f32> = (0..capacity * dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        for row in keys.chunks_mut(dim) {
            let n = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= n);
        }
        Self { keys, dim, ptr: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.keys.len() / self.dim
    }

    // ANCHOR: moco_momentum_queue
    /// Enqueues a batch of keys (row-major, `n × dim`), dequeuing the oldest `n`: row `ptr`
    /// is the oldest key, it is overwritten first, and `ptr` wraps around at the capacity.
    pub fn push(&mut self, batch: &[f32]) {
        assert_eq!(batch.len() % self.dim, 0, "KeyQueue::push: rows of {} values expected", self.dim);
        // BEGIN SOLUTION
        // HINT: copy each row over the oldest slot, then advance `ptr` modulo the capacity.
        for row in batch.chunks(self.dim) {
            self.keys[self.ptr * self.dim..(self.ptr + 1) * self.dim].copy_from_slice(row);
            self.ptr = (self.ptr + 1) % self.capacity();
        }
        // END SOLUTION
    }
    // ANCHOR_END: moco_momentum_queue
}

/// MoCo's settings (`--method moco`, `--method moco-v1`; MoCHi adds its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Temperature τ of InfoNCE.
    #[arg(long)]
    pub tau: f64,
    /// Momentum m of the key encoder: θ_k ← m·θ_k + (1 − m)·θ_q after every step.
    #[arg(long)]
    pub momentum: f64,
    /// K, the number of keys in the queue (the negatives).
    #[arg(long)]
    pub queue_size: usize,
    /// MoCo v2 uses SimCLR's views; MoCo v1 its own light ones, with only the crop setting.
    #[command(flatten)]
    pub views: ViewConfig,
}

impl Default for Config {
    /// m = 0.99, the lecture's and the paper's range, and K = 4096 keys, 64 batches: far more
    /// negatives than a batch, which is MoCo's point. With a queue this long a fast-moving key
    /// encoder fails, as the lecture says (`selfsup experiment moco-momentum`). τ = 0.1
    /// (τ = 0.2, the paper's v2 value, gave 41.2% instead of 54.8% kNN at 8 epochs).
    fn default() -> Self {
        Self { tau: 0.1, momentum: 0.99, queue_size: 4096, views: ViewConfig::default() }
    }
}

impl Settings for Config {
    /// MoCo needs more steps than SimCLR to take off, at a lower learning rate: AdamW 10⁻³
    /// for 12 epochs. At 8 epochs MoCo v2 gave kNN 54.8 / 48.8 / 43.8% at seeds 0 / 1 / 2
    /// against 21.2–24.1% at random init, short of 25 points at seed 2; at 12 epochs seed 2
    /// gave 50.7% (see `docs/results.md`).
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 12, lr: 1e-3, ..base }
    }

    fn validate(&self) -> crate::Result<()> {
        check_tau(self.tau)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(crate::Error::config("--momentum must be in [0, 1]"));
        }
        if self.queue_size == 0 {
            return Err(crate::Error::config("--queue-size must be at least 1"));
        }
        self.views.validate()
    }
}

/// MoCo: query and key branches with head `G`, the key queue, and τ, m, K. MoCo v2 by
/// default (MLP head); [`MoCoV1`] has a linear head.
#[derive(Debug, Clone)]
pub struct MoCo<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>, G = Mlp<F, H, Z, E, D>> {
    pub query: Branch<Enc, F, H, Z, E, D, G>,
    /// The key encoder: a [`Target`] network, filled with the query encoder's values by
    /// [`Method::begin`] and then moved only by the momentum update (never by the optimizer).
    pub key: Target<Branch<Enc, F, H, Z, E, D, G>>,
    /// τ, `m` of the key encoder's update, `K` keys in the queue, the views.
    pub config: Config,
    /// Made by [`Method::begin`]; not saved (a resumed run starts a fresh queue, refilled
    /// after `K / batch` steps).
    pub queue: Option<KeyQueue>,
    pending_keys: Option<Vec<f32>>,
    step: u64,
}

/// MoCo v1: MoCo with a linear head `F → Z` (He et al., CVPR 2020).
pub type MoCoV1<Enc, const F: usize, const H: usize, const Z: usize, E, D> = MoCo<Enc, F, H, Z, E, D, LinearHead<F, Z, E, D>>;

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D, G> TensorCollection<E, D> for MoCo<Enc, F, H, Z, E, D, G>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
    G: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = MoCo<Enc::To<E2, D2>, F, H, Z, E2, D2, G::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("query", |s| &s.query, |s| &mut s.query),
                Self::module("key", |s| &s.key, |s| &mut s.key),
            ),
            |(query, key)| MoCo { query, key, config: Config::default(), queue: None, pending_keys: None, step: 0 },
        )
    }
}

/// How many groups shuffle BN splits a batch into (MoCo: one per GPU).
pub const SHUFFLE_BN_GROUPS: usize = 2;

/// A random partition of `0..n` into `groups` parts of nearly equal size (shuffle BN's
/// "GPUs").
pub fn bn_groups(n: usize, groups: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    order.chunks(n.div_ceil(groups.clamp(1, n.max(1)))).map(<[usize]>::to_vec).collect()
}

/// The rows `rows` of a row-major batch with `per` values per image.
fn gather_rows(x: &[f32], per: usize, rows: &[usize]) -> Vec<f32> {
    rows.iter().flat_map(|&i| x[i * per..(i + 1) * per].iter().copied()).collect()
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend, G: Head<D>> MoCo<Enc, F, H, Z, f32, D, G> {
    /// `q = normalize(g_q(f_q(x)))` on the tape, BatchNorm within each group of `groups`;
    /// row `r` is image `groups.concat()[r]`.
    fn queries(&mut self, dev: &D, x: &[f32], shape: (usize, usize, usize, usize), groups: &[Vec<usize>], grads: Gradients<f32, D>) -> Mat<D, OwnedTape<f32, D>> {
        let (_, c, h, w) = shape;
        let mut grads = Some(grads);
        let mut q: Option<Mat<D, OwnedTape<f32, D>>> = None;
        for part in groups {
            let xs: Img<D> = dev.tensor_from_vec(gather_rows(x, c * h * w, part), (part.len(), c, h, w));
            // The first group carries the run's gradients; the others start empty tapes that
            // merge into it when the groups are concatenated.
            let xs = match grads.take() {
                Some(g) => xs.traced(g),
                None => xs.retaped::<OwnedTape<f32, D>>(),
            };
            let qg = l2_normalize(self.query.forward_train(xs));
            q = Some(match q {
                None => qg,
                Some(prev) => (prev, qg).concat_along(Axis::<0>),
            });
        }
        q.expect("MoCo: an empty batch")
    }

    /// `k⁺ = normalize(g_k(f_k(x)))` without gradients, BatchNorm within each group of
    /// `groups`, returned in the images' order.
    fn keys(&mut self, dev: &D, x: &[f32], shape: (usize, usize, usize, usize), groups: &[Vec<usize>]) -> Vec<f32> {
        let (n, c, h, w) = shape;
        let mut out = vec![0.0f32; n * Z];
        for part in groups {
            let xs: Img<D> = dev.tensor_from_vec(gather_rows(x, c * h * w, part), (part.len(), c, h, w));
            let k = l2_normalize(self.key.net_mut().forward_train(xs)).as_vec();
            for (row, &i) in part.iter().enumerate() {
                out[i * Z..(i + 1) * Z].copy_from_slice(&k[row * Z..(row + 1) * Z]);
            }
        }
        out
    }

    /// One MoCo forward pass: the queries on the tape, their positive keys and the queue as
    /// negatives. Queues the batch's keys for [`Method::after_step`]. MoCHi builds on it.
    pub fn contrast(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> QueryKeys<D> {
        assert_eq!(batch.views.len(), 2, "MoCo needs two views");
        self.step += 1;
        let [n, c, h, w] = batch.views[0].shape();
        let shape = (n, c, h, w);
        // Shuffle BN: queries and keys are normalised within independent random groups, so a
        // query and its key see statistics of different sets of images.
        let q_groups = bn_groups(n, SHUFFLE_BN_GROUPS, self.step.wrapping_mul(0x9E37_79B9));
        let k_groups = bn_groups(n, SHUFFLE_BN_GROUPS, self.step.wrapping_mul(0x85EB_CA6B) ^ 1);
        let q = self.queries(dev, &batch.views[0].data, shape, &q_groups, grads);
        let k = self.keys(dev, &batch.views[1].data, shape, &k_groups);
        let k_pos = gather_rows(&k, Z, &q_groups.concat()); // row r: the key of q's row r
        let queue = self.queue.as_ref().expect("MoCo: no queue (Method::begin was not called)");
        let negatives = dev.tensor_from_vec(queue.keys.clone(), (queue.capacity(), Z));
        self.pending_keys = Some(k);
        QueryKeys { q, k_pos: dev.tensor_from_vec(k_pos, (n, Z)), negatives }
    }
}

/// What one MoCo pass hands to the loss: `q: (N, Z)` on the tape, `k⁺: (N, Z)` and the
/// queue `(K, Z)`, all L2-normalised.
pub struct QueryKeys<D: Backend> {
    pub q: Mat<D, OwnedTape<f32, D>>,
    pub k_pos: Mat<D>,
    pub negatives: Mat<D>,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, D, G> Method<D> for MoCo<Enc, F, H, Z, f32, D, G>
where
    Enc: Encoder<D>,
    D: Backend,
    G: Head<D> + TensorCollection<f32, D, To<f32, D> = G>,
{
    const NAME: &'static str = match G::KIND {
        HeadKind::Linear => "moco-v1",
        HeadKind::Mlp => "moco",
    };

    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.config = settings.clone();
    }

    /// v2: SimCLR's views (strength and crop from the config); v1: [`Pipeline::moco_v1`].
    fn views(&self, image_size: usize) -> ViewGenerator {
        let views = &self.config.views;
        match G::KIND {
            HeadKind::Linear => ViewGenerator::two_view(Pipeline::moco_v1(image_size, views.crop_min_scale as f32)),
            HeadKind::Mlp => ViewGenerator::two_view(views.simclr(image_size)),
        }
    }

    /// The key encoder starts with the query encoder's values (unless a resumed run restored
    /// a trained one); the queue as random keys.
    fn begin(&mut self, _dev: &D, _data: &crate::data::dataset::ImageDataset) {
        self.key.start_from(&self.query);
        if self.queue.as_ref().map(|q| q.capacity()) != Some(self.config.queue_size) {
            self.queue = Some(KeyQueue::random(self.config.queue_size, Z, 0));
        }
    }

    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        let pass = self.contrast(batch, dev, grads);
        info_nce(pass.q, pass.k_pos, pass.negatives, self.config.tau as f32)
    }

    fn after_step(&mut self, _progress: f32) {
        self.key.update(&self.query, self.config.momentum);
        if let (Some(k), Some(queue)) = (self.pending_keys.take(), self.queue.as_mut()) {
            queue.push(&k);
        }
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.query.encoder.forward_eval(x)
    }
}
