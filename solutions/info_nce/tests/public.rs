//! Public tests of the `info_nce` exercise: run them with `cargo test` in this folder.

use dfdx::prelude::*;
use info_nce::*;

mod check;

fn mat(dev: &Cpu, rows: usize, cols: usize, values: &[f32]) -> Tensor<(usize, usize), f32, Cpu> {
    dev.tensor_from_vec(values.to_vec(), (rows, cols))
}

#[test]
fn l2_normalize_puts_every_row_on_the_unit_sphere() {
    let dev = Cpu::default();
    let z = mat(&dev, 2, 2, &[3.0, 4.0, 0.0, 2.0]);
    check::all_close("l2_normalize([[3, 4], [0, 2]])", &l2_normalize(z).as_vec(), &[0.6, 0.8, 0.0, 1.0], 2, 1e-5);
}

#[test]
fn dot_matrix_holds_every_pair_of_dot_products() {
    let dev = Cpu::default();
    let a = mat(&dev, 2, 2, &[1.0, 0.0, 1.0, 2.0]);
    let b = mat(&dev, 3, 2, &[1.0, 1.0, 0.0, 1.0, 2.0, 0.0]);
    let got = dot_matrix(a, b);
    assert_eq!(got.shape(), &(2, 3), "dot_matrix of a (2, D) and a (3, D) batch must be (2, 3)");
    check::all_close("dot_matrix: entry [i, j] = a_i · b_j", &got.as_vec(), &[1.0, 0.0, 2.0, 3.0, 2.0, 2.0], 3, 1e-5);
}

#[test]
fn contrastive_logits_put_the_positive_in_column_0_and_divide_by_tau() {
    let dev = Cpu::default();
    let q = mat(&dev, 1, 2, &[1.0, 0.0]);
    let k_pos = mat(&dev, 1, 2, &[0.6, 0.8]);
    let negatives = mat(&dev, 2, 2, &[0.0, 1.0, -1.0, 0.0]);
    // [q·k⁺, q·k⁻₁, q·k⁻₂] / τ = [0.6, 0, −1] / 0.5
    let got = contrastive_logits(q, k_pos, negatives, 0.5).as_vec();
    check::all_close("logits [q·k⁺ | q·k⁻] / τ with τ = 0.5", &got, &[1.2, 0.0, -2.0], 3, 1e-5);
}

#[test]
fn info_nce_from_logits_is_the_cross_entropy_with_the_positive_first() {
    let dev = Cpu::default();
    // Row 0: −log(e² / (e² + e⁰ + e⁻¹)); row 1: −log(e⁰ / (e⁰ + e¹ + e¹)).
    let logits = mat(&dev, 2, 3, &[2.0, 0.0, -1.0, 0.0, 1.0, 1.0]);
    let row0 = check::logsumexp(&[2.0, 0.0, -1.0]) - 2.0;
    let row1 = check::logsumexp(&[0.0, 1.0, 1.0]);
    let got = info_nce_from_logits(logits).array();
    check::close("mean over rows of logsumexp(row) − row[0]", got, ((row0 + row1) / 2.0) as f32, 1e-5);
}
