//! CPC on images against values computed independently by `tests/golden/cpc.py` (NumPy,
//! float64, written from the formulas in the module docs, not from this code): patch
//! extraction, the causal context, the loss at several temperatures and its gradient
//! (central finite differences). Plus the properties the design relies on: the context never
//! sees rows at or below the one it predicts, and no overflow at tiny τ.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::nn::modules::Linear;
use dfdx::prelude::*;
use selfsup::augment::{mosaic, PatchGrid};
use selfsup::image::Image;
use selfsup::methods::cpc::{causal_mean, cpc_loss, patch_grid, prediction_pairs, Context, GRID};
use selfsup::nn::ops::Mat;

const ROWS: usize = 3;
const COLS: usize = 3;
const BATCH: usize = 2;
const DIM: usize = 3;

/// `z[i][d] = sin(0.7 i + 1.3 d + 0.1)`, as in the script.
fn embeddings(dev: &Cpu) -> Mat<Cpu> {
    let n = BATCH * ROWS * COLS;
    let v = (0..n).flat_map(|i| (0..DIM).map(move |d| (0.7 * i as f64 + 1.3 * d as f64 + 0.1).sin() as f32)).collect();
    dev.tensor_from_vec(v, (n, DIM))
}

/// The script's `weight(seed)`: `W[o][i] = 0.8 cos(seed + 0.9 o − 0.4 i)`, `b[o] = 0.05 (o + 1) (−1)^(o + seed)`.
fn linear(dev: &Cpu, seed: usize) -> Linear<DIM, DIM, f32, Cpu> {
    let mut w = [[0.0f32; DIM]; DIM];
    let mut b = [0.0f32; DIM];
    for o in 0..DIM {
        for i in 0..DIM {
            w[o][i] = (0.8 * (seed as f64 + 0.9 * o as f64 - 0.4 * i as f64).cos()) as f32;
        }
        b[o] = (0.05 * (o + 1) as f64 * if (o + seed) % 2 == 0 { 1.0 } else { -1.0 }) as f32;
    }
    Linear { weight: dev.tensor(w), bias: dev.tensor(b) }
}

fn parts(dev: &Cpu) -> (Context<DIM, f32, Cpu>, Vec<Linear<DIM, DIM, f32, Cpu>>) {
    (Context { own: linear(dev, 1), past: linear(dev, 2) }, vec![linear(dev, 3), linear(dev, 4)])
}

fn assert_close(got: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!((a - b).abs() <= tol * b.abs().max(1.0), "{what}[{i}]: got {a}, numpy says {b}");
    }
}

#[test]
fn patches_are_the_exact_pixels() {
    // 2×4×4 image with value 100c + 10y + x; 2×2 patches every pixel: a 3×3 grid.
    let data = (0..2).flat_map(|c| (0..4).flat_map(move |y| (0..4).map(move |x| (100 * c + 10 * y + x) as f32))).collect();
    let img = Image::from_vec(2, 4, 4, data);
    let grid = PatchGrid::new(2, 1);
    let patches = grid.extract(&img);
    assert_eq!(patches.len(), 9);
    // patch (row 1, column 2), printed by the script
    assert_eq!(patches[3 + 2].data, vec![12.0, 13.0, 22.0, 23.0, 112.0, 113.0, 122.0, 123.0]);
    // tiles then mosaic gives the image back
    assert_eq!(mosaic(&PatchGrid::tiles(2).extract(&img), 2), img);
    // CPC's grid: 24×24 patches every 4 pixels on 32×32 images, 3 per side at every size
    assert_eq!((patch_grid(32), patch_grid(32).per_side(32)), (PatchGrid::new(24, 4), GRID));
    for size in [10, 12, 28, 32, 64, 96] {
        assert_eq!(patch_grid(size).per_side(size), GRID, "{size} px");
    }
    // the batch version packs the patches of each image in turn
    let (packed, shape) = grid.extract_batch(&[img.data.clone(), img.data.clone()].concat(), [2, 2, 4, 4]);
    assert_eq!(shape, [18, 2, 2, 2]);
    assert_eq!(&packed[(9 + 5) * 8..(9 + 6) * 8], &patches[5].data[..]);
}

#[test]
fn causal_mean_and_context_match_numpy() {
    let dev = Cpu::default();
    let m = causal_mean(embeddings(&dev), ROWS, COLS).as_vec();
    let got: Vec<f32> = [12, 17].iter().flat_map(|&i| m[i * DIM..(i + 1) * DIM].to_vec()).collect();
    let expected = [0.401317121, -0.010581186, -0.406978030, -0.000607207, 0.002396509, 0.001889334];
    assert_close(&got, &expected, 1e-6, "causal mean");
    let (context, _) = parts(&dev);
    let c = context.forward(embeddings(&dev), ROWS, COLS).as_vec();
    assert_close(&c[4 * DIM..5 * DIM], &[0.0, 0.0, 0.637140549], 1e-6, "context of patch 4");
}

#[test]
fn context_never_sees_the_rows_it_predicts() {
    // Changing every patch in rows ≥ t + 1 must leave the contexts of rows ≤ t untouched,
    // and (sanity) must change those of the later rows.
    let dev = Cpu::default();
    let (context, _) = parts(&dev);
    let z = embeddings(&dev).as_vec();
    let before = context.forward(dev.tensor_from_vec(z.clone(), (z.len() / DIM, DIM)), ROWS, COLS).as_vec();
    for t in 0..ROWS - 1 {
        let mut changed = z.clone();
        for b in 0..BATCH {
            for i in (t + 1) * COLS..ROWS * COLS {
                for d in 0..DIM {
                    changed[((b * ROWS * COLS) + i) * DIM + d] += 5.0 * (d as f32 + 1.0);
                }
            }
        }
        let after = context.forward(dev.tensor_from_vec(changed, (z.len() / DIM, DIM)), ROWS, COLS).as_vec();
        for b in 0..BATCH {
            let visible = (b * ROWS * COLS) * DIM..(b * ROWS * COLS + (t + 1) * COLS) * DIM;
            assert_eq!(before[visible.clone()], after[visible], "rows ≤ {t} of image {b} saw a later row");
            let hidden = (b * ROWS * COLS + (t + 1) * COLS) * DIM..(b + 1) * ROWS * COLS * DIM;
            assert_ne!(before[hidden.clone()], after[hidden], "rows > {t} of image {b} should see the change");
        }
    }
    // and every prediction targets a row strictly below its context
    for k in 1..ROWS {
        let (queries, targets) = prediction_pairs(BATCH, ROWS, COLS, k);
        assert_eq!(queries.len(), BATCH * (ROWS - k) * COLS);
        for (q, t) in queries.iter().zip(&targets) {
            assert_eq!(q / (ROWS * COLS), t / (ROWS * COLS), "a target in another image");
            assert_eq!((t % (ROWS * COLS)) / COLS, (q % (ROWS * COLS)) / COLS + k, "target not k rows below");
        }
    }
}

fn loss(tau: f32) -> f32 {
    let dev = Cpu::default();
    let (context, predictors) = parts(&dev);
    cpc_loss(embeddings(&dev), &context, &predictors, ROWS, COLS, tau).as_vec()[0]
}

#[test]
fn cpc_loss_matches_numpy_reference() {
    // (tau, loss) printed by tests/golden/cpc.py
    for (tau, expected) in [(1.0, 2.989938474f32), (0.5, 3.305700963), (0.1, 7.835889548)] {
        let got = loss(tau);
        assert!((got - expected).abs() < 1e-5 * expected, "tau={tau}: got {got}, numpy says {expected}");
    }
}

#[test]
fn cpc_loss_has_no_overflow_at_tiny_temperature() {
    // Logits reach 1/τ = 1000: a naive exp() would overflow f32 (max ≈ e^88).
    let got = loss(0.001);
    assert!(got.is_finite(), "loss {got}");
    assert!((got - 655.987110602).abs() / 655.987110602 < 1e-4, "tau=0.001: got {got}, numpy says 655.987110602");
}

#[test]
fn cpc_gradient_matches_numpy_finite_differences() {
    let expected = [
        -0.011794763, 0.021850954, 0.029750982, -0.012425750, 0.030958015, 0.007093865, -0.030755875, 0.007011561, -0.019115338,
        0.027048766, 0.044979986, 0.005967102, 0.035057337, 0.013904237, -0.003582949, -0.008048920, -0.005388743, 0.055206685,
        0.035255569, -0.063655509, -0.013629159, 0.022033791, 0.031204217, 0.021286965, 0.018755330, 0.058110525, -0.030869449,
        0.031452703, 0.075274786, 0.083065029, 0.030392338, 0.083642878, 0.061057011, 0.012073256, 0.059414565, 0.034755082,
        0.377829863, 0.337671902, 0.195010804, 0.077273251, 0.064165542, 0.051484178, 0.036627257, 0.047356419, 0.108036384,
        0.034776279, -0.057698185, -0.006037584, 0.021936105, 0.032872529, 0.020393044, 0.018792401, 0.057702267, -0.031909345,
    ];
    let dev = Cpu::default();
    let (context, predictors) = parts(&dev);
    let z = embeddings(&dev);
    let g = cpc_loss(z.leaky_trace(), &context, &predictors, ROWS, COLS, 0.5).backward();
    let got = g.get(&z).as_vec();
    for (i, (a, b)) in got.iter().zip(expected.iter()).enumerate() {
        assert!((a - b).abs() < 2e-5, "dL/dz[{i}]: got {a}, numpy says {b}");
    }
}

#[test]
fn cpc_beats_random_init_by_a_clear_margin() {
    let dir = tempfile::tempdir().unwrap();
    // A short run on `shapes`, where this budget was measured (CI checks the default run).
    let mut cfg = selfsup::train::RunConfig::for_method("cpc").unwrap().on_dataset("shapes").unwrap();
    cfg.train = selfsup::train::TrainConfig { epochs: 2, train_images: 5_000, test_images: 1_000, ..cfg.train };
    let s = selfsup::run::train(&cfg, dir.path(), false, true).unwrap();
    println!("{}", s.line());
    assert!(s.knn_top1 >= s.baseline_knn_top1 + 0.08, "kNN {} vs random init {}", s.knn_top1, s.baseline_knn_top1);
}
