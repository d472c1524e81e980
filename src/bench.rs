//! `selfsup bench`: times full SimCLR training steps (forward, backward, optimizer) of the
//! default encoder and of the larger convnet, and writes ms/step, images/s and achieved
//! convolution GFLOP/s as JSON. Each step processes `2 × batch` images (two views).
//!
//! Each report also carries the process's peak resident memory (`VmHWM` of
//! `/proc/self/status`, MiB). For a clean per-model number run one model per process
//! (`selfsup bench --model tiny-convnet`, then `--model convnet`), as `bench/compare.sh` does;
//! with both models in one process the peak is reset (`/proc/self/clear_refs`) before the
//! second, but the heap the first one left behind still counts. `bench/torch_reference.py` is
//! the same step in PyTorch.

use crate::augment::ViewBatch;
use crate::error::Result;
use crate::methods::{Batch, Method, SimClr};
use crate::nn::ops::ConvGeom;
use crate::nn::{Encoder, SmallConvNet, TinyConvNet};
use crate::train::{Optimizer, OptimizerKind};
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
    /// Both, one after the other, in this process.
    All,
}

impl std::str::FromStr for BenchModel {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tiny-convnet" => Ok(Self::TinyConvNet),
            "convnet" => Ok(Self::ConvNet),
            "all" => Ok(Self::All),
            other => Err(crate::error::Error::config(format!(
                "unknown bench model `{other}` (expected `tiny-convnet`, `convnet` or `all`)"
            ))),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub batch: usize,
    pub views: usize,
    pub image_size: usize,
    pub threads: usize,
    pub steps: usize,
    pub ms_per_step_median: f64,
    pub ms_per_step_min: f64,
    pub images_per_s: f64,
    /// Convolution FLOPs of forward + backward (3× forward) per step, over the median time.
    pub conv_gflops_per_s: f64,
    /// Peak resident memory of the process (`VmHWM`, MiB) at the end of the run; 0 where
    /// `/proc/self/status` is not available.
    pub peak_rss_mib: f64,
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

/// Times `steps` SimCLR steps of the encoder `Enc` at `batch` images (2 views each), after one
/// warm-up step.
fn bench_encoder<Enc: Encoder<Cpu>, const F: usize>(name: &str, widths: [usize; 4], steps: usize, batch: usize) -> Result<BenchReport> {
    let dev = Cpu::seed_from_u64(0);
    let mut model = SimClr::<Enc, F, 512, 128, f32, Cpu>::build(&dev);
    let mut opt = Optimizer::new(&model, OptimizerKind::Sgd, 0.01, 1e-4);
    let views: Vec<ViewBatch> = (0..2)
        .map(|v| {
            let x: Tensor<(usize, usize, usize, usize), f32, Cpu> =
                Cpu::seed_from_u64(v).sample_uniform_like(&(batch, 3, 32, 32));
            ViewBatch { data: x.as_vec(), batch, channels: 3, height: 32, width: 32 }
        })
        .collect();
    let inputs = Batch { views, indices: (0..batch).collect() };
    let mut grads = model.alloc_grads();
    let mut times = Vec::new();
    for i in 0..=steps {
        let t = Instant::now();
        let loss = model.loss(&inputs, &dev, std::mem::replace(&mut grads, Gradients::leaky()));
        grads = loss.backward();
        opt.step(&mut model, &grads)?;
        model.zero_grads(&mut grads);
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    let images = 2 * batch;
    Ok(BenchReport {
        model: format!("simclr/{name}"),
        batch,
        views: 2,
        image_size: 32,
        threads: crate::nn::ops::threads(),
        steps,
        ms_per_step_median: median,
        ms_per_step_min: times[0],
        images_per_s: images as f64 / (median / 1e3),
        conv_gflops_per_s: 3.0 * convnet_flops(widths, images) / (median / 1e3) / 1e9,
        peak_rss_mib: peak_rss_mib().unwrap_or(0.0),
    })
}

/// Benchmarks a SimCLR step of the default encoder (tiny-convnet) and of the 4-layer
/// 32-64-128-256 convnet.
pub fn run(steps: usize, batch: usize) -> Result<Vec<BenchReport>> {
    run_models(BenchModel::All, steps, batch)
}

/// Benchmarks the selected encoder(s); see [`run`].
pub fn run_models(which: BenchModel, steps: usize, batch: usize) -> Result<Vec<BenchReport>> {
    let mut reports = Vec::new();
    if matches!(which, BenchModel::TinyConvNet | BenchModel::All) {
        reports.push(bench_encoder::<TinyConvNet<Cpu>, 128>("tiny-convnet-16-32-64-128", [16, 32, 64, 128], steps, batch)?);
    }
    if matches!(which, BenchModel::ConvNet | BenchModel::All) {
        if !reports.is_empty() {
            reset_peak_rss();
        }
        reports.push(bench_encoder::<SmallConvNet<Cpu>, 256>("convnet-32-64-128-256", [32, 64, 128, 256], steps, batch)?);
    }
    Ok(reports)
}
