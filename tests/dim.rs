//! Deep InfoMax: the loss against values computed independently by `tests/golden/dim.py`
//! (NumPy, float64, written from the formula, not from this code), its gradient against that
//! script's finite differences, and a short training run against the random-init encoder.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::dim_nce;
use selfsup::nn::ops::Mat;
use selfsup::run;
use selfsup::train::{RunConfig, TrainConfig};

/// 3 images, 2 locations, 3 features: the inputs of `tests/golden/dim.py`.
const GLOBAL: [f32; 9] = [1.0, 0.2, -0.3, 0.1, 0.9, 0.4, -0.5, 0.3, 0.8];
const LOCAL: [f32; 18] = [
    0.9, 0.1, -0.2, 0.7, 0.5, 0.0, // image 0, locations 0 and 1
    0.2, 1.0, 0.1, -0.1, 0.6, 0.7, // image 1
    -0.4, 0.0, 0.9, 0.3, -0.2, 0.6, // image 2
];

/// `LOCAL` with image 2's location 1 equal to image 0's global feature.
fn hard_local() -> [f32; 18] {
    let mut l = LOCAL;
    l[15..18].copy_from_slice(&GLOBAL[0..3]);
    l
}

fn tensors(dev: &Cpu, local: &[f32]) -> (Mat<Cpu>, Mat<Cpu>) {
    (dev.tensor_from_vec(GLOBAL.to_vec(), (3, 3)), dev.tensor_from_vec(local.to_vec(), (6, 3)))
}

fn loss(local: &[f32], tau: f32) -> f32 {
    let dev = Cpu::default();
    let (g, l) = tensors(&dev, local);
    dim_nce(g, l, 2, tau).as_vec()[0]
}

#[test]
fn dim_loss_matches_numpy_reference() {
    // (tau, loss) printed by tests/golden/dim.py
    for (tau, expected) in [(1.0, 0.716585967), (0.5, 0.525315382), (0.1, 0.797990065)] {
        let got = loss(&LOCAL, tau);
        assert!((got - expected).abs() < 1e-5, "tau={tau}: got {got}, numpy says {expected}");
    }
}

#[test]
fn dim_loss_has_no_overflow_at_tiny_temperature() {
    // Logits up to 1/τ = 1000: a naive exp would overflow f32 (max ≈ e^88).
    for (tau, expected) in [(0.01f32, 27.197661999f32), (0.001, 271.976613867)] {
        let got = loss(&hard_local(), tau);
        assert!(got.is_finite(), "tau={tau}: loss {got}");
        assert!((got - expected).abs() / expected < 1e-4, "hard case tau={tau}: got {got}, numpy says {expected}");
    }
}

#[test]
fn dim_loss_gradient_matches_numpy_finite_differences() {
    let expected_global = [
        0.010487504, 0.036796509, 0.059489352, 0.129382167, -0.022598233, 0.018500483, -0.040860450, 0.290007719, -0.134290676,
    ];
    let expected_local = [
        0.003097349, 0.038408698, 0.033142422, -0.080664052, 0.112929673, 0.101122549, 0.030902971, -0.005904010, -0.002765839,
        -0.100767036, -0.104905644, 0.075523833, 0.031953832, 0.038301554, 0.014201703, 0.308436244, -0.073746799, -0.178800388,
    ];
    let dev = Cpu::default();
    let (g, l) = tensors(&dev, &LOCAL);
    let grads = dim_nce(g.leaky_trace(), l.leaky_trace(), 2, 0.5).backward();
    for (name, got, expected) in [("global", grads.get(&g).as_vec(), &expected_global[..]), ("local", grads.get(&l).as_vec(), &expected_local[..])] {
        for (i, (a, b)) in got.iter().zip(expected).enumerate() {
            assert!((a - b).abs() < 1e-5, "dL/d{name}[{i}]: got {a}, numpy says {b}");
        }
    }
}

#[test]
fn dim_loss_is_zero_for_aligned_pairs_and_orthogonal_negatives() {
    // Each image's locals point along its global, the images are orthogonal: at small τ the
    // positive wins every softmax.
    let dev = Cpu::default();
    let g: Mat<Cpu> = dev.tensor_from_vec(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0], (2, 3));
    let l: Mat<Cpu> = dev.tensor_from_vec(vec![2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 1.0, 0.0], (4, 3));
    let got = dim_nce(g, l, 2, 0.05).as_vec()[0];
    assert!(got < 1e-6, "aligned pairs should cost ~0, got {got}");
}

#[test]
fn dim_loss_rejects_locals_of_the_wrong_shape() {
    let result = std::panic::catch_unwind(|| {
        let dev = Cpu::default();
        let (g, _) = tensors(&dev, &LOCAL);
        let l: Mat<Cpu> = dev.tensor_from_vec(vec![1.0; 15], (5, 3));
        dim_nce(g, l, 2, 0.5)
    });
    assert!(result.is_err());
}

#[test]
fn dim_beats_random_init_by_a_clear_margin() {
    // DIM learns more slowly than SimCLR (a location is a weaker cue than a whole view): on
    // this budget it measured kNN 27.1% and linear 39.3% vs 20.7% and 29.4% at random init
    // (SimCLR: kNN 34.5%). The default 4-epoch run on 10 000 images goes further.
    let dir = tempfile::tempdir().unwrap();
    // Measured on `shapes` (CI checks the default run on the default dataset).
    let mut cfg = RunConfig::for_method("dim").unwrap().on_dataset("shapes").unwrap();
    cfg.train = TrainConfig { epochs: 2, train_images: 5_000, test_images: 1_000, ..cfg.train };
    let s = run::train(&cfg, dir.path(), false, true).unwrap();
    println!("{}", s.line());
    assert!(s.knn_top1 >= s.baseline_knn_top1 + 0.04, "kNN {} vs random init {}", s.knn_top1, s.baseline_knn_top1);
    assert!(s.linear_top1 >= s.baseline_linear_top1 + 0.05, "linear {} vs random init {}", s.linear_top1, s.baseline_linear_top1);
    assert!(s.collapse_std > 0.3 * s.healthy_collapse_std, "collapsed: {}", s.collapse_std);
}
