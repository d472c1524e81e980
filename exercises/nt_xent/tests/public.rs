//! Public tests of the `nt_xent` exercise: run them with `cargo test` in this folder.

use dfdx::prelude::*;
use nt_xent::*;

mod check;

#[test]
fn two_views_of_one_image_give_zero_loss() {
    // With N = 1 each row's only other entry is its positive: −log(e^s / e^s) = 0, provided
    // the similarity of each view with itself is masked out.
    let dev = Cpu::default();
    let z = dev.tensor_from_vec(vec![1.0, 0.0, 0.0, 1.0], (2, 2));
    check::close("NT-Xent of [z₁; z₂] with N = 1 (is k = i masked?)", nt_xent(z, 0.5).array(), 0.0, 1e-5);
}

#[test]
fn nt_xent_on_a_small_batch() {
    let dev = Cpu::default();
    // N = 2 images, 2 views each, already unit vectors: rows 0, 1 are view 1, rows 2, 3 view 2.
    let z = dev.tensor_from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 0.8, -0.6], (4, 2));
    let tau = 0.5;
    // Row 0: positive is row 2 (cos 0.6); the others are rows 1 (0) and 3 (0.8).
    let row = |pos: f64, others: [f64; 2]| check::logsumexp(&[pos / tau, others[0] / tau, others[1] / tau]) - pos / tau;
    let want = (row(0.6, [0.0, 0.8]) + row(-0.6, [0.0, 0.8]) + row(0.6, [0.8, 0.0]) + row(-0.6, [0.0, 0.8])) / 4.0;
    check::close("NT-Xent on 2 images × 2 views, τ = 0.5", nt_xent(z, tau as f32).array(), want as f32, 1e-5);
}
