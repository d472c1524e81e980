//! Public tests of the `barlow_twins` exercise: run them with `cargo test` in this folder.

use barlow_twins::*;
use dfdx::prelude::*;

mod check;

#[test]
fn identical_views_have_no_invariance_cost() {
    // Both views the same: after standardisation every C_ii = 1 (up to ε), so with λ = 0 the
    // loss is 0.
    let dev = Cpu::default();
    let z = vec![0.5, -1.0, 1.2, 0.4, -0.3, 0.9, 0.8, 0.1];
    let got = barlow_twins_loss(dev.tensor_from_vec(z.clone(), (4, 2)), dev.tensor_from_vec(z, (4, 2)), 0.0).array();
    check::close("Barlow Twins loss of two identical views, λ = 0", got, 0.0, 1e-4);
}

#[test]
fn barlow_twins_on_two_images_by_hand() {
    // N = 2: each standardised column is [−1, 1] or [1, −1] (up to ε).
    //   view A = [[0, 0], [2, 2]] → ẑ_A columns [−1, 1], [−1, 1]
    //   view B = [[1, 3], [3, 1]] → ẑ_B columns [−1, 1], [1, −1]
    // C = ẑ_Aᵀ ẑ_B / 2 = [[1, −1], [1, −1]]: (1 − 1)² + (1 − (−1))² = 4 on the diagonal,
    // 1² + 1² = 2 off it, so L = 4 + 2λ.
    let dev = Cpu::default();
    let za = dev.tensor_from_vec(vec![0.0, 0.0, 2.0, 2.0], (2, 2));
    let zb = dev.tensor_from_vec(vec![1.0, 3.0, 3.0, 1.0], (2, 2));
    check::close("Barlow Twins loss of the example, λ = 0.5 (4 + 2λ)", barlow_twins_loss(za, zb, 0.5).array(), 5.0, 1e-4);
}
