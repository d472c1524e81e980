//! Heads `g` that sit on top of the encoder during self-supervised training and are thrown
//! away afterwards (SimCLR, Chen et al. 2020, §4.2: evaluating `h = f(x)` rather than
//! `z = g(h)` is markedly better, because `g` learns to discard information the pretext task
//! does not need).
//!
//! Two heads, both a [`Head`]: the two-layer [`Mlp`] of SimCLR and MoCo v2, and the single
//! [`LinearHead`] of InstDisc and MoCo v1 (MoCo v2's gain over v1 comes partly from swapping
//! the second for the first).

use crate::nn::layers::BatchNorm2d;
use crate::nn::ops::{Backend, Mat};
use dfdx::nn::modules::Linear;
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;

/// Which kind of head a [`Head`] is, for methods whose name or recipe depends on it
/// (MoCo v1 has a linear head, MoCo v2 an MLP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadKind {
    Linear,
    Mlp,
}

/// A projection head `z = g(h)` from `(N, F)` features to `(N, Z)` embeddings.
pub trait Head<D: Backend>: Clone {
    const KIND: HeadKind;
    /// Training mode (batch statistics in any BatchNorm).
    fn forward_train<T: Tape<f32, D>>(&mut self, h: Mat<D, T>) -> Mat<D, T>;
    /// Evaluation mode.
    fn forward_eval<T: Tape<f32, D>>(&self, h: Mat<D, T>) -> Mat<D, T>;
}

/// One fully connected layer `z = W h + b`, from `I` to `O` features: the head of InstDisc
/// (Wu et al. 2018, §3.1) and MoCo v1 (He et al. 2020, §3.3: "the last fully-connected layer
/// (after global average pooling) has a fixed-dimensional output (128-D)").
#[derive(Debug, Clone)]
pub struct LinearHead<const I: usize, const O: usize, E: Dtype, D: Storage<E>> {
    pub fc: Linear<I, O, E, D>,
}

impl<const I: usize, const O: usize, E: Dtype + SampleUniform + num_traits::Float, D: Device<E>> TensorCollection<E, D>
    for LinearHead<I, O, E, D>
{
    type To<E2: Dtype, D2: Device<E2>> = LinearHead<I, O, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("fc", |s| &s.fc, |s| &mut s.fc), |fc| LinearHead { fc })
    }
}

impl<const I: usize, const O: usize, D: Backend> LinearHead<I, O, f32, D> {
    fn apply<T: Tape<f32, D>>(&self, x: Mat<D, T>) -> Mat<D, T> {
        assert_eq!(x.shape().1, I, "LinearHead: expected {I} input features, got {}", x.shape().1);
        let b = x.shape().0;
        self.fc.forward(x.reshape_like(&(b, Const::<I>))).reshape_like(&(b, O))
    }
}

impl<const I: usize, const O: usize, D: Backend> Head<D> for LinearHead<I, O, f32, D> {
    const KIND: HeadKind = HeadKind::Linear;
    fn forward_train<T: Tape<f32, D>>(&mut self, h: Mat<D, T>) -> Mat<D, T> {
        self.apply(h)
    }
    fn forward_eval<T: Tape<f32, D>>(&self, h: Mat<D, T>) -> Mat<D, T> {
        self.apply(h)
    }
}

/// Two-layer MLP `z = W₂ · relu(BN(W₁ h + b₁)) + b₂`, from `I` to `O` through `H` hidden units.
///
/// Used as SimCLR's projection head (and later as MoCo v2's, and BYOL's projector/predictor).
#[derive(Debug, Clone)]
pub struct Mlp<const I: usize, const H: usize, const O: usize, E: Dtype, D: Storage<E>> {
    pub fc1: Linear<I, H, E, D>,
    pub bn: BatchNorm2d<H, E, D>,
    pub fc2: Linear<H, O, E, D>,
}

impl<const I: usize, const H: usize, const O: usize, E: Dtype + SampleUniform + num_traits::Float, D: Device<E>> TensorCollection<E, D>
    for Mlp<I, H, O, E, D>
{
    type To<E2: Dtype, D2: Device<E2>> = Mlp<I, H, O, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("fc1", |s| &s.fc1, |s| &mut s.fc1),
                Self::module("bn", |s| &s.bn, |s| &mut s.bn),
                Self::module("fc2", |s| &s.fc2, |s| &mut s.fc2),
            ),
            |(fc1, bn, fc2)| Mlp { fc1, bn, fc2 },
        )
    }
}

impl<const I: usize, const H: usize, const O: usize, D: Backend> Mlp<I, H, O, f32, D> {
    fn check(x: &(usize, usize)) -> usize {
        assert_eq!(x.1, I, "Mlp: expected {I} input features, got {}", x.1);
        x.0
    }

    /// Training mode (batch statistics in the BatchNorm).
    pub fn forward_train<T: Tape<f32, D>>(&mut self, x: Mat<D, T>) -> Mat<D, T> {
        let b = Self::check(x.shape());
        let h = self.fc1.forward(x.reshape_like(&(b, Const::<I>)));
        let h = self.bn.forward_train(h.reshape_like(&(b, H, 1, 1))).relu();
        self.fc2.forward(h.reshape_like(&(b, Const::<H>))).reshape_like(&(b, O))
    }

    /// Evaluation mode.
    pub fn forward_eval<T: Tape<f32, D>>(&self, x: Mat<D, T>) -> Mat<D, T> {
        let b = Self::check(x.shape());
        let h = self.fc1.forward(x.reshape_like(&(b, Const::<I>)));
        let h = self.bn.forward_eval(h.reshape_like(&(b, H, 1, 1))).relu();
        self.fc2.forward(h.reshape_like(&(b, Const::<H>))).reshape_like(&(b, O))
    }
}

impl<const I: usize, const H: usize, const O: usize, D: Backend> Head<D> for Mlp<I, H, O, f32, D> {
    const KIND: HeadKind = HeadKind::Mlp;
    fn forward_train<T: Tape<f32, D>>(&mut self, h: Mat<D, T>) -> Mat<D, T> {
        Mlp::forward_train(self, h)
    }
    fn forward_eval<T: Tape<f32, D>>(&self, h: Mat<D, T>) -> Mat<D, T> {
        Mlp::forward_eval(self, h)
    }
}
