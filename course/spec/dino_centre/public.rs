//! Public tests of the `dino_centre` exercise: run them with `cargo test` in this folder.

use dino_centre::*;

mod check;

#[test]
fn the_centre_becomes_the_batch_mean_when_m_c_is_zero() {
    // Two rows of K = 3: the mean over the rows is (2, 0, −1); m_c = 0 forgets the old centre.
    let mut c = [5.0f32, 5.0, 5.0];
    update_centre(&mut c, &[1.0, 2.0, -1.0, 3.0, -2.0, -1.0], 0.0);
    check::all_close("c after one update with m_c = 0 (the batch mean)", &c, &[2.0, 0.0, -1.0], 1, 1e-6);
}

#[test]
fn the_temperature_starts_at_from_and_reaches_to_at_the_end_of_the_warm_up() {
    check::close("teacher_temperature(0.04, 0.07, 30, 0) (first step)", teacher_temperature(0.04, 0.07, 30, 0) as f32, 0.04, 1e-7);
    check::close("teacher_temperature(0.04, 0.07, 30, 30) (end of the warm-up)", teacher_temperature(0.04, 0.07, 30, 30) as f32, 0.07, 1e-7);
}
