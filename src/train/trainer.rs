//! The one training loop every method shares.
//!
//! For each epoch: let the method prepare the epoch ([`Method::begin_epoch`]: DeepCluster
//! re-clusters here, and may choose the epoch's order of images and report on it, one line of
//! `epochs.jsonl`), shuffle unless it chose, and for each batch make the method's views (on a second thread,
//! one batch ahead), compute the method's loss, back-propagate, take an optimizer step at the
//! scheduled learning rate, let the method update its own state (`after_step`). Log every step
//! to `metrics.jsonl`; checkpoint atomically after every epoch; stop with a clear error if the
//! loss is not finite, keeping the last good checkpoint.

use crate::data::dataset::ImageDataset;
use crate::error::{Error, Result};
use crate::augment::ViewGenerator;
use crate::image::Image;
use crate::methods::{Batch, EpochPlan, Method};
use crate::nn::ops::Backend;
use crate::train::checkpoint::{save_model, write_json_atomic};
use crate::train::config::TrainConfig;
use crate::train::optimizer::Optimizer;
use crate::train::progress::Progress;
use crate::train::schedule::CosineSchedule;
use crate::train::RunDir;
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::Instant;

/// Where training stands, saved as `state.json` next to each checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: usize,
    /// Mean loss of the last completed epoch.
    pub last_loss: Option<f32>,
    /// Seconds spent training so far (over all sessions).
    pub train_seconds: f64,
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Serialize)]
struct StepMetrics {
    epoch: usize,
    step: usize,
    loss: f32,
    lr: f64,
    images_per_s: f64,
    /// The method's own measurements of the step ([`Method::step_diagnostics`]).
    #[serde(flatten)]
    diagnostics: serde_json::Map<String, serde_json::Value>,
}

/// The seed [`Method::begin_epoch`] gets for `epoch`: its own stream, apart from the shuffle's
/// and the views'.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    (seed ^ 0xDC_5EED).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(epoch as u64)
}

/// The epoch's order of images: the method's own (checked: `n` indices below `n`), or a
/// shuffle of `0..n` seeded by the run's seed and the epoch. Writes the method's report, if
/// any, to `epochs.jsonl` and prints its line.
fn epoch_order(plan: EpochPlan, n: usize, seed: u64, epoch: usize, run: &RunDir, progress: &Progress) -> Result<Vec<usize>> {
    if let Some(report) = plan.report {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(run.epochs()).map_err(|e| Error::io(run.epochs(), e))?;
        writeln!(file, "{}", serde_json::to_string(&report.json).expect("serialisable")).map_err(|e| Error::io(run.epochs(), e))?;
        progress.println(&report.line);
    }
    match plan.order {
        Some(order) => {
            if order.len() != n || order.iter().any(|&i| i >= n) {
                return Err(Error::config(format!("epoch {epoch}: the method's order has {} entries, expected {n} indices below {n}", order.len())));
            }
            Ok(order)
        }
        None => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)));
            Ok(order)
        }
    }
}

/// The reports [`Method::begin_epoch`] wrote to a run's `epochs.jsonl`, one JSON value per
/// epoch, in order (empty if the method reports nothing).
pub fn read_epoch_reports(run: &RunDir) -> Result<Vec<serde_json::Value>> {
    let path = run.epochs();
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    text.lines()
        .map(|line| serde_json::from_str(line).map_err(|e| Error::format(&path, format!("invalid JSON line: {e}"))))
        .collect()
}

/// The seed of the views of the `step`-th batch of a run of seed `seed` (counting from 0 over
/// all epochs): one stream per batch, so resuming a run makes the same views.
pub fn view_seed(seed: u64, step: usize) -> u64 {
    seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Makes the views of an epoch on a thread of `scope`, one batch ahead of training: batch `k`
/// is the images `order[k * batch..(k + 1) * batch]` (a last partial batch is dropped), its
/// views drawn with `views` from `seed_of(k)`. Each received item is the batch and the seconds
/// its views took to make. The channel holds two batches, so the view thread runs at most two
/// batches ahead; dropping the receiver stops it. The training loop and `selfsup bench`'s
/// epoch share it.
pub fn spawn_views<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    order: &'env [usize],
    images: &'env [Image],
    views: &'env ViewGenerator,
    batch: usize,
    seed_of: impl Fn(usize) -> u64 + Send + 'env,
) -> std::sync::mpsc::Receiver<Result<(Batch, f64)>> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(Batch, f64)>>(2);
    scope.spawn(move || {
        for k in 0..order.len() / batch {
            let started = Instant::now();
            let indices = order[k * batch..(k + 1) * batch].to_vec();
            let batch_images: Vec<Image> = indices.iter().map(|&i| images[i].clone()).collect();
            let made = views
                .views_batch(&batch_images, seed_of(k))
                .map(|views| (Batch { views, indices }, started.elapsed().as_secs_f64()));
            if tx.send(made).is_err() {
                return;
            }
        }
    });
    rx
}

/// Trains `model` on the images of `data` (labels unused) from `state` up to `cfg.epochs`,
/// writing metrics and checkpoints under `run`. Returns the final state.
pub fn fit<M: Method<D>, D: Backend>(
    model: &mut M,
    dev: &D,
    data: &ImageDataset,
    cfg: &TrainConfig,
    run: &RunDir,
    state: TrainState,
    quiet: bool,
) -> Result<TrainState> {
    fit_observed(model, dev, data, cfg, run, state, quiet, &mut |_: &M, _: &D, _: StepInfo| Ok(()))
}

/// Where training stands when [`fit_observed`] shows the model to its observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepInfo {
    /// Optimizer steps taken so far (0: before the first step of a fresh run).
    pub step: usize,
    /// The optimizer steps of the whole run (`cfg.epochs` epochs).
    pub total_steps: usize,
    /// The epoch under way (0-based).
    pub epoch: usize,
}

/// [`fit`], showing the model to `observe` once before the first step (at `state.step`) and
/// after every optimizer step (after the method's `after_step`): a hook to measure the model
/// while it trains, e.g. [`crate::train::trace`]'s collapse metric every N steps. The
/// observer gets the model read-only and is not on the gradient tape, so observing does not
/// change the run (as long as it draws no random numbers from `dev`); an error it returns
/// stops training.
#[allow(clippy::too_many_arguments)]
pub fn fit_observed<M: Method<D>, D: Backend>(
    model: &mut M,
    dev: &D,
    data: &ImageDataset,
    cfg: &TrainConfig,
    run: &RunDir,
    mut state: TrainState,
    quiet: bool,
    observe: &mut dyn FnMut(&M, &D, StepInfo) -> Result<()>,
) -> Result<TrainState> {
    crate::nn::ops::tune_allocator();
    if data.is_empty() {
        return Err(Error::config(format!("dataset {} has no training images", data.name)));
    }
    let batch = cfg.batch_size.min(data.len());
    if batch < 2 {
        return Err(Error::config("--batch-size must be at least 2 (contrastive methods need negatives)"));
    }
    let steps_per_epoch = data.len() / batch;
    let total = steps_per_epoch * cfg.epochs;
    let schedule = CosineSchedule::new(cfg.lr, (cfg.warmup_epochs * steps_per_epoch as f64) as usize, total);
    model.begin(dev, data);
    let mut opt = Optimizer::new(model, cfg.optimizer, cfg.lr, cfg.weight_decay);
    let views = model.views(data.height);
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.metrics())
        .map_err(|e| Error::io(run.metrics(), e))?;
    let mut progress = Progress::new(total, quiet);
    let mut grads = model.alloc_grads();
    let images: Vec<Image> = (0..data.len()).map(|i| data.image(i)).collect();
    if state.epoch < cfg.epochs {
        observe(&*model, dev, StepInfo { step: state.step, total_steps: total, epoch: state.epoch })?;
    }

    for epoch in state.epoch..cfg.epochs {
        let started = Instant::now();
        let plan = model.begin_epoch(dev, data, epoch, epoch_seed(cfg.seed, epoch))?;
        let order = epoch_order(plan, data.len(), cfg.seed, epoch, run, &progress)?;
        let mut epoch_loss = 0.0f64;
        let outcome: Result<()> = std::thread::scope(|scope| {
            let (seed, first_step) = (cfg.seed, epoch * steps_per_epoch);
            let rx = spawn_views(scope, &order, &images, &views, batch, move |k| view_seed(seed, first_step + k));
            for k in 0..steps_per_epoch {
                let step_started = Instant::now();
                let (inputs, _) = rx.recv().expect("view thread alive")?;
                let lr = schedule.lr(state.step);
                opt.set_lr(lr);
                let loss = model.loss(&inputs, dev, std::mem::replace(&mut grads, Gradients::leaky()));
                let value = loss.as_vec()[0];
                if !value.is_finite() {
                    let ckpt = run.checkpoint();
                    return Err(Error::Diverged { step: state.step, loss: value, checkpoint: ckpt.exists().then_some(ckpt) });
                }
                grads = loss.backward();
                opt.step(model, &grads)?;
                model.zero_grads(&mut grads);
                state.step += 1;
                model.after_step(state.step as f32 / total.max(1) as f32);
                observe(&*model, dev, StepInfo { step: state.step, total_steps: total, epoch })?;
                epoch_loss += value as f64;
                let line = StepMetrics {
                    epoch,
                    step: state.step,
                    loss: value,
                    lr,
                    images_per_s: batch as f64 / step_started.elapsed().as_secs_f64(),
                    diagnostics: model.step_diagnostics().into_iter().map(|(name, x)| (name.to_string(), serde_json::json!(x))).collect(),
                };
                writeln!(metrics, "{}", serde_json::to_string(&line).expect("serialisable"))
                    .map_err(|e| Error::io(run.metrics(), e))?;
                progress.update(epoch * steps_per_epoch + k + 1, &format!("epoch {} loss {value:.4} lr {lr:.2e}", epoch + 1));
            }
            Ok(())
        });
        outcome?;
        state.epoch = epoch + 1;
        state.last_loss = Some((epoch_loss / steps_per_epoch.max(1) as f64) as f32);
        state.train_seconds += started.elapsed().as_secs_f64();
        save_model(model, &run.checkpoint())?;
        write_json_atomic(&run.state(), &state)?;
    }
    progress.finish();
    Ok(state)
}
