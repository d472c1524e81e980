//! Part 3's building blocks: k-means and NMI (DeepCluster), Sinkhorn-Knopp and the
//! swapped-prediction loss (SwAV). Values are checked against `tests/golden/clustering.py`
//! (NumPy, float64, written from the papers' formulas, not from this code); the random parts
//! (k-means++, the split of empty clusters) by their properties.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use selfsup::eval::{kmeans, kmeans_from, kmeans_plus_plus, nmi, EmptyClusters, KMeansConfig};
use selfsup::methods::swav::{prototype_scores, sinkhorn, sinkhorn_codes, swav_loss, SinkhornConfig};
use selfsup::nn::ops::Mat;
use selfsup::Error;

// ---------------------------------------------------------------- k-means

/// The 24 points of `tests/golden/clustering.py`: three overlapping blobs of 8.
const X: [[f32; 2]; 24] = [
    [1.84, -2.3], [0.38, -0.51], [-0.41, -0.19], [-1.82, -0.21], [-0.78, 2.99], [0.2, -0.32],
    [-0.25, -0.6], [-0.95, -0.35], [3.43, 0.79], [3.86, 0.82], [3.02, 2.39], [3.49, 0.55],
    [2.84, 1.49], [4.74, 0.76], [2.78, 1.9], [2.2, 0.74], [1.79, 4.02], [1.08, 4.1],
    [-1.55, 4.42], [0.14, 2.0], [1.25, 4.13], [0.6, 2.53], [1.02, 3.45], [2.27, 4.17],
];

fn points() -> Vec<f32> {
    X.iter().flatten().copied().collect()
}

fn naive(k: usize, iterations: usize) -> KMeansConfig {
    KMeansConfig::new(k).with_iterations(iterations).with_empty_clusters(EmptyClusters::Keep)
}

fn assert_close(got: &[f32], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((*g as f64 - e).abs() < tol, "{what}[{i}]: got {g}, numpy says {e}");
    }
}

#[test]
fn lloyd_from_given_centroids_matches_numpy() {
    let init = vec![0.0, 0.0, 0.5, 0.5, 5.0, 5.0];
    let one = kmeans_from(&points(), 2, init.clone(), &naive(3, 1)).unwrap();
    assert_eq!(one.assignments, [0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 2, 1, 2, 2]);
    assert_close(&one.centroids, &[-0.144285714, -0.640000000, 1.874666667, 2.204000000, 2.030000000, 4.095000000], 1e-5, "centroids");
    let three = kmeans_from(&points(), 2, init, &naive(3, 3)).unwrap();
    assert_eq!(three.assignments, [0, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
    assert_close(&three.centroids, &[-0.144285714, -0.640000000, 3.295000000, 1.180000000, 0.646666667, 3.534444444], 1e-5, "centroids");
    let inertia: Vec<f32> = three.inertia.iter().map(|&j| j as f32).collect();
    assert_close(&inertia, &[177.096600000, 71.526290317, 46.990897530, 36.073993651], 1e-3, "inertia");
    assert_eq!(three.sizes, [7, 8, 9]);
    assert_eq!(three.empty, [0, 0, 0, 0]);
}

#[test]
fn naive_lloyd_leaves_a_far_centroid_empty_as_numpy_does() {
    let init = vec![0.0, 0.0, 3.0, 3.0, 20.0, -20.0];
    let km = kmeans_from(&points(), 2, init, &naive(3, 2)).unwrap();
    assert_eq!(km.assignments, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
    assert_close(&km.centroids, &[-0.320000000, 0.493000000, 2.455000000, 2.274285714, 20.0, -20.0], 1e-5, "centroids");
    let inertia: Vec<f32> = km.inertia.iter().map(|&j| j as f32).collect();
    assert_close(&inertia, &[107.656600000, 93.760766678, 93.030502857], 1e-3, "inertia");
    assert_eq!(km.sizes, [10, 14, 0]);
    assert_eq!(km.empty, [1, 1, 1]);
    assert_eq!(km.reseeded, 0);
}

/// Two tight, far-apart groups; the start puts one centroid on each and a third far away.
fn two_groups() -> (Vec<f32>, Vec<f32>) {
    let x = vec![0.0, 0.0, 0.2, 0.0, 0.0, 0.2, 10.0, 10.0, 10.2, 10.0, 10.0, 10.2, 10.2, 10.2];
    (x, vec![0.1, 0.1, 10.1, 10.1, 100.0, -100.0])
}

#[test]
fn obvious_clusters_are_found_from_kmeans_plus_plus() {
    let (x, _) = two_groups();
    for seed in 0..20 {
        let km = kmeans(&x, 2, &KMeansConfig::new(2).with_seed(seed)).unwrap();
        let (a, b) = (km.assignments[0], km.assignments[3]);
        assert_ne!(a, b, "seed {seed}: the two groups share a cluster");
        assert_eq!(km.assignments, [a, a, a, b, b, b, b], "seed {seed}");
        assert_close(km.centroid(b), &[10.1, 10.1], 1e-5, "centroid of the second group");
        // 0.16/3 within the first group (mean (0.2/3, 0.2/3)), 4 × 0.02 within the second.
        assert!((km.inertia.last().unwrap() - (0.16 / 3.0 + 0.08)).abs() < 1e-5, "seed {seed}: {:?}", km.inertia);
    }
}

#[test]
fn an_empty_cluster_is_reseeded_by_splitting_a_non_empty_one() {
    let (x, init) = two_groups();
    let km = kmeans_from(&x, 2, init.clone(), &KMeansConfig::new(3).with_iterations(5)).unwrap();
    assert_eq!(km.empty[0], 1, "the far centroid starts empty");
    assert!(km.reseeded >= 1);
    assert!(km.sizes.iter().all(|&s| s > 0), "sizes {:?}", km.sizes);
    assert_eq!(km.empty.last(), Some(&0));
    // The re-seeded centroid now sits among the points, not at (100, −100).
    assert!(km.centroid(2).iter().all(|v| (-1.0..11.0).contains(v)), "{:?}", km.centroid(2));
    // Without the fix, the far centroid never gets a point.
    let plain = kmeans_from(&x, 2, init, &naive(3, 5)).unwrap();
    assert_eq!(plain.sizes[2], 0);
    assert_eq!(plain.centroid(2), [100.0, -100.0]);
    assert_eq!(plain.reseeded, 0);
}

#[test]
fn the_cluster_to_split_is_drawn_in_proportion_to_its_size() {
    // 30 points around (0, 0) and 3 around (50, 50); cluster 2 starts empty. After one split
    // and one update, the group that was split holds two clusters.
    let mut rng = StdRng::seed_from_u64(7);
    let mut x: Vec<f32> = (0..60).map(|_| rng.gen_range(-1.0..1.0)).collect();
    x.extend([50.0, 50.0, 50.5, 50.0, 50.0, 50.5]);
    let init = vec![0.0, 0.0, 50.0, 50.0, -500.0, 500.0];
    let trials = 300;
    let big_split = (0..trials)
        .filter(|&seed| {
            let km = kmeans_from(&x, 2, init.clone(), &KMeansConfig::new(3).with_iterations(1).with_seed(seed)).unwrap();
            assert_eq!(km.reseeded, 1);
            km.assignments[..30].iter().any(|&a| a != km.assignments[0])
        })
        .count();
    // P(the big group) = 30 / 33 ≈ 0.91; a uniform draw over the two groups would give 0.5.
    let fraction = big_split as f64 / trials as f64;
    assert!((0.85..0.96).contains(&fraction), "the big group was split in {fraction} of the trials");
}

/// 300 points in 8 dimensions around 5 random centres.
fn blobs(seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..5 * 8).map(|_| rng.gen_range(-3.0..3.0)).collect();
    (0..300).flat_map(|i| (0..8).map(move |t| (i, t))).map(|(i, t)| centres[(i % 5) * 8 + t] + rng.gen_range(-1.5..1.5)).collect()
}

fn assert_inertia_never_rises(inertia: &[f64], what: &str) {
    for (t, pair) in inertia.windows(2).enumerate() {
        assert!(pair[1] <= pair[0] * (1.0 + 1e-6), "{what}: the inertia rose at step {t}: {inertia:?}");
    }
}

#[test]
fn inertia_never_rises_over_lloyd_iterations() {
    let x = blobs(1);
    for policy in [EmptyClusters::Keep, EmptyClusters::Split] {
        for seed in 0..5 {
            let km = kmeans(&x, 8, &KMeansConfig::new(12).with_iterations(30).with_seed(seed).with_empty_clusters(policy)).unwrap();
            assert_inertia_never_rises(&km.inertia, &format!("{policy:?}, seed {seed}"));
            assert!(km.inertia.len() <= 31);
            assert_eq!(km.sizes.iter().sum::<usize>(), 300);
        }
    }
    // Half of the centroids start far from every point: six splits in the first iteration,
    // and the inertia still falls.
    let mut init: Vec<f32> = x[..6 * 8].to_vec();
    init.extend((0..6 * 8).map(|i| 100.0 + i as f32));
    let km = kmeans_from(&x, 8, init, &KMeansConfig::new(12).with_iterations(30)).unwrap();
    assert_eq!(km.empty[0], 6);
    assert!(km.reseeded >= 6);
    assert_inertia_never_rises(&km.inertia, "after splits");
    assert!(km.sizes.iter().all(|&s| s > 0), "{:?}", km.sizes);
}

#[test]
fn kmeans_is_deterministic_for_a_seed() {
    let x = blobs(2);
    let cfg = KMeansConfig::new(10).with_seed(42);
    let first = kmeans(&x, 8, &cfg).unwrap();
    assert_eq!(first, kmeans(&x, 8, &cfg).unwrap());
    // The same in a one-thread pool: the parallel assignment step adds in a fixed order.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(first, pool.install(|| kmeans(&x, 8, &cfg).unwrap()));
    assert_ne!(first.centroids, kmeans(&x, 8, &cfg.with_seed(43)).unwrap().centroids);
}

#[test]
fn kmeans_plus_plus_picks_distinct_points_spread_out() {
    let (x, _) = two_groups();
    for seed in 0..20 {
        let c = kmeans_plus_plus(&x, 2, 2, &mut StdRng::seed_from_u64(seed)).unwrap();
        // Every centroid is a data point, and the two come from different groups (a point of
        // the other group is 2 500 times likelier than one of the same group).
        for centroid in c.chunks(2) {
            assert!(x.chunks(2).any(|p| p == centroid), "{centroid:?} is not a data point");
        }
        assert!((c[0] < 5.0) != (c[2] < 5.0), "seed {seed}: {c:?}");
    }
    // Fewer distinct points than k: the draw falls back to uniform and repeats a point.
    let same = [1.0f32, 2.0, 1.0, 2.0, 1.0, 2.0];
    assert_eq!(kmeans_plus_plus(&same, 2, 3, &mut StdRng::seed_from_u64(0)).unwrap(), [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
}

#[test]
fn predict_labels_new_points_with_the_nearest_centroid() {
    let (x, init) = two_groups();
    let km = kmeans_from(&x, 2, init[..4].to_vec(), &KMeansConfig::new(2)).unwrap();
    assert_eq!(km.predict(&[9.0, 9.5, -0.5, 0.3]).unwrap(), [1, 0]);
    assert!(km.predict(&[1.0, 2.0, 3.0]).is_err());
}

fn config_error(result: selfsup::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = points();
    assert!(config_error(kmeans(&x, 2, &KMeansConfig::new(25))).contains("k = 25 clusters of 24 points"));
    assert!(config_error(kmeans(&x, 2, &KMeansConfig::new(0))).contains("at least 1"));
    assert!(config_error(kmeans(&x, 0, &KMeansConfig::new(2))).contains("dimension"));
    assert!(config_error(kmeans(&x[..5], 2, &KMeansConfig::new(2))).contains("whole number of rows"));
    assert!(config_error(kmeans(&[], 2, &KMeansConfig::new(1))).contains("no points"));
    assert!(config_error(kmeans(&[0.0, f32::NAN], 2, &KMeansConfig::new(1))).contains("finite"));
    assert!(config_error(kmeans_from(&x, 2, vec![0.0; 5], &KMeansConfig::new(3))).contains("k × d"));
    assert!(config_error(kmeans_from(&x, 2, vec![f32::INFINITY; 6], &KMeansConfig::new(3))).contains("finite"));
}

// ---------------------------------------------------------------- NMI

#[test]
fn nmi_matches_numpy() {
    let u = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
    let v = [1, 1, 0, 0, 0, 2, 2, 2, 2, 0];
    let w = [7, 7, 7, 7, 3, 3, 3, 3, 3, 3];
    for (a, b, expected) in [(&u, &v, 0.418070430), (&u, &w, 0.563110309), (&v, &w, 0.469680897)] {
        let got = nmi(a, b).unwrap();
        assert!((got - expected).abs() < 1e-8, "got {got}, numpy says {expected}");
        assert!((nmi(b, a).unwrap() - got).abs() < 1e-12, "NMI is symmetric");
    }
}

#[test]
fn nmi_of_the_same_partition_is_one_whatever_the_label_names() {
    let a = [0, 0, 1, 1, 2, 2, 2, 3];
    let renamed = [5, 5, 9, 9, 0, 0, 0, 1];
    assert!((nmi(&a, &a).unwrap() - 1.0).abs() < 1e-12);
    assert!((nmi(&a, &renamed).unwrap() - 1.0).abs() < 1e-12);
    // One cluster each: the same (trivial) partition. One cluster against several: nothing shared.
    assert_eq!(nmi(&[4, 4, 4], &[1, 1, 1]).unwrap(), 1.0);
    assert_eq!(nmi(&[4, 4, 4], &[1, 2, 3]).unwrap(), 0.0);
}

#[test]
fn nmi_of_independent_labelings_is_near_zero() {
    // Every (u, v) pair occurs equally often: exactly independent.
    let u: Vec<usize> = (0..12).map(|i| i % 3).collect();
    let v: Vec<usize> = (0..12).map(|i| i / 3 % 4).collect();
    assert!(nmi(&u, &v).unwrap() < 1e-12);
    // Independent random labelings of many points.
    let mut rng = StdRng::seed_from_u64(5);
    let a: Vec<usize> = (0..20_000).map(|_| rng.gen_range(0..10)).collect();
    let b: Vec<usize> = (0..20_000).map(|_| rng.gen_range(0..10)).collect();
    let got = nmi(&a, &b).unwrap();
    assert!(got < 0.005, "got {got}");
}

#[test]
fn nmi_rejects_mismatched_labelings() {
    assert!(config_error(nmi(&[0, 1], &[0])).contains("same points"));
    assert!(config_error(nmi(&[], &[])).contains("empty"));
}

// ---------------------------------------------------------------- Sinkhorn-Knopp

/// `tests/golden/clustering.py`'s scores: B = 4 samples against K = 3 prototypes.
const S: [f32; 12] = [0.9, 0.1, -0.3, 0.8, 0.2, 0.0, 0.7, -0.5, 0.4, -0.2, 0.6, 0.1];

fn sums(codes: &[f32], k: usize) -> (Vec<f32>, Vec<f32>) {
    let per_sample = codes.chunks(k).map(|row| row.iter().sum()).collect();
    let per_prototype = (0..k).map(|j| codes.iter().skip(j).step_by(k).sum()).collect();
    (per_sample, per_prototype)
}

#[test]
fn sinkhorn_matches_numpy() {
    let cases: [(f32, usize, [f64; 12]); 3] = [
        (0.05, 3, [0.999786876, 0.000209248, 0.000003876, 0.977532964, 0.011170267, 0.011296768, 0.003913178, 0.000000000, 0.996086822, 0.000000000, 0.997499445, 0.002500555]),
        (0.5, 1, [0.561267820, 0.278429328, 0.160302851, 0.420931042, 0.311511141, 0.267557817, 0.338899162, 0.075540481, 0.585560357, 0.052891850, 0.643688776, 0.303419374]),
        (0.5, 10, [0.547618865, 0.288144702, 0.164236433, 0.407759376, 0.320076645, 0.272163979, 0.327785326, 0.077497227, 0.594717447, 0.050169775, 0.647614749, 0.302215477]),
    ];
    for (epsilon, iterations, expected) in cases {
        let codes = sinkhorn(&S, 4, 3, &SinkhornConfig { epsilon, iterations }).unwrap();
        assert_close(&codes, &expected, 1e-6, &format!("codes at ε = {epsilon}, {iterations} iterations"));
    }
    assert_eq!(SinkhornConfig::default(), SinkhornConfig { epsilon: 0.05, iterations: 3 });
}

#[test]
fn every_code_sums_to_one_and_prototypes_share_the_batch() {
    // The last step scales the samples: their sums are 1 (up to rounding). The prototypes'
    // sums only approach B / K = 4/3 as the iterations converge: after SwAV's 3 iterations at
    // ε = 0.05 these sharp scores still give the first prototype 1.98 (NumPy agrees).
    let cases: [(f32, usize, [f64; 3]); 4] = [
        (0.05, 3, [1.981233018, 1.008878961, 1.009888021]),
        (0.5, 1, [1.373989875, 1.309169727, 1.316840399]),
        (0.5, 10, [1.333333341, 1.333333322, 1.333333336]),
        (0.05, 200, [1.333333333, 1.333333333, 1.333333333]),
    ];
    for (epsilon, iterations, prototype_sums) in cases {
        let what = format!("ε = {epsilon}, {iterations} iterations");
        let codes = sinkhorn(&S, 4, 3, &SinkhornConfig { epsilon, iterations }).unwrap();
        let (per_sample, per_prototype) = sums(&codes, 3);
        assert_close(&per_sample, &[1.0; 4], 1e-6, &format!("{what}: sums of the codes"));
        assert_close(&per_prototype, &prototype_sums, 1e-5, &format!("{what}: totals of the prototypes"));
        assert!(codes.iter().all(|&q| q >= 0.0));
    }
}

#[test]
fn sinkhorn_is_stable_for_large_scores_and_small_epsilon() {
    // exp(s / ε) overflows f32 and f64 alike here; the log-domain scalings do not care.
    let cfg = SinkhornConfig { epsilon: 0.001, iterations: 3 };
    let large: Vec<f32> = S.iter().map(|s| 100.0 * s).collect();
    let codes = sinkhorn(&large, 4, 3, &cfg).unwrap();
    assert!(codes.iter().all(|q| q.is_finite()), "{codes:?}");
    for s in sums(&codes, 3).0 {
        assert!((s - 1.0).abs() < 1e-6, "a code sums to {s}");
    }
    // A constant added to every score changes nothing (it cancels in the first scaling).
    let shifted: Vec<f32> = S.iter().map(|s| s + 1000.0).collect();
    let base = sinkhorn(&S, 4, 3, &SinkhornConfig::default()).unwrap();
    let moved = sinkhorn(&shifted, 4, 3, &SinkhornConfig::default()).unwrap();
    assert!(moved.iter().all(|q| q.is_finite()));
    // (1000 + s is rounded to f32's step of 6e-5 near 1000, i.e. ~1e-3 in s / ε.)
    assert_close(&moved, &base.iter().map(|&q| q as f64).collect::<Vec<_>>(), 2e-3, "codes of shifted scores");
}

#[test]
fn sinkhorn_rejects_bad_settings_and_shapes() {
    let ok = SinkhornConfig::default();
    assert!(config_error(sinkhorn(&S, 4, 3, &SinkhornConfig { epsilon: 0.0, iterations: 3 })).contains("epsilon"));
    assert!(config_error(sinkhorn(&S, 4, 3, &SinkhornConfig { epsilon: f32::NAN, iterations: 3 })).contains("epsilon"));
    assert!(config_error(sinkhorn(&S, 4, 3, &SinkhornConfig { epsilon: 0.05, iterations: 0 })).contains("iteration"));
    assert!(config_error(sinkhorn(&S, 3, 3, &ok)).contains("12 scores for a batch of 3"));
    assert!(config_error(sinkhorn(&[], 0, 3, &ok)).contains("non-empty"));
}

// ---------------------------------------------------------------- SwAV's loss

/// `tests/golden/clustering.py`'s projections: 4 views (2 "global", 2 "local") of B = 3
/// images in d = 4, and K = 5 prototypes.
const Z: [[f32; 12]; 4] = [
    [0.5, -1.0, 0.3, 0.2, 1.2, 0.4, -0.7, 0.1, -0.3, 0.9, 0.8, -0.5],
    [0.6, -0.8, 0.1, 0.4, 1.0, 0.7, -0.5, -0.2, -0.5, 1.1, 0.9, -0.1],
    [0.2, -0.9, 0.6, 0.0, 0.9, 0.1, -0.9, 0.3, 0.1, 0.7, 0.5, -0.8],
    [0.7, -0.4, 0.0, 0.5, 1.1, 0.6, -0.2, -0.4, -0.6, 0.8, 1.2, 0.2],
];
const C: [f32; 20] = [
    1.0, 0.0, 0.2, -0.1, 0.0, 1.0, -0.3, 0.2, -0.4, 0.2, 1.0, 0.0, 0.3, -0.6, 0.1, 0.9, -0.5, -0.5, 0.5, 0.5,
];

/// The views `0..n_views`, stacked as one `(n_views · 3, 4)` batch the way a method forwards them.
fn stacked_views(dev: &Cpu, n_views: usize) -> Mat<Cpu> {
    dev.tensor_from_vec(Z[..n_views].iter().flatten().copied().collect(), (n_views * 3, 4))
}

/// A scalar on the tape.
type Loss = Tensor<Rank0, f32, Cpu, OwnedTape<f32, Cpu>>;

/// SwAV's loss as a method computes it: scores of the global views (one tensor) and of the
/// local ones (another), codes by Sinkhorn from the global views' scores, off the tape.
fn swav_on_views(z: &Mat<Cpu>, prototypes: &Mat<Cpu>) -> (Loss, Vec<Mat<Cpu>>) {
    let n_views = z.shape().0 / 3;
    let scores = prototype_scores(z.leaky_trace(), prototypes.leaky_trace());
    let codes: Vec<Mat<Cpu>> = (0..2)
        .map(|v| sinkhorn_codes(&scores.retaped::<NoneTape>().slice((v * 3..(v + 1) * 3, ..)), &SinkhornConfig::default()).unwrap())
        .collect();
    let groups = if n_views == 2 {
        vec![scores]
    } else {
        vec![scores.with_empty_tape().slice((0..6, ..)), scores.slice((6.., ..))]
    };
    (swav_loss(groups, &codes, 0.1), codes)
}

#[test]
fn swav_loss_matches_numpy_for_two_views_and_multi_crop() {
    let dev = Cpu::default();
    let prototypes: Mat<Cpu> = dev.tensor_from_vec(C.to_vec(), (5, 4));
    let (two, codes) = swav_on_views(&stacked_views(&dev, 2), &prototypes);
    assert_close(
        &codes[0].as_vec(),
        &[0.001708292, 0.000000000, 0.000000016, 0.499155070, 0.499136622, 0.650578337, 0.349418645, 0.000000000, 0.000003017, 0.000000000, 0.000000155, 0.317280106, 0.682691353, 0.000000000, 0.000028386],
        1e-5,
        "codes of view 1",
    );
    assert!((two.as_vec()[0] - 1.365178706).abs() < 1e-5, "two views: got {}", two.as_vec()[0]);
    let (four, _) = swav_on_views(&stacked_views(&dev, 4), &prototypes);
    assert!((four.as_vec()[0] - 1.535706301).abs() < 1e-5, "2 global + 2 local views: got {}", four.as_vec()[0]);
}

#[test]
fn swav_loss_is_the_same_with_one_tensor_per_view() {
    let dev = Cpu::default();
    let prototypes: Mat<Cpu> = dev.tensor_from_vec(C.to_vec(), (5, 4));
    let scores = prototype_scores(stacked_views(&dev, 4), prototypes);
    let view = |v: usize| scores.clone().slice((v * 3..(v + 1) * 3, ..));
    let codes: Vec<Mat<Cpu>> = (0..2).map(|v| sinkhorn_codes(&view(v), &SinkhornConfig::default()).unwrap()).collect();
    let per_view = swav_loss((0..4).map(view).collect(), &codes, 0.1).as_vec()[0];
    let per_size = swav_loss(vec![scores.clone().slice((0..6, ..)), scores.clone().slice((6.., ..))], &codes, 0.1).as_vec()[0];
    assert!((per_view - 1.535706301).abs() < 1e-5 && (per_size - per_view).abs() < 1e-6, "{per_view} vs {per_size}");
}

#[test]
fn swav_gradient_reaches_features_and_prototypes_but_not_the_codes() {
    // Central differences from NumPy with the codes held fixed, and (for contrast) with the
    // codes recomputed from the perturbed inputs.
    let dz: [f64; 24] = [
        0.447607314, 0.156509408, -0.296062689, 0.107622786, 0.301948342, -0.425104297, 0.256852834, -0.124993070, -0.072875775, -0.270884803, 0.266443271,
        -0.017557946, 0.413143639, 0.285436569, -0.341977909, 0.036652157, 0.094462735, -0.104399689, 0.054095972, -0.028325165, -0.079126102, -0.286289175,
        0.300462025, -0.049392184,
    ];
    let dc: [f64; 20] = [
        0.094960967, 0.134222707, -0.420957996, 0.107693676, -0.351461166, -0.146872005, -0.316469776, 0.259655361, 0.001534315, 0.423016811, -0.083989636,
        -0.157477020, 0.363987013, -0.472197856, 0.124236890, -0.449931674, -1.056116412, 0.936185287, 0.014107243, -0.134038368,
    ];
    let dz_through_codes: [f64; 24] = [
        0.449166656, 0.157192232, -0.296050592, 0.107120409, 0.382710804, -0.623569396, 0.276448078, -0.163115521, -0.050076907, -0.095314407, 0.132039889,
        0.069744034, 0.639861965, 0.386535905, -0.428090517, -0.079698509, 0.134317952, -0.196677463, 0.026070084, -0.081956569, -0.125278492, -0.273559710,
        0.272282773, 0.067780610,
    ];
    let dev = Cpu::default();
    let (z, prototypes) = (stacked_views(&dev, 2), dev.tensor_from_vec(C.to_vec(), (5, 4)));
    let (loss, _) = swav_on_views(&z, &prototypes);
    let grads = loss.backward();
    let (gz, gc) = (grads.get(&z).as_vec(), grads.get(&prototypes).as_vec());
    assert_close(&gz, &dz, 1e-5, "dL/dz");
    assert_close(&gc, &dc, 1e-5, "dL/dC");
    let gap = gz.iter().zip(dz_through_codes).map(|(g, e)| (*g as f64 - e).abs()).fold(0.0, f64::max);
    assert!(gap > 0.1, "the gradient looks as if it went through the codes (largest gap {gap})");
}

#[test]
fn multi_crop_gradient_matches_numpy() {
    let dz: [f64; 48] = [
        0.149202438, 0.052169802, -0.098687563, 0.035874262, 0.100649447, -0.141701432, 0.085617611, -0.041664357, -0.024291925, -0.090294934, 0.088814424,
        -0.005852649, 0.137714546, 0.095145523, -0.113992636, 0.012217386, 0.031487578, -0.034799896, 0.018031991, -0.009441722, -0.026375368, -0.095429725,
        0.100154009, -0.016464061, -0.090638365, 0.029664327, 0.074709278, -0.073402231, 0.162003949, -0.250669335, 0.126850010, -0.021905372, 0.053564023,
        -0.096583600, 0.082095921, -0.026505196, 0.266899004, 0.236386594, -0.219848079, -0.184549330, 0.195079474, -0.337148771, 0.161714622, -0.050111913,
        -0.023571988, -0.213863770, 0.139768306, -0.053870723,
    ];
    let dc: [f64; 20] = [
        0.087878185, 0.204644291, -0.414716440, 0.049348966, -0.523266720, -0.119339655, -0.231459622, 0.249508840, 0.009068635, 0.238675672, -0.044107681,
        -0.049940981, 0.334657609, -0.049593542, -0.110421100, -0.132345886, -0.723891174, 0.445155206, 0.059921202, -0.338657171,
    ];
    let dev = Cpu::default();
    let (z, prototypes) = (stacked_views(&dev, 4), dev.tensor_from_vec(C.to_vec(), (5, 4)));
    let grads = swav_on_views(&z, &prototypes).0.backward();
    assert_close(&grads.get(&z).as_vec(), &dz, 1e-5, "dL/dz");
    assert_close(&grads.get(&prototypes).as_vec(), &dc, 1e-5, "dL/dC");
}

#[test]
fn swav_loss_stays_finite_for_large_scores() {
    let dev = Cpu::default();
    let scores: Mat<Cpu> = dev.tensor_from_vec(S.iter().chain(S.iter()).map(|s| 50.0 * s).collect(), (8, 3));
    let codes: Vec<Mat<Cpu>> = (0..2).map(|v| sinkhorn_codes(&scores.clone().slice((v * 4..(v + 1) * 4, ..)), &SinkhornConfig::default()).unwrap()).collect();
    let loss = swav_loss(vec![scores.leaky_trace()], &codes, 0.01);
    assert!(loss.as_vec()[0].is_finite(), "{:?}", loss.as_vec());
    let grads = loss.backward();
    assert!(grads.get(&scores).as_vec().iter().all(|g| g.is_finite()));
}

#[test]
#[should_panic(expected = "needs two views or more")]
fn swav_loss_needs_two_views() {
    let dev = Cpu::default();
    let scores: Mat<Cpu> = dev.tensor_from_vec(S.to_vec(), (4, 3));
    let codes = vec![sinkhorn_codes(&scores, &SinkhornConfig::default()).unwrap()];
    let _ = swav_loss(vec![scores], &codes, 0.1);
}
