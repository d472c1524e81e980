//! Hidden tests of the `sinkhorn_knopp` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part3.py sinkhorn` (NumPy, float64,
//! plain exponentials, written from the algorithm) or worked out by hand in the comments.

#![allow(clippy::excessive_precision)]

use sinkhorn_knopp::*;

mod check;

/// 3 images, 4 prototypes (B ≠ K): the scores of `tests/golden/exercises_part3.py`.
const S: [f32; 12] = [0.9, 0.1, -0.3, 0.4, 0.8, 0.2, 0.0, -0.5, 0.7, -0.6, 0.3, 0.1];

fn codes(epsilon: f32, iterations: usize) -> Vec<f32> {
    sinkhorn(&S, 3, 4, &SinkhornConfig { epsilon, iterations }).unwrap()
}

fn prototype_totals(codes: &[f32], k: usize) -> Vec<f32> {
    (0..k).map(|j| codes.iter().skip(j).step_by(k).sum()).collect()
}

// points: 3
#[test]
fn swav_setting_matches_numpy() {
    // ε = 0.05, 3 iterations (SwAV's): sharp codes.
    let numpy = [
        0.393699478, 0.024092597, 0.000001040, 0.582206885, 0.229936437, 0.768253423, 0.001810102, 0.000000038, 0.040540341, 0.000000113,
        0.951345996, 0.008113550,
    ];
    check::all_close("codes with ε = 0.05 after 3 iterations", &codes(0.05, 3), &numpy, 4, 1e-4);
}

// points: 2
#[test]
fn one_and_three_iterations_match_numpy() {
    let one = [
        0.258674680, 0.260881075, 0.104824114, 0.375620131, 0.270300222, 0.406680031, 0.243775058, 0.079244690, 0.218960416, 0.081238105,
        0.439485005, 0.260316474,
    ];
    check::all_close("codes with ε = 0.5 after 1 iteration", &codes(0.5, 1), &one, 4, 1e-4);
    let three = [
        0.255457061, 0.257415212, 0.097780812, 0.389346916, 0.273012176, 0.410408272, 0.232569805, 0.084009746, 0.221513131, 0.082114772,
        0.419958498, 0.276413600,
    ];
    check::all_close("codes with ε = 0.5 after 3 iterations", &codes(0.5, 3), &three, 4, 1e-4);
}

// points: 2
#[test]
fn converged_codes_share_the_batch_equally() {
    // After 20 iterations each prototype receives B / K = 3 / 4 of the batch.
    let c = codes(1.0, 20);
    let numpy = [
        0.251461931, 0.263789194, 0.161368976, 0.323379898, 0.262023316, 0.335724927, 0.250845046, 0.151406711, 0.236514753, 0.150485879,
        0.337785978, 0.275213390,
    ];
    check::all_close("codes with ε = 1 after 20 iterations", &c, &numpy, 4, 1e-4);
    check::all_close("each prototype's total after 20 iterations (B / K)", &prototype_totals(&c, 4), &[0.75; 4], 1, 1e-4);
    // After 3 iterations with ε = 0.05 the totals are not equal yet (NumPy: 0.664, 0.792, 0.953, 0.590).
    check::all_close("each prototype's total with ε = 0.05, 3 iterations", &prototype_totals(&codes(0.05, 3), 4), &[0.664176256, 0.792346133, 0.953157137, 0.590320473], 1, 1e-4);
}

// points: 1
#[test]
fn every_code_is_a_distribution() {
    for (epsilon, iterations) in [(0.05, 1), (0.05, 3), (0.3, 2), (2.0, 5)] {
        let c = codes(epsilon, iterations);
        assert!(c.iter().all(|&q| q >= 0.0), "ε = {epsilon}, {iterations} iterations: a negative code in {c:?}");
        for (b, row) in c.chunks(4).enumerate() {
            check::close(&format!("ε = {epsilon}, {iterations} iterations: sum of image {b}'s code"), row.iter().sum(), 1.0, 1e-5);
        }
    }
}

// points: 2
#[test]
fn a_tiny_epsilon_does_not_overflow() {
    // scores / ε reach 1000: exp(1000) is infinite even in f64, so this needs log space.
    let scores = [1.0, 0.2, -0.5, 0.1, 0.9, 0.3, -0.7, 0.4, 0.95, 0.6, -1.0, 0.0];
    let c = sinkhorn(&scores, 4, 3, &SinkhornConfig { epsilon: 0.001, iterations: 3 }).unwrap();
    assert!(c.iter().all(|q| q.is_finite()), "codes with ε = 0.001 must be finite, got {c:?}");
    for (b, row) in c.chunks(3).enumerate() {
        check::close(&format!("sum of image {b}'s code with ε = 0.001"), row.iter().sum(), 1.0, 1e-4);
    }
}

// points: 1
#[test]
fn equal_scores_give_uniform_codes() {
    // Every score equal: nothing tells the prototypes apart, every code is 1/K.
    let c = sinkhorn(&[0.3; 10], 2, 5, &SinkhornConfig { epsilon: 0.05, iterations: 3 }).unwrap();
    check::all_close("codes of equal scores", &c, &[0.2; 10], 5, 1e-5);
}
