//! The CUDA device against the CPU: every layer of [`Backend`] on the GPU (the reference built
//! from dfdx ops) must give the CPU's fast kernel's outputs and gradients on the same inputs.
//!
//! Compiled only with `--features cuda`, and it needs a GPU to run:
//! `cargo test --release --features cuda --test cuda`. Without the feature this file is empty,
//! so the CPU-only test suite is unchanged.
#![cfg(feature = "cuda")]

use dfdx::prelude::*;
use selfsup::nn::ops::{Backend, Img, Mat, Vector};

#[path = "common/op_check.rs"]
mod op_check;
use op_check::assert_close;

/// f32 on two devices differs by summation order only: this bound is the one
/// `tests/ops.rs` puts between a fast kernel and its reference on the CPU.
const TOL: f32 = 1e-4;

/// Standard-normal values, drawn on the CPU so that both devices get the same numbers.
fn normal(seed: u64, n: usize) -> Vec<f32> {
    let t: Tensor<(usize,), f32, Cpu> = Cpu::seed_from_u64(seed).sample_normal_like(&(n,));
    t.as_vec()
}

/// The inputs of one op: each a list of values and its shape (images are 4-D, matrices 2-D,
/// vectors 1-D).
struct Inputs {
    x: Vec<f32>,
    shape: Vec<usize>,
}

/// What one device computed: the output, and `∂L/∂` each input for `L = Σ y ⊙ r` with `r` fixed.
type Outcome = Vec<(String, Vec<f32>)>;

fn img<D: Backend>(dev: &D, v: &[f32], s: &[usize]) -> Img<D> {
    dev.tensor_from_vec(v.to_vec(), (s[0], s[1], s[2], s[3]))
}
fn mat<D: Backend>(dev: &D, v: &[f32], s: &[usize]) -> Mat<D> {
    dev.tensor_from_vec(v.to_vec(), (s[0], s[1]))
}
fn vector<D: Backend>(dev: &D, v: &[f32]) -> Vector<D> {
    dev.tensor_from_vec(v.to_vec(), (v.len(),))
}

/// The image layers (conv, max-pool, global average pool, BatchNorm with and without the fused
/// ReLU) on `dev`, forward and backward.
fn image_ops<D: Backend>(dev: &D, x: &Inputs, w: &Inputs, gamma: &[f32], beta: &[f32]) -> Outcome {
    let xi = img(dev, &x.x, &x.shape);
    let wi = img(dev, &w.x, &w.shape);
    let (g, b) = (vector(dev, gamma), vector(dev, beta));
    let mut out: Outcome = Vec::new();

    let y = D::conv2d(xi.leaky_trace(), wi.clone(), 2, 1);
    let r = img(dev, &normal(7, y.shape().num_elements()), &[y.shape().0, y.shape().1, y.shape().2, y.shape().3]);
    out.push(("conv2d y".into(), y.retaped::<NoneTape>().as_vec()));
    let grads = (y * r).sum().backward();
    out.push(("conv2d dL/dx".into(), grads.get(&xi).as_vec()));
    out.push(("conv2d dL/dw".into(), grads.get(&wi).as_vec()));

    let y = D::max_pool2d(xi.leaky_trace(), 2, 2);
    let r = img(dev, &normal(8, y.shape().num_elements()), &[y.shape().0, y.shape().1, y.shape().2, y.shape().3]);
    out.push(("max_pool2d y".into(), y.retaped::<NoneTape>().as_vec()));
    out.push(("max_pool2d dL/dx".into(), (y * r).sum().backward().get(&xi).as_vec()));

    let y = D::global_avg_pool(xi.leaky_trace());
    let r = mat(dev, &normal(9, y.shape().num_elements()), &[y.shape().0, y.shape().1]);
    out.push(("global_avg_pool y".into(), y.retaped::<NoneTape>().as_vec()));
    out.push(("global_avg_pool dL/dx".into(), (y * r).sum().backward().get(&xi).as_vec()));

    for (relu, name) in [(false, "batchnorm2d"), (true, "batchnorm2d+relu")] {
        let (y, stats) = if relu {
            D::batchnorm2d_relu_train(xi.leaky_trace(), g.clone(), b.clone(), 1e-5)
        } else {
            D::batchnorm2d_train(xi.leaky_trace(), g.clone(), b.clone(), 1e-5)
        };
        out.push((format!("{name} batch mean"), stats.mean.as_vec()));
        out.push((format!("{name} batch variance"), stats.var.as_vec()));
        let r = img(dev, &normal(10, y.shape().num_elements()), &x.shape);
        out.push((format!("{name} y"), y.retaped::<NoneTape>().as_vec()));
        let grads = (y * r).sum().backward();
        out.push((format!("{name} dL/dx"), grads.get(&xi).as_vec()));
        out.push((format!("{name} dL/dγ"), grads.get(&g).as_vec()));
        out.push((format!("{name} dL/dβ"), grads.get(&b).as_vec()));
    }
    out
}

/// The ViT's layers (linear, LayerNorm, attention, GELU) on `dev`, forward and backward.
fn token_ops<D: Backend>(dev: &D, x: &Inputs, w: &Inputs, bias: &[f32], gamma: &[f32], qkv: &Inputs, tokens: usize, heads: usize) -> Outcome {
    let xm = mat(dev, &x.x, &x.shape);
    let wm = mat(dev, &w.x, &w.shape);
    let (b, g) = (vector(dev, bias), vector(dev, gamma));
    let beta = vector(dev, &normal(30, gamma.len()));
    let q = mat(dev, &qkv.x, &qkv.shape);
    let mut out: Outcome = Vec::new();

    let y = D::linear(xm.leaky_trace(), wm.clone(), b.clone());
    let r = mat(dev, &normal(11, y.shape().num_elements()), &[y.shape().0, y.shape().1]);
    out.push(("linear y".into(), y.retaped::<NoneTape>().as_vec()));
    let grads = (y * r).sum().backward();
    out.push(("linear dL/dx".into(), grads.get(&xm).as_vec()));
    out.push(("linear dL/dW".into(), grads.get(&wm).as_vec()));
    out.push(("linear dL/db".into(), grads.get(&b).as_vec()));

    let y = D::layer_norm(xm.leaky_trace(), g.clone(), beta.clone(), 1e-6);
    let r = mat(dev, &normal(12, y.shape().num_elements()), &x.shape);
    out.push(("layer_norm y".into(), y.retaped::<NoneTape>().as_vec()));
    let grads = (y * r).sum().backward();
    out.push(("layer_norm dL/dx".into(), grads.get(&xm).as_vec()));
    out.push(("layer_norm dL/dγ".into(), grads.get(&g).as_vec()));
    out.push(("layer_norm dL/dβ".into(), grads.get(&beta).as_vec()));

    let y = D::attention(q.leaky_trace(), tokens, heads);
    let r = mat(dev, &normal(13, y.shape().num_elements()), &[y.shape().0, y.shape().1]);
    out.push(("attention y".into(), y.retaped::<NoneTape>().as_vec()));
    out.push(("attention dL/dqkv".into(), (y * r).sum().backward().get(&q).as_vec()));

    let y = D::gelu(xm.leaky_trace());
    let r = mat(dev, &normal(14, y.shape().num_elements()), &x.shape);
    out.push(("gelu y".into(), y.retaped::<NoneTape>().as_vec()));
    out.push(("gelu dL/dx".into(), (y * r).sum().backward().get(&xm).as_vec()));
    out
}

fn compare(gpu: Outcome, cpu: Outcome) {
    assert_eq!(gpu.len(), cpu.len());
    for ((name, g), (_, c)) in gpu.iter().zip(&cpu) {
        assert!(g.iter().all(|v| v.is_finite()), "{name}: the GPU gave a non-finite value");
        assert!(c.iter().any(|v| v.abs() > 1e-3), "{name}: the CPU's values are all near zero, the check would prove nothing");
        assert_close(&format!("{name} (GPU vs CPU)"), g, c, TOL);
        println!("{name}: {} values agree", g.len());
    }
}

#[test]
fn image_layers_on_the_gpu_match_the_cpu_kernels() {
    // Odd sizes: a 7x9 image, stride 2 and padding 1 in the convolution.
    let x = Inputs { x: normal(1, 3 * 4 * 7 * 9), shape: vec![3, 4, 7, 9] };
    let w = Inputs { x: normal(2, 5 * 4 * 3 * 3), shape: vec![5, 4, 3, 3] };
    let (gamma, beta) = (normal(3, 4).iter().map(|v| 1.0 + 0.5 * v).collect::<Vec<_>>(), normal(4, 4));
    let gpu = image_ops(&Cuda::default(), &x, &w, &gamma, &beta);
    let cpu = image_ops(&Cpu::default(), &x, &w, &gamma, &beta);
    compare(gpu, cpu);
}

#[test]
fn vit_layers_on_the_gpu_match_the_cpu_kernels() {
    // 2 sequences of 5 tokens, width 12, 3 heads of 4; a 12 -> 7 linear layer.
    let (tokens, heads, width) = (5, 3, 12);
    let x = Inputs { x: normal(21, 2 * tokens * width), shape: vec![2 * tokens, width] };
    let w = Inputs { x: normal(22, 7 * width), shape: vec![7, width] };
    let qkv = Inputs { x: normal(23, 2 * tokens * 3 * width), shape: vec![2 * tokens, 3 * width] };
    let (bias, gamma) = (normal(24, 7), normal(25, width).iter().map(|v| 1.0 + 0.5 * v).collect::<Vec<_>>());
    let gpu = token_ops(&Cuda::default(), &x, &w, &bias, &gamma, &qkv, tokens, heads);
    let cpu = token_ops(&Cpu::default(), &x, &w, &bias, &gamma, &qkv, tokens, heads);
    compare(gpu, cpu);
}
