//! # Knowledge distillation (Hinton, Vinyals and Dean, 2015)
//!
//! The one supervised method of the course, and the bridge to self-distillation (DINO). A
//! large **teacher** is trained with labels first; a smaller **student** then learns from the
//! labels *and* from the teacher's outputs, softened by a temperature `T`:
//!
//! ```text
//! L = α · T² · KL( softmax(t / T) ‖ softmax(s / T) )  +  (1 − α) · CE(y, softmax(s))
//! ```
//!
//! At `T = 1` the teacher's distribution is nearly one-hot and says little more than the
//! label; at `T > 1` the small probabilities it gives the *wrong* classes (a "3" that looks a
//! bit like an "8") become visible: Hinton et al.'s "dark knowledge". The gradient of the KL
//! term scales as `1/T²`, hence the `T²` that keeps its weight comparable across temperatures.
//! KL is summed over classes and averaged over the batch (averaging over classes too would
//! shrink it by the number of classes).
//!
//! The kit trains the teacher and the students with [`crate::supervised::Classifier`].

use crate::nn::ops::Mat;
use dfdx::prelude::*;

/// How a student learns from a teacher: temperature `T` and weight `α` of the soft targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distillation {
    pub temperature: f32,
    pub alpha: f32,
}

// ANCHOR: distillation_loss
/// `α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(y, s)` for student logits `s`
/// (on the tape), teacher logits `t` (constants) and class labels `y`, averaged over the batch.
pub fn distillation_loss<D: Device<f32>>(
    student: Mat<D, OwnedTape<f32, D>>,
    teacher: Mat<D>,
    labels: &[usize],
    kd: Distillation,
) -> Tensor<Rank0, f32, D, OwnedTape<f32, D>> {
    let (n, classes) = *student.shape();
    assert_eq!(teacher.shape(), &(n, classes), "distillation_loss: student and teacher logits differ in shape");
    assert_eq!(labels.len(), n, "distillation_loss: one label per row expected");
    assert!(kd.temperature > 0.0, "distillation_loss: the temperature must be positive");
    let dev = student.device().clone();
    let mut onehot = vec![0.0f32; n * classes];
    labels.iter().enumerate().for_each(|(row, &y)| onehot[row * classes + y] = 1.0);
    // BEGIN SOLUTION
    // HINT: KL(p ‖ q) = Σ p log p − Σ p log q; the first sum is a constant (no student in it).
    // HINT: use log_softmax (stable for large logits), and remember the T² factor.
    let temperature = kd.temperature;
    let log_pt = (teacher / temperature).log_softmax::<Axis<1>>();
    let pt = log_pt.clone().exp();
    let entropy_part = (pt.clone() * log_pt).sum::<(usize,), Axis<1>>().mean().as_vec()[0];
    let cross = (student.with_empty_tape() / temperature).log_softmax::<Axis<1>>() * pt;
    let kl = cross.sum::<(usize,), Axis<1>>().mean().negate() + entropy_part;
    let ce = (student.log_softmax::<Axis<1>>() * dev.tensor_from_vec(onehot, (n, classes))).sum::<(usize,), Axis<1>>().mean().negate();
    kl * (kd.alpha * temperature * temperature) + ce * (1.0 - kd.alpha)
    // END SOLUTION
}
// ANCHOR_END: distillation_loss
