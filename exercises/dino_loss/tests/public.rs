//! Public tests of the `dino_loss` exercise: run them with `cargo test` in this folder.

use dfdx::prelude::*;
use dino_loss::*;

mod check;

#[test]
fn targets_are_centred_then_sharpened_by_hand() {
    // c = (0.2, 0), τ_t = 0.1.
    // Row 1: t = (1, 1), t − c = (0.8, 1), logits (8, 10): P_t = (1 / (1 + e²), e² / (1 + e²)).
    // Row 2: t = (0.3, 0.1), t − c = (0.1, 0.1): equal logits, P_t = (½, ½). (Without the
    // centring, the logits (3, 1) would not be equal.)
    let p = teacher_targets(&[1.0, 1.0, 0.3, 0.1], &[0.2, 0.0], 0.1);
    let e2 = (2.0f32).exp();
    check::all_close("P_t = softmax((t − c) / τ_t), τ_t = 0.1", &p, &[1.0 / (1.0 + e2), e2 / (1.0 + e2), 0.5, 0.5], 2, 1e-6);
}

#[test]
fn flat_student_outputs_cost_ln_k_whatever_the_teacher() {
    // b = 1 image, K = 2. The student's outputs are equal: P_s = (½, ½) for both crops, and
    // H(P_t, P_s) = − Σ_k P_t,k log ½ = ln 2 for any target (it sums to 1): L = ln 2.
    let dev = Cpu::default();
    let student = dev.tensor_from_vec(vec![0.0f32; 4], (2, 2));
    let loss = dino_loss(vec![student.leaky_trace()], &[0.9, -0.4, 0.2, 0.7], 1, &[0.1, 0.0], 0.1, 0.04);
    check::close("DINO loss of flat student outputs (2 global crops)", loss.array(), std::f32::consts::LN_2, 1e-6);
}
