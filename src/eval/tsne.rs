//! A 2-D map of a representation with t-SNE, and a number that says how well it separates the
//! classes.
//!
//! PCA (see [`super::pca`]) keeps the two directions of largest variance; for a 128-d
//! representation those rarely separate classes, and the picture is one cloud. t-SNE (van der
//! Maaten & Hinton, *Visualizing Data using t-SNE*, JMLR 2008) instead keeps **neighbourhoods**:
//! it places points in 2-D so that images that are near neighbours in feature space stay near
//! neighbours on the map. It is used here as a tool, from the `bhtsne` crate (Barnes–Hut
//! approximation, θ = 0.5), not as a lecture topic.
//!
//! What the map is computed on: the features mean-centred and L2-normalised
//! ([`super::neighbours::centred_unit_rows`]), so that Euclidean distances are cosine
//! distances, the geometry of the kNN monitor.
//!
//! Reading a t-SNE map: clusters and who neighbours whom are meaningful; the sizes of clusters
//! and the distances between far-apart clusters are not. [`knn_accuracy_2d`] turns "do the
//! classes separate on the map" into a number: the leave-one-out accuracy of a 10-nearest-
//! neighbour majority vote in 2-D (chance is 1 / number of classes).
//!
//! Determinism: the crate draws its starting points from an unseeded generator and sums in
//! parallel, so here the start is drawn from [`TsneConfig::seed`] and the fit runs on one
//! thread: the same features and seed give the same map, bit for bit.

use bhtsne::tSNE;
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::neighbours::centred_unit_rows;
use crate::error::{Error, Result};

/// Settings of [`tsne_2d`]; the defaults are the usual ones (perplexity 30, 1000 iterations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsneConfig {
    /// Roughly the number of neighbours each point keeps close (clamped to `(n − 1) / 3`, the
    /// most the algorithm accepts for `n` points). Default 30.
    pub perplexity: f32,
    /// Gradient steps (the first 250 with early exaggeration). Default 1000.
    pub epochs: usize,
    /// Seed of the starting points (Gaussian, σ = 10⁻⁴). Default 0.
    pub seed: u64,
}

impl Default for TsneConfig {
    fn default() -> Self {
        Self { perplexity: 30.0, epochs: 1000, seed: 0 }
    }
}

/// Fewest points t-SNE is run on (with perplexity 1).
pub const MIN_TSNE_POINTS: usize = 4;

/// The t-SNE map of the `n × d` row-major `features` (centred and normalised first, see the
/// [module documentation](self)): one 2-D point per row.
///
/// Errors ([`Error::Config`]): fewer than [`MIN_TSNE_POINTS`] rows, a bad shape, a non-finite
/// feature, perplexity ≤ 0 or `epochs` = 0.
pub fn tsne_2d(features: &[f32], d: usize, cfg: &TsneConfig) -> Result<Vec<[f32; 2]>> {
    let rows = centred_unit_rows(&[features], d).map_err(|e| Error::config(format!("tsne_2d: {e}")))?.remove(0);
    let n = rows.len() / d;
    if n < MIN_TSNE_POINTS {
        return Err(Error::config(format!("tsne_2d: needs at least {MIN_TSNE_POINTS} points, got {n}")));
    }
    if !(cfg.perplexity > 0.0) || cfg.epochs == 0 {
        return Err(Error::config(format!("tsne_2d: perplexity must be positive and epochs >= 1 (got {} and {})", cfg.perplexity, cfg.epochs)));
    }
    // The crate refuses perplexities above (n − 1) / 3 (it needs 3·perplexity neighbours).
    let perplexity = cfg.perplexity.min(((n - 1) / 3) as f32).max(1.0);
    let normal = Normal::new(0.0f32, 1e-4).expect("a positive standard deviation");
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let start: Vec<f32> = (0..2 * n).map(|_| normal.sample(&mut rng)).collect();
    let samples: Vec<&[f32]> = rows.chunks_exact(d).collect();
    let euclidean = |a: &&[f32], b: &&[f32]| a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt();
    // One thread: the crate's parallel sums would otherwise depend on the thread schedule.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().map_err(|e| Error::config(format!("tsne_2d: cannot start a thread pool: {e}")))?;
    let embedding = pool.install(|| {
        tSNE::<f32, &[f32], 2>::new(&samples).perplexity(perplexity).epochs(cfg.epochs).initial_embedding(start).barnes_hut(0.5, euclidean).embedding()
    });
    let points: Vec<[f32; 2]> = embedding.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    if points.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::config("tsne_2d: the map has non-finite coordinates (are many features identical?)"));
    }
    Ok(points)
}

/// Neighbours that vote in [`knn_accuracy_2d`].
pub const MAP_KNN_K: usize = 10;

/// How well the classes separate on a 2-D map: the fraction of points whose class wins the
/// majority vote of their `k` nearest other points (Euclidean; leave-one-out; ties go to the
/// smaller class). 1 means every point sits among its own class, `1 / classes` is chance.
///
/// Errors if `labels` is not as long as `points`, there are fewer than two points, `k` is 0,
/// or a coordinate is not finite.
pub fn knn_accuracy_2d(points: &[[f32; 2]], labels: &[usize], k: usize) -> Result<f32> {
    if points.len() != labels.len() || points.len() < 2 || k == 0 {
        return Err(Error::config(format!("knn_accuracy_2d: {} points, {} labels, k = {k} (needs equal lengths, 2+ points, k >= 1)", points.len(), labels.len())));
    }
    if points.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::config("knn_accuracy_2d: every coordinate must be finite"));
    }
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let k = k.min(points.len() - 1);
    let correct = (0..points.len())
        .filter(|&i| {
            let mut others: Vec<(f32, usize)> = (0..points.len())
                .filter(|&j| j != i)
                .map(|j| ((points[i][0] - points[j][0]).powi(2) + (points[i][1] - points[j][1]).powi(2), j))
                .collect();
            others.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut votes = vec![0usize; classes];
            others[..k].iter().for_each(|&(_, j)| votes[labels[j]] += 1);
            let best = (0..classes).fold(0, |best, c| if votes[c] > votes[best] { c } else { best });
            best == labels[i]
        })
        .count();
    Ok(correct as f32 / points.len() as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_classes_score_one_and_mixed_classes_score_low() {
        let points: Vec<[f32; 2]> = (0..20).map(|i| [if i < 10 { 0.0 } else { 100.0 }, i as f32 * 0.1]).collect();
        let apart: Vec<usize> = (0..20).map(|i| usize::from(i >= 10)).collect();
        assert_eq!(knn_accuracy_2d(&points, &apart, 3).unwrap(), 1.0);
        // Alternating labels along each line: a point's nearest neighbours are of the other class.
        let mixed: Vec<usize> = (0..20).map(|i| i % 2).collect();
        assert!(knn_accuracy_2d(&points, &mixed, 2).unwrap() < 0.5);
        assert!(knn_accuracy_2d(&points, &mixed[..3], 2).is_err());
    }

    #[test]
    fn tsne_keeps_two_far_clusters_apart_and_is_deterministic_for_a_seed() {
        // Two tight clusters in 8-d around opposite directions.
        let features: Vec<f32> = (0..40)
            .flat_map(|i| {
                let sign = if i < 20 { 1.0 } else { -1.0 };
                (0..8).map(move |j| sign * (1.0 + 0.01 * ((i * 7 + j * 3) % 5) as f32) * if j % 2 == 0 { 1.0 } else { 0.5 })
            })
            .collect();
        let cfg = TsneConfig { epochs: 300, ..TsneConfig::default() };
        let map = tsne_2d(&features, 8, &cfg).unwrap();
        assert_eq!(map.len(), 40);
        let labels: Vec<usize> = (0..40).map(|i| usize::from(i >= 20)).collect();
        assert_eq!(knn_accuracy_2d(&map, &labels, 5).unwrap(), 1.0);
        assert_eq!(map, tsne_2d(&features, 8, &cfg).unwrap());
        assert_ne!(map, tsne_2d(&features, 8, &TsneConfig { seed: 1, ..cfg }).unwrap());
        assert!(tsne_2d(&features[..16], 8, &cfg).is_err());
    }
}
