//! Public tests of the `distillation_loss` exercise: run them with `cargo test` in this folder.

use dfdx::prelude::*;
use distillation_loss::*;

mod check;

#[test]
fn labels_alone_give_the_cross_entropy() {
    // α = 0: only CE(y, s). Row 0: softmax([0, 0, ln 2]) = [1/4, 1/4, 1/2], label 2 → ln 2;
    // row 1: the same logits, label 0 → ln 4. Mean: (ln 2 + ln 4)/2 = 1.5 ln 2.
    let dev = Cpu::default();
    let ln2 = std::f32::consts::LN_2;
    let s = dev.tensor_from_vec(vec![0.0, 0.0, ln2, 0.0, 0.0, ln2], (2, 3));
    let t = dev.tensor_from_vec(vec![5.0, -1.0, 2.0, 0.0, 3.0, 1.0], (2, 3));
    let got = distillation_loss(s.leaky_trace(), t, &[2, 0], Distillation { temperature: 3.0, alpha: 0.0 }).array();
    check::close("loss with α = 0 (cross-entropy with the labels only)", got, 1.5 * ln2, 1e-5);
}

#[test]
fn soft_targets_alone_at_temperature_one() {
    // α = 1, T = 1: only KL(p_t ‖ p_s). Teacher logits [ln 3, 0] → p_t = [3/4, 1/4]; student
    // [0, 0] → p_s = [1/2, 1/2]. KL = 3/4 ln(3/2) + 1/4 ln(1/2).
    let dev = Cpu::default();
    let s = dev.tensor_from_vec(vec![0.0, 0.0], (1, 2));
    let t = dev.tensor_from_vec(vec![3.0f32.ln(), 0.0], (1, 2));
    let want = 0.75 * 1.5f64.ln() + 0.25 * 0.5f64.ln();
    let got = distillation_loss(s.leaky_trace(), t, &[0], Distillation { temperature: 1.0, alpha: 1.0 }).array();
    check::close("KL(p_teacher ‖ p_student) with α = 1, T = 1", got, want as f32, 1e-5);
}
