//! Public tests of the `vit_attention` exercise: run them with `cargo test` in this folder.

use vit_attention::*;

mod check;

#[test]
fn two_tokens_by_hand() {
    // n = 2 tokens, d = 4 (√d = 2). q_0 = (2 ln 3, 0, 0, 0), q_1 = 0; k_0 = (1, 0, 0, 0), k_1 = 0.
    // Scores: S_00 = 2 ln 3 / 2 = ln 3, S_01 = 0, S_1j = 0. Softmax of (ln 3, 0) is (3/4, 1/4);
    // of (0, 0) it is (1/2, 1/2). With v_0 = (4, 0, 0, 0) and v_1 = (0, 8, 0, 0):
    // out_0 = 3/4 v_0 + 1/4 v_1 = (3, 2, 0, 0), out_1 = (2, 4, 0, 0).
    let l3 = 2.0 * 3f32.ln();
    let q = [l3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let k = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let v = [4.0, 0.0, 0.0, 0.0, 0.0, 8.0, 0.0, 0.0];
    let (out, a) = scaled_dot_product_attention(&q, &k, &v, 2, 4);
    check::all_close("A = softmax_rows(Q·Kᵀ/√d)", &a, &[0.75, 0.25, 0.5, 0.5], 2, 1e-6);
    check::all_close("out = A·V", &out, &[3.0, 2.0, 0.0, 0.0, 2.0, 4.0, 0.0, 0.0], 4, 1e-6);
}

#[test]
fn two_heads_give_the_right_shapes_and_rows_that_sum_to_one() {
    // n = 5 tokens, 2 heads, d_model = 6 (d = 3).
    let qkv = check::pseudo_random(5 * 3 * 6, 7);
    let (out, a) = multi_head_attention(&qkv, 5, 2, 6);
    assert_eq!(out.len(), 5 * 6, "out is n × d_model");
    assert_eq!(a.len(), 2 * 5 * 5, "the weights are heads × n × n");
    let sums: Vec<f32> = a.chunks(5).map(|row| row.iter().sum()).collect();
    check::all_close("the sum of every row of every head's weights", &sums, &[1.0; 10], 1, 1e-5);
}
