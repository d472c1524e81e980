//! # MoCHi — mixing of contrastive hard negatives (Kalantidis et al., NeurIPS 2020)
//!
//! After a few epochs of MoCo, most keys in the queue are easy: the query is already far from
//! them, and they contribute almost nothing to the InfoNCE gradient. MoCHi makes new, harder
//! negatives directly in the embedding space, for each query `q`:
//!
//! 1. rank the queue's keys by similarity `q·n` and keep the `N` hardest (most similar):
//!    `Q̃ = {n₁, …, n_N}`;
//! 2. **mix two hard negatives**, `s` times: pick `n_i ≠ n_j` in `Q̃` and `α ∈ (0, 1)`,
//!    ```text
//!    h = normalize( α · n_i + (1 − α) · n_j )
//!    ```
//! 3. **mix the query with a hard negative**, `s'` times: pick `n_j` in `Q̃` and
//!    `β ∈ (0, 0.5)` — below one half, so the query never dominates the mix —
//!    ```text
//!    h' = normalize( β · q + (1 − β) · n_j )
//!    ```
//!
//! The `s + s'` synthetic points join the queue as extra negatives of that query only (see
//! [`crate::methods::infonce::info_nce_with_extra`]). They are treated as constants: no
//! gradient flows through them. Everything else is MoCo ([`crate::methods::moco`]).
//!
//! The functions here work on plain row-major slices, so each rule can be checked by hand.

use crate::augment::ViewGenerator;
use crate::methods::infonce::info_nce_with_extra;
use crate::methods::moco::MoCo;
use crate::methods::{Batch, Method, Settings};
use crate::train::TrainConfig;
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::Encoder;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};

/// How many hard negatives to keep and how many points to synthesise per query.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Mixing {
    /// N: the hardest keys of the queue that the mixes are drawn from.
    #[arg(long = "hard-negatives", id = "n_hard")]
    pub n_hard: usize,
    /// s: synthetic negatives mixed from two hard negatives.
    #[arg(long = "mixes", id = "s")]
    pub s: usize,
    /// s′: synthetic negatives mixed from the query and a hard negative.
    #[arg(long = "query-mixes", id = "s_prime")]
    pub s_prime: usize,
}

/// MoCHi's settings (`--method mochi`): MoCo's, plus the mixing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    #[command(flatten)]
    pub moco: crate::methods::moco::Config,
    #[command(flatten)]
    pub mixing: Mixing,
}

impl Settings for Config {
    /// MoCo's budget: the same number of steps, so the `mochi` experiment compares like with like.
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        crate::methods::moco::Config::train_defaults(base)
    }

    fn validate(&self) -> crate::Result<()> {
        if self.mixing.n_hard == 0 && self.mixing.s + self.mixing.s_prime > 0 {
            return Err(crate::Error::config("--hard-negatives must be at least 1"));
        }
        self.moco.validate()
    }
}

impl Default for Mixing {
    /// The paper uses `N = 1024, s = 1024, s' = 256` with a 16k queue. The kit keeps the
    /// paper's ratio of hard keys to queue, `N = 256` of MoCo's 4096 keys (1/16), and
    /// synthesises a quarter as many points, `s = 256, s' = 64` (the `mochi` experiment
    /// measures what they buy over MoCo).
    fn default() -> Self {
        Self { n_hard: 256, s: 256, s_prime: 64 }
    }
}

// ANCHOR: mochi
/// `a · b`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The indices of the `n_hard` rows of `queue` (`K × d`, row-major) most similar to `q`
/// (largest `q·n`), hardest first. Ties keep the queue's order. `n_hard` larger than the
/// queue returns every index.
pub fn hardest_negatives(q: &[f32], queue: &[f32], d: usize, n_hard: usize) -> Vec<usize> {
    assert_eq!(q.len(), d, "hardest_negatives: q must have d = {d} values");
    assert_eq!(queue.len() % d, 0, "hardest_negatives: the queue must hold rows of d = {d} values");
    // BEGIN SOLUTION
    // HINT: score every key with q·n, then sort the indices by decreasing score.
    let scores: Vec<f32> = queue.chunks(d).map(|n| dot(q, n)).collect();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order.truncate(n_hard);
    order
    // END SOLUTION
}

/// `normalize(α · a + (1 − α) · b)`: one synthetic point on the arc between two unit vectors.
pub fn mix(a: &[f32], b: &[f32], alpha: f32) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "mix: vectors of different lengths");
    // BEGIN SOLUTION
    // HINT: mix first, then divide by the L2 norm of the mix (guard against a zero norm).
    let h: Vec<f32> = a.iter().zip(b).map(|(x, y)| alpha * x + (1.0 - alpha) * y).collect();
    let norm = dot(&h, &h).sqrt().max(1e-12);
    h.into_iter().map(|v| v / norm).collect()
    // END SOLUTION
}
// ANCHOR_END: mochi

/// The `s + s'` synthetic negatives of one query (`(s + s') × d`, row-major): first `s` mixes
/// of two distinct hard negatives with `α ~ U(0, 1)`, then `s'` mixes of `q` with a hard
/// negative with `β ~ U(0, 0.5)`. `hard` holds queue row indices (from
/// [`hardest_negatives`]); with fewer than two, the pair mixes reuse the one there is.
pub fn synthesize(q: &[f32], queue: &[f32], d: usize, hard: &[usize], mixing: &Mixing, rng: &mut impl Rng) -> Vec<f32> {
    assert!(!hard.is_empty(), "synthesize: no hard negatives to mix");
    let row = |i: usize| &queue[i * d..(i + 1) * d];
    let mut out = vec![0.0; (mixing.s + mixing.s_prime) * d];
    let mut points = out.chunks_mut(d);
    for _ in 0..mixing.s {
        let i = hard[rng.gen_range(0..hard.len())];
        let mut j = hard[rng.gen_range(0..hard.len())];
        while j == i && hard.len() > 1 {
            j = hard[rng.gen_range(0..hard.len())];
        }
        let alpha = rng.gen_range(0.0..1.0);
        mix_into(points.next().expect("s + s' points"), row(i), row(j), alpha);
    }
    for _ in 0..mixing.s_prime {
        let j = hard[rng.gen_range(0..hard.len())];
        let beta = rng.gen_range(0.0..0.5);
        mix_into(points.next().expect("s + s' points"), q, row(j), beta);
    }
    out
}

/// [`mix`] written into `out` instead of a new vector: the same operations in the same order
/// (so the same bits), without one allocation per synthetic point (a default MoCHi step makes
/// 256 × 320 of them).
fn mix_into(out: &mut [f32], a: &[f32], b: &[f32], alpha: f32) {
    assert!(a.len() == b.len() && a.len() == out.len(), "mix: vectors of different lengths");
    for ((h, x), y) in out.iter_mut().zip(a).zip(b) {
        *h = alpha * x + (1.0 - alpha) * y;
    }
    let norm = dot(out, out).sqrt().max(1e-12);
    out.iter_mut().for_each(|v| *v /= norm);
}

/// The synthetic negatives of every query of a batch: `(n, s + s', d)` row-major for
/// `q: n × d`. The hard sets, independent per query, are ranked on every core; the mixing
/// then draws from `rng` query by query, in order, so the result does not depend on the
/// number of threads.
pub fn synthesize_batch(q: &[f32], queue: &[f32], d: usize, mixing: &Mixing, rng: &mut impl Rng) -> Vec<f32> {
    use rayon::prelude::*;
    let hard: Vec<Vec<usize>> = q.par_chunks(d).map(|qi| hardest_negatives(qi, queue, d, mixing.n_hard)).collect();
    let mut out = Vec::with_capacity(hard.len() * (mixing.s + mixing.s_prime) * d);
    for (qi, h) in q.chunks(d).zip(&hard) {
        out.extend(synthesize(qi, queue, d, h, mixing, rng));
    }
    out
}

/// MoCHi: MoCo (its query and key branches, queue, τ and m) plus hard-negative mixing.
#[derive(Debug, Clone)]
pub struct MoCHi<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    pub moco: MoCo<Enc, F, H, Z, E, D>,
    pub mixing: Mixing,
    step: u64,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for MoCHi<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = MoCHi<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::module("moco", |s| &s.moco, |s| &mut s.moco),
            |moco| MoCHi { moco, mixing: Mixing::default(), step: 0 },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for MoCHi<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "mochi";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        self.moco.configure(&settings.moco);
        self.mixing = settings.mixing;
    }

    fn views(&self, image_size: usize) -> ViewGenerator {
        self.moco.views(image_size)
    }

    fn begin(&mut self, dev: &D, data: &crate::data::dataset::ImageDataset) {
        self.moco.begin(dev, data);
    }

    /// MoCo's InfoNCE with each query's `s + s'` synthetic negatives appended to its logits.
    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        self.step += 1;
        let pass = self.moco.contrast(batch, dev, grads);
        let n = pass.q.shape().0;
        let queue = pass.negatives.as_vec();
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.step.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let synthetic = synthesize_batch(&pass.q.as_vec(), &queue, Z, &self.mixing, &mut rng);
        let extra = dev.tensor_from_vec(synthetic, (n, self.mixing.s + self.mixing.s_prime, Z));
        info_nce_with_extra(pass.q, pass.k_pos, pass.negatives, extra, self.moco.config.tau as f32)
    }

    fn after_step(&mut self, progress: f32) {
        self.moco.after_step(progress);
    }

    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.moco.embed(x)
    }
}
