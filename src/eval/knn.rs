//! Weighted k-nearest-neighbour classification on the unit sphere.
//!
//! This is the monitor of Wu et al., *Unsupervised Feature Learning via Non-Parametric
//! Instance Discrimination* (CVPR 2018), later used by InstDisc, MoCo, DINO and most
//! self-supervised papers because it needs no training:
//!
//! 1. L2-normalise every train ("memory") and test feature, so `s_i = q · m_i` is the cosine
//!    similarity between the query `q` and memory item `m_i`;
//! 2. take the `k` memory items with the largest `s_i`;
//! 3. each neighbour votes for its own class with weight `w_i = exp(s_i / T)`;
//! 4. predict `argmax_c Σ_{i ∈ top-k, y_i = c} w_i`.
//!
//! The temperature `T` controls how much closer neighbours dominate: as `T → ∞` every weight is
//! 1 (a plain majority vote), as `T → 0` only the nearest neighbour counts. The usual setting is
//! `k = 200, T = 0.07` on ImageNet; with 10k training images `k = 20, T = 0.1` works well.
//!
//! Speed: the cost is one `n_test × n_train` matrix of dot products of length `d`. Queries are
//! processed in blocks in parallel (rayon); each block scans the memory in tiles small enough
//! to stay in cache, so 2k queries against 10k items of 256 dimensions take a fraction of a
//! second on a laptop.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{accuracy, check_labelled, check_matrix, dot, l2_normalize_rows};

/// Settings of the weighted kNN classifier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KnnConfig {
    /// Number of neighbours that vote (clamped to the memory size). Default 20.
    pub k: usize,
    /// Temperature `T` of the vote weights `exp(s / T)`. Default 0.1.
    pub temperature: f32,
}

impl Default for KnnConfig {
    fn default() -> Self {
        Self { k: 20, temperature: 0.1 }
    }
}

/// Number of queries handled together by one rayon task.
const QUERY_BLOCK: usize = 32;
/// Bytes of memory rows scanned per tile: small enough to stay in a core's L2 cache while every
/// query of the block is compared with them (256 rows of 256 floats).
const TILE_BYTES: usize = 256 * 1024;

/// Top-1 accuracy in `[0, 1]` of the weighted kNN classifier that uses the `train` features and
/// labels as memory and classifies every `test` row. See [`knn_predict`] for the arguments.
#[allow(clippy::too_many_arguments)]
pub fn knn_accuracy(
    train: &[f32],
    train_labels: &[usize],
    test: &[f32],
    test_labels: &[usize],
    d: usize,
    num_classes: usize,
    cfg: &KnnConfig,
) -> f32 {
    check_labelled(test, test_labels, d, num_classes, "knn_accuracy (test)");
    let predictions = knn_predict(train, train_labels, test, d, num_classes, cfg);
    accuracy(&predictions, test_labels)
}

/// Predicts a class for every row of `test` by a weighted vote of its `k` most cosine-similar
/// rows of `train` (see the [module documentation](self) for the formula).
///
/// `train` and `test` are row-major with `d` columns; `train_labels` has one entry in
/// `0..num_classes` per train row. Inputs are not modified (normalised copies are made).
///
/// Ties are broken deterministically: among equally similar memory items the one with the
/// smaller index is kept, and among classes with equal total weight the smaller class wins.
///
/// Panics if the shapes disagree, a label is out of range, the memory is empty, `k == 0` or
/// the temperature is not positive.
pub fn knn_predict(
    train: &[f32],
    train_labels: &[usize],
    test: &[f32],
    d: usize,
    num_classes: usize,
    cfg: &KnnConfig,
) -> Vec<usize> {
    let n_train = check_labelled(train, train_labels, d, num_classes, "knn_predict (train)");
    check_matrix(test, d, "knn_predict (test)");
    assert!(n_train > 0, "knn_predict: the memory (train set) is empty");
    assert!(cfg.k > 0, "knn_predict: k must be at least 1");
    assert!(cfg.temperature > 0.0, "knn_predict: the temperature must be positive, got {}", cfg.temperature);
    let k = cfg.k.min(n_train);

    let mut memory = train.to_vec();
    l2_normalize_rows(&mut memory, d);
    let mut queries = test.to_vec();
    l2_normalize_rows(&mut queries, d);

    queries
        .par_chunks(QUERY_BLOCK * d)
        .flat_map_iter(|block| {
            let neighbours = top_k_block(block, &memory, d, k);
            neighbours
                .into_iter()
                .map(|nb| vote(&nb, train_labels, num_classes, cfg.temperature))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `k` most similar memory rows (similarity, index) of each query row in `block`,
/// sorted from most to least similar.
pub(crate) fn top_k_block(block: &[f32], memory: &[f32], d: usize, k: usize) -> Vec<Vec<(f32, usize)>> {
    let n_queries = block.len() / d;
    let mut top: Vec<TopK> = (0..n_queries).map(|_| TopK::new(k)).collect();
    // Memory tiles in the outer loop: a tile is read from RAM once and then reused from cache by
    // every query of the block.
    let tile_rows = (TILE_BYTES / (d * std::mem::size_of::<f32>())).max(1);
    let mut sims = vec![0.0f32; tile_rows];
    for (t, tile) in memory.chunks(tile_rows * d).enumerate() {
        let first = t * tile_rows;
        for (q, best) in block.chunks_exact(d).zip(top.iter_mut()) {
            // All similarities of the tile first (a tight loop), then the selection.
            for (s, m) in sims.iter_mut().zip(tile.chunks_exact(d)) {
                *s = dot(q, m);
            }
            for (j, &s) in sims[..tile.len() / d].iter().enumerate() {
                best.offer(s, first + j);
            }
        }
    }
    top.into_iter().map(TopK::into_sorted).collect()
}

/// Weighted vote `argmax_c Σ_{i: y_i = c} exp(s_i / T)` over the neighbours `nb`.
///
/// The weights are computed as `exp((s_i − s_max) / T)`: dividing every weight by the same
/// `exp(s_max / T)` leaves the winner unchanged but keeps `exp` from overflowing at small `T`.
fn vote(nb: &[(f32, usize)], labels: &[usize], num_classes: usize, temperature: f32) -> usize {
    let s_max = nb.iter().map(|&(s, _)| s).fold(f32::NEG_INFINITY, f32::max);
    let mut score = vec![0.0f32; num_classes];
    for &(s, i) in nb {
        score[labels[i]] += ((s - s_max) / temperature).exp();
    }
    // First maximum wins, so ties go to the smaller class index.
    let mut best = 0;
    for c in 1..num_classes {
        if score[c] > score[best] {
            best = c;
        }
    }
    best
}

/// A running "k largest similarities" list, kept sorted in descending order.
///
/// `k` is small (tens), so insertion into a sorted vector beats a heap, and almost every
/// candidate is rejected by a single comparison with the current k-th best.
struct TopK {
    k: usize,
    items: Vec<(f32, usize)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, items: Vec::with_capacity(k + 1) }
    }

    /// Considers memory item `index` with similarity `sim`. NaN similarities are ignored.
    #[inline]
    fn offer(&mut self, sim: f32, index: usize) {
        if sim.is_nan() {
            return;
        }
        if self.items.len() == self.k {
            // Only strictly better items enter: on ties the earlier (smaller) index stays.
            if sim <= self.items[self.k - 1].0 {
                return;
            }
            self.items.pop();
        }
        // Insert after every item that is at least as similar, keeping earlier indices first.
        let pos = self.items.partition_point(|&(s, _)| s >= sim);
        self.items.insert(pos, (sim, index));
    }

    fn into_sorted(self) -> Vec<(f32, usize)> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_largest_in_order_and_earliest_on_ties() {
        let mut t = TopK::new(3);
        for (i, s) in [0.1, 0.5, 0.3, 0.5, 0.9, 0.2].into_iter().enumerate() {
            t.offer(s, i);
        }
        assert_eq!(t.into_sorted(), vec![(0.9, 4), (0.5, 1), (0.5, 3)]);
    }

    #[test]
    fn vote_is_stable_at_tiny_temperature() {
        // exp(1 / 1e-3) overflows f32; the shifted weights must not.
        let nb = [(1.0, 0), (0.99, 1), (0.98, 2)];
        assert_eq!(vote(&nb, &[2, 1, 1], 3, 1e-3), 2);
    }
}
