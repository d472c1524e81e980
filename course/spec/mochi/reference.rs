//! The `mochi` exercise's reference, kept here until the library's `src/methods/mochi.rs`
//! carries the `// ANCHOR: mochi` markers (then the catalogue points there and this goes).

// ANCHOR: mochi
/// `a · b`.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The indices of the `n_hard` rows of `queue` (`K × d`, row-major) most similar to `q`
/// (largest `q·n`), hardest first. Ties keep the queue's order. `n_hard` larger than the
/// queue returns every index.
pub fn hardest_negatives(q: &[f32], queue: &[f32], d: usize, n_hard: usize) -> Vec<usize> {
    assert_eq!(q.len(), d, "hardest_negatives: q must have d = {d} values");
    assert_eq!(queue.len() % d, 0, "hardest_negatives: the queue must hold rows of d = {d} values");
    // BEGIN SOLUTION
    // HINT: score every key with q·n, then sort the indices by decreasing score.
    let scores: Vec<f32> = queue.chunks(d).map(|n| dot(q, n)).collect();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order.truncate(n_hard);
    order
    // END SOLUTION
}

/// `normalize(α · a + (1 − α) · b)`: one synthetic point on the arc between two unit vectors.
pub fn mix(a: &[f32], b: &[f32], alpha: f32) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "mix: vectors of different lengths");
    // BEGIN SOLUTION
    // HINT: mix first, then divide by the L2 norm of the mix (guard against a zero norm).
    let h: Vec<f32> = a.iter().zip(b).map(|(x, y)| alpha * x + (1.0 - alpha) * y).collect();
    let norm = dot(&h, &h).sqrt().max(1e-12);
    h.into_iter().map(|v| v / norm).collect()
    // END SOLUTION
}
// ANCHOR_END: mochi
