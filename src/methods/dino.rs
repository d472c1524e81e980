//! # DINO — self-distillation with no labels (Caron et al., ICCV 2021)
//!
//! *Emerging Properties in Self-Supervised Vision Transformers.* Knowledge distillation
//! (part 2, [`crate::methods::distill`]) without a pre-trained teacher: the **teacher** is a
//! moving average of the **student** (the same [`crate::nn::Target`] as MoCo's key encoder
//! and BYOL's target), and the student learns to give, for every crop of an image, the
//! distribution the teacher gives for the *other* global crops of the same image.
//!
//! Both networks end in a head with `K` outputs (the "prototypes", here only a softmax
//! dimension). For an image with global crops `x_1, x_2` and local crops `x_3 … x_V`:
//!
//! ```text
//! P_t(x_i) = softmax((g_t(x_i) − c) / τ_t)     teacher, global crops only: centred, sharpened
//! P_s(x_v) = softmax(g_s(x_v) / τ_s)           student, every crop
//! L = 1 / (2 (V − 1)) · Σ_{i ∈ {1,2}} Σ_{v ≠ i} − Σ_k P_t(x_i)_k log P_s(x_v)_k
//! c ← m_c · c + (1 − m_c) · mean_b g_t(x_{i,b})    after every step (both global crops)
//! θ_t ← m · θ_t + (1 − m) · θ_s                    m on a cosine schedule to 1
//! ```
//!
//! The teacher's output is a constant for the loss (stop-gradient). The loss has the form of
//! SwAV's swapped prediction ([`crate::methods::swav::swav_loss`]; [`dino_loss`] writes the same
//! sum out, so that it stands as an exercise of its own): targets from the global crops,
//! predicted by every other crop, averaged over the pairs and the batch (the official
//! `DINOLoss` divides by the number of pairs as well).
//!
//! **Against collapse** there are no negatives and no equipartition, only two opposite forces
//! on the teacher's output:
//! * *Centring* (`− c`) stops one dimension from dominating: a dimension that is large for
//!   every image is large in the centre too and is subtracted away. Alone it pushes the
//!   output towards uniform.
//! * *Sharpening* (`τ_t < τ_s`, e.g. 0.04 against 0.1) makes the teacher's distribution
//!   peaked. Alone it pushes towards one dominant dimension.
//!
//! Together they balance. The paper's diagnostics ([`mean_entropy`], [`mean_kl`]): the
//! entropy of the teacher's distribution (→ 0: one-hot collapse; → ln K: uniform collapse) and
//! the KL divergence between teacher and student (→ 0 in either collapse: nothing left to learn).
//!
//! **Crops**: the two global crops are BYOL's two asymmetric views; `--local-crops N` adds `N`
//! local crops (16 px, 8–40% of the image: [`Pipeline::dino_local`]) that only the student
//! sees, `V = 2 + N`. The default is `N = 0`, two crops, each predicting the other's target
//! (the reason, measured, is in [`Config::default`]). The ViT takes the 16-px crops through
//! resampled position embeddings ([`crate::nn::vit::position_resampling`]).

use crate::augment::{LocalCrops, MultiCrop, Pipeline, Transform, ViewConfig, ViewGenerator};
use crate::error::{Error, Result};
use crate::methods::byol::cosine_tau;
use crate::methods::swav::{prototype_scores, random_unit_rows, MAX_PROTOTYPES};
use crate::methods::{stack_views, Batch, Method, Settings};
use crate::nn::functional::l2_normalize;
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::{Branch, Encoder, Target};
use crate::train::TrainConfig;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

// ANCHOR: dino_loss
/// The teacher's targets `P_t = softmax((t − c) / τ_t)` for the rows of `t` (`n × K`,
/// row-major; `centre` has `K` values): **centring** (`− c`) then **sharpening** (a small
/// `τ_t`), Caron et al. 2021, Algorithm 1. Computed in `f64` after subtracting each row's
/// maximum, so any logit and a small `τ_t` are safe. Constants for the loss: no gradient
/// reaches the teacher.
pub fn teacher_targets(t: &[f32], centre: &[f32], tau_t: f32) -> Vec<f32> {
    let k = centre.len();
    assert!(k > 0 && t.len() % k == 0, "teacher_targets: {} teacher values are not rows of K = {k}", t.len());
    assert!(tau_t > 0.0, "teacher_targets: the teacher temperature τ_t must be positive");
    // BEGIN SOLUTION
    // HINT: one row of K values at a time (`t.chunks(k)`); work in f64.
    // HINT: the logits are (t_k − c_k) / τ_t: subtract the centre first, then divide by the teacher's temperature.
    // HINT: a stable softmax subtracts the row's largest logit before `exp`: at τ_t = 0.04 an output of 30 is the logit 750, and e^750 overflows even f64.
    let mut out = Vec::with_capacity(t.len());
    for row in t.chunks(k) {
        let logits: Vec<f64> = row.iter().zip(centre).map(|(&x, &c)| (x as f64 - c as f64) / tau_t as f64).collect();
        let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|&l| (l - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        out.extend(exp.iter().map(|&e| (e / sum) as f32));
    }
    out
    // END SOLUTION
}
// ANCHOR_END: dino_loss

// ANCHOR: dino_centre
/// The centre's update `c ← m_c · c + (1 − m_c) · mean_b t_b` over the rows of `t` (`n × K`,
/// row-major: the teacher's raw outputs for both global crops of the batch), Caron et al.
/// 2021, Algorithm 1: an exponential moving average of the teacher's mean output, one value per
/// output dimension `k`. `m_c = 1` keeps `c` (no centring from a zero start); `m_c = 0`
/// replaces it by this batch's mean. Computed in `f64`.
pub fn update_centre(centre: &mut [f32], t: &[f32], m_c: f32) {
    let k = centre.len();
    assert!(k > 0 && !t.is_empty() && t.len() % k == 0, "update_centre: {} teacher values are not rows of K = {k}", t.len());
    assert!((0.0..=1.0).contains(&m_c), "update_centre: the centre momentum must be in [0, 1]");
    // BEGIN SOLUTION
    // HINT: `t` holds n = t.len() / k rows (images × global crops) of K values; entry [row * k + j] is output j of that row.
    // HINT: c_j moves towards the mean of column j over the rows (not the mean of a row over its K outputs).
    // HINT: m_c weighs the old centre: m_c = 0.9 keeps 90% of it and takes 10% of the batch mean.
    let rows = (t.len() / k) as f64;
    for (j, c) in centre.iter_mut().enumerate() {
        let mean = t.iter().skip(j).step_by(k).map(|&x| x as f64).sum::<f64>() / rows;
        *c = (m_c as f64 * *c as f64 + (1.0 - m_c as f64) * mean) as f32;
    }
    // END SOLUTION
}
// ANCHOR_END: dino_centre

// ANCHOR: dino_loss
/// DINO's loss for one batch of `b` images (Caron et al. 2021, Algorithm 1, with local crops
/// as the official multi-crop `DINOLoss`):
///
/// ```text
/// P_t(x_i)     = softmax((g_t(x_i) − c) / τ_t)     i ∈ {1, 2}, the global crops ([`teacher_targets`])
/// log P_s(x_v) = log_softmax(g_s(x_v) / τ_s)       v = 1 … V, every crop
/// L = 1 / (2 (V − 1)) · Σ_{i ∈ {1,2}} Σ_{v ≠ i} (1/b) Σ_b − Σ_k P_t(x_i)_{b,k} log P_s(x_v)_{b,k}
/// ```
///
/// * `student` — the student's outputs `g_s(x_v)` for all `V` crops, in crop order (the two
///   global crops first), on the tape; each tensor holds one or more whole crops stacked
///   (rows `u·b .. (u + 1)·b` are one crop), e.g. `[global (2b, K), local (N·b, K)]`.
/// * `teacher` — the teacher's raw outputs `g_t(x_1), g_t(x_2)` (`2b × K`, row-major).
/// * `centre` — `c` (`K` values) before this batch's update.
///
/// A crop is never compared with its own target (`v ≠ i`): each global crop's target meets
/// every *other* crop, `2 (V − 1)` pairs. The sum is regrouped by student crop,
/// `Σ_i Σ_{v ≠ i} ⟨P_t(x_i), log P_s(x_v)⟩ = Σ_v ⟨Σ_{i ≠ v} P_t(x_i), log P_s(x_v)⟩`, so each
/// crop's log-softmax is computed once. That is SwAV's swapped prediction
/// ([`crate::methods::swav::swav_loss`]) with the teacher's targets as codes, written out here
/// in the same order of operations, so both give the same numbers to the last bit. dfdx's
/// log-softmax subtracts the row maximum: a small `τ_s` is safe.
///
/// Panics unless `teacher` is `2b × K`, every student tensor holds whole `(b, K)` crops, there
/// are at least two crops, and `τ_s > 0`.
pub fn dino_loss<D: Device<f32>, T: Tape<f32, D>>(student: Vec<Mat<D, T>>, teacher: &[f32], b: usize, centre: &[f32], tau_s: f32, tau_t: f32) -> Tensor<Rank0, f32, D, T> {
    let k = centre.len();
    assert!(b > 0 && teacher.len() == 2 * b * k, "dino_loss: the teacher's output must be 2 global crops × {b} images × K = {k}");
    assert!(tau_s > 0.0, "dino_loss: the student temperature τ_s must be positive");
    let dev = student.first().expect("dino_loss: no student outputs").device().clone();
    let crops_per_tensor: Vec<usize> = student
        .iter()
        .map(|s| {
            let (rows, cols) = *s.shape();
            assert!(cols == k && rows > 0 && rows % b == 0, "dino_loss: student outputs of shape ({rows}, {cols}) are not whole crops of ({b}, {k})");
            rows / b
        })
        .collect();
    let n_crops: usize = crops_per_tensor.iter().sum();
    assert!(n_crops >= 2, "dino_loss: {n_crops} student crop(s); needs the two global crops at least");
    // Each of the two global crops' targets, with every crop but itself.
    let n_pairs = 2 * (n_crops - 1);
    // BEGIN SOLUTION
    // HINT: `teacher_targets(teacher, centre, tau_t)` gives P_t of both global crops stacked: `chunks(b * k)` splits it into crop 1's (b, K) block and crop 2's.
    // HINT: number the student crops 0, 1, 2, … across all the tensors (tensor t holds `crops_per_tensor[t]` of them); crop v's target is the sum of the global crops' P_t except its own (i ≠ v): crop 0 gets P_t(x_2), crop 1 gets P_t(x_1), a local crop both.
    // HINT: `dev.tensor_from_vec(targets, (n * b, k))` is a constant (no gradient to the teacher); the student's log-probabilities are `(s / tau_s).log_softmax::<Axis<1>>()`.
    // HINT: add up Σ targets · log P_s over every tensor (`sum::<Rank0, _>()`), then scale once by −1 / (b · n_pairs).
    let targets = teacher_targets(teacher, centre, tau_t);
    let p_t: Vec<&[f32]> = targets.chunks(b * k).collect();
    let mut total = None;
    let mut first_crop = 0;
    for (s, n) in student.into_iter().zip(crops_per_tensor) {
        let mut target = vec![0.0f32; n * b * k];
        for (u, block) in target.chunks_exact_mut(b * k).enumerate() {
            for (_, p) in p_t.iter().enumerate().filter(|&(i, _)| i != first_crop + u) {
                block.iter_mut().zip(p.iter()).for_each(|(x, &y)| *x += y);
            }
        }
        let target = dev.tensor_from_vec(target, (n * b, k));
        let log_p = (s / tau_s).log_softmax::<Axis<1>>();
        let term = (log_p * target).sum::<Rank0, _>();
        total = Some(match total {
            None => term,
            Some(sum) => sum + term,
        });
        first_crop += n;
    }
    total.expect("at least two crops") * (-1.0 / (b * n_pairs) as f32)
    // END SOLUTION
}
// ANCHOR_END: dino_loss

// ANCHOR: dino_centre
/// The teacher temperature at optimizer step `step` (Caron et al. 2021 warm τ_t up linearly
/// from 0.04 to 0.07 during the first 30 epochs): a linear warm-up from
/// `from` to `to` over `warmup_steps` steps, then `to` —
/// `τ_t(step) = from + (to − from) · step / warmup_steps` for `step < warmup_steps`, else `to`.
/// `τ_t(0) = from`; with `warmup_steps = 0`, `to` from the start. The kit counts in steps, see
/// `SSL_RECIPES.md` §10.
pub fn teacher_temperature(from: f64, to: f64, warmup_steps: usize, step: usize) -> f64 {
    // BEGIN SOLUTION
    // HINT: step 0 gives `from`; step `warmup_steps` and every later step give `to`.
    // HINT: mind `warmup_steps = 0` (no warm-up): never divide by it.
    if step >= warmup_steps {
        to
    } else {
        from + (to - from) * step as f64 / warmup_steps as f64
    }
    // END SOLUTION
}
// ANCHOR_END: dino_centre

/// Mean entropy `− Σ_k p_k ln p_k` of the rows of `p` (`n × K`, rows summing to 1), in nats:
/// ln K for uniform rows, 0 for one-hot rows.
pub fn mean_entropy(p: &[f32], k: usize) -> f64 {
    assert!(k > 0 && !p.is_empty() && p.len() % k == 0, "mean_entropy: {} values are not rows of K = {k}", p.len());
    let rows = p.len() / k;
    p.iter().filter(|&&x| x > 0.0).map(|&x| -(x as f64) * (x as f64).ln()).sum::<f64>() / rows as f64
}

/// Mean `KL(p ‖ q) = Σ_k p_k ln(p_k / q_k)` over the rows of `p` and `q` (`n × K` each): 0 when
/// the student `q` gives the teacher's `p` exactly.
pub fn mean_kl(p: &[f32], q: &[f32], k: usize) -> f64 {
    assert!(p.len() == q.len() && k > 0 && !p.is_empty() && p.len() % k == 0, "mean_kl: p and q must both be rows of K = {k}");
    let rows = p.len() / k;
    p.iter()
        .zip(q)
        .filter(|(&a, _)| a > 0.0)
        .map(|(&a, &b)| a as f64 * (a as f64 / (b as f64).max(f64::MIN_POSITIVE)).ln())
        .sum::<f64>()
        / rows as f64
}

/// The paper's two collapse diagnostics on one batch (its §5.3 and Figure 7), from the values
/// [`dino_loss`] sees: the mean [`mean_entropy`] of the teacher's targets
/// `P_t = softmax((t − c)/τ_t)` over both global crops, and the mean [`mean_kl`] between each
/// global crop's target and the student's `P_s = softmax(s/τ_s)` for the *other* global crop
/// (the pairs the loss compares). `student` holds the student's scores of the two global
/// crops (`2b × K`, crop 1 then crop 2), `teacher` the teacher's (the same shape).
pub fn diagnostics(student: &[f32], teacher: &[f32], b: usize, centre: &[f32], tau_s: f32, tau_t: f32) -> Diagnostics {
    let k = centre.len();
    assert!(student.len() == 2 * b * k && teacher.len() == 2 * b * k, "dino::diagnostics: the student's and the teacher's scores must be 2 global crops × {b} images × K = {k}");
    let p_t = teacher_targets(teacher, centre, tau_t);
    let p_s = teacher_targets(student, &vec![0.0; k], tau_s);
    let (t1, t2) = p_t.split_at(b * k);
    let (s1, s2) = p_s.split_at(b * k);
    Diagnostics { teacher_entropy: mean_entropy(&p_t, k), teacher_student_kl: (mean_kl(t1, s2, k) + mean_kl(t2, s1, k)) / 2.0 }
}

/// What [`diagnostics`] measures, in nats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Mean entropy of the teacher's distribution: `ln K` in a uniform collapse, 0 in a
    /// one-hot one.
    pub teacher_entropy: f64,
    /// Mean KL between the teacher's and the student's distributions: 0 in either collapse.
    pub teacher_student_kl: f64,
}

/// [`Diagnostics`] over training: one point per window of optimizer steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticsPoint {
    /// The window's last optimizer step.
    pub step: usize,
    /// The window's mean teacher entropy and teacher–student KL (nats; `f32`, so that a saved
    /// experiment reads back the same).
    pub teacher_entropy: f32,
    pub teacher_student_kl: f32,
}

/// The diagnostics a DINO run wrote to its `metrics.jsonl` (`path`), averaged over windows of
/// `window` steps (one batch's values are noisy). Empty when the lines have none (a run of
/// another method). Errors name the file and the line.
pub fn read_diagnostics(path: &std::path::Path, window: usize) -> Result<Vec<DiagnosticsPoint>> {
    #[derive(Deserialize)]
    struct Line {
        step: usize,
        teacher_entropy: Option<f64>,
        teacher_student_kl: Option<f64>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: Line = serde_json::from_str(l).map_err(|e| Error::format(path, format!("line {}: {e}", i + 1)))?;
        if let (Some(h), Some(kl)) = (line.teacher_entropy, line.teacher_student_kl) {
            lines.push((line.step, h, kl));
        }
    }
    Ok(lines
        .chunks(window.max(1))
        .map(|w| {
            let n = w.len() as f64;
            DiagnosticsPoint {
                step: w.last().expect("chunks are not empty").0,
                teacher_entropy: (w.iter().map(|x| x.1).sum::<f64>() / n) as f32,
                teacher_student_kl: (w.iter().map(|x| x.2).sum::<f64>() / n) as f32,
            }
        })
        .collect())
}

/// The most outputs `K` the head can have (the last layer's rows are allocated once, like
/// SwAV's prototypes: [`MAX_PROTOTYPES`]).
pub const MAX_OUTPUTS: usize = MAX_PROTOTYPES;

/// DINO's settings (`--method dino`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// K, the number of outputs of the head (the dimension of the softmax).
    #[arg(long)]
    pub outputs: usize,
    /// τ_s, the student's temperature.
    #[arg(long)]
    pub student_tau: f64,
    /// τ_t, the teacher's temperature after its warm-up (sharpening: τ_t < τ_s; τ_t = τ_s turns it off).
    #[arg(long)]
    pub teacher_tau: f64,
    /// The teacher's temperature at the first step, raised linearly to τ_t over --teacher-tau-warmup-steps.
    #[arg(long)]
    pub teacher_tau_start: f64,
    /// Steps of the teacher temperature's warm-up; 0: τ_t from the start.
    #[arg(long)]
    pub teacher_tau_warmup_steps: usize,
    /// m_c, the centre's momentum (1: the centre stays 0, no centring).
    #[arg(long)]
    pub centre_momentum: f64,
    /// The teacher's starting EMA rate m, raised to 1 on a cosine over training.
    #[arg(long)]
    pub momentum_base: f64,
    /// Optimizer steps at the start during which the head's last layer is not trained.
    #[arg(long)]
    pub freeze_last_layer_steps: usize,
    /// The colour strength of BYOL's jitter and the smallest crop (DINO's global crops are
    /// BYOL's two asymmetric views).
    #[command(flatten)]
    pub views: ViewConfig,
    /// Multi-crop's local crops, seen by the student only.
    #[command(flatten)]
    pub local: LocalCrops,
}

impl Default for Config {
    /// For a few hundred steps on 2 cores (`SSL_RECIPES.md` §10), not ImageNet's 300 epochs:
    ///
    /// * `K = 1024` outputs (lightly's CIFAR bench uses 2048, the paper 65 536).
    /// * τ_s = 0.1 and a constant τ_t = 0.04 (lightly's CIFAR default; the paper's warm-up
    ///   0.04 → 0.07 over 30 epochs is `--teacher-tau-start 0.04 --teacher-tau 0.07
    ///   --teacher-tau-warmup-steps N`).
    /// * m_c = 0.9, the paper's centre momentum (already a fast, per-step average).
    /// * Teacher momentum from 0.996 to 1 on a cosine, the paper's value (a half-life of 173
    ///   steps at the start, over the 1 248 steps of a default run). Measured on `textures`,
    ///   seed 0, colour strength 4: kNN 57.3% at 0.996, 53.4% at 0.999; at strength 1, 0.9
    ///   gave 29.5% against 41.3% at 0.99 (random init 33.2%): a teacher that follows the
    ///   student closely does worse.
    /// * The last layer frozen for the first 156 steps (about one epoch of 10 000 images at
    ///   batch 64; the paper freezes it for the first epoch).
    /// * BYOL's two views (blur on the first, solarisation on the second), as DINO's global
    ///   crops, with colour strength 4: jitter (1.6, 1.6, 0.8, 0.4) with p = 0.8, where BYOL
    ///   uses 2. On `textures` (seed 0, momentum 0.99) kNN rose with the strength: 41.3 / 47.2
    ///   / 51.2 / 53.0% at 1 / 2 / 3 / 4 (random init 33.2%), while BYOL fell from 39.2% at 2
    ///   to 35.2% at 3. The crop range comes from the dataset's recipe.
    /// * No local crops: two 16-px local crops (8–40% of the image) cost both backbones points
    ///   on `textures`, seed 0: the tiny convnet 57.3% → 54.1% kNN (8 epochs), the ViT 20.9% →
    ///   19.0% (3 epochs) (`docs/results.md`, part 4). `--local-crops N` turns them on.
    fn default() -> Self {
        Self {
            outputs: 1024,
            student_tau: 0.1,
            teacher_tau: 0.04,
            teacher_tau_start: 0.04,
            teacher_tau_warmup_steps: 0,
            centre_momentum: 0.9,
            momentum_base: 0.996,
            freeze_last_layer_steps: 156,
            views: ViewConfig { color_strength: 4.0, ..ViewConfig::default() },
            local: LocalCrops::default(),
        }
    }
}

impl Settings for Config {
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        TrainConfig { epochs: 8, ..base }
    }

    fn validate(&self) -> Result<()> {
        if !(1..=MAX_OUTPUTS).contains(&self.outputs) {
            return Err(Error::config(format!("--outputs must be between 1 and {MAX_OUTPUTS}")));
        }
        for (flag, tau) in [("--student-tau", self.student_tau), ("--teacher-tau", self.teacher_tau), ("--teacher-tau-start", self.teacher_tau_start)] {
            if !(tau > 0.0 && tau.is_finite() && tau as f32 > 0.0) {
                return Err(Error::config(format!("{flag} must be positive")));
            }
        }
        if !(0.0..=1.0).contains(&self.centre_momentum) {
            return Err(Error::config("--centre-momentum must be in [0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.momentum_base) {
            return Err(Error::config("--momentum-base must be in [0, 1]"));
        }
        self.local.validate()?;
        self.views.validate()
    }

    /// The ViT takes the local crops when they are whole patches ([`LocalCrops::check_encoder`]).
    fn check_encoder(&self, encoder: &str) -> Result<()> {
        self.local.check_encoder(encoder)
    }
}

/// The network DINO's student and teacher share: encoder `f`, projection head `g` (the kit's
/// [`crate::nn::Mlp`]), and a weight-normalised last layer `V` with `K` rows:
/// `g_θ(x) = (V / ‖V‖) · (g(f(x)) / ‖g(f(x))‖)`, cosine scores in `[−1, 1]` (the paper's
/// last layer with its norm fixed to 1 on an L2-normalised bottleneck; the same product as
/// SwAV's scores against its prototypes, [`prototype_scores`]).
#[derive(Debug, Clone)]
pub struct DinoNet<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    pub branch: Branch<Enc, F, H, Z, E, D>,
    /// `V`: its first `K` rows are used.
    pub last_layer: Tensor<Rank2<MAX_OUTPUTS, Z>, E, D>,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for DinoNet<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = DinoNet<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("branch", |s| &s.branch, |s| &mut s.branch),
                Self::tensor("last_layer", |s| &s.last_layer, |s| &mut s.last_layer, TensorOptions::reset_with(random_unit_rows::<Z, E, D>)),
            ),
            |(branch, last_layer)| DinoNet { branch, last_layer },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> DinoNet<Enc, F, H, Z, f32, D> {
    /// The first `k` rows of `V`, as values.
    pub fn last_layer_values(&self, k: usize) -> Vec<f32> {
        self.last_layer.as_vec()[..k * Z].to_vec()
    }
}

/// DINO: the student (trained), the teacher (moving average, no gradient), the centre, and
/// the settings.
#[derive(Debug, Clone)]
pub struct Dino<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>> {
    pub student: DinoNet<Enc, F, H, Z, E, D>,
    /// Filled by [`Method::begin`], moved only by the EMA.
    pub teacher: Target<DinoNet<Enc, F, H, Z, E, D>>,
    /// `c`: its first `K` values are used (saved in checkpoints; never trained).
    pub centre: Tensor<Rank1<MAX_OUTPUTS>, E, D>,
    /// Optimizer steps taken (saved in checkpoints, for the freeze and the τ_t warm-up).
    pub steps: f64,
    pub config: Config,
    /// The teacher's current EMA rate m.
    pub momentum: f64,
    /// [`diagnostics`] of the last batch.
    pub last: Diagnostics,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D> TensorCollection<E, D> for Dino<Enc, F, H, Z, E, D>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = Dino<Enc::To<E2, D2>, F, H, Z, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> std::result::Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("student", |s| &s.student, |s| &mut s.student),
                Self::module("teacher", |s| &s.teacher, |s| &mut s.teacher),
                Self::tensor("centre", |s| &s.centre, |s| &mut s.centre, TensorOptions::detached(|t| t.try_fill_with_zeros())),
                Self::scalar("steps", |s| &s.steps, |s| &mut s.steps, ScalarOptions::from_default(0.0)),
            ),
            |(student, teacher, centre, steps)| {
                let config = Config::default();
                Dino { student, teacher, centre, steps, momentum: config.momentum_base, config, last: Diagnostics::default() }
            },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Dino<Enc, F, H, Z, f32, D> {
    /// Whether the student's last layer is still frozen (the first `freeze_last_layer_steps` steps).
    pub fn last_layer_frozen(&self) -> bool {
        (self.steps as usize) < self.config.freeze_last_layer_steps
    }

    /// τ_t at the current step ([`teacher_temperature`]).
    pub fn teacher_tau(&self) -> f64 {
        let c = &self.config;
        teacher_temperature(c.teacher_tau_start, c.teacher_tau, c.teacher_tau_warmup_steps, self.steps as usize)
    }

    /// The centre's `K` values.
    pub fn centre_values(&self) -> Vec<f32> {
        self.centre.as_vec()[..self.config.outputs].to_vec()
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend> Method<D> for Dino<Enc, F, H, Z, f32, D> {
    const NAME: &'static str = "dino";
    type Config = Config;

    fn configure(&mut self, settings: &Config) {
        assert!(settings.outputs <= MAX_OUTPUTS, "dino: at most {MAX_OUTPUTS} outputs");
        self.config = settings.clone();
        self.momentum = settings.momentum_base;
    }

    /// DINO's two global crops (BYOL's two asymmetric views), then the `--local-crops` local
    /// ones ([`Pipeline::dino_local`], at the same colour strength).
    fn views(&self, image_size: usize) -> ViewGenerator {
        let v = &self.config.views;
        let (first, second) = Pipeline::byol_views_with(image_size, v.color_strength as f32, v.crop_min_scale as f32, 1.0);
        let crops = self.config.local.multi_crop(image_size, v.crop_min_scale);
        let local: Arc<dyn Transform> = Arc::new(Pipeline::dino_local(crops.local_crop(), v.color_strength as f32));
        let mut views: Vec<Arc<dyn Transform>> = vec![Arc::new(first), Arc::new(second)];
        views.extend(std::iter::repeat_n(local, crops.n_local));
        ViewGenerator::from_transforms(views)
    }

    /// The teacher starts as a copy of the student (unless a resumed run restored it).
    fn begin(&mut self, _dev: &D, _data: &crate::data::dataset::ImageDataset) {
        self.teacher.start_from(&self.student);
    }

    /// Every crop through the student (on the tape; one pass per crop size,
    /// [`crate::nn::Branch::forward_multi_crop`]), the two global crops through the teacher
    /// (values only: the stop-gradient), [`dino_loss`] with the centre before this batch, then
    /// the centre moves towards the teacher's batch mean.
    ///
    /// While the last layer is frozen it enters as a copy with its own tensor id and the loop's
    /// gradients are replaced by fresh ones, so neither a gradient, nor weight decay, nor
    /// Adam's moments move it (as SwAV's frozen prototypes).
    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
        let n_local = batch.views.len().checked_sub(2).unwrap_or_else(|| panic!("dino: needs the two global crops"));
        let crops = MultiCrop::for_image_size(batch.views[0].shape()[2], n_local).stack(&batch.views).unwrap_or_else(|e| panic!("dino: {e}"));
        let n = crops.batch_size;
        let k = self.config.outputs;
        let frozen = self.last_layer_frozen();
        let grads = if frozen { Gradients::leaky() } else { grads };
        let x_global = stack_views(dev, &batch.views[..2]);
        let z = self.student.branch.forward_multi_crop(dev, crops, grads);
        let v: Mat<D, OwnedTape<f32, D>> = if frozen {
            dev.tensor_from_vec(self.student.last_layer_values(k), (k, Z)).retaped()
        } else {
            self.student.last_layer.clone().retaped::<OwnedTape<f32, D>>().slice((0..k, ..)).reshape_like(&(k, Z))
        };
        let student = prototype_scores(z, v);
        let teacher_net = self.teacher.net_mut();
        let v_t = dev.tensor_from_vec(teacher_net.last_layer_values(k), (k, Z));
        let teacher = prototype_scores(teacher_net.branch.forward_train(x_global), v_t).as_vec();
        let mut centre = self.centre_values();
        let (tau_s, tau_t) = (self.config.student_tau as f32, self.teacher_tau() as f32);
        self.last = diagnostics(&student.as_vec()[..2 * n * k], &teacher, n, &centre, tau_s, tau_t);
        let loss = dino_loss(vec![student], &teacher, n, &centre, tau_s, tau_t);
        update_centre(&mut centre, &teacher, self.config.centre_momentum as f32);
        let mut stored = self.centre.as_vec();
        stored[..k].copy_from_slice(&centre);
        self.centre.copy_from(&stored);
        loss
    }

    /// The teacher follows the student, `m` follows its cosine, the step is counted.
    fn after_step(&mut self, progress: f32) {
        self.teacher.update(&self.student, self.momentum);
        self.momentum = cosine_tau(self.config.momentum_base, progress as f64);
        self.steps += 1.0;
    }

    /// The teacher's entropy and the teacher–student KL on the last batch ([`diagnostics`]).
    fn step_diagnostics(&self) -> Vec<(&'static str, f64)> {
        vec![("teacher_entropy", self.last.teacher_entropy), ("teacher_student_kl", self.last.teacher_student_kl)]
    }

    /// The student's encoder, as for every other method (the paper evaluates the teacher's).
    fn embed(&self, x: Img<D>) -> Mat<D> {
        self.student.branch.encoder.forward_eval(x)
    }

    /// The student's unit projection `g(f(x)) / ‖·‖`, the input of the last layer.
    fn project(&self, x: Img<D>) -> Option<Mat<D>> {
        Some(l2_normalize(self.student.branch.forward_eval(x)))
    }
}
