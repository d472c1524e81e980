//! Hidden tests of the `dino_centre` exercise (graders only; never copied into `exercises/`).
//!
//! The pasted values were printed by `tests/golden/exercises_part4.py centre` (NumPy, float64,
//! written from the formulas `c ← m_c c + (1 − m_c) mean_rows(t)` and the linear warm-up).

#![allow(clippy::excessive_precision)]

use dino_centre::*;

mod check;

/// The teacher's raw outputs for both global crops of 3 images (6 rows of K = 4), a second
/// batch of 2 rows, and the centre before the updates: the inputs of
/// `tests/golden/exercises_part4.py`.
const T: [f32; 24] = [
    0.8, -0.2, 0.1, 0.5, 0.3, 0.6, -0.4, 0.0, -0.1, 0.2, 0.9, -0.3, //
    0.5, 0.1, 0.2, 0.7, 0.0, 0.4, -0.6, 0.2, 0.6, -0.5, 0.3, 0.1,
];
const T2: [f32; 8] = [0.2, 0.2, -0.1, 0.4, -0.6, 0.3, 0.5, 0.1];
const C0: [f32; 4] = [0.05, -0.1, 0.2, 0.0];

fn updated(c: [f32; 4], t: &[f32], m_c: f32) -> [f32; 4] {
    let mut c = c;
    update_centre(&mut c, t, m_c);
    c
}

// points: 3
#[test]
fn the_centre_matches_numpy_at_two_momenta() {
    check::all_close("c after one update, m_c = 0.9", &updated(C0, &T, 0.9), &[0.080000000, -0.080000000, 0.188333333, 0.020000000], 1, 1e-6);
    check::all_close("c after one update, m_c = 0.5", &updated(C0, &T, 0.5), &[0.200000000, 0.0, 0.141666667, 0.100000000], 1, 1e-6);
}

// points: 1
#[test]
fn two_updates_in_a_row_match_numpy() {
    let c = updated(updated(C0, &T, 0.9), &T2, 0.9);
    check::all_close("c after a batch of 6 rows then one of 2, m_c = 0.9", &c, &[0.052000000, -0.047000000, 0.189500000, 0.043000000], 1, 1e-6);
}

// points: 2
#[test]
fn m_c_one_keeps_the_centre_and_zero_takes_the_batch_mean() {
    check::all_close("c after one update, m_c = 1 (unchanged)", &updated(C0, &T, 1.0), &C0, 1, 1e-7);
    check::all_close("c after one update, m_c = 0 (the batch mean)", &updated(C0, &T, 0.0), &[0.350000000, 0.100000000, 0.083333333, 0.200000000], 1, 1e-6);
}

// points: 3
#[test]
fn the_warm_up_matches_numpy() {
    let steps = [0, 1, 7, 15, 29, 30, 31, 1000];
    let got: Vec<f32> = steps.iter().map(|&s| teacher_temperature(0.04, 0.07, 30, s) as f32).collect();
    let numpy = [0.040000000, 0.041000000, 0.047000000, 0.055000000, 0.069000000, 0.070000000, 0.070000000, 0.070000000];
    check::all_close("τ_t from 0.04 to 0.07 over 30 steps, at steps 0, 1, 7, 15, 29, 30, 31, 1000", &got, &numpy, 1, 1e-7);
    // A falling warm-up works the same way.
    let got: Vec<f32> = [0, 3, 9, 10].iter().map(|&s| teacher_temperature(0.07, 0.04, 10, s) as f32).collect();
    check::all_close("τ_t from 0.07 to 0.04 over 10 steps, at steps 0, 3, 9, 10", &got, &[0.070000000, 0.061000000, 0.043000000, 0.040000000], 1, 1e-7);
}

// points: 1
#[test]
fn no_warm_up_gives_to_from_the_first_step() {
    let got: Vec<f32> = [0, 1, 50].iter().map(|&s| teacher_temperature(0.04, 0.07, 0, s) as f32).collect();
    check::all_close("τ_t with warmup_steps = 0, at steps 0, 1, 50", &got, &[0.07, 0.07, 0.07], 1, 1e-7);
}

// points: 1
#[test]
fn the_temperature_stays_at_to_after_the_warm_up() {
    let got: Vec<f32> = [100, 101, 5000, 1_000_000].iter().map(|&s| teacher_temperature(0.04, 0.07, 100, s) as f32).collect();
    check::all_close("τ_t from 0.04 to 0.07 over 100 steps, at steps 100, 101, 5000, 10⁶", &got, &[0.07, 0.07, 0.07, 0.07], 1, 1e-7);
}
