//! InfoNCE and InstDisc's memory-bank update against `tests/golden/info_nce.py` (NumPy,
//! float64, written from the formulas).

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::infonce::{contrastive_logits, info_nce};
use selfsup::methods::instdisc::update_memory_bank;
use selfsup::nn::ops::Mat;

mod common;
use common::normalized;

fn inputs(dev: &Cpu) -> (Mat<Cpu>, Mat<Cpu>, Mat<Cpu>) {
    let q = normalized(&[[1.0, 0.2, 0.0], [0.0, 1.0, 0.5]]);
    let k = normalized(&[[0.9, 0.3, 0.1], [0.1, 0.8, 0.6]]);
    let neg = normalized(&[[0.0, 0.0, 1.0], [1.0, -1.0, 0.0], [-0.5, 0.5, 0.5]]);
    (dev.tensor_from_vec(q, (2, 3)), dev.tensor_from_vec(k, (2, 3)), dev.tensor_from_vec(neg, (3, 3)))
}

#[test]
fn info_nce_matches_numpy_reference() {
    let dev = Cpu::default();
    for (tau, expected) in [(1.0f32, 0.885636754f32), (0.2, 0.237013365), (0.05, 0.008418456)] {
        let (q, k, n) = inputs(&dev);
        let got = info_nce(q, k, n, tau).as_vec()[0];
        assert!((got - expected).abs() < 1e-5, "tau={tau}: got {got}, numpy says {expected}");
    }
}

#[test]
fn info_nce_is_finite_with_huge_logits() {
    let dev = Cpu::default();
    let (q, k, n) = inputs(&dev);
    let got = info_nce(q, k, n, 1e-3).as_vec()[0];
    assert!(got.is_finite() && got.abs() < 1e-5, "tau=0.001: logits reach 1000, loss {got}");
}

#[test]
fn logits_put_the_positive_first() {
    let dev = Cpu::default();
    let (q, k, n) = inputs(&dev);
    let logits = contrastive_logits(q.clone(), k.clone(), n.clone(), 0.5).as_vec();
    assert_eq!(logits.len(), 2 * 4);
    let (qv, kv, nv) = (q.as_vec(), k.as_vec(), n.as_vec());
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!((logits[0] - dot(&qv[0..3], &kv[0..3]) / 0.5).abs() < 1e-6);
    assert!((logits[2] - dot(&qv[0..3], &nv[3..6]) / 0.5).abs() < 1e-6);
    assert!((logits[4] - dot(&qv[3..6], &kv[3..6]) / 0.5).abs() < 1e-6);
}

#[test]
fn info_nce_gradient_pulls_q_towards_the_positive() {
    let dev = Cpu::default();
    let (q, k, n) = inputs(&dev);
    let g = info_nce(q.leaky_trace(), k.clone(), n, 0.2).backward();
    let gq = g.get(&q).as_vec();
    // a gradient-descent step moves q towards k⁺: −∂L/∂q · k⁺ > 0 for each query
    for i in 0..2 {
        let toward: f32 = (0..3).map(|j| -gq[i * 3 + j] * k.as_vec()[i * 3 + j]).sum();
        assert!(toward > 0.0, "query {i}: {toward}");
    }
}

#[test]
fn memory_bank_update_matches_numpy_reference() {
    let mut bank = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let s = 1.0 / 3f32.sqrt();
    update_memory_bank(&mut bank, 3, &[1], &[s, s, s], 0.5);
    let expected = [0.325057584, 0.888073834, 0.325057584];
    for (got, want) in bank[3..6].iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "got {got}, numpy says {want}");
    }
    assert_eq!(&bank[0..3], &[1.0, 0.0, 0.0], "other rows untouched");
    assert_eq!(&bank[6..9], &[0.0, 0.0, 1.0]);
}

#[test]
fn info_nce_gradient_matches_finite_differences() {
    let dev = Cpu::default();
    let (q, k, n) = inputs(&dev);
    let g = info_nce(q.leaky_trace(), k.clone(), n.clone(), 0.2).backward();
    let gq = g.get(&q).as_vec();
    let base = q.as_vec();
    for i in 0..base.len() {
        let eps = 1e-3f32;
        let mut p = base.clone();
        p[i] += eps;
        let mut m = base.clone();
        m[i] -= eps;
        let lp = info_nce(dev.tensor_from_vec(p, (2, 3)), k.clone(), n.clone(), 0.2).as_vec()[0];
        let lm = info_nce(dev.tensor_from_vec(m, (2, 3)), k.clone(), n.clone(), 0.2).as_vec()[0];
        let fd = (lp - lm) / (2.0 * eps);
        assert!((fd - gq[i]).abs() < 2e-3, "dL/dq[{i}]: autodiff {} vs finite differences {fd}", gq[i]);
    }
}

/// The memory bank starts from the initial network's features of every image. They must
/// differ from image to image: with eval-mode BatchNorm at initialisation (running statistics
/// still 0 and 1) they were nearly one vector, and training never recovered (17.9% kNN vs
/// 21.2% random init).
#[test]
fn memory_bank_starts_from_distinct_features() {
    use dfdx::nn::BuildModule;
    use selfsup::data::shapes::{self, ShapesConfig};
    use selfsup::methods::{InstDisc, Method};
    use selfsup::nn::TinyConvNet;
    let dev: Cpu = Default::default();
    let data = shapes::generate(&ShapesConfig { n_train: 200, n_test: 8, ..ShapesConfig::default() }).train;
    let mut model = InstDisc::<TinyConvNet<Cpu>, 128, 128, 32, f32, Cpu>::build(&dev);
    model.begin(&dev, &data);
    let bank = model.bank.as_ref().expect("begin makes the bank").as_vec();
    let rows: Vec<&[f32]> = bank.chunks(32).collect();
    assert_eq!(rows.len(), 200);
    let mut sum = 0.0f32;
    let mut pairs = 0;
    for i in 0..rows.len() {
        assert!((dot(rows[i], rows[i]) - 1.0).abs() < 1e-4, "bank rows are unit vectors");
        for j in i + 1..rows.len() {
            sum += dot(rows[i], rows[j]);
            pairs += 1;
        }
    }
    let mean_cos = sum / pairs as f32;
    // What eval mode would have given, on the same images and network.
    let x: selfsup::nn::ops::Img<Cpu> = dev.tensor_from_vec(data.pixels.clone(), (200, 3, data.height, data.width));
    let eval = selfsup::nn::functional::l2_normalize(model.branch.forward_eval(x)).as_vec();
    let e: Vec<&[f32]> = eval.chunks(32).collect();
    let eval_cos = (1..200).map(|i| dot(e[0], e[i])).sum::<f32>() / 199.0;
    println!("mean cosine between bank entries: {mean_cos:.3} (eval-mode BatchNorm: {eval_cos:.3})");
    assert!(mean_cos < 0.8, "bank entries of different images are too alike: mean cosine {mean_cos:.3}");
    assert!(eval_cos > mean_cos, "eval mode at initialisation gives more alike vectors ({eval_cos:.3})");
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// InstDisc's negatives never include the batch's own bank entries (their positives), and
/// the draw is capped by the rows left.
#[test]
fn sampled_negatives_exclude_the_batch() {
    use rand::SeedableRng;
    use selfsup::methods::instdisc::sample_negatives;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let batch = [0usize, 5, 7, 9];
    let drawn = sample_negatives(10, &batch, 1000, &mut rng);
    assert_eq!(drawn.len(), 6, "only the 6 rows outside the batch can be drawn, once each at most as a cap");
    let many = sample_negatives(10_000, &(0..64).collect::<Vec<_>>(), 4096, &mut rng);
    assert_eq!(many.len(), 4096);
    assert!(many.iter().all(|&i| i >= 64 && i < 10_000), "a batch entry was drawn as a negative");
    assert!(drawn.iter().all(|i| !batch.contains(i)));
    // every row outside the batch can be drawn
    let seen: std::collections::BTreeSet<usize> = (0..50).flat_map(|_| sample_negatives(10, &batch, 6, &mut rng)).collect();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, 2, 3, 4, 6, 8]);
    // a bank no larger than the batch: no panic, rows of the bank
    let tiny = sample_negatives(4, &[0, 1, 2, 3], 10, &mut rng);
    assert!(tiny.len() == 4 && tiny.iter().all(|&i| i < 4), "{tiny:?}");
}
