//! The layers dfdx 0.13 lacks on stable Rust (conv, pooling) and the ones that are too slow when
//! composed from its generic ops (BatchNorm; and for the ViT: linear, LayerNorm, attention,
//! GELU), written as real dfdx operations.
//!
//! Each op has two implementations:
//! - a **reference** built only from dfdx's public tensor ops (gather, matmul, max, ...), which
//!   is generic over every dfdx device (this is the path CUDA takes) and is easy to read;
//! - a **fast CPU kernel** (im2col + `gemm`, direct loops) registered on dfdx's tape with
//!   [`Tape::add_backward_op`], writing gradients with [`Gradients::get_or_alloc_mut`].
//!
//! The [`Backend`] trait picks one per device: `Cpu` gets the fast kernels, other devices the
//! reference. Tests check the two against each other and against finite differences.

mod attention;
mod batchnorm;
mod conv2d;
mod cpu;
mod gelu;
mod layernorm;
mod linear;
mod pool;
pub mod profile;
mod vmath;

pub use batchnorm::{batchnorm2d_reference, batchnorm2d_relu_reference, BatchStats};
pub use conv2d::{conv2d_reference, ConvGeom};
pub use cpu::{set_threads, threads, tune_allocator};
pub use pool::{global_avg_pool_reference, max_pool2d_reference};
pub use attention::{attention_maps, attention_reference, Maps};
pub use gelu::gelu_reference;
pub use layernorm::layer_norm_reference;
pub use linear::linear_reference;

use dfdx::prelude::*;

/// A batch of images with every dimension known only at run time: `(B, C, H, W)`.
pub type Img<D, T = NoneTape> = Tensor<(usize, usize, usize, usize), f32, D, T>;
/// A batch of vectors with run-time dimensions: `(B, D)`.
pub type Mat<D, T = NoneTape> = Tensor<(usize, usize), f32, D, T>;
/// A vector with a run-time length.
pub type Vector<D, T = NoneTape> = Tensor<(usize,), f32, D, T>;

/// The device hook: which implementation of each layer a dfdx device uses.
///
/// `Cpu` uses the hand-written kernels of this module; any other device (CUDA) uses the
/// reference built from dfdx ops, so enabling the `cuda` feature needs no new code.
pub trait Backend: Device<f32> {
    /// 2-D convolution of `x: (B, C, H, W)` with `w: (O, C, K, K)`, no bias.
    fn conv2d<T: Tape<f32, Self>>(x: Img<Self, T>, w: Img<Self>, stride: usize, padding: usize) -> Img<Self, T>;

    /// Max pooling with a `k × k` window and stride `s`, no padding.
    fn max_pool2d<T: Tape<f32, Self>>(x: Img<Self, T>, kernel: usize, stride: usize) -> Img<Self, T>;

    /// Global average pooling `(B, C, H, W) → (B, C)`.
    fn global_avg_pool<T: Tape<f32, Self>>(x: Img<Self, T>) -> Mat<Self, T>;

    /// Training-mode batch normalisation over `(B, H, W)` for each channel:
    /// `y = γ (x − μ_B) / sqrt(σ²_B + ε) + β`. Returns `y` and the batch statistics (off tape)
    /// so the caller can update its running averages.
    fn batchnorm2d_train<T: Tape<f32, Self>>(
        x: Img<Self, T>,
        gamma: Vector<Self>,
        beta: Vector<Self>,
        eps: f32,
    ) -> (Img<Self, T>, BatchStats<Self>);

    /// `relu(batchnorm2d_train(x))` as one op (the conv → BN → ReLU block). By default the two
    /// ops one after the other ([`batchnorm2d_relu_reference`]); `Cpu` fuses them.
    fn batchnorm2d_relu_train<T: Tape<f32, Self>>(
        x: Img<Self, T>,
        gamma: Vector<Self>,
        beta: Vector<Self>,
        eps: f32,
    ) -> (Img<Self, T>, BatchStats<Self>) {
        batchnorm2d_relu_reference(x, gamma, beta, eps)
    }

    /// Fully connected layer `y = x·Wᵀ + b` for `x: (N, I)`, `W: (O, I)`, `b: (O,)`.
    fn linear<T: Tape<f32, Self>>(x: Mat<Self, T>, w: Mat<Self>, b: Vector<Self>) -> Mat<Self, T>;

    /// Layer normalisation of each row of `x: (N, D)`: `y = γ (x − μ_n) / sqrt(σ²_n + ε) + β`.
    fn layer_norm<T: Tape<f32, Self>>(x: Mat<Self, T>, gamma: Vector<Self>, beta: Vector<Self>, eps: f32) -> Mat<Self, T>;

    /// Multi-head attention `softmax(Q·Kᵀ/√d)·V` of `B` sequences of `tokens` tokens, from the
    /// packed `[Q | K | V]` matrix `(B·tokens, 3D)` to the concatenated heads `(B·tokens, D)`.
    fn attention<T: Tape<f32, Self>>(qkv: Mat<Self, T>, tokens: usize, heads: usize) -> Mat<Self, T>;

    /// GELU (tanh form), element-wise.
    fn gelu<T: Tape<f32, Self>>(x: Mat<Self, T>) -> Mat<Self, T>;
}

impl Backend for Cpu {
    fn conv2d<T: Tape<f32, Self>>(x: Img<Self, T>, w: Img<Self>, stride: usize, padding: usize) -> Img<Self, T> {
        let _p = profile::span("conv2d forward");
        conv2d::conv2d_cpu(x, w, stride, padding)
    }
    fn max_pool2d<T: Tape<f32, Self>>(x: Img<Self, T>, kernel: usize, stride: usize) -> Img<Self, T> {
        let _p = profile::span("max_pool2d forward");
        pool::max_pool2d_cpu(x, kernel, stride)
    }
    fn global_avg_pool<T: Tape<f32, Self>>(x: Img<Self, T>) -> Mat<Self, T> {
        let _p = profile::span("global_avg_pool forward");
        pool::global_avg_pool_cpu(x)
    }
    fn batchnorm2d_train<T: Tape<f32, Self>>(
        x: Img<Self, T>,
        gamma: Vector<Self>,
        beta: Vector<Self>,
        eps: f32,
    ) -> (Img<Self, T>, BatchStats<Self>) {
        let _p = profile::span("batchnorm2d forward");
        batchnorm::batchnorm2d_cpu(x, gamma, beta, eps, false)
    }
    fn batchnorm2d_relu_train<T: Tape<f32, Self>>(
        x: Img<Self, T>,
        gamma: Vector<Self>,
        beta: Vector<Self>,
        eps: f32,
    ) -> (Img<Self, T>, BatchStats<Self>) {
        let _p = profile::span("batchnorm2d forward");
        batchnorm::batchnorm2d_cpu(x, gamma, beta, eps, true)
    }
    fn linear<T: Tape<f32, Self>>(x: Mat<Self, T>, w: Mat<Self>, b: Vector<Self>) -> Mat<Self, T> {
        let _p = profile::span("linear forward");
        linear::linear_cpu(x, w, b)
    }
    fn layer_norm<T: Tape<f32, Self>>(x: Mat<Self, T>, gamma: Vector<Self>, beta: Vector<Self>, eps: f32) -> Mat<Self, T> {
        let _p = profile::span("layer_norm forward");
        layernorm::layer_norm_cpu(x, gamma, beta, eps)
    }
    fn attention<T: Tape<f32, Self>>(qkv: Mat<Self, T>, tokens: usize, heads: usize) -> Mat<Self, T> {
        let _p = profile::span("attention forward");
        attention::attention_cpu(qkv, tokens, heads)
    }
    fn gelu<T: Tape<f32, Self>>(x: Mat<Self, T>) -> Mat<Self, T> {
        let _p = profile::span("gelu forward");
        gelu::gelu_cpu(x)
    }
}

/// Implements [`Backend`] for a device with the dfdx-op references of this module.
#[cfg(feature = "cuda")]
macro_rules! reference_backend {
    ($device:ty) => {
        impl Backend for $device {
            fn conv2d<T: Tape<f32, Self>>(x: Img<Self, T>, w: Img<Self>, stride: usize, padding: usize) -> Img<Self, T> {
                conv2d_reference(x, w, stride, padding)
            }
            fn max_pool2d<T: Tape<f32, Self>>(x: Img<Self, T>, kernel: usize, stride: usize) -> Img<Self, T> {
                max_pool2d_reference(x, kernel, stride)
            }
            fn global_avg_pool<T: Tape<f32, Self>>(x: Img<Self, T>) -> Mat<Self, T> {
                global_avg_pool_reference(x)
            }
            fn batchnorm2d_train<T: Tape<f32, Self>>(
                x: Img<Self, T>,
                gamma: Vector<Self>,
                beta: Vector<Self>,
                eps: f32,
            ) -> (Img<Self, T>, BatchStats<Self>) {
                batchnorm2d_reference(x, gamma, beta, eps)
            }
            fn linear<T: Tape<f32, Self>>(x: Mat<Self, T>, w: Mat<Self>, b: Vector<Self>) -> Mat<Self, T> {
                linear_reference(x, w, b)
            }
            fn layer_norm<T: Tape<f32, Self>>(x: Mat<Self, T>, gamma: Vector<Self>, beta: Vector<Self>, eps: f32) -> Mat<Self, T> {
                layer_norm_reference(x, gamma, beta, eps)
            }
            fn attention<T: Tape<f32, Self>>(qkv: Mat<Self, T>, tokens: usize, heads: usize) -> Mat<Self, T> {
                attention_reference(qkv, tokens, heads)
            }
            fn gelu<T: Tape<f32, Self>>(x: Mat<Self, T>) -> Mat<Self, T> {
                gelu_reference(x)
            }
        }
    };
}

#[cfg(feature = "cuda")]
reference_backend!(Cuda);
