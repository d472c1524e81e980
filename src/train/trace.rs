//! # Watching a run for collapse while it trains
//!
//! A run's summary measures collapse once, at the end ([`crate::eval::collapse_std`],
//! [`crate::eval::effective_rank`]). To see *when* a method collapses, or that it never does,
//! [`CollapseTrace`] measures the same two numbers every `every` optimizer steps on a fixed
//! set of probe images (the first `images` test images, unaugmented, BatchNorm in eval mode):
//!
//! - on the encoder's features `h = f(x)` ([`Method::embed`], what the probes evaluate), and
//! - on the projections `z` where the loss acts ([`Method::project`]), for the methods that
//!   expose them (Barlow Twins, BYOL): a projector can collapse before the encoder below it.
//!
//! It is an observer of [`fit_observed`](crate::train::trainer::fit_observed): the training
//! itself is unchanged (the measurements are forward passes off the gradient tape that draw
//! no random numbers). [`crate::run::train_traced`] trains as `selfsup train` does and writes
//! one JSON line per measurement to `collapse.jsonl` in the run directory; [`read`] reads
//! them back, e.g. to plot the metric over training in a notebook.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::dataset::ImageDataset;
use crate::error::{Error, Result};
use crate::eval::{collapse_std, effective_rank, embed_dataset, project_dataset};
use crate::methods::Method;
use crate::nn::ops::Backend;
use crate::train::trainer::StepInfo;

/// The file of a run directory that [`CollapseTrace`] writes.
pub const TRACE_FILE: &str = "collapse.jsonl";

/// How often, and on how many probe images, to measure collapse during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceConfig {
    /// Measure before the first step, every `every` optimizer steps, and after the last one.
    pub every: usize,
    /// Probe images: the first `images` images of the test split.
    pub images: usize,
}

impl Default for TraceConfig {
    /// Every 20 steps on 512 images: about 0.1 s of forward passes and eigenvalues per point
    /// with the kit's convnet.
    fn default() -> Self {
        Self { every: 20, images: 512 }
    }
}

/// One measurement: the collapse metrics of the probe images at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracePoint {
    /// Optimizer steps taken (0: the random initialisation).
    pub step: usize,
    /// [`collapse_std`] of the features `h`: `≈ 1/√d` when spread out, 0 when collapsed.
    pub collapse_std: f32,
    /// [`effective_rank`] of the features `h`: how many directions they use (1: collapsed).
    pub effective_rank: f32,
    /// The features' dimension `d`.
    pub dim: usize,
    /// The same two numbers on the projections `z`, for methods with [`Method::project`].
    pub projection_collapse_std: Option<f32>,
    pub projection_effective_rank: Option<f32>,
    pub projection_dim: Option<usize>,
}


/// The collapse metrics of `model` on `probe` (a [`TracePoint`] labelled `step`). Usable on
/// its own, e.g. on a model loaded from a checkpoint.
pub fn measure<M: Method<D>, D: Backend>(model: &M, dev: &D, probe: &ImageDataset, step: usize) -> TracePoint {
    let (h, dim) = embed_dataset(model, dev, probe, 256);
    let z = project_dataset(model, dev, probe, 256);
    TracePoint {
        step,
        collapse_std: collapse_std(&h, dim),
        effective_rank: effective_rank(&h, dim),
        dim,
        projection_collapse_std: z.as_ref().map(|(z, d)| collapse_std(z, *d)),
        projection_effective_rank: z.as_ref().map(|(z, d)| effective_rank(z, *d)),
        projection_dim: z.as_ref().map(|(_, d)| *d),
    }
}

/// The observer that measures collapse during training and appends each [`TracePoint`] to a
/// JSON-lines file.
#[derive(Debug)]
pub struct CollapseTrace {
    config: TraceConfig,
    probe: ImageDataset,
    path: PathBuf,
    file: std::fs::File,
    /// The points measured so far by this observer.
    pub points: Vec<TracePoint>,
}

impl CollapseTrace {
    /// Measures on the first `config.images` images of `probe_from`, writing to `path`
    /// (started afresh, or appended to when `append`: a resumed run).
    pub fn create(config: TraceConfig, probe_from: &ImageDataset, path: impl AsRef<Path>, append: bool) -> Result<Self> {
        if config.every == 0 || config.images < 2 {
            return Err(Error::config("a collapse trace needs every >= 1 step and at least 2 probe images"));
        }
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Self { config, probe: probe_from.truncated(config.images), path, file, points: Vec::new() })
    }

    /// The observer's call ([`fit_observed`](crate::train::trainer::fit_observed)): measures
    /// at step 0, every `every` steps and at the last step, and writes the point.
    pub fn observe<M: Method<D>, D: Backend>(&mut self, model: &M, dev: &D, at: StepInfo) -> Result<()> {
        if at.step % self.config.every != 0 && at.step != at.total_steps {
            return Ok(());
        }
        let point = measure(model, dev, &self.probe, at.step);
        writeln!(self.file, "{}", serde_json::to_string(&point).expect("serialisable")).map_err(|e| Error::io(&self.path, e))?;
        self.points.push(point);
        Ok(())
    }
}

/// The points of a run directory's `collapse.jsonl` ([`TRACE_FILE`]), in order.
pub fn read(run_dir: impl AsRef<Path>) -> Result<Vec<TracePoint>> {
    let path = run_dir.as_ref().join(TRACE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| Error::format(&path, format!("line {}: {e}", i + 1))))
        .collect()
}
