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

/// The effective rank of the `n × d` row-major matrix `features` (Roy & Vetterli, EUSIPCO
/// 2007), as RankMe uses it to judge a self-supervised representation without labels
/// (Garrido et al., ICML 2023): with `σ_1 … σ_d` the singular values of the matrix and
/// `p_k = σ_k / Σ_j σ_j`,
///
/// ```text
/// effective_rank = exp( −Σ_k p_k log p_k )
/// ```
///
/// It is `d` when all singular values are equal (the rows fill every direction evenly) and 1
/// when the matrix has rank one (every row along one direction: complete collapse); in between
/// it counts the directions the rows really use, so it detects *dimensional* collapse (Jing
/// et al., ICLR 2022), which [`collapse_std`] only sees as a smaller number. The singular
/// values are the square roots of the eigenvalues of the `d × d` Gram matrix `XᵀX`, found by
/// cyclic Jacobi rotations (exact to rounding for the kit's `d ≤ 512`). Returns 0 for an empty
/// or all-zero matrix.
pub fn effective_rank(features: &[f32], d: usize) -> f32 {
    assert!(d > 0 && features.len() % d == 0, "effective_rank: {} values are not rows of {d}", features.len());
    let mut gram = vec![0.0f64; d * d];
    for row in features.chunks_exact(d) {
        for i in 0..d {
            let a = row[i] as f64;
            if a != 0.0 {
                for (g, &b) in gram[i * d..(i + 1) * d].iter_mut().zip(row) {
                    *g += a * b as f64;
                }
            }
        }
    }
    let sigma: Vec<f64> = symmetric_eigenvalues(gram, d).into_iter().map(|l| l.max(0.0).sqrt()).collect();
    let total: f64 = sigma.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let entropy: f64 = sigma.iter().map(|s| s / total).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum();
    entropy.exp() as f32
}

/// Eigenvalues of the symmetric `d × d` row-major matrix `a`, by the cyclic Jacobi method
/// (Golub & Van Loan, *Matrix Computations*, §8.5): rotations zero the off-diagonal entries one
/// pair at a time until their sum of squares is negligible against the diagonal's.
fn symmetric_eigenvalues(mut a: Vec<f64>, d: usize) -> Vec<f64> {
    let off = |a: &[f64]| -> f64 { (0..d).flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * d + j] * a[i * d + j]).sum() };
    let scale: f64 = (0..d).map(|i| a[i * d + i] * a[i * d + i]).sum::<f64>() + off(&a);
    for _sweep in 0..100 {
        if off(&a) <= 1e-24 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation (c, s) that zeroes a[p][q]: tan 2θ = 2 a_pq / (a_qq − a_pp).
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..d).map(|i| a[i * d + i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_the_eigenvalues_of_a_known_matrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3; [[4,1,0],[1,3,1],[0,1,2]]: 3 − √3, 3, 3 + √3.
        let mut e = symmetric_eigenvalues(vec![2.0, 1.0, 1.0, 2.0], 2);
        e.sort_by(f64::total_cmp);
        assert!((e[0] - 1.0).abs() < 1e-12 && (e[1] - 3.0).abs() < 1e-12, "{e:?}");
        let mut e = symmetric_eigenvalues(vec![4.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0], 3);
        e.sort_by(f64::total_cmp);
        let r3 = 3f64.sqrt();
        for (got, want) in e.iter().zip([3.0 - r3, 3.0, 3.0 + r3]) {
            assert!((got - want).abs() < 1e-12, "{e:?}");
        }
    }
}
