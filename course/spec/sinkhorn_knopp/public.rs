//! Public tests of the `sinkhorn_knopp` exercise: run them with `cargo test` in this folder.

use sinkhorn_knopp::*;

mod check;

#[test]
fn a_two_by_two_case_by_hand() {
    // Scores [[1, 0], [0, 1]], ε = 1, one iteration. exp gives [[e, 1], [1, e]]; both columns
    // total e + 1, so the first step divides everything by 2(e + 1); then both rows total 1/2,
    // already 1/B, and B · Q = [[e, 1], [1, e]] / (e + 1).
    let cfg = SinkhornConfig { epsilon: 1.0, iterations: 1 };
    let codes = sinkhorn(&[1.0, 0.0, 0.0, 1.0], 2, 2, &cfg).unwrap();
    let e = std::f32::consts::E;
    let (hi, lo) = (e / (e + 1.0), 1.0 / (e + 1.0));
    check::all_close("codes of [[1, 0], [0, 1]] with ε = 1", &codes, &[hi, lo, lo, hi], 2, 1e-5);
}

#[test]
fn every_code_sums_to_one() {
    let scores = [0.9, 0.1, -0.3, 0.8, 0.2, 0.0, 0.7, -0.6, 0.3, -0.2, 0.4, 0.5];
    let codes = sinkhorn(&scores, 4, 3, &SinkhornConfig { epsilon: 0.05, iterations: 3 }).unwrap();
    assert_eq!(codes.len(), 12, "one code per score");
    for (b, row) in codes.chunks(3).enumerate() {
        check::close(&format!("sum of the code of image {b}"), row.iter().sum(), 1.0, 1e-5);
    }
}
