//! Nearest neighbours by cosine similarity, in the geometry the figures look at.
//!
//! A representation is judged by which images it puts close together. The figures compare
//! features in one geometry, whatever produced them (raw pixels, a random-init or a trained
//! encoder):
//!
//! 1. **mean-centre** every column with the mean of a reference set (the training features):
//!    post-ReLU features are all positive, so without centring every cosine similarity is
//!    large and the differences that matter are squeezed into a thin band near 1;
//! 2. **L2-normalise** every row, so that a dot product is a cosine similarity.
//!
//! [`nearest_neighbours`] then returns, for every query, the `k` memory rows with the largest
//! cosine similarity (the same search as the kNN monitor, [`super::knn`]), and
//! [`neighbour_match_rate`] the fraction of those neighbours that share the query's class.

use rayon::prelude::*;

use super::knn::top_k_block;
use super::{column_mean_std, l2_normalize_rows};
use crate::error::{Error, Result};

/// Queries handled together by one rayon task (as in the kNN monitor).
const QUERY_BLOCK: usize = 32;

/// Copies of `sets` (row-major, `d` columns each) in the figures' geometry: every column
/// minus its mean over `sets[0]` (the reference set, e.g. the training features), then every
/// row scaled to unit length. Errors if `d` is 0, a set is not a whole number of rows, the
/// reference set is empty, or a value is not finite.
pub fn centred_unit_rows(sets: &[&[f32]], d: usize) -> Result<Vec<Vec<f32>>> {
    const WHAT: &str = "centred_unit_rows";
    if d == 0 {
        return Err(Error::config(format!("{WHAT}: the feature dimension must be positive")));
    }
    for (i, set) in sets.iter().enumerate() {
        if set.len() % d != 0 {
            return Err(Error::config(format!("{WHAT}: set {i} has {} values, not a whole number of rows of {d}", set.len())));
        }
        if let Some(v) = set.iter().find(|v| !v.is_finite()) {
            return Err(Error::config(format!("{WHAT}: set {i} contains {v}; every feature must be finite")));
        }
    }
    let reference = sets.first().filter(|s| !s.is_empty()).ok_or_else(|| Error::config(format!("{WHAT}: the reference set is empty")))?;
    let (mean, _) = column_mean_std(reference, d);
    Ok(sets
        .iter()
        .map(|set| {
            let mut out: Vec<f32> = set.chunks_exact(d).flat_map(|row| row.iter().zip(&mean).map(|(v, m)| v - m)).collect();
            l2_normalize_rows(&mut out, d);
            out
        })
        .collect())
}

/// The `k` rows of `memory` most cosine-similar to each row of `queries`, as
/// `(similarity, memory index)` from the most similar down (ties: the smaller index first).
/// Both matrices must already have unit rows (see [`centred_unit_rows`]); `k` is clamped to
/// the memory size.
///
/// Errors if the shapes disagree, the memory is empty or `k` is 0.
pub fn nearest_neighbours(queries: &[f32], memory: &[f32], d: usize, k: usize) -> Result<Vec<Vec<(f32, usize)>>> {
    if d == 0 || queries.len() % d != 0 || memory.len() % d != 0 {
        return Err(Error::config(format!(
            "nearest_neighbours: {} query values and {} memory values are not whole rows of {d}",
            queries.len(),
            memory.len()
        )));
    }
    if memory.is_empty() || k == 0 {
        return Err(Error::config("nearest_neighbours: needs a non-empty memory and k >= 1"));
    }
    let k = k.min(memory.len() / d);
    Ok(queries.par_chunks(QUERY_BLOCK * d).flat_map_iter(|block| top_k_block(block, memory, d, k)).collect())
}

/// Fraction, in `[0, 1]`, of all the listed neighbours whose label equals their query's:
/// `neighbours[q]` are memory indices (labels `memory_labels`) of query `q` (label
/// `query_labels[q]`). Returns 0 when there are no neighbours.
pub fn neighbour_match_rate(neighbours: &[Vec<(f32, usize)>], query_labels: &[usize], memory_labels: &[usize]) -> f32 {
    let (mut same, mut all) = (0usize, 0usize);
    for (nb, &label) in neighbours.iter().zip(query_labels) {
        same += nb.iter().filter(|&&(_, j)| memory_labels[j] == label).count();
        all += nb.len();
    }
    if all == 0 {
        0.0
    } else {
        same as f32 / all as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_uses_the_reference_mean_and_rows_end_unit_length() {
        // Reference rows (1, 0) and (3, 0): mean (2, 0). Query (2, 1) → (0, 1).
        let out = centred_unit_rows(&[&[1.0, 0.0, 3.0, 0.0], &[2.0, 1.0]], 2).unwrap();
        assert_eq!(out[0], vec![-1.0, 0.0, 1.0, 0.0]);
        assert_eq!(out[1], vec![0.0, 1.0]);
        assert!(centred_unit_rows(&[&[], &[1.0]], 1).is_err());
        assert!(centred_unit_rows(&[&[1.0, f32::NAN]], 1).is_err());
    }

    #[test]
    fn neighbours_are_ranked_by_cosine_and_the_rate_counts_matching_labels() {
        let memory = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        let nb = nearest_neighbours(&[0.8, 0.6], &memory, 2, 2).unwrap();
        // cos = 0.8 with row 0, 0.6 with row 1, 0.96 with row 2.
        assert_eq!(nb[0].iter().map(|&(_, j)| j).collect::<Vec<_>>(), vec![2, 0]);
        assert!((nb[0][0].0 - 0.96).abs() < 1e-6);
        assert_eq!(neighbour_match_rate(&nb, &[1], &[1, 0, 0]), 0.5);
        assert!(nearest_neighbours(&[1.0], &[], 1, 1).is_err());
        assert!(nearest_neighbours(&[1.0, 0.0], &memory, 2, 0).is_err());
    }
}
