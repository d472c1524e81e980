//! MoCo's update rules, checked by hand: the momentum update of the key encoder (every
//! tensor, BatchNorm statistics included) and the FIFO key queue.

use dfdx::nn::BuildModule;
use dfdx::prelude::*;
use selfsup::methods::moco::KeyQueue;
use selfsup::nn::ema::momentum_update;
use selfsup::nn::{Branch, TinyConvNet};

type B = Branch<TinyConvNet<Cpu>, 128, 16, 8, f32, Cpu>;

#[test]
fn momentum_update_moves_every_tensor_by_the_rule() {
    let dev = Cpu::seed_from_u64(0);
    let query = B::build(&dev);
    let mut key = B::build(&Cpu::seed_from_u64(1));
    // Non-default BatchNorm statistics in both, so the running stats are checked too.
    let mut query = query;
    query.encoder.block2.bn.running_mean = dev.sample_normal();
    key.encoder.block2.bn.running_var = dev.sample_uniform();
    let before_k = (key.encoder.block1.conv.weight.as_vec(), key.encoder.block2.bn.running_mean.as_vec(), key.encoder.block2.bn.running_var.as_vec());
    let q = (query.encoder.block1.conv.weight.as_vec(), query.encoder.block2.bn.running_mean.as_vec(), query.encoder.block2.bn.running_var.as_vec());
    momentum_update(&mut key, &query, 0.9);
    let after = (key.encoder.block1.conv.weight.as_vec(), key.encoder.block2.bn.running_mean.as_vec(), key.encoder.block2.bn.running_var.as_vec());
    let check = |name: &str, k0: &[f32], q: &[f32], k1: &[f32]| {
        for i in 0..k0.len() {
            let want = 0.9 * k0[i] + 0.1 * q[i];
            assert!((k1[i] - want).abs() < 1e-6, "{name}[{i}]: {} vs θk ← 0.9θk + 0.1θq = {want}", k1[i]);
        }
    };
    check("conv weight", &before_k.0, &q.0, &after.0);
    check("BN running mean", &before_k.1, &q.1, &after.1);
    check("BN running var", &before_k.2, &q.2, &after.2);
    // m = 1 freezes the key encoder, m = 0 copies the query encoder
    let frozen = key.encoder.block3.conv.weight.as_vec();
    momentum_update(&mut key, &query, 1.0);
    assert_eq!(key.encoder.block3.conv.weight.as_vec(), frozen);
    momentum_update(&mut key, &query, 0.0);
    assert_eq!(key.encoder.block3.conv.weight.as_vec(), query.encoder.block3.conv.weight.as_vec());
}

#[test]
fn key_queue_is_fifo_and_wraps_around() {
    let mut q = KeyQueue::random(4, 2, 0);
    for row in q.keys.chunks(2) {
        let n = (row[0] * row[0] + row[1] * row[1]).sqrt();
        assert!((n - 1.0).abs() < 1e-5, "initial keys are unit vectors");
    }
    q.push(&[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]); // three keys: rows 0, 1, 2
    assert_eq!(q.ptr, 3);
    assert_eq!(&q.keys[..6], &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
    q.push(&[4.0, 4.0, 5.0, 5.0]); // row 3, then wraps: the oldest (row 0) is replaced
    assert_eq!(q.ptr, 1);
    assert_eq!(q.keys, vec![5.0, 5.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
}
