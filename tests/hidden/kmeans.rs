//! Hidden tests of the `kmeans` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part3.py kmeans` (NumPy, float64,
//! written from the formulas) or worked out by hand in the comments.

#![allow(clippy::excessive_precision)]

use kmeans::*;

mod check;

/// 7 points in 3 dimensions and 4 centroids: the inputs of `tests/golden/exercises_part3.py`.
/// Centroid 3 is far from every point, so its cluster stays empty.
const X: [f32; 21] = [0.2, 1.1, -0.4, 0.5, 0.9, -0.1, -1.2, 0.3, 0.8, -0.9, -0.2, 1.1, 2.1, -1.4, 0.3, 1.7, -0.8, 0.6, 0.1, 0.4, 0.2];
const C: [f32; 12] = [0.3, 1.0, -0.3, -0.5, 0.3, 0.5, 2.0, -1.0, 0.5, 9.0, 9.0, 9.0];
const D: usize = 3;

fn assign_all(x: &[f32], centroids: &[f32], d: usize) -> (Vec<usize>, Vec<f32>) {
    x.chunks(d).map(|p| nearest_centroid(p, centroids, d)).unzip()
}

// points: 3
#[test]
fn assignments_and_distances_match_numpy() {
    let (a, dist) = assign_all(&X, &C, D);
    assert_eq!(a, vec![0, 0, 1, 1, 2, 2, 1], "nearest centroid of each of the 7 points");
    let numpy = [0.030000000, 0.090000000, 0.580000000, 0.770000000, 0.210000000, 0.140000000, 0.460000000];
    check::all_close("squared distance of each point to its centroid", &dist, &numpy, 1, 1e-5);
}

// points: 2
#[test]
fn a_tie_goes_to_the_smaller_index() {
    // (1, 0) is at squared distance 1 from (0, 0), (2, 0) and (1, 1): centroid 0 wins.
    let (j, dist) = nearest_centroid(&[1.0, 0.0], &[0.0, 0.0, 2.0, 0.0, 1.0, 1.0], 2);
    assert_eq!(j, 0, "(1, 0) is as near to centroids 0, 1 and 2: the smaller index wins");
    check::close("squared distance", dist, 1.0, 1e-6);
    // Behind a farther centroid 0, the tie between 1 and 2 goes to 1.
    let (j, _) = nearest_centroid(&[1.0, 0.0], &[5.0, 5.0, 2.0, 0.0, 0.0, 0.0], 2);
    assert_eq!(j, 1, "(1, 0) is as near to centroids 1 and 2 (farther from 0): the smaller index wins");
}

// points: 3
#[test]
fn the_update_matches_numpy() {
    let (a, _) = assign_all(&X, &C, D);
    let mut centroids = C;
    update_centroids(&X, D, &a, &mut centroids);
    let numpy = [
        0.350000000, 1.000000000, -0.250000000, -0.666666667, 0.166666667, 0.700000000, 1.900000000, -1.100000000, 0.450000000, 9.0, 9.0, 9.0,
    ];
    check::all_close("centroids after one update", &centroids, &numpy, D, 1e-5);
}

// points: 2
#[test]
fn an_empty_cluster_keeps_its_centroid() {
    // Nothing is assigned to centroid 1: it must stay (7, −7), not become 0/0 = NaN or 0.
    let x = [0.0, 0.0, 1.0, 1.0, 4.0, 4.0];
    let mut centroids = [0.5, 0.5, 7.0, -7.0, 4.0, 4.0];
    update_centroids(&x, 2, &[0, 0, 2], &mut centroids);
    check::all_close("centroids after an update where cluster 1 is empty", &centroids, &[0.5, 0.5, 7.0, -7.0, 4.0, 4.0], 2, 1e-6);
}

// points: 2
#[test]
fn two_lloyd_iterations_match_numpy() {
    // After the first update point 6 moves from cluster 1 to cluster 0, and the inertia falls.
    let (a0, d0) = assign_all(&X, &C, D);
    let mut centroids = C;
    update_centroids(&X, D, &a0, &mut centroids);
    let (a1, d1) = assign_all(&X, &centroids, D);
    assert_eq!(a1, vec![0, 0, 1, 1, 2, 2, 0], "assignments after the first update");
    let (j0, j1): (f32, f32) = (d0.iter().sum(), d1.iter().sum());
    check::close("inertia after the first update", j1, 1.701111111, 1e-5);
    assert!(j1 < j0, "the inertia must fall: {j0} then {j1}");
    update_centroids(&X, D, &a1, &mut centroids);
    let numpy = [
        0.266666667, 0.800000000, -0.100000000, -1.050000000, 0.050000000, 0.950000000, 1.900000000, -1.100000000, 0.450000000, 9.0, 9.0, 9.0,
    ];
    check::all_close("centroids after two updates", &centroids, &numpy, D, 1e-5);
}

// points: 1
#[test]
fn a_large_cluster_gets_its_mean() {
    // 1000 points 0.001, 0.002, …, 1.0 in one cluster and 1 point (−5) in another: means 0.5005 and −5.
    let mut x: Vec<f32> = (1..=1000).map(|i| i as f32 / 1000.0).collect();
    x.push(-5.0);
    let mut a = vec![1usize; 1000];
    a.push(0);
    let mut centroids = [0.0, 0.0];
    update_centroids(&x, 1, &a, &mut centroids);
    check::all_close("centroids of a 1-point and a 1000-point cluster", &centroids, &[-5.0, 0.5005], 1, 1e-6);
}

// points: 1
#[test]
fn one_centroid_takes_every_point() {
    for p in X.chunks(D) {
        let (j, dist) = nearest_centroid(p, &[0.0, 0.0, 0.0], D);
        assert_eq!(j, 0, "with a single centroid every point is in cluster 0");
        check::close("squared distance to the origin", dist, p.iter().map(|v| v * v).sum(), 1e-6);
    }
}
