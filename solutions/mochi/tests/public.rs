//! Public tests of the `mochi` exercise: run them with `cargo test` in this folder.

use mochi::{hardest_negatives, mix};

mod check;

#[test]
fn the_hardest_negatives_are_the_most_similar_keys() {
    // q = (1, 0); keys at cosines 0, 0.8, −1, 0.6 with q: the two hardest are 1 then 3.
    let queue = [0.0, 1.0, 0.8, 0.6, -1.0, 0.0, 0.6, 0.8];
    assert_eq!(hardest_negatives(&[1.0, 0.0], &queue, 2, 2), vec![1, 3], "the 2 keys with the largest q·n, hardest first");
}

#[test]
fn mixing_two_unit_vectors_stays_on_the_sphere() {
    let h = mix(&[1.0, 0.0], &[0.0, 1.0], 0.5);
    let s = 0.5f32.sqrt();
    check::all_close("mix((1, 0), (0, 1), α = 0.5) = normalize(0.5, 0.5)", &h, &[s, s], 0, 1e-6);
}
