//! Hidden tests of the `distillation_loss` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part2.py` (NumPy, float64, written
//! from Hinton et al.'s formula); `reference` below is the same formula in f64 for the other
//! inputs.

#![allow(clippy::excessive_precision)]

use dfdx::prelude::*;
use distillation_loss::*;

mod check;

/// 3 images, 4 classes: the inputs of `tests/golden/exercises_part2.py`.
const S: [f32; 12] = [1.5, -0.5, 0.2, 0.9, -1.0, 2.0, 0.4, 0.0, 0.3, 0.3, -0.7, 1.8];
const T: [f32; 12] = [2.5, -1.5, 0.0, 2.0, -2.0, 3.0, 1.5, -0.5, 1.0, 0.0, -2.0, 3.5];
const Y: [usize; 3] = [2, 1, 3];

fn loss(s: &[f32], t: &[f32], labels: &[usize], classes: usize, temperature: f32, alpha: f32) -> f32 {
    let dev = Cpu::default();
    let n = labels.len();
    let student = dev.tensor_from_vec(s.to_vec(), (n, classes));
    let teacher = dev.tensor_from_vec(t.to_vec(), (n, classes));
    distillation_loss(student.leaky_trace(), teacher, labels, Distillation { temperature, alpha }).array()
}

/// `log softmax(x / T)` of one row, in f64.
fn log_softmax(row: &[f32], temperature: f64) -> Vec<f64> {
    let x: Vec<f64> = row.iter().map(|v| *v as f64 / temperature).collect();
    let lse = check::logsumexp(&x);
    x.iter().map(|v| v - lse).collect()
}

/// The distillation loss in f64, straight from the formula.
fn reference(s: &[f32], t: &[f32], labels: &[usize], classes: usize, temperature: f64, alpha: f64) -> f64 {
    let mut total = 0.0;
    for (b, &y) in labels.iter().enumerate() {
        let (sb, tb) = (&s[b * classes..(b + 1) * classes], &t[b * classes..(b + 1) * classes]);
        let (log_pt, log_ps) = (log_softmax(tb, temperature), log_softmax(sb, temperature));
        let kl: f64 = log_pt.iter().zip(&log_ps).map(|(lt, ls)| lt.exp() * (lt - ls)).sum();
        let ce = -log_softmax(sb, 1.0)[y];
        total += alpha * temperature * temperature * kl + (1.0 - alpha) * ce;
    }
    total / labels.len() as f64
}

// points: 2
#[test]
fn soft_targets_are_the_kl_from_the_teacher_to_the_student() {
    // NumPy: KL(p_t ‖ p_s) = 0.111823377 at T = 1; the other orientation, KL(p_s ‖ p_t), is 0.177825532.
    check::close("α = 1, T = 1: KL(p_teacher ‖ p_student), summed over classes, mean over the batch", loss(&S, &T, &Y, 4, 1.0, 1.0), 0.111823377, 1e-4);
}

#[test]
fn labels_alone_are_the_cross_entropy() {
    // NumPy: 0.907530302.
    check::close("α = 0: cross-entropy of the student's logits (T = 1) with the labels", loss(&S, &T, &Y, 4, 4.0, 0.0), 0.907530302, 1e-4);
}

// points: 2
#[test]
fn the_soft_term_is_multiplied_by_t_squared() {
    // NumPy: 0.413378301 at T = 4, α = 1 (16 × the KL of the softened distributions).
    check::close("α = 1, T = 4: T² · KL(softmax(t/4) ‖ softmax(s/4)) (is the T² factor there?)", loss(&S, &T, &Y, 4, 4.0, 1.0), 0.413378301, 1e-4);
}

// points: 2
#[test]
fn both_terms_together() {
    // NumPy: 0.536528150 at T = 3, α = 0.7.
    check::close("T = 3, α = 0.7: α·T²·KL + (1 − α)·CE", loss(&S, &T, &Y, 4, 3.0, 0.7), 0.536528150, 1e-4);
    let (n, classes) = (5, 6);
    let s: Vec<f32> = check::pseudo_random(n * classes, 41).iter().map(|v| 3.0 * v).collect();
    let t: Vec<f32> = check::pseudo_random(n * classes, 42).iter().map(|v| 4.0 * v).collect();
    let labels = [5, 0, 2, 2, 4];
    let want = reference(&s, &t, &labels, classes, 2.5, 0.4);
    check::close("5 images × 6 classes, T = 2.5, α = 0.4", loss(&s, &t, &labels, classes, 2.5, 0.4), want as f32, 1e-4);
}

#[test]
fn a_student_equal_to_its_teacher_has_no_soft_loss() {
    // KL(p ‖ p) = 0 at every temperature (by hand); the soft cross-entropy would be the
    // teacher's entropy instead.
    for temperature in [1.0, 2.0, 5.0] {
        check::close(&format!("α = 1, T = {temperature}, student logits = teacher logits: KL(p ‖ p) = 0"), loss(&T, &T, &Y, 4, temperature, 1.0), 0.0, 1e-5);
    }
}

// points: 2
#[test]
fn large_logits_stay_finite() {
    // Logits × 100 (up to 350): e^175 overflows f32. NumPy: 21.666666667 at T = 2, α = 0.5.
    let (s, t): (Vec<f32>, Vec<f32>) = (S.iter().map(|v| 100.0 * v).collect(), T.iter().map(|v| 100.0 * v).collect());
    check::close("logits × 100, T = 2, α = 0.5 (log_softmax, not ln of softmax?)", loss(&s, &t, &Y, 4, 2.0, 0.5), 21.666666667, 1e-4);
}

// points: 2
#[test]
fn distillation_gradient_matches_finite_differences() {
    let dev = Cpu::default();
    let (n, classes, temperature, alpha) = (3, 4, 2.0, 0.6);
    let student = dev.tensor_from_vec(S.to_vec(), (n, classes));
    let teacher = dev.tensor_from_vec(T.to_vec(), (n, classes));
    let grads = distillation_loss(student.leaky_trace(), teacher, &Y, Distillation { temperature: temperature as f32, alpha: alpha as f32 }).backward();
    let eps = 1e-3;
    let want: Vec<f32> = (0..S.len())
        .map(|i| {
            let (mut up, mut down) = (S.to_vec(), S.to_vec());
            up[i] += eps;
            down[i] -= eps;
            ((reference(&up, &T, &Y, classes, temperature, alpha) - reference(&down, &T, &Y, classes, temperature, alpha)) / (2.0 * eps as f64)) as f32
        })
        .collect();
    check::all_close("∂L/∂s vs finite differences, T = 2, α = 0.6", &grads.get(&student).as_vec(), &want, classes, 1e-2);
}
