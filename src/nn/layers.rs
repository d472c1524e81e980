//! Layers with parameters, built on the ops of [`crate::nn::ops`]: `Conv2d`, `BatchNorm2d`,
//! and the `ConvBlock` (conv → BN → ReLU) every encoder of the kit stacks.
//!
//! Channel counts are compile-time constants (so parameter shapes are checked by the type
//! system and saved by name); batch and spatial sizes are run-time values, so one encoder
//! accepts 32×32 global crops and 16×16 local crops alike.
//!
//! Every layer has two forward passes, as in PyTorch's `train()` / `eval()`:
//! `forward_train(&mut self, x)` uses batch statistics in BatchNorm and updates its running
//! averages; `forward_eval(&self, x)` uses the running averages and changes nothing.

use crate::nn::ops::{Backend, Img};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::{uniform::SampleUniform, Uniform};

/// 2-D convolution with `I` input channels, `O` filters of size `K × K`, stride `S`, zero
/// padding `P`, and no bias (a BatchNorm follows every convolution in the kit).
///
/// Initialised as PyTorch does (Kaiming-uniform with a = √5): `w ~ U(−b, b)`, `b = 1/√(I·K·K)`.
#[derive(Debug, Clone)]
pub struct Conv2d<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, E: Dtype, D: Storage<E>> {
    pub weight: Tensor<Rank4<O, I, K, K>, E, D>,
}

impl<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, E: Dtype + SampleUniform, D: Device<E>> TensorCollection<E, D>
    for Conv2d<I, O, K, S, P, E, D>
{
    type To<E2: Dtype, D2: Device<E2>> = Conv2d<I, O, K, S, P, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            Self::tensor(
                "weight",
                |s| &s.weight,
                |s| &mut s.weight,
                TensorOptions::reset_with(|t| {
                    let b = E::from_f64(1.0 / ((I * K * K) as f64).sqrt()).unwrap();
                    t.try_fill_with_distr(Uniform::new(E::default() - b, b))
                }),
            ),
            |weight| Conv2d { weight },
        )
    }
}

impl<const I: usize, const O: usize, const K: usize, const S: usize, const P: usize, D: Backend> Conv2d<I, O, K, S, P, f32, D> {
    /// `y = w ⋆ x` (see [`crate::nn::ops::ConvGeom`] for the formula).
    pub fn forward<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Img<D, T> {
        // A reshape of a contiguous tensor keeps its id, so the gradient lands on `weight`.
        D::conv2d(x, self.weight.clone().reshape_like(&(O, I, K, K)), S, P)
    }
}

/// Batch normalisation over the channels of an image batch (Ioffe & Szegedy, 2015).
///
/// Training: normalise with the batch's μ, σ² and update the running averages
/// `r ← (1 − m)·r + m·stat` (m = `momentum`, 0.1 as in PyTorch; the running variance uses the
/// unbiased σ²). Evaluation: normalise with the running averages.
#[derive(Debug, Clone)]
pub struct BatchNorm2d<const C: usize, E: Dtype, D: Storage<E>> {
    /// γ
    pub scale: Tensor<Rank1<C>, E, D>,
    /// β
    pub bias: Tensor<Rank1<C>, E, D>,
    pub running_mean: Tensor<Rank1<C>, E, D>,
    pub running_var: Tensor<Rank1<C>, E, D>,
    pub epsilon: f64,
    pub momentum: f64,
}

impl<const C: usize, E: Dtype, D: Device<E>> TensorCollection<E, D> for BatchNorm2d<C, E, D> {
    type To<E2: Dtype, D2: Device<E2>> = BatchNorm2d<C, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("scale", |s| &s.scale, |s| &mut s.scale, TensorOptions::reset_to_ones()),
                Self::tensor("bias", |s| &s.bias, |s| &mut s.bias, TensorOptions::reset_to_zeros()),
                Self::tensor(
                    "running_mean",
                    |s| &s.running_mean,
                    |s| &mut s.running_mean,
                    TensorOptions::detached(|t| t.try_fill_with_zeros()),
                ),
                Self::tensor(
                    "running_var",
                    |s| &s.running_var,
                    |s| &mut s.running_var,
                    TensorOptions::detached(|t| t.try_fill_with_ones()),
                ),
                Self::scalar("epsilon", |s| &s.epsilon, |s| &mut s.epsilon, ScalarOptions::from_default(1e-5)),
                Self::scalar("momentum", |s| &s.momentum, |s| &mut s.momentum, ScalarOptions::from_default(0.1)),
            ),
            |(scale, bias, running_mean, running_var, epsilon, momentum)| BatchNorm2d {
                scale,
                bias,
                running_mean,
                running_var,
                epsilon,
                momentum,
            },
        )
    }
}

impl<const C: usize, D: Backend> BatchNorm2d<C, f32, D> {
    /// Training mode: batch statistics, running averages updated.
    pub fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Img<D, T> {
        let (y, stats) = D::batchnorm2d_train(
            x,
            self.scale.clone().reshape_like(&(C,)),
            self.bias.clone().reshape_like(&(C,)),
            self.epsilon as f32,
        );
        self.update_running(stats);
        y
    }

    /// `relu(self.forward_train(x))` as one fused op ([`Backend::batchnorm2d_relu_train`]).
    pub fn forward_train_relu<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Img<D, T> {
        let (y, stats) = D::batchnorm2d_relu_train(
            x,
            self.scale.clone().reshape_like(&(C,)),
            self.bias.clone().reshape_like(&(C,)),
            self.epsilon as f32,
        );
        self.update_running(stats);
        y
    }

    /// Running averages from one batch's statistics.
    fn update_running(&mut self, stats: crate::nn::ops::BatchStats<D>) {
        let m = self.momentum as f32;
        let n = stats.count as f32;
        let unbiased = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
        self.running_mean.axpy(1.0 - m, &stats.mean.reshape_like(&(Const::<C>,)), m);
        self.running_var.axpy(1.0 - m, &stats.var.reshape_like(&(Const::<C>,)), m * unbiased);
    }

    /// Evaluation mode: `y = γ (x − running_mean) / sqrt(running_var + ε) + β`.
    pub fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Img<D, T> {
        let shape = *x.shape();
        let inv_std = (self.running_var.clone() + self.epsilon as f32).sqrt().recip();
        let scale = (self.scale.clone() * inv_std).reshape_like(&(C,));
        let shift = self.bias.clone().reshape_like(&(C,))
            - self.running_mean.clone().reshape_like(&(C,)) * scale.clone();
        x * scale.broadcast_like::<_, Axes3<0, 2, 3>>(&shape) + shift.broadcast_like::<_, Axes3<0, 2, 3>>(&shape)
    }
}

/// conv 3×3 (stride `S`, padding 1) → BatchNorm → ReLU: the unit every encoder stacks.
#[derive(Debug, Clone)]
pub struct ConvBlock<const I: usize, const O: usize, const S: usize, E: Dtype, D: Storage<E>> {
    pub conv: Conv2d<I, O, 3, S, 1, E, D>,
    pub bn: BatchNorm2d<O, E, D>,
}

impl<const I: usize, const O: usize, const S: usize, E: Dtype + SampleUniform, D: Device<E>> TensorCollection<E, D> for ConvBlock<I, O, S, E, D> {
    type To<E2: Dtype, D2: Device<E2>> = ConvBlock<I, O, S, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (Self::module("conv", |s| &s.conv, |s| &mut s.conv), Self::module("bn", |s| &s.bn, |s| &mut s.bn)),
            |(conv, bn)| ConvBlock { conv, bn },
        )
    }
}

impl<const I: usize, const O: usize, const S: usize, D: Backend> ConvBlock<I, O, S, f32, D> {
    pub fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Img<D, T> {
        self.bn.forward_train_relu(self.conv.forward(x))
    }
    pub fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Img<D, T> {
        self.bn.forward_eval(self.conv.forward(x)).relu()
    }
}
