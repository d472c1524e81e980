//! What the `selfsup` command does: build the chosen method and encoder, load the dataset,
//! train with the shared loop, evaluate against a random-init baseline, write the run
//! directory (`config.json`, `metrics.jsonl`, `checkpoint.safetensors`, `state.json`,
//! `summary.json`).

use crate::data::dataset::{ImageDataset, Splits};
use crate::data::spec::DatasetSpec;
use crate::error::{Error, Result};
use crate::eval::{embed_dataset, evaluate, EvalReport, KnnConfig, LinearProbeConfig};
use crate::methods::{with_method, Method, WithMethod};
use crate::train::checkpoint::{load_model, read_json, write_json_atomic};
use crate::train::trace::{CollapseTrace, TraceConfig, TRACE_FILE};
use crate::train::{fit, fit_observed, RunConfig, RunDir, TrainConfig, TrainState};
use dfdx::nn::BuildModule;
#[cfg_attr(feature = "cuda", allow(unused_imports))]
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The device the command line trains on: the CPU, or the GPU when built with `--features cuda`.
#[cfg(not(feature = "cuda"))]
pub type Dev = Cpu;
#[cfg(feature = "cuda")]
pub type Dev = dfdx::tensor::Cuda;

/// Encoders `--encoder` accepts.
pub const ENCODERS: &[&str] = &["convnet", "tiny-convnet", "resnet", "vit"];

/// The error for an encoder the kit does not have.
pub fn unknown_encoder(name: &str) -> Error {
    Error::config(format!("unknown encoder `{name}` (available: {})", ENCODERS.join(", ")))
}

/// The results of a run, written to `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub method: String,
    pub encoder: String,
    pub dataset: String,
    pub epochs: usize,
    pub train_images: usize,
    pub test_images: usize,
    pub knn_k: usize,
    pub knn_t: f32,
    pub knn_top1: f32,
    pub linear_top1: f32,
    pub baseline_knn_top1: f32,
    pub baseline_linear_top1: f32,
    pub collapse_std: f32,
    pub baseline_collapse_std: f32,
    /// `1/√d`, the collapse metric of perfectly spread features, for comparison.
    pub healthy_collapse_std: f32,
    /// Effective rank of the test features (RankMe, `eval::effective_rank`); 0 in summaries
    /// written before it existed.
    #[serde(default)]
    pub effective_rank: f32,
    #[serde(default)]
    pub baseline_effective_rank: f32,
    /// Effective rank of the test images' projections `z`, for the methods that expose them
    /// (Barlow Twins, BYOL): where the loss acts and where collapse shows first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_effective_rank: Option<f32>,
    pub final_loss: Option<f32>,
    pub train_seconds: f64,
    pub wall_seconds: f64,
}

impl Summary {
    /// The one-line summary printed last by `selfsup train` / `selfsup eval`.
    pub fn line(&self) -> String {
        format!(
            "{} on {}: kNN top-1 {:.1}% (random init {:.1}%), linear top-1 {:.1}% (random init {:.1}%), collapse std {:.3} (1/sqrt(d) = {:.3}), {} epochs, {:.0} s",
            self.method,
            self.dataset,
            100.0 * self.knn_top1,
            100.0 * self.baseline_knn_top1,
            100.0 * self.linear_top1,
            100.0 * self.baseline_linear_top1,
            self.collapse_std,
            self.healthy_collapse_std,
            self.epochs,
            self.wall_seconds
        )
    }
}

/// Mixed into the seed that draws the test subset, so that it is not drawn like the train one.
const TEST_SUBSET_STREAM: u64 = 0x7e57_5e7;

/// Loads the dataset a config names (grayscale is replicated to RGB: the encoders take 3
/// channels), keeping a class-balanced random subset of `train_images` / `test_images` images
/// when non-zero ([`ImageDataset::balanced_subset`], drawn from the config's seed).
pub fn load_dataset(cfg: &TrainConfig) -> Result<Splits> {
    let spec: DatasetSpec = cfg.dataset.parse()?;
    let mut splits = spec.load(cfg.seed)?;
    if splits.train.channels != 3 {
        splits = Splits { train: splits.train.to_rgb(), test: splits.test.to_rgb() };
    }
    if splits.train.height < 8 || splits.train.width < 8 {
        return Err(Error::config(format!("{}: images must be at least 8x8 pixels", cfg.dataset)));
    }
    let vit = crate::nn::vit::IMAGE;
    if cfg.encoder == "vit" && (splits.train.height, splits.train.width) != (vit, vit) {
        return Err(Error::config(format!(
            "{}: the vit encoder takes {vit}x{vit} images (its position embeddings are learnt for that size), got {}x{}",
            cfg.dataset, splits.train.height, splits.train.width
        )));
    }
    // Class-balanced random subsets, drawn from the run's seed (each split its own stream).
    if cfg.train_images > 0 {
        splits.train = splits.train.balanced_subset(cfg.train_images, cfg.seed);
    }
    if cfg.test_images > 0 {
        splits.test = splits.test.balanced_subset(cfg.test_images, cfg.seed ^ TEST_SUBSET_STREAM);
    }
    if splits.test.is_empty() {
        return Err(Error::config(format!("{}: the test split is empty, nothing to evaluate on", cfg.dataset)));
    }
    Ok(splits)
}

/// Checks a run's settings before any work starts, so mistakes fail fast with exit code 2.
pub fn validate(run: &RunConfig) -> Result<()> {
    if !ENCODERS.contains(&run.train.encoder.as_str()) {
        return Err(unknown_encoder(&run.train.encoder));
    }
    run.validate()?;
    run.train.dataset.parse::<DatasetSpec>().map(|_| ())
}

/// A new model of type `M` with the method's settings, initialised from `seed`.
fn build<M: Method<Dev> + BuildModule<Dev, f32>>(settings: &M::Config, seed: u64) -> (Dev, M) {
    let dev = Dev::seed_from_u64(seed);
    let mut model = M::build(&dev);
    model.configure(settings);
    (dev, model)
}

fn eval_report<M: Method<Dev>>(model: &M, dev: &Dev, splits: &Splits, cfg: &TrainConfig) -> EvalReport {
    let knn = KnnConfig { k: cfg.knn_k, temperature: cfg.knn_t as f32 };
    evaluate(model, dev, splits, &knn, &LinearProbeConfig::default())
}

/// Evaluates `model` and the same architecture at its random initialisation, with the run's
/// method settings (`settings`: a setting may change what `embed` computes, as DeepCluster's
/// Sobel filter does), and gathers the numbers of `summary.json`.
#[allow(clippy::too_many_arguments)]
fn summarize<M: Method<Dev> + BuildModule<Dev, f32>>(
    model: &M,
    settings: &M::Config,
    dev: &Dev,
    splits: &Splits,
    cfg: &TrainConfig,
    state: &TrainState,
    wall: Instant,
) -> Summary {
    let trained = eval_report(model, dev, splits, cfg);
    let (_, baseline_model) = build::<M>(settings, cfg.seed);
    let baseline = eval_report(&baseline_model, dev, splits, cfg);
    Summary {
        method: M::NAME.to_string(),
        encoder: cfg.encoder.clone(),
        dataset: cfg.dataset.clone(),
        epochs: state.epoch,
        train_images: splits.train.len(),
        test_images: splits.test.len(),
        knn_k: cfg.knn_k,
        knn_t: cfg.knn_t as f32,
        knn_top1: trained.knn_top1,
        linear_top1: trained.linear_top1,
        baseline_knn_top1: baseline.knn_top1,
        baseline_linear_top1: baseline.linear_top1,
        collapse_std: trained.collapse_std,
        baseline_collapse_std: baseline.collapse_std,
        healthy_collapse_std: 1.0 / (trained.dim as f32).sqrt(),
        effective_rank: trained.effective_rank,
        baseline_effective_rank: baseline.effective_rank,
        projection_effective_rank: trained.projection_effective_rank,
        final_loss: state.last_loss,
        train_seconds: state.train_seconds,
        wall_seconds: wall.elapsed().as_secs_f64(),
    }
}

/// `selfsup train`: trains (or resumes), evaluates, writes the run directory.
struct Train<'a> {
    run: &'a RunConfig,
    out: &'a Path,
    resume: bool,
    quiet: bool,
    /// Measure collapse during training into `collapse.jsonl` ([`train_traced`]).
    trace: Option<TraceConfig>,
}

impl WithMethod for Train<'_> {
    type Output = Result<Summary>;

    fn call<M: Method<Dev> + BuildModule<Dev, f32>>(self, settings: &M::Config) -> Result<Summary> {
        let Train { run: config, out, resume, quiet, trace } = self;
        let cfg = &config.train;
        let wall = Instant::now();
        let run = RunDir::create(out)?;
        let splits = load_dataset(cfg)?;
        let (dev, mut model) = build::<M>(settings, cfg.seed);
        let mut state = TrainState::default();
        if resume {
            let saved = RunConfig::load(&run.config())?;
            if saved.name() != config.name() || saved.train.encoder != cfg.encoder || saved.train.dataset != cfg.dataset {
                return Err(Error::config(format!(
                    "{}: cannot resume a {} / {} run on {} as {} / {} on {}",
                    run.config().display(),
                    saved.name(),
                    saved.train.encoder,
                    saved.train.dataset,
                    config.name(),
                    cfg.encoder,
                    cfg.dataset
                )));
            }
            load_model(&mut model, &run.checkpoint())?;
            state = read_json(&run.state())?;
            if !quiet {
                println!("resuming {} from epoch {} (step {})", run.root.display(), state.epoch, state.step);
            }
        } else {
            // A fresh run starts a fresh log.
            let _ = std::fs::remove_file(run.metrics());
            let _ = std::fs::remove_file(run.epochs());
        }
        write_json_atomic(&run.config(), config)?;
        if !quiet {
            println!(
                "training {} ({} encoder) on {}: {} train / {} test images of {}x{}, {} epochs, batch {}",
                M::NAME,
                cfg.encoder,
                cfg.dataset,
                splits.train.len(),
                splits.test.len(),
                splits.train.height,
                splits.train.width,
                cfg.epochs,
                cfg.batch_size
            );
        }
        let state = match trace {
            None => fit(&mut model, &dev, &splits.train, cfg, &run, state, quiet)?,
            Some(t) => {
                let mut trace = CollapseTrace::create(t, &splits.test, run.root.join(TRACE_FILE), resume)?;
                fit_observed(&mut model, &dev, &splits.train, cfg, &run, state, quiet, &mut |m: &M, d: &Dev, at| trace.observe(m, d, at))?
            }
        };
        if !quiet {
            println!("evaluating (kNN k={}, T={}; linear probe) against a random-init encoder", cfg.knn_k, cfg.knn_t);
        }
        let summary = summarize(&model, settings, &dev, &splits, cfg, &state, wall);
        write_json_atomic(&run.summary(), &summary)?;
        Ok(summary)
    }
}

/// `selfsup eval`: loads a checkpoint (and the `config.json` beside it) and evaluates it,
/// optionally on another dataset.
struct Eval<'a> {
    cfg: &'a TrainConfig,
    checkpoint: &'a Path,
}

impl WithMethod for Eval<'_> {
    type Output = Result<Summary>;

    fn call<M: Method<Dev> + BuildModule<Dev, f32>>(self, settings: &M::Config) -> Result<Summary> {
        let Eval { cfg, checkpoint } = self;
        let wall = Instant::now();
        let splits = load_dataset(cfg)?;
        let (dev, mut model) = build::<M>(settings, cfg.seed);
        load_model(&mut model, checkpoint)?;
        // The training state beside the checkpoint says how far it was trained, if present.
        let state: TrainState = read_json(&checkpoint.with_file_name("state.json"))
            .unwrap_or(TrainState { epoch: cfg.epochs, ..TrainState::default() });
        Ok(summarize(&model, settings, &dev, &splits, cfg, &state, wall))
    }
}

/// Trains as `selfsup train` does; `out` is the run directory.
pub fn train(run: &RunConfig, out: &Path, resume: bool, quiet: bool) -> Result<Summary> {
    validate(run)?;
    with_method(&run.method, &run.train.encoder, Train { run, out, resume, quiet, trace: None })?
}

/// [`train`], also measuring collapse every `trace.every` steps on `trace.images` test images
/// (features and projections, see [`crate::train::trace`]) into `out/collapse.jsonl`; read it
/// back with [`crate::train::trace::read`]. The run itself is the same as [`train`]'s.
pub fn train_traced(run: &RunConfig, out: &Path, trace: &TraceConfig, quiet: bool) -> Result<Summary> {
    validate(run)?;
    with_method(&run.method, &run.train.encoder, Train { run, out, resume: false, quiet, trace: Some(*trace) })?
}

/// Evaluates a checkpoint as `selfsup eval` does. The method and encoder come from the
/// `config.json` next to the checkpoint; `dataset` overrides the dataset if given.
pub fn eval(checkpoint: &Path, dataset: Option<&str>) -> Result<Summary> {
    let mut run = RunConfig::load(&checkpoint.with_file_name("config.json"))?;
    if let Some(d) = dataset {
        run.train.dataset = d.to_string();
    }
    validate(&run)?;
    with_method(&run.method, &run.train.encoder, Eval { cfg: &run.train, checkpoint })?
}

/// The frozen representation `h = f(x)` of every image of `data` (row-major, `n × dim`) and
/// `dim`, for the method and encoder that `run` names: with the weights saved at `checkpoint`,
/// or at random initialisation (seed `run.train.seed`, as the baseline of `selfsup train`) when
/// it is `None`. No gradient is computed: notebooks use it to look inside a trained model.
pub fn embed(run: &RunConfig, checkpoint: Option<&Path>, data: &ImageDataset) -> Result<(Vec<f32>, usize)> {
    validate(run)?;
    with_method(&run.method, &run.train.encoder, Embed { seed: run.train.seed, checkpoint, data })?
}

struct Embed<'a> {
    seed: u64,
    checkpoint: Option<&'a Path>,
    data: &'a ImageDataset,
}

impl WithMethod for Embed<'_> {
    type Output = Result<(Vec<f32>, usize)>;

    fn call<M: Method<Dev> + BuildModule<Dev, f32>>(self, settings: &M::Config) -> Self::Output {
        let (dev, mut model) = build::<M>(settings, self.seed);
        if let Some(path) = self.checkpoint {
            load_model(&mut model, path)?;
        }
        Ok(embed_dataset(&model, &dev, self.data, 500))
    }
}
