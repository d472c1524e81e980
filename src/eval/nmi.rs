//! Normalised mutual information between two labelings of the same points.
//!
//! DeepCluster (Caron et al., ECCV 2018) plots it twice: between its clusters
//! and the true classes (how much the clusters know about the labels), and between the
//! clusters of two consecutive epochs (how stable the pseudo-labels are: near 1 once training
//! settles). With `U` and `V` the two labelings of `n` points, `n_u` the points labelled `u`
//! by `U`, `n_v` those labelled `v` by `V` and `n_uv` those labelled both:
//!
//! ```text
//! H(U)   = − Σ_u (n_u / n) log(n_u / n)                            (entropy)
//! I(U;V) =   Σ_{u,v} (n_uv / n) log( n · n_uv / (n_u · n_v) )      (mutual information)
//! NMI(U;V) = I(U;V) / sqrt(H(U) · H(V))                            (the paper's definition)
//! ```
//!
//! NMI is 1 when one labeling determines the other (the same partition, whatever the label
//! names: a permutation of the labels changes nothing) and 0 when they are independent. It
//! does not depend on the base of the logarithm. scikit-learn's `normalized_mutual_info_score`
//! now divides by the arithmetic mean `(H(U) + H(V)) / 2` by default; its
//! `average_method="geometric"` is the definition used here.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// `NMI(U;V) = I(U;V) / sqrt(H(U) H(V))` of two labelings (see the module docs), in `[0, 1]`.
///
/// Labels are arbitrary `usize` values; only which points share a label matters. When both
/// labelings put every point in one cluster they are the same partition, and the NMI is 1;
/// when only one of them does, it carries no information about the other, and the NMI is 0.
///
/// Errors ([`Error::Config`]) if the labelings differ in length or are empty.
pub fn nmi(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::config(format!("nmi: the labelings have {} and {} points; they must label the same points", a.len(), b.len())));
    }
    if a.is_empty() {
        return Err(Error::config("nmi: the labelings are empty"));
    }
    let n = a.len() as f64;
    let (count_a, count_b) = (counts(a.iter().copied()), counts(b.iter().copied()));
    let joint = counts(a.iter().copied().zip(b.iter().copied()));
    let (h_a, h_b) = (entropy(&count_a, n), entropy(&count_b, n));
    if h_a == 0.0 || h_b == 0.0 {
        return Ok(if h_a == h_b { 1.0 } else { 0.0 });
    }
    let information: f64 = joint
        .iter()
        .map(|(&(u, v), &n_uv)| {
            let n_uv = n_uv as f64;
            n_uv / n * (n * n_uv / (count_a[&u] as f64 * count_b[&v] as f64)).ln()
        })
        .sum();
    // Rounding can push identical partitions a hair above 1 or independent ones below 0.
    Ok((information / (h_a * h_b).sqrt()).clamp(0.0, 1.0))
}

/// How many times each value occurs (a `BTreeMap`, so that sums over it run in a fixed order
/// and the result is reproducible to the last bit).
fn counts<K: Ord>(values: impl Iterator<Item = K>) -> BTreeMap<K, usize> {
    let mut map = BTreeMap::new();
    values.for_each(|v| *map.entry(v).or_insert(0) += 1);
    map
}

/// `− Σ (c / n) ln(c / n)` over the counts `c`.
fn entropy<K>(counts: &BTreeMap<K, usize>, n: f64) -> f64 {
    counts.values().map(|&c| c as f64 / n).map(|p| -p * p.ln()).sum()
}
