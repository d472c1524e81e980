//! A one-number collapse detector for embeddings.
//!
//! Non-contrastive methods (BYOL, SimSiam, …) have a trivial solution: map every image to the
//! same vector, which makes every positive pair agree perfectly. Chen & He, *Exploring Simple
//! Siamese Representation Learning* (CVPR 2021, Sec. 4.1 and Fig. 2) monitor it with the
//! standard deviation of the L2-normalised outputs, taken per dimension over the samples and
//! averaged over dimensions.

use super::{column_mean_std, l2_normalize_rows};

/// Mean over dimensions of the per-dimension standard deviation of the L2-normalised rows.
///
/// With `z_i = x_i / ‖x_i‖₂` for each of the `n` rows of the row-major `n × d` matrix
/// `features`:
///
/// ```text
/// collapse_std = (1/d) Σ_j sqrt( (1/n) Σ_i (z_ij − z̄_j)² )
/// ```
///
/// - **Healthy, spread-out embeddings: `≈ 1/√d`.** If the `z_i` are spread uniformly over the
///   unit sphere (e.g. normalised isotropic Gaussian vectors), each coordinate has mean 0 and
///   variance `1/d`, because the `d` squared coordinates sum to 1.
/// - **Complete collapse: `→ 0`.** If every row points the same way, every `z_ij = z̄_j`.
/// - In between, e.g. all rows living in a low-dimensional subspace ("dimensional collapse",
///   Jing et al., ICLR 2022), the value sits between the two.
///
/// Returns 0 for an empty matrix.
pub fn collapse_std(features: &[f32], d: usize) -> f32 {
    let mut z = features.to_vec();
    l2_normalize_rows(&mut z, d);
    let (_, std) = column_mean_std(&z, d);
    std.iter().map(|&s| s as f64).sum::<f64>() as f32 / d as f32
}
