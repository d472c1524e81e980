//! The self-supervised methods, one module each, in the order of the course.
//!
//! Every method is a [`Method`]: a dfdx tensor collection (its trainable parts and any state
//! such as queues or teachers, all saved in checkpoints) with a loss for one batch of views,
//! and a `Config` with its own settings (see [`registry`], the list of methods).
//! The shared training loop ([`crate::train`]) owns everything else: epochs, the optimizer,
//! schedules, logging, checkpoints and evaluation.
//!
//! Part 3 (clustering): [`deepcluster`] is DeepCluster (k-means and NMI from [`crate::eval`],
//! re-clustering once per epoch through [`Method::begin_epoch`]); [`swav`] is SwAV ([`SwAV`]),
//! built on its codes (Sinkhorn-Knopp) and its swapped-prediction loss, trained on multi-crop
//! views ([`crate::augment::MultiCrop`]).
//!
//! Part 4 (in progress): [`dino`] is DINO ([`Dino`]): a student distilled from its own moving
//! average, through a centred and sharpened softmax ([`dino_loss`]).

pub mod barlow;
pub mod byol;
pub mod cpc;
pub mod deepcluster;
pub mod dino;
pub mod dim;
pub mod distill;
pub mod infonce;
pub mod instdisc;
pub mod mochi;
pub mod moco;
pub mod registry;
pub mod settings;
pub mod simclr;
pub mod swav;

pub use barlow::{barlow_twins_loss, BarlowTwins};
pub use byol::{byol_loss, Byol};
pub use cpc::Cpc;
pub use deepcluster::DeepCluster;
pub use dim::{dim_nce, Dim};
pub use dino::{dino_loss, Dino};
pub use distill::{distillation_loss, Distillation};
pub use infonce::{contrastive_logits, info_nce, info_nce_from_logits, info_nce_with_extra};
pub use instdisc::InstDisc;
pub use mochi::MoCHi;
pub use moco::{MoCo, MoCoV1};
pub use registry::{with_method, MethodConfig, MethodInfo, WithMethod, METHODS};
pub use settings::Settings;
pub use simclr::{nt_xent, SimClr};
pub use swav::{prototype_scores, sinkhorn, sinkhorn_codes, swav_batch_loss, swav_loss, SinkhornConfig, SwAV};

use crate::augment::{ViewBatch, ViewGenerator};
use crate::nn::ops::{Backend, Img, Mat};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;

/// What the shared training loop needs from a self-supervised method.
pub trait Method<D: Backend>: TensorCollection<f32, D, To<f32, D> = Self> + Clone {
    /// The name used on the command line (`--method NAME`) and in run summaries.
    const NAME: &'static str;

    /// The method's own settings (τ, momentum, views, ...), kept in the model by
    /// [`Method::configure`]. A freshly built model has `Config::default()`.
    type Config: Settings;

    /// Sets the method's settings.
    fn configure(&mut self, settings: &Self::Config);

    /// The views this method trains on, for images of side `image_size`.
    fn views(&self, image_size: usize) -> ViewGenerator;

    /// The loss of one batch. `batch.views[v]` holds view `v` of every image in the batch;
    /// the method puts them on `dev`, traces them with `grads`, and returns a scalar on the
    /// tape.
    fn loss(&mut self, batch: &Batch, dev: &D, grads: Gradients<f32, D>) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>>;

    /// Called once before training with the training images, for state sized by or
    /// computed from the dataset (InstDisc's memory bank).
    fn begin(&mut self, _dev: &D, _data: &crate::data::dataset::ImageDataset) {}

    /// Called at the start of every epoch, before the loop draws the epoch's order, with a
    /// seed for the epoch's random choices. DeepCluster re-clusters the dataset here and
    /// returns its own order of images (uniform over pseudo-labels) and a report on the
    /// clusters. Nothing by default: the loop shuffles, and reports nothing.
    fn begin_epoch(&mut self, _dev: &D, _data: &crate::data::dataset::ImageDataset, _epoch: usize, _seed: u64) -> crate::Result<EpochPlan> {
        Ok(EpochPlan::default())
    }

    /// Called after each optimizer step with the fraction of training done (momentum
    /// encoders, queues, centres...). Nothing by default.
    fn after_step(&mut self, _progress: f32) {}

    /// The representation used for evaluation: the encoder's output in eval mode.
    fn embed(&self, x: Img<D>) -> Mat<D>;

    /// The output the loss acts on (the projection `z`), in eval mode, for the methods whose
    /// collapse experiments measure it there: a projector can collapse to a few dimensions
    /// while the encoder below it keeps many. `None` by default.
    fn project(&self, _x: Img<D>) -> Option<Mat<D>> {
        None
    }

    /// What the method measured on the last batch, beside its loss (DINO: the entropy of the
    /// teacher's distribution and the teacher–student KL, the paper's collapse diagnostics).
    /// The loop adds these fields to the step's line of `metrics.jsonl`; none by default.
    fn step_diagnostics(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

/// One training batch as a method sees it.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `views[v]`: view `v` of every image of the batch.
    pub views: Vec<ViewBatch>,
    /// The dataset index of each image, for methods that keep per-image state (InstDisc's
    /// memory bank).
    pub indices: Vec<usize>,
}

/// What a method decides at the start of an epoch ([`Method::begin_epoch`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpochPlan {
    /// The dataset indices the loop visits this epoch, in order (repeats allowed), exactly as
    /// many as the dataset has images; `None`: the loop's own shuffle.
    pub order: Option<Vec<usize>>,
    /// What the method did, for people and for files; `None`: nothing to report.
    pub report: Option<EpochReport>,
}

/// A method's report on one epoch's preparation. The loop prints `line` (unless quiet) and
/// appends `json` as one line to the run's `epochs.jsonl` ([`crate::train::RunDir::epochs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    pub line: String,
    pub json: serde_json::Value,
}

/// Puts view batches of the same size on `dev` as one `(ΣB, C, H, W)` tensor, in order
/// ([`ViewBatch::stack`]). Panics if there are no views or they differ in size.
pub fn stack_views<D: Backend>(dev: &D, views: &[ViewBatch]) -> Img<D> {
    let stacked = ViewBatch::stack(views).unwrap_or_else(|e| panic!("stack_views: {e}"));
    let [batch, c, h, w] = stacked.shape();
    dev.tensor_from_vec(stacked.data, (batch, c, h, w))
}
