//! Public tests of the `memory_bank` exercise: run them with `cargo test` in this folder.

use memory_bank::update_memory_bank;

mod check;

#[test]
fn one_entry_moves_halfway_and_is_renormalised() {
    // Bank of 2 images in 2-D; image 1 gets the new feature (0, 1) with m = 0.5.
    let mut bank = vec![1.0, 0.0, 1.0, 0.0];
    update_memory_bank(&mut bank, 2, &[1], &[0.0, 1.0], 0.5);
    let s = 0.5f32.sqrt();
    check::all_close("bank after V₁ ← normalize(0.5·V₁ + 0.5·q)", &bank, &[1.0, 0.0, s, s], 2, 1e-5);
}

#[test]
fn momentum_one_keeps_the_bank() {
    let mut bank = vec![0.6, 0.8, 0.0, 1.0];
    update_memory_bank(&mut bank, 2, &[0, 1], &[1.0, 0.0, 1.0, 0.0], 1.0);
    check::all_close("bank after an update with m = 1 (old entries weigh m)", &bank, &[0.6, 0.8, 0.0, 1.0], 2, 1e-5);
}
