//! Hidden tests of the `vit_attention` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part4.py attention` (NumPy,
//! float64, written from `softmax(Q·Kᵀ/√d)·V` and the ViT's `[Q | K | V]` layout).

#![allow(clippy::excessive_precision)]

use vit_attention::*;

mod check;

/// n = 4 tokens, d = 3: the inputs of `tests/golden/exercises_part4.py`.
const Q: [f32; 12] = [0.9, -0.4, 0.3, 0.1, 0.8, -0.5, -0.7, 0.2, 0.6, 0.4, 0.4, -0.9];
const K: [f32; 12] = [0.5, 0.2, -0.8, -0.3, 0.9, 0.1, 0.6, -0.6, 0.4, 0.0, 0.3, 0.7];
const V: [f32; 12] = [1.0, -0.5, 0.2, 0.3, 0.8, -1.1, -0.6, 0.4, 0.9, 0.2, -0.9, 0.5];

/// n = 3 tokens, 2 heads of d = 2 (d_model = 4): rows `[q (4) | k (4) | v (4)]`.
const QKV: [f32; 36] = [
    0.6, -0.2, 0.9, 0.1, 0.3, 0.8, -0.5, 0.2, 1.0, -0.4, 0.5, 0.7, //
    -0.3, 0.7, 0.2, -0.8, 0.9, -0.1, 0.4, 0.6, -0.2, 0.3, -0.9, 0.1, //
    0.5, 0.4, -0.6, 0.3, -0.7, 0.2, 0.8, -0.3, 0.6, 0.9, 0.0, -0.5,
];

/// `m` (rows of `d` values) with one more column: `extra[r]` at the end of row `r`.
fn widen(m: &[f32], d: usize, extra: &[f32]) -> Vec<f32> {
    m.chunks(d).zip(extra).flat_map(|(row, &x)| row.iter().copied().chain(std::iter::once(x))).collect()
}

// points: 3
#[test]
fn one_head_matches_numpy() {
    let (out, a) = scaled_dot_product_attention(&Q, &K, &V, 4, 3);
    let numpy_a = [
        0.238489405, 0.156469201, 0.371996555, 0.233044839, //
        0.315563959, 0.321077296, 0.155123341, 0.208235404, //
        0.154922621, 0.316980453, 0.205578387, 0.322518538, //
        0.402188355, 0.246207037, 0.183410013, 0.168194596,
    ];
    check::all_close("A = softmax_rows(Q·Kᵀ/√3), n = 4", &a, &numpy_a, 4, 1e-5);
    let numpy_out = [
        0.108841200, -0.055011075, 0.326901079, 0.360460223, -0.026282670, -0.046343524, //
        0.191173433, -0.031912278, 0.028585844, 0.399643377, -0.082139679, 0.058776241,
    ];
    check::all_close("out = A·V, n = 4, d = 3", &out, &numpy_out, 3, 1e-5);
}

// points: 2
#[test]
fn large_scores_do_not_overflow() {
    // A fourth feature of 40 in every query and key adds 40 · 40 / √4 = 800 to every score:
    // exp(800) is infinite, the softmax of the scores is not.
    let (q, k) = (widen(&Q, 3, &[40.0; 4]), widen(&K, 3, &[40.0; 4]));
    let v = widen(&V, 3, &[0.5, -0.2, 0.1, 0.7]);
    let (out, a) = scaled_dot_product_attention(&q, &k, &v, 4, 4);
    let numpy_a = [
        0.241312180, 0.167518107, 0.354635835, 0.236533878, //
        0.307367889, 0.312013160, 0.166175651, 0.214443300, //
        0.166014465, 0.308608945, 0.212103619, 0.313272971, //
        0.380170693, 0.248544112, 0.192600933, 0.178684261,
    ];
    check::all_close("A for scores near 800", &a, &numpy_a, 4, 1e-3);
    let numpy_out = [
        0.126092886, -0.057667761, 0.301431709, 0.288189767, 0.344155107, -0.030602126, -0.024961163, 0.258009188, //
        0.193989571, -0.033224304, 0.041262797, 0.261786886, 0.374910219, -0.075025518, 0.065318585, 0.284715600,
    ];
    check::all_close("out for scores near 800", &out, &numpy_out, 4, 1e-3);
}

// points: 3
#[test]
fn two_heads_match_numpy() {
    let (out, a) = multi_head_attention(&QKV, 3, 2, 4);
    let numpy_a = [
        0.314746132, 0.461094978, 0.224158890, 0.402800883, 0.227167098, 0.370032019, 0.391995891, 0.375712773, 0.232291335, // head 0
        0.198738622, 0.362502462, 0.438758916, 0.285677147, 0.258751300, 0.455571553, 0.442254065, 0.328619214, 0.229126721, // head 1
    ];
    check::all_close("the weights of heads 0 and 1 (2 × 3 × 3)", &a, &numpy_a, 3, 1e-5);
    let numpy_out = [
        0.357022471, 0.214173041, -0.226882905, -0.044012177, //
        0.579386675, 0.240058593, -0.090037596, -0.001936644, //
        0.456228138, 0.164977677, -0.074630260, 0.227876406,
    ];
    check::all_close("out = [A_0 V_0 | A_1 V_1] (3 × 4)", &out, &numpy_out, 4, 1e-5);
}

// points: 1
#[test]
fn a_single_token_attends_only_to_itself() {
    let (out, a) = scaled_dot_product_attention(&[0.3, -2.0], &[5.0, 1.0], &[0.7, -0.4], 1, 2);
    check::all_close("A for n = 1", &a, &[1.0], 1, 1e-6);
    check::all_close("out for n = 1 (its own value)", &out, &[0.7, -0.4], 2, 1e-6);
}

// points: 1
#[test]
fn one_head_is_the_single_head_function_on_the_three_blocks() {
    // n = 6 tokens, d_model = 5: Q is columns 0..5 of every row, K 5..10, V 10..15.
    let qkv = check::pseudo_random(6 * 15, 11);
    let block = |b: usize| -> Vec<f32> { qkv.chunks(15).flat_map(|row| row[5 * b..5 * b + 5].iter().copied()).collect() };
    let (out, a) = multi_head_attention(&qkv, 6, 1, 5);
    let (want_out, want_a) = scaled_dot_product_attention(&block(0), &block(1), &block(2), 6, 5);
    check::all_close("one head: the weights", &a, &want_a, 6, 1e-6);
    check::all_close("one head: the output", &out, &want_out, 5, 1e-6);
}
