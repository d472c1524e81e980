//! k-means clustering: DeepCluster's pseudo-labeller (Caron et al., *Deep Clustering for
//! Unsupervised Learning of Visual Features*, ECCV 2018).
//!
//! DeepCluster alternates two steps: embed the whole dataset with the current network and
//! cluster the features with k-means, then train the network to predict each image's cluster
//! ("pseudo-label = cluster assignment"). This module is the first step.
//!
//! For `n` points `x_i ∈ ℝ^d` and `k` centroids `c_j`, k-means lowers the **inertia**
//!
//! ```text
//! J(a, c) = Σ_i ‖x_i − c_{a_i}‖²          a_i ∈ {0, …, k − 1}: the cluster of point i
//! ```
//!
//! with Lloyd's iterations (Lloyd 1982), neither step of which can raise `J`:
//!
//! ```text
//! assignment:  a_i ← argmin_j ‖x_i − c_j‖²      (a tie goes to the smaller j)
//! update:      c_j ← mean { x_i : a_i = j }      (a cluster with no point keeps its c_j)
//! ```
//!
//! **Initialisation: k-means++** (Arthur & Vassilvitskii, *k-means++: the advantages of careful
//! seeding*, SODA 2007). The first centroid is a point drawn uniformly; every next one is a
//! point drawn with probability `D(x)² / Σ_x′ D(x′)²`, where `D(x)` is the distance from `x` to
//! the nearest centroid chosen so far. The expected inertia of this start alone is within
//! `O(log k)` of the optimum, and spread-out starts leave fewer clusters empty.
//!
//! **Empty clusters** (DeepCluster, "Avoiding trivial solutions"). When the features are
//! poor (at the start of training, or when the network drifts towards a constant output), most
//! points land in a few clusters and the others go empty; a classifier trained on such
//! pseudo-labels then learns to put everything in one cluster. DeepCluster re-seeds each empty
//! cluster during k-means, as faiss's k-means does for it (facebookresearch/deepcluster #87):
//!
//! ```text
//! pick a non-empty cluster j with probability ∝ its size n_j (among clusters with n_j ≥ 2)
//! c_e ← c_j + δ,   c_j ← c_j − δ         δ: a small random perturbation
//! the points of j go to whichever of c_j, c_e is nearer (the sign of (x − c_j)·δ)
//! ```
//!
//! so the largest clusters are the likeliest to be split in two. A cluster of one point cannot
//! be split, hence `n_j ≥ 2`. Here `δ` has a random direction and the length
//! [`SPLIT_PERTURBATION`] × the RMS distance of `j`'s points to `c_j`; only its direction
//! matters, because the update step that follows moves both centroids to the means of their
//! halves. [`EmptyClusters::Keep`] turns the fix off (naive Lloyd), for the experiment that
//! shows why DeepCluster needs it.
//!
//! The split can raise `J` by at most `n_j ‖δ‖²` (a point on the dividing plane moves `‖δ‖`
//! away from its centroid), a ten-thousandth of cluster `j`'s inertia; otherwise the inertia
//! at successive assignment steps never rises.
//!
//! **Input.** Features are a row-major `n × d` slice of `f32`, as
//! [`crate::eval::embed_dataset`] returns them. DeepCluster clusters PCA-whitened (256
//! dimensions), L2-normalised features (its `clustering.py`); the caller prepares them.
//!
//! **Determinism.** The assignment step runs in parallel over points (rayon), but every
//! reduction adds in a fixed order and all randomness comes from one [`StdRng`] seeded with
//! [`KMeansConfig::seed`]: the same data and config give the same result on any number of
//! threads.

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Length of DeepCluster's perturbation `δ`, as a fraction of the RMS distance of the split
/// cluster's points to its centroid.
pub const SPLIT_PERTURBATION: f32 = 0.01;

/// What Lloyd's iterations do with a cluster that no point is nearest to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyClusters {
    /// Naive Lloyd: the centroid stays where it is (so the cluster usually stays empty).
    /// DeepCluster-v2's k-means does this (the swav repository's, and solo-learn's).
    Keep,
    /// DeepCluster's fix: split a non-empty cluster, chosen with probability proportional to
    /// its size, into two (see the module docs).
    #[default]
    Split,
}

/// Settings of [`kmeans`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansConfig {
    /// Number of clusters `k` (at least 1, at most the number of points).
    pub k: usize,
    /// Largest number of Lloyd iterations (assignment then update). DeepCluster: 20.
    pub iterations: usize,
    /// Seed of the k-means++ draws and of the splits.
    pub seed: u64,
    /// The empty-cluster policy.
    pub empty_clusters: EmptyClusters,
}

impl KMeansConfig {
    /// `k` clusters, DeepCluster's 20 iterations, seed 0, empty clusters split.
    pub fn new(k: usize) -> Self {
        Self { k, iterations: 20, seed: 0, empty_clusters: EmptyClusters::Split }
    }

    /// The same settings with another seed (DeepCluster draws a new one every epoch).
    pub fn with_seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// The same settings with at most `iterations` Lloyd iterations.
    pub fn with_iterations(self, iterations: usize) -> Self {
        Self { iterations, ..self }
    }

    /// The same settings with another empty-cluster policy.
    pub fn with_empty_clusters(self, empty_clusters: EmptyClusters) -> Self {
        Self { empty_clusters, ..self }
    }
}

/// A clustering found by [`kmeans`] or [`kmeans_from`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Number of clusters.
    pub k: usize,
    /// Feature dimension.
    pub d: usize,
    /// The final centroids, row-major `k × d`.
    pub centroids: Vec<f32>,
    /// The nearest final centroid of every point: DeepCluster's pseudo-labels.
    pub assignments: Vec<usize>,
    /// Number of points in each cluster under `assignments` (length `k`).
    pub sizes: Vec<usize>,
    /// The inertia `J` at each assignment step: entry `t` is measured with the centroids after
    /// `t` updates (entry 0 with the initial ones, the last with the final ones). It has
    /// `iterations + 1` entries, fewer when the assignments stopped changing earlier.
    pub inertia: Vec<f64>,
    /// The number of empty clusters at each assignment step, before any split.
    pub empty: Vec<usize>,
    /// How many empty clusters were re-seeded by splitting, over all iterations.
    pub reseeded: usize,
}

impl KMeans {
    /// Centroid `j` (a slice of length `d`).
    pub fn centroid(&self, j: usize) -> &[f32] {
        &self.centroids[j * self.d..(j + 1) * self.d]
    }

    /// The nearest centroid of each row of `features` (row-major, `d` columns), e.g. to label
    /// held-out images. Errors on a bad shape or a non-finite value.
    pub fn predict(&self, features: &[f32]) -> Result<Vec<usize>> {
        check_points(features, self.d, "KMeans::predict")?;
        Ok(assign(features, self.d, &self.centroids).into_iter().map(|(j, _)| j).collect())
    }
}

/// k-means of the row-major `n × d` matrix `features`: k-means++ initialisation, then Lloyd's
/// iterations with the configured empty-cluster policy (see the module docs).
///
/// Errors ([`Error::Config`]) if `d` is 0, `features` is not a whole number of rows or holds a
/// non-finite value, or `k` is 0 or larger than the number of points.
pub fn kmeans(features: &[f32], d: usize, cfg: &KMeansConfig) -> Result<KMeans> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let init = kmeans_plus_plus(features, d, cfg.k, &mut rng)?;
    Ok(lloyd(features, d, init, cfg, &mut rng))
}

/// Lloyd's iterations from the given initial `centroids` (row-major `k × d`, `k = cfg.k`)
/// instead of k-means++: to continue from a previous clustering, or to compare with another
/// implementation. The seed only drives the splits of empty clusters.
///
/// Errors like [`kmeans`], and if `centroids` is not `k × d` or holds a non-finite value.
pub fn kmeans_from(features: &[f32], d: usize, centroids: Vec<f32>, cfg: &KMeansConfig) -> Result<KMeans> {
    let n = check_points(features, d, "kmeans_from")?;
    check_k(cfg.k, n, "kmeans_from")?;
    if centroids.len() != cfg.k * d {
        return Err(Error::config(format!(
            "kmeans_from: {} initial centroid values, expected k × d = {} × {d}",
            centroids.len(),
            cfg.k
        )));
    }
    if centroids.iter().any(|v| !v.is_finite()) {
        return Err(Error::config("kmeans_from: the initial centroids must be finite"));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    Ok(lloyd(features, d, centroids, cfg, &mut rng))
}

/// k-means++ seeding (Arthur & Vassilvitskii 2007): `k` rows of `features`, the first drawn
/// uniformly, each next one with probability proportional to its squared distance to the
/// nearest row already chosen. Returns the centroids, row-major `k × d`.
///
/// If every remaining point coincides with a chosen centroid (fewer than `k` distinct points),
/// the next one is drawn uniformly, so some centroids repeat.
///
/// Errors like [`kmeans`].
pub fn kmeans_plus_plus(features: &[f32], d: usize, k: usize, rng: &mut dyn RngCore) -> Result<Vec<f32>> {
    let n = check_points(features, d, "kmeans_plus_plus")?;
    check_k(k, n, "kmeans_plus_plus")?;
    let row = |i: usize| &features[i * d..(i + 1) * d];
    let mut centroids = Vec::with_capacity(k * d);
    let first = rng.gen_range(0..n);
    centroids.extend_from_slice(row(first));
    let mut d2: Vec<f32> = features.par_chunks(d).map(|x| sq_dist(x, row(first))).collect();
    while centroids.len() < k * d {
        let next = draw_proportional(&d2, rng).unwrap_or_else(|| rng.gen_range(0..n));
        let chosen = row(next);
        centroids.extend_from_slice(chosen);
        d2.par_iter_mut().zip(features.par_chunks(d)).for_each(|(best, x)| *best = best.min(sq_dist(x, chosen)));
    }
    Ok(centroids)
}

/// An index drawn with probability `weights[i] / Σ weights`, or `None` when all are zero.
fn draw_proportional(weights: &[f32], rng: &mut dyn RngCore) -> Option<usize> {
    let total: f64 = weights.iter().map(|&w| w as f64).sum();
    if total <= 0.0 {
        return None;
    }
    let target = rng.gen::<f64>() * total;
    let mut cumulative = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        cumulative += w as f64;
        if cumulative > target {
            return Some(i);
        }
    }
    // Rounding left `target` at the very end: the last point with a positive weight.
    weights.iter().rposition(|&w| w > 0.0)
}

/// Lloyd's iterations from `centroids` (inputs already checked).
fn lloyd(x: &[f32], d: usize, mut centroids: Vec<f32>, cfg: &KMeansConfig, rng: &mut dyn RngCore) -> KMeans {
    let k = cfg.k;
    let (mut inertia, mut empty, mut reseeded) = (Vec::new(), Vec::new(), 0);
    let mut previous: Option<Vec<usize>> = None;
    for t in 0.. {
        let nearest = assign(x, d, &centroids);
        let mut assignments: Vec<usize> = nearest.iter().map(|&(j, _)| j).collect();
        inertia.push(nearest.iter().map(|&(_, dist)| dist as f64).sum());
        let sizes = cluster_sizes(&assignments, k);
        let n_empty = sizes.iter().filter(|&&s| s == 0).count();
        empty.push(n_empty);
        let nothing_to_split = n_empty == 0 || cfg.empty_clusters == EmptyClusters::Keep;
        let settled = previous.as_ref() == Some(&assignments) && nothing_to_split;
        if t == cfg.iterations || settled {
            return KMeans { k, d, centroids, assignments, sizes, inertia, empty, reseeded };
        }
        if !nothing_to_split {
            reseeded += split_empty_clusters(x, d, &mut assignments, &mut centroids, rng);
        }
        update_centroids(x, d, &assignments, &mut centroids);
        previous = Some(assignments);
    }
    unreachable!("the loop returns at t = cfg.iterations")
}

/// The assignment step: the nearest centroid of every point and the squared distance to it,
/// in parallel over points.
fn assign(x: &[f32], d: usize, centroids: &[f32]) -> Vec<(usize, f32)> {
    x.par_chunks(d).map(|point| nearest_centroid(point, centroids, d)).collect()
}

// ANCHOR: kmeans
/// The assignment step for one point: `argmin_j ‖point − c_j‖²` over the centroids (row-major
/// `k × d`, `k ≥ 1`), and that squared distance. A tie goes to the smaller `j`.
pub fn nearest_centroid(point: &[f32], centroids: &[f32], d: usize) -> (usize, f32) {
    assert!(d > 0 && point.len() == d && !centroids.is_empty() && centroids.len() % d == 0, "nearest_centroid: expected a point of length d and k ≥ 1 centroids of length d");
    // BEGIN SOLUTION
    // HINT: `sq_dist(a, b)` is ‖a − b‖²; `centroids.chunks_exact(d)` gives the centroids in order.
    // HINT: start from centroid 0 and replace the best only when a distance is strictly smaller: ties keep the smaller j.
    let mut best = (0, sq_dist(point, &centroids[..d]));
    for (j, c) in centroids.chunks_exact(d).enumerate().skip(1) {
        let dist = sq_dist(point, c);
        if dist < best.1 {
            best = (j, dist);
        }
    }
    best
    // END SOLUTION
}

/// The update step: `c_j ← mean { x_i : a_i = j }` for every cluster `j` that has points
/// (`x` row-major `n × d`, `assignments` of length `n`, `centroids` row-major `k × d`,
/// updated in place). Sums in `f64`. An empty cluster keeps its centroid.
pub fn update_centroids(x: &[f32], d: usize, assignments: &[usize], centroids: &mut [f32]) {
    assert!(d > 0 && x.len() == assignments.len() * d && centroids.len() % d == 0, "update_centroids: expected n × d points, n assignments and k × d centroids");
    // BEGIN SOLUTION
    // HINT: accumulate each cluster's sum of points (in f64) and its count in one pass over the points.
    // HINT: `cluster_sizes(assignments, k)` counts the points of each cluster.
    // HINT: a cluster with no point must keep its centroid: dividing by a count of 0 gives NaN.
    let k = centroids.len() / d;
    let mut sums = vec![0.0f64; k * d];
    for (point, &j) in x.chunks_exact(d).zip(assignments) {
        sums[j * d..(j + 1) * d].iter_mut().zip(point).for_each(|(s, &v)| *s += v as f64);
    }
    for (j, &count) in cluster_sizes(assignments, k).iter().enumerate() {
        if count > 0 {
            let mean = sums[j * d..(j + 1) * d].iter().map(|s| (s / count as f64) as f32);
            centroids[j * d..(j + 1) * d].iter_mut().zip(mean).for_each(|(c, m)| *c = m);
        }
    }
    // END SOLUTION
}
// ANCHOR_END: kmeans

/// DeepCluster's fix, for every empty cluster `e` in turn: split a cluster `j` drawn with
/// probability ∝ its size (among those with two points or more) into `c_j − δ` and
/// `c_e = c_j + δ`, and move `j`'s points nearer to `c_e` into `e`. Returns how many empty
/// clusters were re-seeded (fewer than the empty ones only if no cluster has two points).
fn split_empty_clusters(x: &[f32], d: usize, assignments: &mut [usize], centroids: &mut [f32], rng: &mut dyn RngCore) -> usize {
    let k = centroids.len() / d;
    let mut sizes = cluster_sizes(assignments, k);
    let mut reseeded = 0;
    for e in 0..k {
        if sizes[e] > 0 {
            continue;
        }
        let Some(j) = draw_cluster_to_split(&sizes, rng) else { break };
        let members: Vec<usize> = (0..assignments.len()).filter(|&i| assignments[i] == j).collect();
        let delta = perturbation(x, d, &members, &centroids[j * d..(j + 1) * d], rng);
        for (t, dt) in delta.iter().enumerate() {
            let c = centroids[j * d + t];
            centroids[e * d + t] = c + dt;
            centroids[j * d + t] = c - dt;
        }
        let (c_j, c_e) = (&centroids[j * d..(j + 1) * d], &centroids[e * d..(e + 1) * d]);
        for &i in &members {
            let point = &x[i * d..(i + 1) * d];
            if sq_dist(point, c_e) < sq_dist(point, c_j) {
                assignments[i] = e;
                sizes[e] += 1;
                sizes[j] -= 1;
            }
        }
        reseeded += 1;
    }
    reseeded
}

/// A cluster drawn with probability proportional to its size among those with at least two
/// points (exact integer arithmetic), or `None` if there is none.
fn draw_cluster_to_split(sizes: &[usize], rng: &mut dyn RngCore) -> Option<usize> {
    let splittable = |s: usize| if s >= 2 { s } else { 0 };
    let total: usize = sizes.iter().map(|&s| splittable(s)).sum();
    if total == 0 {
        return None;
    }
    let mut target = rng.gen_range(0..total);
    for (j, &s) in sizes.iter().enumerate() {
        if target < splittable(s) {
            return Some(j);
        }
        target -= splittable(s);
    }
    unreachable!("target < total")
}

/// `δ`: a uniformly random direction, of length [`SPLIT_PERTURBATION`] times the RMS distance
/// of the `members` to `centroid`.
fn perturbation(x: &[f32], d: usize, members: &[usize], centroid: &[f32], rng: &mut dyn RngCore) -> Vec<f32> {
    let mean_sq: f64 = members.iter().map(|&i| sq_dist(&x[i * d..(i + 1) * d], centroid) as f64).sum::<f64>() / members.len() as f64;
    let direction: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
    let norm = direction.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    let length = SPLIT_PERTURBATION as f64 * mean_sq.sqrt();
    direction.iter().map(|v| (v / norm * length) as f32).collect()
}

/// Number of points in each of the `k` clusters.
pub fn cluster_sizes(assignments: &[usize], k: usize) -> Vec<usize> {
    let mut sizes = vec![0; k];
    assignments.iter().for_each(|&j| sizes[j] += 1);
    sizes
}

/// How evenly a clustering spreads its points: the numbers that show DeepCluster's trivial
/// solution (most images in one cluster) from one epoch to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterBalance {
    /// The epoch (0-based) of the clustering, for a run's sequence.
    pub epoch: usize,
    /// Clusters holding at least one point.
    pub non_empty: usize,
    /// Share of all points in the largest cluster: `1/k` when balanced, 1 when one cluster
    /// holds everything.
    pub largest_share: f64,
    /// The perplexity `exp(H(p))` of the sizes, `p_j = n_j / n`: the number of equal clusters
    /// with the same entropy (`k` when balanced, 1 for a single cluster).
    pub effective_clusters: f64,
    /// The sizes sorted from largest to smallest, for the size profile.
    pub sorted_sizes: Vec<usize>,
}

impl ClusterBalance {
    /// The balance of clusters of sizes `sizes` (number of points per cluster) at `epoch`.
    ///
    /// ```
    /// use selfsup::eval::kmeans::ClusterBalance;
    /// let b = ClusterBalance::from_sizes(0, &[2, 2, 0, 4]);
    /// assert_eq!((b.non_empty, b.largest_share), (3, 0.5));
    /// // H = -(2·¼ ln ¼ + ½ ln ½) = 1.5 ln 2, so exp(H) = 2^1.5.
    /// assert!((b.effective_clusters - 2f64.powf(1.5)).abs() < 1e-12);
    /// ```
    pub fn from_sizes(epoch: usize, sizes: &[usize]) -> Self {
        let n: usize = sizes.iter().sum();
        let mut sorted_sizes = sizes.to_vec();
        sorted_sizes.sort_unstable_by(|a, b| b.cmp(a));
        let (largest_share, effective_clusters) = if n == 0 {
            (0.0, 0.0)
        } else {
            let entropy: f64 = sizes.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n as f64).map(|p| -p * p.ln()).sum();
            (sorted_sizes[0] as f64 / n as f64, entropy.exp())
        };
        Self { epoch, non_empty: sizes.iter().filter(|&&c| c > 0).count(), largest_share, effective_clusters, sorted_sizes }
    }
}

/// `‖a − b‖²`, with eight partial sums (as [`super::dot`]) so the loop vectorises.
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let diff = x[l] - y[l];
            acc[l] += diff * diff;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Checks a row-major matrix of points: `d > 0`, whole rows, at least one row, finite values.
/// Returns the number of rows.
fn check_points(x: &[f32], d: usize, what: &str) -> Result<usize> {
    if d == 0 {
        return Err(Error::config(format!("{what}: the feature dimension d must be positive")));
    }
    if !x.len().is_multiple_of(d) {
        return Err(Error::config(format!("{what}: {} values is not a whole number of rows of width {d}", x.len())));
    }
    if x.is_empty() {
        return Err(Error::config(format!("{what}: there are no points to cluster")));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::config(format!("{what}: feature {} of point {} is {}; every feature must be finite", i % d, i / d, x[i])));
    }
    Ok(x.len() / d)
}

/// Checks `1 ≤ k ≤ n`.
fn check_k(k: usize, n: usize, what: &str) -> Result<()> {
    if k == 0 {
        return Err(Error::config(format!("{what}: k must be at least 1")));
    }
    if k > n {
        return Err(Error::config(format!("{what}: cannot make k = {k} clusters of {n} points (k must be at most the number of points)")));
    }
    Ok(())
}
