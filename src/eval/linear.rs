//! Linear probe: multinomial logistic regression on frozen features.
//!
//! The standard way to score a self-supervised representation (Zhang, Isola & Efros, 2016;
//! Chen et al., SimCLR, 2020; He et al., MoCo, 2020): freeze the encoder, fit a *linear*
//! classifier on its train-set features, report top-1 accuracy on the test set. A high score
//! means the classes are linearly separable in feature space.
//!
//! The model, for a standardised feature vector `x ∈ R^d` and `C` classes:
//!
//! ```text
//! z = W x + b                               logits, W ∈ R^{C×d}, b ∈ R^C
//! p_c = exp(z_c − max z) / Σ_c' exp(z_c' − max z)   softmax (shifting by max z avoids overflow)
//! L = −(1/B) Σ_i log p_{y_i}(x_i) + (λ/2) ‖W‖²       cross-entropy + L2 ("weight decay")
//! ∂L/∂W = (1/B) Σ_i (p_i − e_{y_i}) x_iᵀ + λ W,   ∂L/∂b = (1/B) Σ_i (p_i − e_{y_i})
//! ```
//!
//! Features are first standardised with the *train* mean and standard deviation
//! (`x̂_j = (x_j − μ_j) / σ_j`), which makes one learning rate work for any encoder. The weights
//! start at zero and are trained with Adam (Kingma & Ba, 2015) on shuffled mini-batches for a
//! fixed number of epochs, with a cosine learning-rate decay; the shuffling is seeded, so the
//! result is reproducible.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{accuracy, check_labelled, check_matrix, column_mean_std, dot};

/// Training settings of the linear probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinearProbeConfig {
    /// Passes over the training set. Default 100.
    pub epochs: usize,
    /// Peak Adam learning rate, decayed to zero with a cosine schedule. Default 0.01.
    pub lr: f32,
    /// L2 penalty `λ` on the weights (not the biases). Default 1e-4.
    pub weight_decay: f32,
    /// Mini-batch size. Default 256.
    pub batch_size: usize,
    /// Seed of the mini-batch shuffling. Default 0.
    pub seed: u64,
}

impl Default for LinearProbeConfig {
    fn default() -> Self {
        Self { epochs: 100, lr: 0.01, weight_decay: 1e-4, batch_size: 256, seed: 0 }
    }
}

/// Trains a linear probe on (`train`, `train_labels`) and returns its top-1 accuracy in `[0, 1]`
/// on (`test`, `test_labels`). Both matrices are row-major with `d` columns; labels are in
/// `0..num_classes`. Inputs are not modified.
#[allow(clippy::too_many_arguments)]
pub fn linear_probe_accuracy(
    train: &[f32],
    train_labels: &[usize],
    test: &[f32],
    test_labels: &[usize],
    d: usize,
    num_classes: usize,
    cfg: &LinearProbeConfig,
) -> f32 {
    check_labelled(test, test_labels, d, num_classes, "linear_probe_accuracy (test)");
    let predictions = linear_probe_predict(train, train_labels, test, d, num_classes, cfg);
    accuracy(&predictions, test_labels)
}

/// Trains a linear probe on (`train`, `train_labels`) and returns the predicted class of every
/// row of `test`. See [`linear_probe_accuracy`].
pub fn linear_probe_predict(
    train: &[f32],
    train_labels: &[usize],
    test: &[f32],
    d: usize,
    num_classes: usize,
    cfg: &LinearProbeConfig,
) -> Vec<usize> {
    let n = check_labelled(train, train_labels, d, num_classes, "linear probe (train)");
    check_matrix(test, d, "linear probe (test)");
    assert!(n > 0, "linear probe: the train set is empty");
    assert!(cfg.batch_size > 0, "linear probe: batch_size must be at least 1");

    let (mean, std) = column_mean_std(train, d);
    let scale: Vec<f32> = std.iter().map(|&s| if s > 1e-6 { 1.0 / s } else { 1.0 }).collect();
    let standardize = |x: &[f32]| -> Vec<f32> {
        let mut out = x.to_vec();
        for row in out.chunks_exact_mut(d) {
            for ((v, m), s) in row.iter_mut().zip(&mean).zip(&scale) {
                *v = (*v - m) * s;
            }
        }
        out
    };
    let x_train = standardize(train);
    let x_test = standardize(test);

    let model = train_softmax_regression(&x_train, train_labels, d, num_classes, cfg);
    x_test.par_chunks(d).map(|x| model.predict(x)).collect()
}

/// A linear classifier `z = W x + b`.
struct Linear {
    /// `num_classes × d`, row-major.
    w: Vec<f32>,
    b: Vec<f32>,
    d: usize,
}

impl Linear {
    /// Writes the logits of `x` into `z`.
    fn logits(&self, x: &[f32], z: &mut [f32]) {
        for ((zc, wc), bc) in z.iter_mut().zip(self.w.chunks_exact(self.d)).zip(&self.b) {
            *zc = dot(wc, x) + bc;
        }
    }

    fn predict(&self, x: &[f32]) -> usize {
        let mut z = vec![0.0; self.b.len()];
        self.logits(x, &mut z);
        // First maximum wins.
        let mut best = 0;
        for c in 1..z.len() {
            if z[c] > z[best] {
                best = c;
            }
        }
        best
    }
}

/// In-place softmax `p_c = exp(z_c − max z) / Σ exp(z_c' − max z)`.
fn softmax_in_place(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    z.iter_mut().for_each(|v| *v /= sum);
}

/// Samples per rayon task when computing a mini-batch gradient.
const GRAD_CHUNK: usize = 64;

/// Fits `W, b` by Adam on the softmax cross-entropy with L2 penalty (formulas in the module doc).
fn train_softmax_regression(x: &[f32], y: &[usize], d: usize, num_classes: usize, cfg: &LinearProbeConfig) -> Linear {
    let n = y.len();
    let n_params = num_classes * d + num_classes;
    let mut model = Linear { w: vec![0.0; num_classes * d], b: vec![0.0; num_classes], d };
    let mut adam = Adam::new(n_params);
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..n).collect();

    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total_steps = (cfg.epochs * steps_per_epoch).max(1);
    let mut step = 0;
    for _ in 0..cfg.epochs {
        order.shuffle(&mut rng);
        for batch in order.chunks(cfg.batch_size) {
            // Gradient of the mean cross-entropy, as one flat vector [∂W (row-major), ∂b].
            let mut grad = batch
                .par_chunks(GRAD_CHUNK)
                .map(|chunk| {
                    let mut g = vec![0.0f32; n_params];
                    let mut z = vec![0.0f32; num_classes];
                    for &i in chunk {
                        let xi = &x[i * d..(i + 1) * d];
                        model.logits(xi, &mut z);
                        softmax_in_place(&mut z);
                        z[y[i]] -= 1.0; // p − e_y
                        let (gw, gb) = g.split_at_mut(num_classes * d);
                        for ((gwc, gbc), &e) in gw.chunks_exact_mut(d).zip(gb.iter_mut()).zip(z.iter()) {
                            gwc.iter_mut().zip(xi).for_each(|(g, &v)| *g += e * v);
                            *gbc += e;
                        }
                    }
                    g
                })
                .collect::<Vec<_>>()
                .into_iter()
                // Summed in a fixed order, so the result does not depend on thread scheduling.
                .reduce(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                    a
                })
                .expect("a mini-batch is never empty");
            let inv_b = 1.0 / batch.len() as f32;
            grad.iter_mut().for_each(|g| *g *= inv_b);
            for (g, w) in grad.iter_mut().zip(&model.w) {
                *g += cfg.weight_decay * w;
            }

            let progress = step as f32 / total_steps as f32;
            let lr = 0.5 * cfg.lr * (1.0 + (std::f32::consts::PI * progress).cos());
            adam.step(&mut model.w, &mut model.b, &grad, lr);
            step += 1;
        }
    }
    model
}

/// Adam optimiser state (Kingma & Ba, 2015) with β₁ = 0.9, β₂ = 0.999, ε = 1e-8:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − lr · m̂ / (√v̂ + ε)` with the
/// bias-corrected `m̂ = m / (1−β₁ᵗ)`, `v̂ = v / (1−β₂ᵗ)`.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    const BETA1: f32 = 0.9;
    const BETA2: f32 = 0.999;
    const EPS: f32 = 1e-8;

    fn new(n: usize) -> Self {
        Self { m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    /// Updates the parameters `w` then `b` (laid out as in `grad`) by one step.
    fn step(&mut self, w: &mut [f32], b: &mut [f32], grad: &[f32], lr: f32) {
        self.t += 1;
        let c1 = 1.0 - Self::BETA1.powi(self.t);
        let c2 = 1.0 - Self::BETA2.powi(self.t);
        let params = w.iter_mut().chain(b.iter_mut());
        for (((p, &g), m), v) in params.zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = Self::BETA1 * *m + (1.0 - Self::BETA1) * g;
            *v = Self::BETA2 * *v + (1.0 - Self::BETA2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + Self::EPS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_for_huge_logits() {
        let mut z = [1000.0, 1000.0, -1000.0];
        softmax_in_place(&mut z);
        assert!((z[0] - 0.5).abs() < 1e-6 && (z[1] - 0.5).abs() < 1e-6 && z[2] == 0.0);
    }
}
