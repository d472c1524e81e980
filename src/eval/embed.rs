//! From a trained method to numbers: embed a dataset with the frozen encoder (BatchNorm in
//! eval mode) and run the probes on the features.

use crate::data::dataset::{ImageDataset, Splits};
use crate::eval::{collapse_std, effective_rank, knn_accuracy, linear_probe_accuracy, KnnConfig, LinearProbeConfig};
use crate::methods::Method;
use crate::nn::ops::Backend;
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

/// The representation `h = f(x)` of every image of `data`, row-major `(n, dim)`; returns
/// the features and `dim`.
pub fn embed_dataset<M: Method<D>, D: Backend>(model: &M, dev: &D, data: &ImageDataset, batch: usize) -> (Vec<f32>, usize) {
    let per_image = data.image_len();
    let mut out = Vec::new();
    let mut dim = 0;
    for start in (0..data.len()).step_by(batch.max(1)) {
        let end = (start + batch).min(data.len());
        let pixels = data.pixels[start * per_image..end * per_image].to_vec();
        let x = dev.tensor_from_vec(pixels, (end - start, data.channels, data.height, data.width));
        let h = model.embed(x);
        dim = h.shape().1;
        out.extend(h.as_vec());
    }
    (out, dim)
}

/// Frozen-feature evaluation of one encoder.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct EvalReport {
    /// Weighted kNN top-1 on the test split, train split as memory.
    pub knn_top1: f32,
    /// Linear-probe top-1 on the test split.
    pub linear_top1: f32,
    /// Mean per-dimension std of the L2-normalised test features (≈ 1/√d if healthy).
    pub collapse_std: f32,
    /// Effective rank of the test features (RankMe): how many directions they really use.
    pub effective_rank: f32,
    /// Effective rank of the test images' projections ([`Method::project`]), for the methods
    /// that expose them.
    pub projection_effective_rank: Option<f32>,
    pub dim: usize,
}

/// Embeds both splits and runs kNN, the linear probe and the collapse metric.
pub fn evaluate<M: Method<D>, D: Backend>(model: &M, dev: &D, splits: &Splits, knn: &KnnConfig, probe: &LinearProbeConfig) -> EvalReport {
    let (train, dim) = embed_dataset(model, dev, &splits.train, 500);
    let (test, _) = embed_dataset(model, dev, &splits.test, 500);
    let classes = splits.train.num_classes();
    EvalReport {
        knn_top1: knn_accuracy(&train, &splits.train.labels, &test, &splits.test.labels, dim, classes, knn),
        linear_top1: linear_probe_accuracy(&train, &splits.train.labels, &test, &splits.test.labels, dim, classes, probe),
        collapse_std: collapse_std(&test, dim),
        effective_rank: effective_rank(&test, dim),
        projection_effective_rank: projection_rank(model, dev, &splits.test, 500),
        dim,
    }
}

/// The projections `z` of every image of `data` ([`Method::project`], eval mode), row-major,
/// and their dimension; `None` for a method without a projection.
pub fn project_dataset<M: Method<D>, D: Backend>(model: &M, dev: &D, data: &ImageDataset, batch: usize) -> Option<(Vec<f32>, usize)> {
    let per_image = data.image_len();
    let (mut out, mut dim) = (Vec::new(), 0);
    for start in (0..data.len()).step_by(batch.max(1)) {
        let end = (start + batch).min(data.len());
        let x = dev.tensor_from_vec(data.pixels[start * per_image..end * per_image].to_vec(), (end - start, data.channels, data.height, data.width));
        let z = model.project(x)?;
        dim = z.shape().1;
        out.extend(z.as_vec());
    }
    (dim > 0).then_some((out, dim))
}

/// The effective rank of the projections `z` of every image of `data` ([`Method::project`]),
/// or `None` for a method without one.
pub fn projection_rank<M: Method<D>, D: Backend>(model: &M, dev: &D, data: &ImageDataset, batch: usize) -> Option<f32> {
    project_dataset(model, dev, data, batch).map(|(z, dim)| effective_rank(&z, dim))
}
