//! Tests of the evaluation module: kNN, linear probe, collapse metric, PCA.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use selfsup::eval::{
    self, collapse_std, effective_rank, knn_accuracy, knn_predict, l2_normalize_rows, linear_probe_accuracy, pca, pca_2d, KnnConfig,
    LinearProbeConfig, Pca,
};

fn gaussian(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

// ---------------------------------------------------------------------------------------------
// kNN
// ---------------------------------------------------------------------------------------------

/// Memory on the unit circle: class 0 at 0°, class 1 at ±60°, class 2 at 180°.
fn circle_memory() -> (Vec<f32>, Vec<usize>) {
    let s60 = 3f32.sqrt() / 2.0;
    (vec![1.0, 0.0, 0.5, s60, 0.5, -s60, -1.0, 0.0], vec![0, 1, 1, 2])
}

fn knn(k: usize, temperature: f32) -> KnnConfig {
    KnnConfig { k, temperature }
}

#[test]
fn knn_config_default() {
    assert_eq!(KnnConfig::default(), knn(20, 0.1));
}

#[test]
fn knn_weighting_can_overturn_the_majority() {
    // Query at 0°: similarities 1 (class 0), 0.5, 0.5 (class 1), −1 (class 2).
    let (mem, labels) = circle_memory();
    let q = [1.0, 0.0];
    // k = 3, T = 0.1: class 0 gets e^10 ≈ 22026, class 1 gets 2e^5 ≈ 297 → class 0.
    assert_eq!(knn_predict(&mem, &labels, &q, 2, 3, &knn(3, 0.1)), vec![0]);
    // k = 3, T = 10 (almost a plain majority vote): e^0.1 ≈ 1.105 < 2e^0.05 ≈ 2.103 → class 1.
    assert_eq!(knn_predict(&mem, &labels, &q, 2, 3, &knn(3, 10.0)), vec![1]);
    // k = 1: the nearest neighbour alone.
    assert_eq!(knn_predict(&mem, &labels, &q, 2, 3, &knn(1, 10.0)), vec![0]);
}

#[test]
fn knn_with_k_larger_than_the_memory_uses_every_item() {
    let (mem, labels) = circle_memory();
    let q = [1.0, 0.0];
    // All four vote. T = 10: class 0 e^0.1 = 1.105, class 1 2e^0.05 = 2.103, class 2 e^-0.1 = 0.905.
    assert_eq!(knn_predict(&mem, &labels, &q, 2, 3, &knn(100, 10.0)), vec![1]);
    assert_eq!(knn_predict(&mem, &labels, &q, 2, 3, &knn(100, 0.1)), vec![0]);
    // A query at 180° (−1, 0): with everyone voting at T = 10, class 1 (2e^-0.05 = 1.90) beats
    // class 2 (e^0.1 = 1.105); with k = 1 class 2 wins.
    let q2 = [-3.0, 0.0];
    assert_eq!(knn_predict(&mem, &labels, &q2, 2, 3, &knn(100, 10.0)), vec![1]);
    assert_eq!(knn_predict(&mem, &labels, &q2, 2, 3, &knn(1, 10.0)), vec![2]);
}

#[test]
fn knn_uses_cosine_similarity_so_row_scale_does_not_matter() {
    let (mut mem, labels) = circle_memory();
    let queries = [1.0, 0.2, 0.1, 1.0, -1.0, 0.1, 0.4, -1.0];
    let before = knn_predict(&mem, &labels, &queries, 2, 3, &knn(2, 0.1));
    mem.iter_mut().enumerate().for_each(|(i, v)| *v *= 1.0 + (i / 2) as f32 * 10.0);
    let scaled_queries: Vec<f32> = queries.iter().map(|v| v * 0.01).collect();
    let after = knn_predict(&mem, &labels, &scaled_queries, 2, 3, &knn(2, 0.1));
    assert_eq!(before, after);
    assert_eq!(before, vec![0, 1, 2, 1]);
}

#[test]
fn knn_ties_go_to_the_earlier_item_and_the_smaller_class() {
    // The query at 90° is equally similar (0) to both memory items.
    let mem = [1.0, 0.0, -1.0, 0.0];
    let q = [0.0, 1.0];
    // k = 1: the earlier item (index 0, class 2) is kept.
    assert_eq!(knn_predict(&mem, &[2, 0], &q, 2, 3, &knn(1, 0.1)), vec![2]);
    assert_eq!(knn_predict(&mem, &[0, 2], &q, 2, 3, &knn(1, 0.1)), vec![0]);
    // k = 2: equal weights for classes 2 and 0, the smaller class wins.
    assert_eq!(knn_predict(&mem, &[2, 0], &q, 2, 3, &knn(2, 0.1)), vec![0]);
}

#[test]
fn knn_accuracy_counts_correct_predictions() {
    let (mem, labels) = circle_memory();
    let queries = [1.0, 0.2, 0.1, 1.0, -1.0, 0.1, 0.4, -1.0]; // predicted 0, 1, 2, 1
    let acc = knn_accuracy(&mem, &labels, &queries, &[0, 1, 2, 2], 2, 3, &knn(2, 0.1));
    assert!((acc - 0.75).abs() < 1e-6);
}

#[test]
fn knn_matches_a_brute_force_reference() {
    let mut rng = StdRng::seed_from_u64(3);
    let (n, m, d, c) = (500, 100, 19, 4); // odd d exercises the dot-product tail
    let train = gaussian(&mut rng, n * d);
    let test = gaussian(&mut rng, m * d);
    let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..c)).collect();
    let cfg = knn(7, 0.2);
    let fast = knn_predict(&train, &labels, &test, d, c, &cfg);

    let (mut a, mut b) = (train.clone(), test.clone());
    l2_normalize_rows(&mut a, d);
    l2_normalize_rows(&mut b, d);
    for (qi, q) in b.chunks_exact(d).enumerate() {
        let mut sims: Vec<(f32, usize)> =
            a.chunks_exact(d).enumerate().map(|(i, r)| (r.iter().zip(q).map(|(x, y)| x * y).sum(), i)).collect();
        sims.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut w = vec![0.0f64; c];
        for &(s, i) in &sims[..cfg.k] {
            w[labels[i]] += ((s / cfg.temperature) as f64).exp();
        }
        let want = (0..c).max_by(|&x, &y| w[x].total_cmp(&w[y])).unwrap();
        assert_eq!(fast[qi], want, "query {qi}");
    }
}

#[test]
fn knn_speed_2k_queries_10k_memory_256_dims() {
    let mut rng = StdRng::seed_from_u64(4);
    let (n, m, d, c) = (10_000, 2_000, 256, 10);
    let train = gaussian(&mut rng, n * d);
    let test = gaussian(&mut rng, m * d);
    let labels: Vec<usize> = (0..n).map(|i| i % c).collect();
    let t = Instant::now();
    let pred = knn_predict(&train, &labels, &test, d, c, &KnnConfig::default());
    let secs = t.elapsed().as_secs_f64();
    println!("kNN 2k x 10k x 256: {secs:.3} s on {} threads", rayon::current_num_threads());
    assert_eq!(pred.len(), m);
    assert!(secs < 5.0, "kNN took {secs:.2} s");
}

// ---------------------------------------------------------------------------------------------
// Linear probe
// ---------------------------------------------------------------------------------------------

/// `n` points in `d` dimensions around `c` well-separated class centres, with columns on very
/// different scales (standardisation has to fix that).
fn blobs(rng: &mut StdRng, centres: &[f32], n: usize, d: usize, c: usize) -> (Vec<f32>, Vec<usize>) {
    let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..c)).collect();
    let mut x = Vec::with_capacity(n * d);
    for &l in &labels {
        for j in 0..d {
            let scale = 10f32.powi(j as i32 % 5 - 2);
            let noise: f32 = StandardNormal.sample(rng);
            x.push((centres[l * d + j] + noise) * scale);
        }
    }
    (x, labels)
}

#[test]
fn linear_probe_separates_linearly_separable_classes() {
    let mut rng = StdRng::seed_from_u64(5);
    let (d, c) = (20, 4);
    let centres: Vec<f32> = (0..c * d).map(|_| rng.gen_range(-3.0..3.0)).collect();
    let (train, train_labels) = blobs(&mut rng, &centres, 800, d, c);
    let (test, test_labels) = blobs(&mut rng, &centres, 400, d, c);
    let acc = linear_probe_accuracy(&train, &train_labels, &test, &test_labels, d, c, &LinearProbeConfig::default());
    println!("linear probe on separable blobs: {acc}");
    assert!(acc >= 0.95, "accuracy {acc}");
}

#[test]
fn linear_probe_is_at_chance_on_random_labels() {
    let mut rng = StdRng::seed_from_u64(6);
    let (n, m, d, c) = (2_000, 2_000, 64, 10);
    let train = gaussian(&mut rng, n * d);
    let test = gaussian(&mut rng, m * d);
    let train_labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..c)).collect();
    let test_labels: Vec<usize> = (0..m).map(|_| rng.gen_range(0..c)).collect();
    let acc = linear_probe_accuracy(&train, &train_labels, &test, &test_labels, d, c, &LinearProbeConfig::default());
    println!("linear probe on random labels: {acc} (chance 0.1)");
    assert!((0.06..=0.14).contains(&acc), "accuracy {acc} is not chance");
}

#[test]
fn linear_probe_is_linear_but_knn_is_not() {
    // XOR: four clusters at (±1, ±1), class = sign(x)·sign(y). No line separates it; kNN can.
    let mut rng = StdRng::seed_from_u64(7);
    let mut make = |n: usize| {
        let mut x = Vec::with_capacity(2 * n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, b) = (rng.gen_bool(0.5), rng.gen_bool(0.5));
            let (sa, sb) = (if a { 1.0 } else { -1.0 }, if b { 1.0 } else { -1.0 });
            x.push(sa + rng.gen_range(-0.3..0.3));
            x.push(sb + rng.gen_range(-0.3..0.3));
            y.push(usize::from(a == b));
        }
        (x, y)
    };
    let (train, train_labels) = make(1_000);
    let (test, test_labels) = make(500);
    let linear = linear_probe_accuracy(&train, &train_labels, &test, &test_labels, 2, 2, &LinearProbeConfig::default());
    let knn = knn_accuracy(&train, &train_labels, &test, &test_labels, 2, 2, &KnnConfig::default());
    println!("XOR: linear {linear}, kNN {knn}");
    // The best a line can do is to get three of the four clusters right: 75%.
    assert!(linear < 0.8, "a linear probe cannot solve XOR, got {linear}");
    assert!(knn > 0.95, "kNN should solve XOR, got {knn}");
}

#[test]
fn linear_probe_is_deterministic_and_survives_constant_features() {
    let mut rng = StdRng::seed_from_u64(8);
    let (d, c) = (6, 3);
    let centres: Vec<f32> = (0..c * d).map(|_| rng.gen_range(-6.0..6.0)).collect();
    let (mut train, train_labels) = blobs(&mut rng, &centres, 300, d, c);
    let (mut test, test_labels) = blobs(&mut rng, &centres, 100, d, c);
    // Column 0 is constant (standard deviation 0).
    train.chunks_exact_mut(d).for_each(|r| r[0] = 4.0);
    test.chunks_exact_mut(d).for_each(|r| r[0] = 4.0);
    let cfg = LinearProbeConfig { epochs: 20, seed: 42, ..LinearProbeConfig::default() };
    let a = eval::linear_probe_predict(&train, &train_labels, &test, d, c, &cfg);
    let b = eval::linear_probe_predict(&train, &train_labels, &test, d, c, &cfg);
    assert_eq!(a, b);
    let acc = eval::accuracy(&a, &test_labels);
    assert!(acc > 0.9, "accuracy {acc}");
}

#[test]
fn linear_probe_speed_10k_by_256() {
    let mut rng = StdRng::seed_from_u64(9);
    let (n, d, c) = (10_000, 256, 10);
    let centres: Vec<f32> = (0..c * d).map(|_| rng.gen_range(-0.15..0.15)).collect();
    let (train, train_labels) = blobs(&mut rng, &centres, n, d, c);
    let (test, test_labels) = blobs(&mut rng, &centres, 2_000, d, c);
    let t = Instant::now();
    let acc = linear_probe_accuracy(&train, &train_labels, &test, &test_labels, d, c, &LinearProbeConfig::default());
    let secs = t.elapsed().as_secs_f64();
    println!("linear probe 10k x 256, default config: {secs:.2} s, accuracy {acc:.3}");
    assert!(acc > 0.3, "accuracy {acc} (chance 0.1)");
    assert!(secs < 10.0, "probe took {secs:.2} s");
}

// ---------------------------------------------------------------------------------------------
// Collapse
// ---------------------------------------------------------------------------------------------

#[test]
fn collapse_std_is_zero_for_identical_rows_and_for_rows_along_one_direction() {
    let row = [0.3f32, -1.2, 2.0, 0.0, 5.0];
    let same: Vec<f32> = (0..100).flat_map(|_| row).collect();
    assert!(collapse_std(&same, 5) < 1e-6);
    // Different lengths, same direction: still collapsed after normalisation.
    let scaled: Vec<f32> = (0..100).flat_map(|i| row.map(|v| v * (1.0 + i as f32))).collect();
    assert!(collapse_std(&scaled, 5) < 1e-6);
}

#[test]
fn collapse_std_of_isotropic_gaussians_is_one_over_sqrt_d() {
    let mut rng = StdRng::seed_from_u64(10);
    let (n, d) = (5_000, 128);
    let x = gaussian(&mut rng, n * d);
    let s = collapse_std(&x, d);
    let want = 1.0 / (d as f32).sqrt();
    println!("collapse_std of Gaussian rows: {s:.5}, 1/sqrt(d) = {want:.5}");
    assert!((s - want).abs() < 0.1 * want, "{s} vs {want}");
}

#[test]
fn collapse_std_drops_for_dimensional_collapse() {
    // Rows confined to a 2-D subspace of R^128: far below 1/sqrt(128), but not zero.
    let mut rng = StdRng::seed_from_u64(11);
    let (n, d) = (2_000, 128);
    let x: Vec<f32> = (0..n)
        .flat_map(|_| {
            let (a, b): (f32, f32) = (StandardNormal.sample(&mut rng), StandardNormal.sample(&mut rng));
            (0..d).map(move |j| if j == 0 { a } else if j == 1 { b } else { 0.0 })
        })
        .collect();
    let s = collapse_std(&x, d);
    println!("collapse_std in a 2-D subspace: {s:.5}");
    assert!(s > 1e-3 && s < 0.3 / (d as f32).sqrt(), "{s}");
}

// ---------------------------------------------------------------------------------------------
// PCA
// ---------------------------------------------------------------------------------------------

/// `n` points `Σ_i σ_i g_i u_i + offset` for Gaussian `g_i`, orthonormal axes `u_i` (rows of
/// `axes`) and standard deviations `sigmas`.
fn cloud(rng: &mut StdRng, n: usize, axes: &[&[f32]], sigmas: &[f32], offset: &[f32]) -> Vec<f32> {
    let d = offset.len();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut p = offset.to_vec();
        for (u, &s) in axes.iter().zip(sigmas) {
            let g: f32 = StandardNormal.sample(rng);
            p.iter_mut().zip(u.iter()).for_each(|(p, &u)| *p += s * g * u);
        }
        x.extend(p);
    }
    x
}

fn abs_cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    (dot / (na * nb)).abs()
}

#[test]
fn pca_recovers_the_long_axis_of_an_elongated_2d_cloud() {
    let mut rng = StdRng::seed_from_u64(12);
    let a = 30f32.to_radians();
    let (u, v) = ([a.cos(), a.sin()], [-a.sin(), a.cos()]);
    let x = cloud(&mut rng, 4_000, &[&u, &v], &[5.0, 0.5], &[10.0, -3.0]);
    let fit = Pca::fit(&x, 2, 2);
    println!("2-D: components {:?}, variances {:?}", fit.components, fit.variances);
    assert!(abs_cos(&fit.components[0..2], &u) > 0.999);
    assert!(abs_cos(&fit.components[2..4], &v) > 0.999);
    assert!((fit.variances[0] - 25.0).abs() < 2.5 && (fit.variances[1] - 0.25).abs() < 0.025);
    assert!((fit.mean[0] - 10.0).abs() < 0.3 && (fit.mean[1] + 3.0).abs() < 0.1);
}

#[test]
fn pca_recovers_the_axes_of_a_rotated_3d_cloud() {
    let mut rng = StdRng::seed_from_u64(13);
    let s = 1.0 / 3f32.sqrt();
    let u1 = [s, s, s];
    let u2 = [1.0 / 2f32.sqrt(), -1.0 / 2f32.sqrt(), 0.0];
    let u3 = [1.0 / 6f32.sqrt(), 1.0 / 6f32.sqrt(), -2.0 / 6f32.sqrt()];
    let x = cloud(&mut rng, 5_000, &[&u1, &u2, &u3], &[4.0, 2.0, 0.5], &[1.0, 2.0, 3.0]);
    let (components, projected) = pca(&x, 3, 2);
    assert_eq!(components.len(), 6);
    assert_eq!(projected.len(), 5_000 * 2);
    assert!(abs_cos(&components[0..3], &u1) > 0.999);
    assert!(abs_cos(&components[3..6], &u2) > 0.999);
    // Unit, orthogonal directions.
    let dot: f32 = components[0..3].iter().zip(&components[3..6]).map(|(a, b)| a * b).sum();
    assert!(dot.abs() < 1e-5);
    // The projections are centred and have the variances of the axes.
    let col = |k: usize| projected.iter().skip(k).step_by(2).copied().collect::<Vec<f32>>();
    for (k, want) in [(0, 16.0f32), (1, 4.0)] {
        let p = col(k);
        let mean = p.iter().sum::<f32>() / p.len() as f32;
        let var = p.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / p.len() as f32;
        assert!(mean.abs() < 1e-3, "component {k}: mean {mean}");
        assert!((var - want).abs() < 0.1 * want, "component {k}: variance {var}, want {want}");
    }
}

#[test]
fn pca_2d_is_deterministic_and_matches_pca() {
    let mut rng = StdRng::seed_from_u64(14);
    let x = gaussian(&mut rng, 300 * 8);
    let a = pca_2d(&x, 8);
    let b = pca_2d(&x, 8);
    assert_eq!(a, b);
    assert_eq!(a.len(), 300);
    let (_, projected) = pca(&x, 8, 2);
    for (p, q) in a.iter().zip(projected.chunks_exact(2)) {
        assert_eq!(p, &[q[0], q[1]]);
    }
    // One-dimensional input: the second coordinate is zero.
    let one = pca_2d(&[1.0, 2.0, 4.0], 1);
    assert_eq!(one.iter().map(|p| p[1]).collect::<Vec<_>>(), vec![0.0; 3]);
    assert!((one[0][0] - one[1][0]).abs() > 0.5);
}

/// Effective rank (RankMe): NumPy's values (tests/golden/effective_rank.py), and the two ends:
/// one direction gives 1, `d` orthogonal rows of equal norm give `d`.
#[test]
fn effective_rank_matches_numpy_and_its_limits() {
    let x: Vec<f32> = vec![
        0.5, -1.0, 0.3, 2.0, 1.2, 0.4, -0.7, 0.1, -0.3, 0.9, 0.8, -1.1, 0.1, -0.2, 1.5, 0.6, 2.2, 0.3, -0.4, 0.9,
    ];
    let r = effective_rank(&x, 4);
    assert!((r - 3.123455554).abs() < 1e-5, "{r}");
    let y: Vec<f32> = x.chunks(4).flat_map(|row| [row[0], row[1], 0.0, 0.0]).collect();
    let r = effective_rank(&y, 4);
    assert!((r - 1.920067360).abs() < 1e-5, "{r}");
    let along_one: Vec<f32> = (1..=6).flat_map(|k| [k as f32, 2.0 * k as f32, -(k as f32)]).collect();
    assert!((effective_rank(&along_one, 3) - 1.0).abs() < 1e-4);
    let d = 16;
    let identity: Vec<f32> = (0..d * d).map(|i| if i / d == i % d { 3.0 } else { 0.0 }).collect();
    assert!((effective_rank(&identity, d) - d as f32).abs() < 1e-3);
    assert_eq!(effective_rank(&vec![0.0; 12], 4), 0.0);
}
