//! Hidden tests of the `dino_loss` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part4.py dino` (NumPy, float64,
//! written from the paper's Algorithm 1 as a double loop over (teacher crop, student crop)
//! pairs; the gradient by central differences).

#![allow(clippy::excessive_precision)]

use dfdx::prelude::*;
use dino_loss::*;

mod check;

/// b = 2 images, K = 3 outputs: the student's outputs for two global crops (S1, S2) and two
/// local ones (S3, S4), the teacher's for the global crops (T1, T2) and the centre, as in
/// `tests/golden/exercises_part4.py`.
const S1: [f32; 6] = [0.5, -0.3, 0.2, 0.1, 0.4, -0.6];
const S2: [f32; 6] = [-0.2, 0.6, 0.3, 0.7, -0.1, 0.0];
const S3: [f32; 6] = [0.3, 0.3, -0.5, -0.4, 0.2, 0.8];
const S4: [f32; 6] = [0.9, -0.7, 0.1, 0.0, -0.3, 0.4];
const T1: [f32; 6] = [0.6, 0.1, -0.2, -0.3, 0.5, 0.2];
const T2: [f32; 6] = [0.2, 0.4, 0.0, 0.3, -0.2, 0.6];
const C: [f32; 3] = [0.1, -0.05, 0.15];

fn teacher() -> Vec<f32> {
    [T1, T2].concat()
}

/// The loss of the crops grouped into tensors as `groups` says (each group one tensor).
fn loss_of(groups: &[&[&[f32]]], tau_s: f32, tau_t: f32) -> f32 {
    let dev = Cpu::default();
    let student: Vec<_> = groups
        .iter()
        .map(|group| {
            let flat: Vec<f32> = group.iter().flat_map(|crop| crop.iter().copied()).collect();
            dev.tensor_from_vec(flat, (2 * group.len(), 3)).leaky_trace()
        })
        .collect();
    dino_loss(student, &teacher(), 2, &C, tau_s, tau_t).array()
}

// points: 2
#[test]
fn teacher_targets_match_numpy_at_two_temperatures() {
    let at_004 = [
        0.999841563, 0.000158436, 0.000000001, 0.000000000, 0.999996273, 0.000003727, //
        0.000158436, 0.999841258, 0.000000306, 0.001926734, 0.000000305, 0.998072961,
    ];
    check::all_close("P_t = softmax((t − c) / τ_t), τ_t = 0.04", &teacher_targets(&teacher(), &C, 0.04), &at_004, 3, 1e-5);
    let at_007 = [
        0.993301894, 0.006692816, 0.000005291, 0.000001275, 0.999208860, 0.000789865, //
        0.006691592, 0.993120270, 0.000188139, 0.027341749, 0.000184227, 0.972474024,
    ];
    check::all_close("P_t = softmax((t − c) / τ_t), τ_t = 0.07", &teacher_targets(&teacher(), &C, 0.07), &at_007, 3, 1e-5);
}

// points: 1
#[test]
fn large_teacher_outputs_give_finite_targets() {
    // Logits near 25 000: exp overflows unless each row's maximum is subtracted first.
    let p = teacher_targets(&[1000.0, 1000.5, 999.0], &[0.0, 0.3, -0.4], 0.04);
    check::all_close("P_t of outputs near 1000, τ_t = 0.04", &p, &[0.006692851, 0.993307147, 0.000000002], 3, 1e-4);
}

// points: 3
#[test]
fn two_global_crops_match_numpy() {
    check::close("two global crops in one (2b, K) tensor, τ_s = 0.1, τ_t = 0.04", loss_of(&[&[&S1, &S2]], 0.1, 0.04), 8.532915110, 1e-5);
    check::close("two global crops in two tensors, τ_s = 0.1, τ_t = 0.04", loss_of(&[&[&S1], &[&S2]], 0.1, 0.04), 8.532915110, 1e-5);
}

// points: 3
#[test]
fn multi_crop_matches_numpy() {
    // [global (2b, K), local (2b, K)]: one tensor per crop size, 2 · (4 − 1) = 6 pairs.
    check::close("[global (2b, K), local (2b, K)], τ_s = 0.1, τ_t = 0.04", loss_of(&[&[&S1, &S2], &[&S3, &S4]], 0.1, 0.04), 5.382733183, 1e-5);
    // One local crop: 2 · (3 − 1) = 4 pairs.
    check::close("[global (2b, K), local (b, K)], τ_s = 0.1, τ_t = 0.04", loss_of(&[&[&S1, &S2], &[&S3]], 0.1, 0.04), 5.193294575, 1e-5);
}

// points: 1
#[test]
fn spreading_the_crops_over_tensors_does_not_change_the_loss() {
    check::close("four crops in four tensors", loss_of(&[&[&S1], &[&S2], &[&S3], &[&S4]], 0.1, 0.04), 5.382733183, 1e-5);
    check::close("four crops in one tensor", loss_of(&[&[&S1, &S2, &S3, &S4]], 0.1, 0.04), 5.382733183, 1e-5);
    check::close("[global crop 1], [global crop 2, local crops]", loss_of(&[&[&S1], &[&S2, &S3, &S4]], 0.1, 0.04), 5.382733183, 1e-5);
}

// points: 2
#[test]
fn other_temperatures_match_numpy() {
    check::close("four crops, τ_s = 0.2, τ_t = 0.07", loss_of(&[&[&S1, &S2], &[&S3, &S4]], 0.2, 0.07), 2.841698277, 1e-5);
}

// points: 3
#[test]
fn the_gradient_of_the_student_outputs_matches_numpy() {
    let dev = Cpu::default();
    let global = dev.tensor_from_vec([S1, S2].concat(), (4, 3));
    let local = dev.tensor_from_vec([S3, S4].concat(), (4, 3));
    // The global crops' tensor starts the tape; the local crops' joins it (both get gradients).
    let loss = dino_loss(vec![global.clone().traced(Gradients::leaky()), local.clone().retaped()], &teacher(), 2, &C, 0.1, 0.04);
    let g = loss.backward();
    let numpy_global = [
        0.793426159, -0.832934839, 0.039508681, 0.037914241, 0.793777190, -0.831691429, // crop 1
        -0.832935093, 0.793426159, 0.039508935, 0.832295175, -0.833051023, 0.000755849, // crop 2
    ];
    let numpy_local = [
        -0.000139752, -0.000139499, 0.000279250, -0.001595397, -0.829209469, 0.830804865, // crop 3
        0.832774230, -0.833332891, 0.000558661, 0.028344585, -0.831839350, 0.803494765, // crop 4
    ];
    check::all_close("∂L/∂(student outputs) of the global crops, τ_s = 0.1, τ_t = 0.04", &g.get(&global).as_vec(), &numpy_global, 3, 1e-4);
    check::all_close("∂L/∂(student outputs) of the local crops", &g.get(&local).as_vec(), &numpy_local, 3, 1e-4);
}
