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

/// MoCo v1 and v2 differ in the head and the augmentations only: v1 projects with one
/// linear layer (`F·Z + Z` parameters), v2 with the MLP; v1's views have no blur and jitter
/// every image, v2's are SimCLR's.
#[test]
fn moco_v1_has_a_linear_head_and_light_augmentations() {
    use selfsup::methods::{Method, MoCo, MoCoV1};
    type V1 = MoCoV1<TinyConvNet<Cpu>, 128, 512, 128, f32, Cpu>;
    type V2 = MoCo<TinyConvNet<Cpu>, 128, 512, 128, f32, Cpu>;
    let dev = Cpu::default();
    let v1 = V1::build(&dev);
    let v2 = V2::build(&dev);
    let encoder = v1.query.encoder.num_trainable_params();
    assert_eq!(encoder, v2.query.encoder.num_trainable_params());
    assert_eq!(v1.query.projector.num_trainable_params(), 128 * 128 + 128, "v1: one linear layer F → Z");
    // v2: F → 512 (+ BN γ, β) → Z
    assert_eq!(v2.query.projector.num_trainable_params(), 128 * 512 + 512 + 2 * 512 + 512 * 128 + 128);
    assert_eq!(<V1 as Method<Cpu>>::NAME, "moco-v1");
    assert_eq!(<V2 as Method<Cpu>>::NAME, "moco");

    let describe = |views: selfsup::augment::ViewGenerator| views.view_transform(0).name();
    let v1_views = describe(v1.views(32));
    let v2_views = describe(v2.views(32));
    assert!(!v1_views.contains("GaussianBlur") && v1_views.contains("hue=0.4, p=1"), "{v1_views}");
    assert!(v2_views.contains("GaussianBlur") && v2_views.contains("p=0.8"), "{v2_views}");
}
