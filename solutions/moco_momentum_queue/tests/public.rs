//! Public tests of the `moco_momentum_queue` exercise: run them with `cargo test` in this folder.

use dfdx::prelude::*;
use moco_momentum_queue::{momentum_update, KeyQueue};

mod check;

#[test]
fn momentum_half_averages_the_two_networks() {
    let dev = Cpu::default();
    let mut key = dev.build_module::<Linear<2, 2>, f32>();
    let query = dev.build_module::<Linear<2, 2>, f32>();
    let (k0, q0) = (key.weight.as_vec(), query.weight.as_vec());
    momentum_update(&mut key, &query, 0.5);
    let want: Vec<f32> = k0.iter().zip(&q0).map(|(k, q)| 0.5 * k + 0.5 * q).collect();
    check::all_close("key weight after θk ← 0.5·θk + 0.5·θq", &key.weight.as_vec(), &want, 2, 1e-6);
}

#[test]
fn pushing_keys_fills_the_queue_in_order() {
    let mut queue = KeyQueue::random(4, 2, 0);
    queue.push(&[1.0, 0.0, 0.0, 1.0]);
    check::all_close("the first two rows of the queue after pushing 2 keys", &queue.keys[..4], &[1.0, 0.0, 0.0, 1.0], 2, 0.0);
    assert_eq!(queue.ptr, 2, "after 2 keys into an empty queue, the next key goes to row 2");
}
