//! `selfsup bench`: times full SimCLR training steps (forward, backward, optimizer) of the
//! default encoder, of the larger convnet and of the ViT, and writes ms/step, images/s,
//! achieved GFLOP/s and its share of the machine's peak as JSON. Each step processes
//! `2 × batch` images (two views). Convnets: SGD, batch 256 by default; ViT: AdamW, batch 128.
//!
//! **Achieved GFLOP/s** counts the encoder's matrix work only — convolutions for the convnets;
//! patch embedding, projections and attention products for the ViT — as 3× the forward FLOPs
//! (forward, and two products of the same size backward), over the median step time. The
//! projection head, loss and element-wise ops are not counted, so this is a lower bound.
//!
//! **Peak GFLOP/s** is `threads × FMA units × f32 lanes × 2 × clock`: lanes 16 with AVX-512,
//! 8 with AVX2 + FMA, 4 otherwise (from `/proc/cpuinfo` flags); 2 FMA units per core (true of
//! AMD Zen and Intel since Haswell; an assumption, not read from the CPU); clock the highest
//! `cpu MHz` of `/proc/cpuinfo` (the base clock on VMs without boost information). For the
//! 2-core AMD EPYC (Zen 3) CI machine at 2.445 GHz that is 78 GFLOP/s per thread.
//!
//! Each report also carries the process's peak resident memory (`VmHWM` of
//! `/proc/self/status`, MiB). For a clean per-model number run one model per process
//! (`selfsup bench --model tiny-convnet`, then `--model convnet`), as `bench/compare.sh` does;
//! with both models in one process the peak is reset (`/proc/self/clear_refs`) before the
//! second, but the heap the first one left behind still counts. `bench/torch_reference.py` is
//! the same step in PyTorch.
//!
//! **`--epoch`** times one end-to-end epoch instead: the 10 000 built-in texture images in a
//! shuffled order, each batch's two views made by SimCLR's own augmentation pipeline on the
//! training loop's view thread, one batch ahead ([`crate::train::trainer::spawn_views`]), then
//! the same step. Each step's time runs from the end of the previous step, so waiting for views
//! counts; the report adds the epoch's seconds and the median time the views of one batch took.
//! The augmentation runs on `threads` threads (a rayon pool of that size) beside the `threads`
//! of the kernels, as in `selfsup train`. `bench/torch_reference.py --epoch` is the PyTorch
//! loop with batched tensor augmentation.
//!
//! **`--profile`** adds where a step's time goes, op by op ([`crate::nn::ops::profile`]): each
//! kit kernel's forward and backward (wall time on the training thread), the optimizer, and
//! what dfdx's own ops took between the kernels; and the matrix products' GFLOP/s per core
//! while `gemm` runs, over one core's peak. The profiler costs about a timer read per kernel
//! and per `gemm` call.

use crate::augment::ViewBatch;
use crate::data::spec::DatasetSpec;
use crate::error::Result;
use crate::image::Image;
use crate::methods::{Batch, Method, SimClr};
use crate::nn::ops::{profile, ConvGeom};
use crate::nn::{Encoder, SmallConvNet, SmallVit, TinyConvNet};
use crate::train::trainer::{spawn_views, view_seed};
use crate::train::{Optimizer, OptimizerKind};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use dfdx::nn::{BuildModule, ZeroGrads};
use dfdx::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// Which encoders `selfsup bench` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchModel {
    /// ConvNet 16-32-64-128 (128-d features).
    TinyConvNet,
    /// ConvNet 32-64-128-256 (256-d features).
    ConvNet,
    /// The small ViT (patch 4, width 128, 4 blocks, 4 heads).
    Vit,
    /// All three, one after the other, in this process.
    All,
}

impl BenchModel {
    /// Images per view by default: 256 for the convnets, 128 for the ViT.
    pub fn default_batch(self) -> usize {
        match self {
            Self::Vit => 128,
            _ => 256,
        }
    }
}

impl std::str::FromStr for BenchModel {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tiny-convnet" => Ok(Self::TinyConvNet),
            "convnet" => Ok(Self::ConvNet),
            "vit" => Ok(Self::Vit),
            "all" => Ok(Self::All),
            other => Err(crate::error::Error::config(format!(
                "unknown bench model `{other}` (expected `tiny-convnet`, `convnet`, `vit` or `all`)"
            ))),
        }
    }
}

/// What `selfsup bench` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchMode {
    /// Training steps on two fixed view batches.
    Step,
    /// One epoch over the built-in textures: views made by the augmentation pipeline, then the step.
    Epoch,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// `step` or `epoch` (see [`BenchMode`]).
    pub mode: String,
    pub model: String,
    pub batch: usize,
    pub views: usize,
    pub image_size: usize,
    pub threads: usize,
    pub steps: usize,
    pub ms_per_step_median: f64,
    pub ms_per_step_min: f64,
    pub images_per_s: f64,
    /// Optimizer of the step (`sgd` or `adamw`).
    pub optimizer: String,
    /// Encoder matrix FLOPs of forward + backward (3× forward) per step, over the median time.
    pub gflops_per_s: f64,
    /// Peak f32 GFLOP/s of `threads` cores (see the module doc); 0 where unknown.
    pub peak_gflops_per_s: f64,
    /// `gflops_per_s / peak_gflops_per_s`.
    pub fraction_of_peak: f64,
    /// Peak resident memory of the process (`VmHWM`, MiB) at the end of the run; 0 where
    /// `/proc/self/status` is not available.
    pub peak_rss_mib: f64,
    /// Epoch mode: training images of the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<usize>,
    /// Epoch mode: seconds from the first view to the last step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_seconds: Option<f64>,
    /// Epoch mode: median milliseconds to make one batch's views (on the view thread).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views_ms_median: Option<f64>,
    /// `--profile`: where a step's time goes, op by op (see [`OpTime`]), largest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Vec<OpTime>>,
    /// `--profile`: the matrix products' GFLOP/s per core while they run (FLOPs over the
    /// core-seconds spent in `gemm`, [`crate::nn::ops::profile`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemm_gflops_per_core: Option<f64>,
    /// `--profile`: `gemm_gflops_per_core` over one core's peak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemm_fraction_of_peak: Option<f64>,
}

/// One row of a step's profile: an op (a kit kernel's forward or backward, the optimizer, or
/// what dfdx's own ops took between the kernels), its milliseconds and calls per step.
#[derive(Debug, Clone, Serialize)]
pub struct OpTime {
    pub op: String,
    pub ms_per_step: f64,
    pub calls_per_step: f64,
}

/// Turns the profiler's records of `steps` steps into rows: each kernel's forward and backward,
/// `gemm` (inside the kernels, so also counted in their rows: per-thread seconds summed), the
/// optimizer, and the rest of the forward and backward passes as `other forward (dfdx ops)` /
/// `other backward (dfdx ops)`: the heads' glue, the loss, element-wise ops and copies.
fn profile_rows(records: &std::collections::BTreeMap<&'static str, profile::Record>, steps: usize) -> Vec<OpTime> {
    let per_step = |seconds: f64| seconds * 1e3 / steps as f64;
    let phase = |name: &str| records.get(name).map_or(0.0, |r| r.seconds);
    let mut rows = Vec::new();
    let (mut kernels_forward, mut kernels_backward) = (0.0, 0.0);
    for (&name, r) in records {
        if name.starts_with("step ") {
            continue;
        }
        if name.ends_with(" forward") {
            kernels_forward += r.seconds;
        } else if name.ends_with(" backward") {
            kernels_backward += r.seconds;
        }
        rows.push(OpTime { op: name.to_string(), ms_per_step: per_step(r.seconds), calls_per_step: r.calls as f64 / steps as f64 });
    }
    for (name, phase_name, kernels) in [
        ("other forward (dfdx ops)", "step forward", kernels_forward),
        ("other backward (dfdx ops)", "step backward", kernels_backward),
    ] {
        rows.push(OpTime { op: name.into(), ms_per_step: per_step(phase(phase_name) - kernels), calls_per_step: 0.0 });
    }
    if let Some(r) = records.get("step optimizer") {
        rows.push(OpTime { op: "optimizer (dfdx)".into(), ms_per_step: per_step(r.seconds), calls_per_step: 1.0 });
    }
    rows.sort_by(|a, b| b.ms_per_step.partial_cmp(&a.ms_per_step).unwrap());
    rows
}

/// `VmHWM` (peak resident set size) of this process in MiB, from `/proc/self/status`.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets `VmHWM` to the current resident size (Linux ≥ 4.0); best effort.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Forward FLOPs of the convolutions of a [`ConvNet`] of widths `w` for `n` images of 32×32.
fn convnet_flops(w: [usize; 4], n: usize) -> f64 {
    let layers = [(3, w[0], 32), (w[0], w[1], 16), (w[1], w[2], 8), (w[2], w[3], 4)];
    layers
        .iter()
        .map(|&(i, o, s)| ConvGeom::new(&(n, i, s, s), &(o, i, 3, 3), 1, 1).forward_flops())
        .sum()
}

/// Peak f32 GFLOP/s of `threads` cores: `threads × 2 FMA units × lanes × 2 × GHz`, from
/// `/proc/cpuinfo` (see the module doc for the assumptions). `None` where it is unreadable.
pub fn peak_gflops(threads: usize) -> Option<f64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags: Vec<&str> = info.lines().find(|l| l.starts_with("flags"))?.split_whitespace().collect();
    let lanes = if flags.contains(&"avx512f") {
        16.0
    } else if flags.contains(&"avx2") && flags.contains(&"fma") {
        8.0
    } else {
        4.0
    };
    let mhz = info
        .lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        .fold(0.0, f64::max);
    (mhz > 0.0).then(|| threads as f64 * 2.0 * lanes * 2.0 * mhz / 1e3)
}

/// How to time one model: the SimCLR variant, its optimizer and its forward FLOPs per image.
struct Setup {
    name: &'static str,
    optimizer: OptimizerKind,
    lr: f64,
    weight_decay: f64,
    forward_flops_per_image: f64,
}

/// Median of `xs` (the upper one for an even count), sorting in place.
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

/// Times SimCLR training steps of the encoder `Enc` at `batch` images (2 views each), after
/// one warm-up step: `steps` steps on fixed views ([`BenchMode::Step`]), or the steps of one
/// epoch of the built-in textures with their views made as training makes them
/// ([`BenchMode::Epoch`]).
fn bench_encoder<Enc: Encoder<Cpu>, const F: usize>(
    setup: &Setup,
    mode: BenchMode,
    steps: usize,
    batch: usize,
    profiled: bool,
) -> Result<BenchReport> {
    let dev = Cpu::seed_from_u64(0);
    let mut model = SimClr::<Enc, F, 512, 128, f32, Cpu>::build(&dev);
    let views = model.views(32);
    let mut opt = Optimizer::new(&model, setup.optimizer, setup.lr, setup.weight_decay);
    let mut grads = model.alloc_grads();
    let mut train_step = |inputs: &Batch| -> Result<()> {
        let loss = {
            let _p = profile::span("step forward");
            model.loss(inputs, &dev, std::mem::replace(&mut grads, Gradients::leaky()))
        };
        grads = {
            let _p = profile::span("step backward");
            loss.backward()
        };
        let _p = profile::span("step optimizer");
        opt.step(&mut model, &grads)?;
        model.zero_grads(&mut grads);
        Ok(())
    };
    let fixed: Vec<ViewBatch> = (0..2)
        .map(|v| {
            let x: Tensor<(usize, usize, usize, usize), f32, Cpu> =
                Cpu::seed_from_u64(v).sample_uniform_like(&(batch, 3, 32, 32));
            ViewBatch { data: x.as_vec(), batch, channels: 3, height: 32, width: 32 }
        })
        .collect();
    let fixed = Batch { views: fixed, indices: (0..batch).collect() };
    train_step(&fixed)?; // warm-up
    profile::take();
    profile::enable(profiled);
    let mut times = Vec::new();
    let (mut images_seen, mut epoch_seconds, mut views_ms) = (None, None, None);
    match mode {
        BenchMode::Step => {
            for _ in 0..steps {
                let t = Instant::now();
                train_step(&fixed)?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        BenchMode::Epoch => {
            let data = DatasetSpec::Textures.load(0)?.train;
            let images: Vec<Image> = (0..data.len()).map(|i| data.image(i)).collect();
            let mut order: Vec<usize> = (0..images.len()).collect();
            order.shuffle(&mut StdRng::seed_from_u64(0));
            let mut made = Vec::new();
            let started = Instant::now();
            std::thread::scope(|scope| -> Result<()> {
                let rx = spawn_views(scope, &order, &images, &views, batch, |k| view_seed(0, k));
                let mut last = Instant::now();
                while let Ok(received) = rx.recv() {
                    let (inputs, seconds) = received?;
                    train_step(&inputs)?;
                    times.push(last.elapsed().as_secs_f64() * 1e3);
                    made.push(seconds * 1e3);
                    last = Instant::now();
                }
                Ok(())
            })?;
            epoch_seconds = Some(started.elapsed().as_secs_f64());
            images_seen = Some(images.len());
            views_ms = Some(median(&mut made));
        }
    }
    profile::enable(false);
    let records = profile::take();
    let timed = times.len();
    let median_ms = median(&mut times);
    let images = 2 * batch;
    let threads = crate::nn::ops::threads();
    let gflops = 3.0 * setup.forward_flops_per_image * images as f64 / (median_ms / 1e3) / 1e9;
    let peak = peak_gflops(threads).unwrap_or(0.0);
    let gemm_per_core = records.get(profile::GEMM).filter(|_| profiled).map(|r| r.flops / r.core_seconds / 1e9);
    Ok(BenchReport {
        mode: match mode {
            BenchMode::Step => "step",
            BenchMode::Epoch => "epoch",
        }
        .into(),
        model: format!("simclr/{}", setup.name),
        batch,
        views: 2,
        image_size: 32,
        threads,
        steps: timed,
        ms_per_step_median: median_ms,
        ms_per_step_min: times[0],
        images_per_s: images as f64 / (median_ms / 1e3),
        optimizer: format!("{:?}", setup.optimizer).to_lowercase(),
        gflops_per_s: gflops,
        peak_gflops_per_s: peak,
        fraction_of_peak: if peak > 0.0 { gflops / peak } else { 0.0 },
        peak_rss_mib: peak_rss_mib().unwrap_or(0.0),
        images: images_seen,
        epoch_seconds,
        views_ms_median: views_ms,
        profile: profiled.then(|| profile_rows(&records, timed)),
        gemm_gflops_per_core: gemm_per_core,
        gemm_fraction_of_peak: gemm_per_core.map(|g| if peak > 0.0 { g / (peak / threads as f64) } else { 0.0 }),
    })
}

/// A convnet's setup: SGD (lr 0.01, weight decay 1e-4), as the kit trains SimCLR.
fn convnet_setup(name: &'static str, widths: [usize; 4]) -> Setup {
    Setup {
        name,
        optimizer: OptimizerKind::Sgd,
        lr: 0.01,
        weight_decay: 1e-4,
        forward_flops_per_image: convnet_flops(widths, 1),
    }
}

/// Benchmarks a SimCLR step of the default encoder (tiny-convnet), of the 4-layer
/// 32-64-128-256 convnet and of the ViT, each at its default batch.
pub fn run(steps: usize) -> Result<Vec<BenchReport>> {
    run_models(BenchModel::All, BenchMode::Step, steps, None, false)
}

/// Benchmarks the selected encoder(s) at `batch` images per view (default: each model's
/// [`BenchModel::default_batch`]), timing `mode`, with the per-op profile when `profiled`; see [`run`]. `steps` is ignored in epoch
/// mode (an epoch has `10 000 / batch` steps).
pub fn run_models(which: BenchModel, mode: BenchMode, steps: usize, batch: Option<usize>, profiled: bool) -> Result<Vec<BenchReport>> {
    if mode == BenchMode::Epoch {
        // The augmentation gets as many threads as the kernels (it fails only if a global pool
        // exists already, which then stays as it is).
        let _ = rayon::ThreadPoolBuilder::new().num_threads(crate::nn::ops::threads()).build_global();
    }
    if steps == 0 && mode == BenchMode::Step {
        return Err(crate::error::Error::config("--steps must be at least 1"));
    }
    let mut reports = Vec::new();
    let all = which == BenchModel::All;
    for model in [BenchModel::TinyConvNet, BenchModel::ConvNet, BenchModel::Vit] {
        if !(all || which == model) {
            continue;
        }
        if !reports.is_empty() {
            reset_peak_rss();
        }
        let b = batch.unwrap_or(model.default_batch());
        reports.push(match model {
            BenchModel::TinyConvNet => {
                bench_encoder::<TinyConvNet<Cpu>, 128>(&convnet_setup("tiny-convnet-16-32-64-128", [16, 32, 64, 128]), mode, steps, b, profiled)?
            }
            BenchModel::ConvNet => {
                bench_encoder::<SmallConvNet<Cpu>, 256>(&convnet_setup("convnet-32-64-128-256", [32, 64, 128, 256]), mode, steps, b, profiled)?
            }
            _ => {
                let setup = Setup {
                    name: "vit-p4-d128-l4-h4",
                    optimizer: OptimizerKind::AdamW,
                    lr: 1e-3,
                    weight_decay: 0.05,
                    forward_flops_per_image: SmallVit::<Cpu>::forward_flops(1),
                };
                bench_encoder::<SmallVit<Cpu>, 128>(&setup, mode, steps, b, profiled)?
            }
        });
    }
    Ok(reports)
}
