//! The kit's fused attention op against attention written by hand (`selfsup::nn::attention`,
//! the code of exercise 15 and of the part-4 notebook): on random packed `[Q | K | V]`
//! matrices of several sizes, and inside a real ViT block, for the last block's attention maps
//! (`Vit::last_attention_maps`) and the block's whole forward pass recomputed around the
//! by-hand attention.

use dfdx::nn::modules::{LayerNorm1D, Linear};
use dfdx::nn::BuildModule;
use dfdx::prelude::*;
use selfsup::nn::attention::{multi_head_attention, scaled_dot_product_attention};
use selfsup::nn::ops::{self, Backend, Mat};
use selfsup::nn::vit::{HEADS, IMAGE, TOKENS, WIDTH};
use selfsup::nn::SmallVit;

type Dev = Cpu;

fn normal<S: Shape>(seed: u64, shape: S) -> Tensor<S, f32, Dev> {
    Dev::seed_from_u64(seed).sample_normal_like(&shape)
}

/// Every entry of `got` within `tol · (1 + |want|)` of `want`; the message names the worst one.
fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    let (worst, err) = got.iter().zip(want).map(|(g, w)| (g - w).abs() / (1.0 + w.abs())).enumerate().fold((0, 0.0f32), |a, (i, e)| if e > a.1 || e.is_nan() { (i, e) } else { a });
    assert!(err <= tol, "{what}: entry {worst} is off: {} against {} by hand (relative error {err:e} > {tol:e})", got[worst], want[worst]);
}

/// By-hand multi-head attention of each of the `batch` sequences of `n` tokens in `qkv`
/// (`(batch·n, 3·d_model)`, row-major): the outputs `(batch·n, d_model)` and the maps
/// `(batch, heads, n, n)`, laid out as the fused op lays them out.
fn by_hand(qkv: &[f32], batch: usize, n: usize, heads: usize, d_model: usize) -> (Vec<f32>, Vec<f32>) {
    let (mut out, mut maps) = (Vec::new(), Vec::new());
    for sequence in qkv.chunks(n * 3 * d_model).take(batch) {
        let (o, a) = multi_head_attention(sequence, n, heads, d_model);
        out.extend(o);
        maps.extend(a);
    }
    (out, maps)
}

/// `y = x·Wᵀ + b` with a dfdx `Linear`'s parameters, through the backend's op (as the ViT does).
fn dense<const I: usize, const O: usize>(l: &Linear<I, O, f32, Dev>, x: Mat<Dev>) -> Mat<Dev> {
    Dev::linear(x, l.weight.clone().reshape_like(&(O, I)), l.bias.clone().reshape_like(&(O,)))
}

/// Layer normalisation of each row with a dfdx `LayerNorm1D`'s parameters, through the backend's op.
fn norm<const M: usize>(l: &LayerNorm1D<M, f32, Dev>, x: Mat<Dev>) -> Mat<Dev> {
    Dev::layer_norm(x, l.gamma.clone().reshape_like(&(M,)), l.beta.clone().reshape_like(&(M,)), l.epsilon as f32)
}

#[test]
fn one_head_by_hand_is_multi_head_with_one_head() {
    // Q, K, V are the three blocks of columns of a one-head qkv.
    let (n, d) = (6, 5);
    let qkv = normal(1, (n, 3 * d)).as_vec();
    let block = |b: usize| -> Vec<f32> { qkv.chunks(3 * d).flat_map(|row| row[b * d..(b + 1) * d].iter().copied()).collect() };
    let (out, a) = scaled_dot_product_attention(&block(0), &block(1), &block(2), n, d);
    let (out_mh, a_mh) = multi_head_attention(&qkv, n, 1, d);
    assert_eq!((out, a), (out_mh, a_mh));
}

#[test]
fn the_fused_op_and_the_dfdx_reference_match_attention_by_hand() {
    // (batch, tokens, heads, d_model): one small head; three heads of 4 over a batch of 3;
    // the ViT's own sizes (65 tokens, 4 heads of 32).
    for (seed, (batch, n, heads, d_model)) in [(1, 5, 1, 4), (3, 7, 3, 12), (2, TOKENS, HEADS, WIDTH)].into_iter().enumerate() {
        // Scaled up so that the maps are far from uniform.
        let qkv: Mat<Dev> = normal(10 + seed as u64, (batch * n, 3 * d_model)) * 2.0;
        let (want_out, want_maps) = by_hand(&qkv.as_vec(), batch, n, heads, d_model);
        let what = format!("batch {batch}, {n} tokens, {heads} heads, d_model {d_model}");
        assert!(want_maps.iter().any(|&a| a > 0.5), "{what}: the maps are nearly uniform, a weak test");
        assert_close(&format!("{what}: fused op's output"), &Dev::attention(qkv.clone(), n, heads).as_vec(), &want_out, 1e-5);
        assert_close(&format!("{what}: attention_maps"), &ops::attention_maps(qkv.clone(), n, heads).as_vec(), &want_maps, 1e-5);
        assert_close(&format!("{what}: dfdx-op reference's output"), &ops::attention_reference(qkv, n, heads).as_vec(), &want_out, 1e-5);
    }
}

#[test]
fn a_real_vit_block_attends_as_attention_by_hand_says() {
    let dev = Dev::seed_from_u64(5);
    let mut vit = SmallVit::<Dev>::build(&dev);
    // At initialisation the maps are nearly uniform (1/65 each); larger query and key weights
    // in the last block make them peaked, so that the comparison means something.
    vit.block4.qkv.weight = vit.block4.qkv.weight.clone() * 8.0;
    let batch = 2;
    let x = normal(6, (batch, 3, IMAGE, IMAGE));
    let t3 = vit.block3.forward(vit.block2.forward(vit.block1.forward(vit.tokens(x.clone()))));
    // The last block's `[Q | K | V] = W_qkv·LN₁(t) + b_qkv`, as the block computes it.
    let block = &vit.block4;
    let qkv = dense(&block.qkv, norm(&block.norm1, t3.clone()));
    let (attended, maps) = by_hand(&qkv.as_vec(), batch, TOKENS, HEADS, WIDTH);
    assert!(maps.iter().any(|&a| a > 0.5), "the last block's maps are nearly uniform, a weak test");

    // The kit's attention maps of the last block (`(B, 4, 65, 65)`) are the by-hand weights.
    assert_close("Vit::last_attention_maps against the by-hand weights", &vit.last_attention_maps(x).as_vec(), &maps, 1e-5);

    // The block's forward pass (with the fused op inside) is the same block around the by-hand
    // attention: t ← t + W_o·attention + b_o, then t ← t + MLP(LN₂(t)).
    let attended = dev.tensor_from_vec(attended, (batch * TOKENS, WIDTH));
    let t = t3.clone() + dense(&block.proj, attended);
    let want = t.clone() + dense(&block.fc2, Dev::gelu(dense(&block.fc1, norm(&block.norm2, t))));
    assert_close("the last block's forward pass against the same block with attention by hand", &block.forward(t3).as_vec(), &want.as_vec(), 1e-4);
}
