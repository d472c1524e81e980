//! Public tests of the `kmeans` exercise: run them with `cargo test` in this folder.

use kmeans::*;

mod check;

#[test]
fn the_nearest_of_two_centroids_by_hand() {
    // Point (1, 0); centroids (0, 0) and (3, 0): squared distances 1 and 4.
    let (j, dist) = nearest_centroid(&[1.0, 0.0], &[0.0, 0.0, 3.0, 0.0], 2);
    assert_eq!(j, 0, "nearest centroid of (1, 0) among (0, 0) and (3, 0)");
    check::close("squared distance from (1, 0) to (0, 0)", dist, 1.0, 1e-6);
    let (j, dist) = nearest_centroid(&[2.5, 1.0], &[0.0, 0.0, 3.0, 0.0], 2);
    assert_eq!(j, 1, "nearest centroid of (2.5, 1) among (0, 0) and (3, 0)");
    check::close("squared distance from (2.5, 1) to (3, 0)", dist, 1.25, 1e-6);
}

#[test]
fn the_update_moves_each_centroid_to_the_mean_of_its_points() {
    // 1-D points 0, 2, 10, 14 in clusters 0, 0, 1, 1: means 1 and 12.
    let x = [0.0, 2.0, 10.0, 14.0];
    let mut centroids = [5.0, 6.0];
    update_centroids(&x, 1, &[0, 0, 1, 1], &mut centroids);
    check::all_close("centroids after one update", &centroids, &[1.0, 12.0], 1, 1e-6);
}
