//! Hidden tests of the `moco_momentum_queue` exercise (graders only; never copied into `exercises/`).

use dfdx::prelude::*;
use moco_momentum_queue::{momentum_update, KeyQueue};

mod check;

type Net = (Linear<3, 4>, BatchNorm1D<4>);

/// Every tensor of the network, BatchNorm's running statistics included.
fn tensors(net: &<Net as BuildOnDevice<Cpu, f32>>::Built) -> Vec<(&'static str, Vec<f32>)> {
    vec![
        ("linear.weight", net.0.weight.as_vec()),
        ("linear.bias", net.0.bias.as_vec()),
        ("bn.scale", net.1.scale.as_vec()),
        ("bn.bias", net.1.bias.as_vec()),
        ("bn.running_mean", net.1.running_mean.as_vec()),
        ("bn.running_var", net.1.running_var.as_vec()),
    ]
}

fn network(dev: &Cpu) -> <Net as BuildOnDevice<Cpu, f32>>::Built {
    let mut net = dev.build_module::<Net, f32>();
    net.1.scale = dev.sample_uniform();
    net.1.bias = dev.sample_normal();
    net.1.running_mean = dev.sample_normal();
    net.1.running_var = dev.sample_uniform();
    net
}

// points: 3
#[test]
fn momentum_update_moves_every_tensor_by_the_rule() {
    let dev = Cpu::seed_from_u64(80);
    let (mut key, query) = (network(&dev), network(&dev));
    let (before, online) = (tensors(&key), tensors(&query));
    momentum_update(&mut key, &query, 0.9);
    for ((name, k0), ((_, q), (_, k1))) in before.iter().zip(online.iter().zip(tensors(&key).iter())) {
        let want: Vec<f32> = k0.iter().zip(q).map(|(k, q)| 0.9 * k + 0.1 * q).collect();
        check::all_close(&format!("{name} after θk ← 0.9·θk + 0.1·θq"), k1, &want, 0, 1e-6);
    }
}

#[test]
fn momentum_zero_copies_the_query_encoder() {
    let dev = Cpu::seed_from_u64(81);
    let (mut key, query) = (network(&dev), network(&dev));
    momentum_update(&mut key, &query, 0.0);
    for ((name, k), (_, q)) in tensors(&key).iter().zip(tensors(&query).iter()) {
        check::all_close(&format!("{name} after θk ← 0·θk + 1·θq"), k, q, 0, 1e-6);
    }
}

fn rows(n: usize, d: usize, first: f32) -> Vec<f32> {
    (0..n * d).map(|i| first + (i / d) as f32 + 0.1 * (i % d) as f32).collect()
}

// points: 3
#[test]
fn the_queue_is_first_in_first_out_and_wraps_around() {
    let mut queue = KeyQueue::random(4, 2, 1);
    let (a, b) = (rows(3, 2, 1.0), rows(3, 2, 4.0)); // keys 1, 2, 3 then 4, 5, 6
    queue.push(&a);
    queue.push(&b);
    // Slots 0..4 after 6 keys: 5, 6, 3, 4; the oldest (3) is next to go.
    let want = [b[2..4].to_vec(), b[4..6].to_vec(), a[4..6].to_vec(), b[0..2].to_vec()].concat();
    check::all_close("queue rows after pushing keys 1, 2, 3 then 4, 5, 6 into 4 slots", &queue.keys, &want, 2, 0.0);
    assert_eq!(queue.ptr, 2, "after 6 keys into 4 slots the next key replaces slot 2 (the oldest)");
}

#[test]
fn a_batch_larger_than_the_queue_keeps_its_newest_keys() {
    let mut queue = KeyQueue::random(3, 2, 2);
    let keys = rows(5, 2, 1.0); // keys 1..=5
    queue.push(&keys);
    let want = [keys[6..8].to_vec(), keys[8..10].to_vec(), keys[4..6].to_vec()].concat();
    check::all_close("queue of 3 after pushing 5 keys at once", &queue.keys, &want, 2, 0.0);
    assert_eq!(queue.ptr, 2, "after 5 keys into 3 slots the next key replaces slot 2");
}
