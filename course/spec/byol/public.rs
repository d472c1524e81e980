//! Public tests of the `byol` exercise: run them with `cargo test` in this folder.

use byol::*;
use dfdx::prelude::*;

mod check;

#[test]
fn byol_loss_by_hand() {
    // Row 0: p = (1, 0), z = (1, 1): cos = 1/√2, ℓ = 2 − √2.
    // Row 1: p = (0, 2), z = (0, −3): opposite directions, cos = −1, ℓ = 4.
    let dev = Cpu::default();
    let p = dev.tensor_from_vec(vec![1.0, 0.0, 0.0, 2.0], (2, 2));
    let z = dev.tensor_from_vec(vec![1.0, 1.0, 0.0, -3.0], (2, 2));
    let want = (2.0 - std::f32::consts::SQRT_2 + 4.0) / 2.0;
    check::close("BYOL loss, mean of 2 − 2·cos over 2 rows", byol_loss(p.leaky_trace(), z).array(), want, 1e-5);
}

#[test]
fn the_rate_starts_at_tau_base_and_ends_at_one() {
    check::close("cosine_tau(0.99, 0) (start of training)", cosine_tau(0.99, 0.0) as f32, 0.99, 1e-7);
    check::close("cosine_tau(0.99, 1) (end of training)", cosine_tau(0.99, 1.0) as f32, 1.0, 1e-7);
}
