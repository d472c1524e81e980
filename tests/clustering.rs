//! Part 3's building blocks: k-means and NMI (DeepCluster). Values are checked against
//! `tests/golden/clustering.py` (NumPy, float64, written from the papers' formulas, not from
//! this code); the random parts (k-means++, the split of empty clusters) by their properties.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use selfsup::eval::{kmeans, kmeans_from, kmeans_plus_plus, nmi, EmptyClusters, KMeansConfig};
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
