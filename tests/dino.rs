//! DINO: the loss, its gradient, the teacher's targets, the centre update and the two collapse
//! diagnostics against values computed independently by `tests/golden/dino.py` (NumPy,
//! float64, from the paper's Algorithm 1 and the official multi-crop loss, not from this code).

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use selfsup::methods::dino::{self, dino_loss, mean_entropy, mean_kl, teacher_targets, teacher_temperature, update_centre};
use selfsup::methods::Settings;
use selfsup::nn::ops::Mat;

const B: usize = 2;
const K: usize = 4;
/// The student's outputs of three crops (two global, one local), `B × K` each.
const S: [[f32; 8]; 3] = [
    [0.2, -0.5, 1.0, 0.3, 0.8, 0.1, -0.4, 0.0],
    [-0.3, 0.6, 0.2, 0.9, 0.5, -0.7, 0.3, 0.4],
    [1.1, 0.0, -0.2, 0.5, -0.6, 0.9, 0.7, -0.1],
];
/// The teacher's outputs of the two global crops, stacked (`2B × K`).
const T: [f32; 16] = [0.4, -0.2, 0.9, 0.1, 0.7, 0.3, -0.5, 0.2, -0.1, 0.5, 0.4, 0.8, 0.6, -0.4, 0.1, 0.3];
const C: [f32; 4] = [0.05, -0.1, 0.2, 0.0];
const TAU_S: f32 = 0.1;
const TAU_T: f32 = 0.04;

fn mat(dev: &Cpu, values: &[f32], rows: usize) -> Mat<Cpu> {
    dev.tensor_from_vec(values.to_vec(), (rows, K))
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: got {g}, numpy says {w}");
    }
}

#[test]
fn dino_loss_matches_numpy_with_global_and_local_crops() {
    let dev = Cpu::default();
    // The two global crops in one tensor, the local crop in another: one forward per crop size.
    let global = mat(&dev, &[S[0], S[1]].concat(), 2 * B);
    let local = mat(&dev, &S[2], B);
    let loss = dino_loss(vec![global, local], &T, B, &C, TAU_S, TAU_T).array();
    assert!((loss - 7.975522516).abs() < 1e-4, "got {loss}");
    // Two crops: each global crop predicts the other's target only.
    let two = dino_loss(vec![mat(&dev, &[S[0], S[1]].concat(), 2 * B)], &T, B, &C, TAU_S, TAU_T).array();
    assert!((two - 3.638112552).abs() < 1e-4, "got {two}");
    // No sharpening: the teacher at the student's temperature.
    let crops: Vec<Mat<Cpu>> = S.iter().map(|s| mat(&dev, s, B)).collect();
    let flat = dino_loss(crops, &T, B, &C, TAU_S, TAU_S).array();
    assert!((flat - 8.119166378).abs() < 1e-4, "got {flat}");
}

#[test]
fn dino_gradient_reaches_every_student_crop_as_numpy_finite_differences_say() {
    let numpy = [
        0.000418805, -0.008365680, 1.248442000, -1.240495127, 0.000843628, 0.001138425, 0.000007561, -0.001989615, // crop 1
        -0.000190735, 0.059230542, -1.248716725, 1.189676918, -0.416027589, -0.002403278, 0.112537756, 0.305893111, // crop 2
        2.493573226, -0.008324414, -1.249796313, -1.235452500, -2.495166183, 2.199495665, 0.297995199, -0.002324680, // crop 3
    ];
    let dev = Cpu::default();
    let global = mat(&dev, &[S[0], S[1]].concat(), 2 * B);
    let local = mat(&dev, &S[2], B);
    let grads = Gradients::leaky();
    let loss = dino_loss(vec![global.clone().traced(grads), local.clone().retaped()], &T, B, &C, TAU_S, TAU_T);
    let g = loss.backward();
    let got = [g.get(&global).as_vec(), g.get(&local).as_vec()].concat();
    close("∂L/∂s", &got, &numpy, 2e-4);
}

#[test]
fn teacher_targets_are_centred_and_sharpened_softmaxes() {
    let numpy = [
        0.000158436, 0.000000002, 0.999841256, 0.000000306, 0.998060308, 0.001926710, 0.000000000, 0.000012982, 0.000000000, 0.006692849, 0.000000304,
        0.993306847, 0.998073177, 0.000000001, 0.000000087, 0.001926734,
    ];
    let p = teacher_targets(&T, &C, TAU_T);
    close("P_t", &p, &numpy, 1e-6);
    // Huge logits and a tiny temperature stay finite.
    let big = teacher_targets(&[1e4, -1e4, 0.0, 3e4], &[0.0; 4], 0.01);
    assert!(big.iter().all(|v| v.is_finite()) && (big[3] - 1.0).abs() < 1e-6, "got {big:?}");
    // Centring removes whatever every row shares: subtracting c = a row's own values gives uniform.
    let uniform = teacher_targets(&T[..4], &T[..4], TAU_T);
    close("P_t with c = t", &uniform, &[0.25; 4], 1e-6);
}

#[test]
fn the_centre_is_a_moving_average_of_the_teachers_batch_mean() {
    let mut c = C;
    update_centre(&mut c, &T, 0.9);
    close("c after one update, m = 0.9", &c, &[0.085000000, -0.085000000, 0.202500000, 0.035000000], 1e-7);
    // m = 1 freezes it; m = 0 replaces it by the batch mean.
    let mut frozen = C;
    update_centre(&mut frozen, &T, 1.0);
    assert_eq!(frozen, C);
    let mut replaced = C;
    update_centre(&mut replaced, &T, 0.0);
    close("c, m = 0", &replaced, &[0.4, 0.05, 0.225, 0.35], 1e-7);
}

#[test]
fn entropy_and_kl_match_numpy_and_mark_both_collapses() {
    let p = teacher_targets(&T, &C, TAU_T);
    let student: Vec<f32> = teacher_targets(&[S[0], S[1]].concat(), &[0.0; K], TAU_S);
    assert!((mean_entropy(&p, K) - 0.017458981).abs() < 1e-5, "entropy {}", mean_entropy(&p, K));
    assert!((mean_kl(&p, &student, K) - 0.106650810).abs() < 1e-4, "kl {}", mean_kl(&p, &student, K));
    // Uniform rows: entropy ln K; one-hot rows: 0; a student equal to its teacher: KL 0.
    assert!((mean_entropy(&[0.25; 8], K) - (K as f64).ln()).abs() < 1e-6);
    assert!(mean_entropy(&[0.0, 1.0, 0.0, 0.0], K).abs() < 1e-12);
    assert!(mean_kl(&p, &p, K).abs() < 1e-9);
}

/// What a DINO run logs every step: the teacher's entropy over both global crops and the KL
/// between each global crop's target and the student's other global crop.
#[test]
fn the_runs_diagnostics_pair_each_target_with_the_other_crop_as_numpy_does() {
    let d = dino::diagnostics(&[S[0], S[1]].concat(), &T, B, &C, TAU_S, TAU_T);
    assert!((d.teacher_entropy - 0.017458981).abs() < 1e-5, "entropy {}", d.teacher_entropy);
    assert!((d.teacher_student_kl - 3.620653572).abs() < 1e-4, "swapped kl {}", d.teacher_student_kl);
}

#[test]
fn the_teacher_temperature_warms_up_linearly_then_stays() {
    assert_eq!(teacher_temperature(0.04, 0.07, 100, 0), 0.04);
    assert!((teacher_temperature(0.04, 0.07, 100, 50) - 0.055).abs() < 1e-12);
    assert_eq!(teacher_temperature(0.04, 0.07, 100, 100), 0.07);
    assert_eq!(teacher_temperature(0.04, 0.07, 0, 0), 0.07);
}

#[test]
fn bad_settings_are_errors_that_name_the_flag() {
    let bad = [
        (dino::Config { outputs: 0, ..dino::Config::default() }, "--outputs"),
        (dino::Config { outputs: dino::MAX_OUTPUTS + 1, ..dino::Config::default() }, "--outputs"),
        (dino::Config { teacher_tau: 0.0, ..dino::Config::default() }, "--teacher-tau"),
        (dino::Config { student_tau: f64::NAN, ..dino::Config::default() }, "--student-tau"),
        (dino::Config { centre_momentum: 1.5, ..dino::Config::default() }, "--centre-momentum"),
        (dino::Config { momentum_base: -0.1, ..dino::Config::default() }, "--momentum-base"),
    ];
    for (config, flag) in bad {
        let err = config.validate().expect_err(flag).to_string();
        assert!(err.contains(flag), "{flag}: got `{err}`");
    }
    assert!(dino::Config::default().validate().is_ok());
}
