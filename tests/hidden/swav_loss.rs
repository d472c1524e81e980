//! Hidden tests of the `swav_loss` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part3.py swav` (NumPy, float64,
//! written from the formula; the gradient by central differences).

#![allow(clippy::excessive_precision)]

use dfdx::prelude::*;
use swav_loss::*;

mod check;

/// B = 2 images, K = 3 prototypes: the four views' scores and the two global views' codes of
/// `tests/golden/exercises_part3.py`.
const V1: [f32; 6] = [0.6, -0.2, 0.1, 0.0, 0.5, -0.4];
const V2: [f32; 6] = [0.4, 0.3, -0.6, -0.2, 0.7, 0.2];
const V3: [f32; 6] = [0.9, -0.5, 0.2, 0.1, -0.3, 0.8];
const V4: [f32; 6] = [-0.1, 0.2, 0.3, 0.6, 0.6, -0.9];
const Q1: [f32; 6] = [0.7, 0.2, 0.1, 0.1, 0.6, 0.3];
const Q2: [f32; 6] = [0.5, 0.3, 0.2, 0.25, 0.25, 0.5];

type Scores = Tensor<(usize, usize), f32, Cpu, OwnedTape<f32, Cpu>>;

fn mat(dev: &Cpu, v: &[f32], rows: usize) -> Tensor<(usize, usize), f32, Cpu> {
    dev.tensor_from_vec(v.to_vec(), (rows, 3))
}

fn codes(dev: &Cpu, qs: &[&[f32]]) -> Vec<Tensor<(usize, usize), f32, Cpu>> {
    qs.iter().map(|q| mat(dev, q, 2)).collect()
}

fn loss_of(views: &[&[&[f32]]], qs: &[&[f32]], tau: f32) -> f32 {
    let dev = Cpu::default();
    let scores: Vec<Scores> = views
        .iter()
        .map(|group| {
            let flat: Vec<f32> = group.iter().flat_map(|v| v.iter().copied()).collect();
            mat(&dev, &flat, 2 * group.len()).leaky_trace()
        })
        .collect();
    swav_loss(scores, &codes(&dev, qs), tau).array()
}

// points: 3
#[test]
fn two_views_match_numpy_at_two_temperatures() {
    check::close("two views, τ = 0.1", loss_of(&[&[&V1], &[&V2]], &[&Q1, &Q2], 0.1), 3.271004809, 1e-5);
    check::close("two views, τ = 0.5", loss_of(&[&[&V1], &[&V2]], &[&Q1, &Q2], 0.5), 1.131382774, 1e-5);
    // The same two views stacked in one (2B, K) tensor.
    check::close("two views in one tensor, τ = 0.1", loss_of(&[&[&V1, &V2]], &[&Q1, &Q2], 0.1), 3.271004809, 1e-5);
}

// points: 3
#[test]
fn multi_crop_four_views_with_two_codes_match_numpy() {
    // Two global views with codes, two local ones: one tensor per crop size, as multi-crop runs.
    check::close("[global (2B, K), local (2B, K)], τ = 0.1", loss_of(&[&[&V1, &V2], &[&V3, &V4]], &[&Q1, &Q2], 0.1), 4.443926674, 1e-5);
}

// points: 1
#[test]
fn splitting_the_views_over_tensors_does_not_change_the_loss() {
    check::close("four views in four tensors, τ = 0.1", loss_of(&[&[&V1], &[&V2], &[&V3], &[&V4]], &[&Q1, &Q2], 0.1), 4.443926674, 1e-5);
    check::close("four views in one tensor, τ = 0.1", loss_of(&[&[&V1, &V2, &V3, &V4]], &[&Q1, &Q2], 0.1), 4.443926674, 1e-5);
}

// points: 2
#[test]
fn one_code_for_three_views_matches_numpy() {
    // Only view 1 has a code: views 2 and 3 predict it, n_pairs = 1 · (3 − 1) = 2.
    check::close("three views, one code, τ = 0.2", loss_of(&[&[&V1, &V2], &[&V3]], &[&Q1], 0.2), 1.957927681, 1e-5);
}

// points: 3
#[test]
fn the_gradient_of_the_scores_matches_numpy() {
    // The four views in one (4B, K) tensor: the loss splits it into views.
    let dev = Cpu::default();
    let all = mat(&dev, &[V1, V2, V3, V4].concat(), 8);
    let loss = swav_loss(vec![all.leaky_trace()], &codes(&dev, &[&Q1, &Q2]), 0.1);
    let g = loss.backward();
    let numpy = [
        0.410813560, -0.249722412, -0.161091148, -0.202756642, 0.619321167, -0.416564526, // view 1
        0.025861929, 0.057443746, -0.083305676, -0.083231193, 0.327654500, -0.244423308, // view 2
        0.665146865, -0.416665282, -0.248481582, -0.290148273, -0.708305523, 0.998453797, // view 3
        -0.977978521, 0.025646548, 0.952331974, 0.541666540, 0.124999873, -0.666666411, // view 4
    ];
    check::all_close("∂L/∂scores of the four views, τ = 0.1", &g.get(&all).as_vec(), &numpy, 3, 1e-4);
}

// points: 2
#[test]
fn targets_sum_the_other_views_codes() {
    let codes = vec![Q1.to_vec(), Q2.to_vec()];
    // Views 0..4 in one block: view 0 → q2, view 1 → q1, views 2 and 3 → q1 + q2.
    let both: Vec<f32> = Q1.iter().zip(&Q2).map(|(a, b)| a + b).collect();
    let want = [Q2.to_vec(), Q1.to_vec(), both.clone(), both.clone()].concat();
    check::all_close("targets of views 0–3", &swapped_targets(&codes, 0, 4), &want, 3, 1e-6);
    // The local block alone (views 2 and 3, starting at 2): both get q1 + q2.
    check::all_close("targets of views 2–3", &swapped_targets(&codes, 2, 2), &[both.clone(), both].concat(), 3, 1e-6);
    // The second global view alone (view 1): q1.
    check::all_close("target of view 1", &swapped_targets(&codes, 1, 1), &Q1, 3, 1e-6);
}
