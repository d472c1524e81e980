//! Public tests of the `swav_loss` exercise: run them with `cargo test` in this folder.

use dfdx::prelude::*;
use swav_loss::*;

mod check;

#[test]
fn two_views_with_flat_scores_by_hand() {
    // One image, K = 2. Equal scores: each prediction is (½, ½), and ℓ(q, p) = −log ½ = ln 2
    // whatever the code. Both swapped terms are ln 2, so L = ln 2.
    let dev = Cpu::default();
    let s1 = dev.tensor_from_vec(vec![0.0f32, 0.0], (1, 2));
    let s2 = dev.tensor_from_vec(vec![0.0f32, 0.0], (1, 2));
    let q1 = dev.tensor_from_vec(vec![1.0f32, 0.0], (1, 2));
    let q2 = dev.tensor_from_vec(vec![0.0f32, 1.0], (1, 2));
    let loss = swav_loss(vec![s1.leaky_trace(), s2.leaky_trace()], &[q1, q2], 1.0);
    check::close("SwAV loss of flat scores", loss.array(), std::f32::consts::LN_2, 1e-6);
}

#[test]
fn targets_leave_out_each_views_own_code() {
    // Two codes (B = 1, K = 2) and three views: view 0's target is q1, view 1's is q0, view 2
    // (no code of its own) gets q0 + q1.
    let codes = vec![vec![0.7f32, 0.3], vec![0.1, 0.9]];
    check::all_close("targets of views 0, 1, 2", &swapped_targets(&codes, 0, 3), &[0.1, 0.9, 0.7, 0.3, 0.8, 1.2], 2, 1e-6);
}
