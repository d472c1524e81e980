//! Principal component analysis, to look at an embedding in two dimensions.
//!
//! For centred data `X̃ = X − 1μᵀ` (n rows, d columns) the covariance is
//! `Σ = X̃ᵀX̃ / (n − 1)`. Its eigenvectors `v_1, v_2, …` (sorted by eigenvalue
//! `λ_1 ≥ λ_2 ≥ …`) are the principal directions: `v_1` is the unit direction of largest
//! variance, `v_2` the largest among those orthogonal to `v_1`, and so on (Pearson, 1901;
//! Hotelling, 1933). The projection of a row `x` onto the first `k` of them is
//! `((x − μ)·v_1, …, (x − μ)·v_k)`.
//!
//! The eigenvectors are found by **power iteration with deflation**: repeating
//! `v ← Σv / ‖Σv‖` converges to `v_1` (at a rate `λ_2/λ_1` per step) from any start not
//! orthogonal to it; its eigenvalue is the Rayleigh quotient `λ_1 = vᵀΣv`. Replacing `Σ` by
//! `Σ − λ_1 v_1 v_1ᵀ` removes that direction, and the next power iteration finds `v_2`.
//! Everything runs in `f64` from a fixed starting vector, so the result is deterministic; each
//! direction's sign is fixed so that its largest-magnitude entry is positive.
//!
//! Cost: `O(n d²)` for the covariance plus `O(d²)` per iteration — fine for the few hundred
//! dimensions of an embedding, slow for raw pixels of large images.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::{check_matrix, column_mean_std};

/// A fitted PCA: the mean and the top-`k` principal directions of some data.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Feature dimension.
    pub d: usize,
    /// Column means `μ` (length `d`).
    pub mean: Vec<f32>,
    /// The `k` principal directions, row-major `k × d`, each of unit length, in decreasing order
    /// of variance.
    pub components: Vec<f32>,
    /// The variance `λ_i` of the data along each direction (length `k`).
    pub variances: Vec<f32>,
}

/// Largest number of power-iteration steps per component.
const MAX_ITERATIONS: usize = 10_000;
/// Stop when successive unit vectors differ by less than this (Euclidean distance).
const TOLERANCE: f64 = 1e-10;

impl Pca {
    /// Fits the top `k` principal directions of the row-major `n × d` matrix `features`.
    ///
    /// Panics if `k > d` or `features` is not a whole number of rows.
    pub fn fit(features: &[f32], d: usize, k: usize) -> Pca {
        check_matrix(features, d, "pca");
        assert!(k <= d, "pca: cannot take {k} components of {d}-dimensional data");
        let (mean, _) = column_mean_std(features, d);
        let mut cov = covariance(features, &mean, d);

        let mut rng = StdRng::seed_from_u64(0x5ca1ab1e);
        let mut components = Vec::with_capacity(k * d);
        let mut variances = Vec::with_capacity(k);
        for _ in 0..k {
            let start: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let (lambda, v) = top_eigenpair(&cov, d, start);
            // Deflation: Σ ← Σ − λ v vᵀ.
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] -= lambda * v[i] * v[j];
                }
            }
            components.extend(v.iter().map(|&x| x as f32));
            variances.push(lambda.max(0.0) as f32);
        }
        Pca { d, mean, components, variances }
    }

    /// Number of components.
    pub fn k(&self) -> usize {
        self.variances.len()
    }

    /// Projects every row of `features` (row-major, `d` columns) onto the components:
    /// row `i` of the `n × k` result is `((x_i − μ)·v_1, …, (x_i − μ)·v_k)`.
    pub fn transform(&self, features: &[f32]) -> Vec<f32> {
        check_matrix(features, self.d, "Pca::transform");
        let mut out = Vec::with_capacity(features.len() / self.d * self.k());
        let mut centred = vec![0.0f32; self.d];
        for row in features.chunks_exact(self.d) {
            centred.iter_mut().zip(row).zip(&self.mean).for_each(|((c, &x), &m)| *c = x - m);
            out.extend(self.components.chunks_exact(self.d).map(|v| super::dot(&centred, v)));
        }
        out
    }
}

/// Relative floor `ε` of the whitening's variances (see [`Pca::whiten`]).
pub const WHITEN_EPS: f64 = 1e-6;

impl Pca {
    /// PCA **whitening** (faiss's `PCAMatrix` with `eigen_power = −0.5`, which DeepCluster
    /// applies before k-means): every projection divided by the standard deviation along its
    /// direction,
    ///
    /// ```text
    /// y_i = (x − μ)·v_i / sqrt(λ_i + ε λ_1)        i = 1 … k,   ε = WHITEN_EPS
    /// ```
    ///
    /// so that the `k` coordinates of the fitted data have unit sample variance and no
    /// correlation (covariance ≈ identity, up to `ε`). The floor `ε λ_1` keeps a direction of
    /// (nearly) zero variance from being blown up to rounding noise.
    pub fn whiten(&self, features: &[f32]) -> Vec<f32> {
        let floor = WHITEN_EPS * self.variances.first().copied().unwrap_or(0.0) as f64;
        let scale: Vec<f32> = self.variances.iter().map(|&l| (1.0 / (l as f64 + floor).sqrt()) as f32).collect();
        let mut out = self.transform(features);
        if scale.iter().all(|s| s.is_finite()) {
            out.chunks_exact_mut(self.k().max(1)).for_each(|row| row.iter_mut().zip(&scale).for_each(|(y, s)| *y *= s));
        }
        out
    }
}

/// Top-`k` PCA of the row-major `n × d` matrix `features`.
///
/// Returns `(components, projected)`: the `k` unit principal directions (row-major `k × d`,
/// decreasing variance) and the data projected onto them (row-major `n × k`).
/// See [`Pca`] to also get the mean and the variances.
pub fn pca(features: &[f32], d: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let fitted = Pca::fit(features, d, k);
    let projected = fitted.transform(features);
    (fitted.components, projected)
}

/// Projects every row onto the first two principal directions, for a scatter plot.
///
/// For `d == 1` the second coordinate is 0.
pub fn pca_2d(features: &[f32], d: usize) -> Vec<[f32; 2]> {
    let k = d.min(2);
    let (_, projected) = pca(features, d, k);
    projected.chunks_exact(k).map(|p| [p[0], if k == 2 { p[1] } else { 0.0 }]).collect()
}

/// Sample covariance `Σ = X̃ᵀX̃ / (n − 1)` (`d × d`, row-major, `f64`) of the rows of `x`
/// centred by `mean`. All zeros when there are fewer than two rows.
fn covariance(x: &[f32], mean: &[f32], d: usize) -> Vec<f64> {
    let n = x.len() / d;
    if n < 2 {
        return vec![0.0; d * d];
    }
    // Centred data stored column-major, so each covariance entry is a contiguous dot product.
    let mut cols = vec![0.0f64; d * n];
    for (i, row) in x.chunks_exact(d).enumerate() {
        for (j, (&v, &m)) in row.iter().zip(mean).enumerate() {
            cols[j * n + i] = v as f64 - m as f64;
        }
    }
    let denom = (n - 1) as f64;
    // Upper triangle in parallel (one task per row), then mirrored.
    let mut cov = vec![0.0f64; d * d];
    cov.par_chunks_mut(d).enumerate().for_each(|(a, out)| {
        let ca = &cols[a * n..(a + 1) * n];
        for (b, o) in out.iter_mut().enumerate().skip(a) {
            let cb = &cols[b * n..(b + 1) * n];
            *o = ca.iter().zip(cb).map(|(p, q)| p * q).sum::<f64>() / denom;
        }
    });
    for a in 0..d {
        for b in 0..a {
            cov[a * d + b] = cov[b * d + a];
        }
    }
    cov
}

/// Power iteration on the symmetric `d × d` matrix `m` from `v`: returns the dominant
/// eigenvalue (Rayleigh quotient) and its unit eigenvector, with the sign fixed so that the
/// largest-magnitude entry is positive.
fn top_eigenpair(m: &[f64], d: usize, mut v: Vec<f64>) -> (f64, Vec<f64>) {
    normalize(&mut v);
    let mut next = vec![0.0f64; d];
    for _ in 0..MAX_ITERATIONS {
        mat_vec(m, &v, &mut next);
        if normalize(&mut next) == 0.0 {
            // The (deflated) matrix is zero: every direction has zero variance; keep `v`.
            return (0.0, fix_sign(v));
        }
        let diff: f64 = next.iter().zip(&v).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
        std::mem::swap(&mut v, &mut next);
        if diff < TOLERANCE {
            break;
        }
    }
    mat_vec(m, &v, &mut next);
    let lambda = v.iter().zip(&next).map(|(a, b)| a * b).sum();
    (lambda, fix_sign(v))
}

/// `out = m v` for a row-major `d × d` matrix.
fn mat_vec(m: &[f64], v: &[f64], out: &mut [f64]) {
    let d = v.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(d)) {
        *o = row.iter().zip(v).map(|(a, b)| a * b).sum();
    }
}

/// Scales `v` to unit length and returns its former norm (leaves a zero vector unchanged).
fn normalize(v: &mut [f64]) -> f64 {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}

/// Flips `v` so that its largest-magnitude entry is positive.
fn fix_sign(mut v: Vec<f64>) -> Vec<f64> {
    let largest = v.iter().copied().fold(0.0f64, |acc, x| if x.abs() > acc.abs() { x } else { acc });
    if largest < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    v
}
