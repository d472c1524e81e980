//! Evaluating frozen representations: how good is an embedding without fine-tuning the encoder?
//!
//! Self-supervised methods never see labels, so we judge the features they produce with cheap,
//! label-using *probes* run on top of the frozen encoder:
//!
//! - [`knn`]: weighted k-nearest-neighbour classification (Wu et al., 2018) — no training at all,
//!   it measures whether same-class images land close together on the unit sphere;
//! - [`linear`]: a linear probe (multinomial logistic regression), the standard protocol of
//!   SimCLR, MoCo, BYOL, … — it measures whether classes are *linearly* separable;
//! - [`collapse`]: the per-dimension standard deviation of the normalised embeddings (Chen & He,
//!   2021), which drops to zero when a method collapses to a constant output;
//! - [`pca`](mod@pca): principal component analysis, to draw a 2-D picture of the embedding;
//! - [`neighbours`]: nearest neighbours by cosine similarity on mean-centred features, and how
//!   often they share the query's class (the retrieval figures);
//! - [`tsne`](mod@tsne): a t-SNE map of the embedding and how well it separates the classes;
//! - [`kmeans`](mod@kmeans): k-means with k-means++ seeding and DeepCluster's split of empty
//!   clusters, the pseudo-labeller of DeepCluster (Caron et al., 2018);
//! - [`nmi`](mod@nmi): the normalised mutual information between two labelings, DeepCluster's
//!   measure of how its clusters relate to the classes and to the previous epoch's clusters.
//!
//! All functions work on plain row-major matrices: `features` holds `n` rows of `d` columns,
//! so row `i` is `features[i * d..(i + 1) * d]`, and labels are class indices `0..num_classes`.

pub mod collapse;
pub mod kmeans;
pub mod knn;
pub mod linear;
pub mod nmi;
pub mod pca;

pub use collapse::{collapse_std, effective_rank};
pub use kmeans::{kmeans, kmeans_from, kmeans_plus_plus, EmptyClusters, KMeans, KMeansConfig};
pub use knn::{knn_accuracy, knn_predict, KnnConfig};
pub use linear::{linear_probe_accuracy, linear_probe_predict, LinearProbeConfig};
pub use nmi::nmi;
pub use pca::{pca, pca_2d, Pca};

/// Rescales every row of the row-major `n × d` matrix `x` to unit Euclidean norm:
/// `x_i ← x_i / max(‖x_i‖₂, ε)` with `ε = 1e-12`, so an all-zero row stays zero instead of
/// becoming NaN.
///
/// After this, the dot product of two rows is their cosine similarity.
pub fn l2_normalize_rows(x: &mut [f32], d: usize) {
    check_matrix(x, d, "l2_normalize_rows");
    for row in x.chunks_exact_mut(d) {
        let norm = dot(row, row).sqrt().max(1e-12);
        let inv = 1.0 / norm;
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Per-column mean and (population) standard deviation of the row-major `n × d` matrix `x`:
/// `μ_j = (1/n) Σ_i x_ij` and `σ_j = sqrt((1/n) Σ_i (x_ij − μ_j)²)`, accumulated in `f64`.
///
/// Returns two vectors of length `d`; both are all zeros when `x` has no rows.
pub fn column_mean_std(x: &[f32], d: usize) -> (Vec<f32>, Vec<f32>) {
    check_matrix(x, d, "column_mean_std");
    let n = x.len() / d;
    if n == 0 {
        return (vec![0.0; d], vec![0.0; d]);
    }
    let mut sum = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
    let mut sq = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for ((s, &v), &m) in sq.iter_mut().zip(row).zip(&mean) {
            let c = v as f64 - m;
            *s += c * c;
        }
    }
    let std = sq.iter().map(|s| (s / n as f64).sqrt() as f32).collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

/// Fraction of positions where `predictions` equals `labels`, in `[0, 1]`.
///
/// Panics if the lengths differ or there is nothing to score.
pub fn accuracy(predictions: &[usize], labels: &[usize]) -> f32 {
    assert_eq!(predictions.len(), labels.len(), "accuracy: {} predictions for {} labels", predictions.len(), labels.len());
    assert!(!labels.is_empty(), "accuracy: no samples to score");
    let correct = predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f32 / labels.len() as f32
}

/// Dot product `Σ_i a_i b_i` of two equally long slices.
///
/// Eight independent partial sums let the compiler keep the loop in SIMD registers (a single
/// running sum would force strictly sequential floating-point additions).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Panics with a clear message unless `x` is a whole number of rows of width `d > 0`.
pub(crate) fn check_matrix(x: &[f32], d: usize, what: &str) {
    assert!(d > 0, "{what}: the feature dimension d must be positive");
    assert!(x.len().is_multiple_of(d), "{what}: {} values is not a whole number of rows of width {d}", x.len());
}

/// Checks a `(features, labels)` pair: whole rows, one label per row, every label `< num_classes`.
/// Returns the number of rows.
pub(crate) fn check_labelled(x: &[f32], labels: &[usize], d: usize, num_classes: usize, what: &str) -> usize {
    check_matrix(x, d, what);
    let n = x.len() / d;
    assert_eq!(n, labels.len(), "{what}: {n} feature rows but {} labels", labels.len());
    if let Some(&bad) = labels.iter().find(|&&l| l >= num_classes) {
        panic!("{what}: label {bad} is out of range for {num_classes} classes");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum_for_odd_lengths() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn normalized_rows_have_unit_norm_and_zero_rows_stay_zero() {
        let mut x = vec![3.0, 4.0, 0.0, 0.0, -1.0, 0.0];
        l2_normalize_rows(&mut x, 2);
        assert_eq!(x, vec![0.6, 0.8, 0.0, 0.0, -1.0, 0.0]);
    }

    #[test]
    fn column_stats_of_a_small_matrix() {
        let (m, s) = column_mean_std(&[1.0, 10.0, 3.0, 10.0], 2);
        assert_eq!(m, vec![2.0, 10.0]);
        assert_eq!(s, vec![1.0, 0.0]);
    }
}

pub mod embed;
pub use embed::{embed_dataset, evaluate, project_dataset, EvalReport};
pub mod neighbours;
pub use neighbours::{centred_unit_rows, nearest_neighbours, neighbour_match_rate};
pub mod tsne;
pub use tsne::{knn_accuracy_2d, tsne_2d, TsneConfig};
