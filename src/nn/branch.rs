//! A branch of a joint-embedding method: encoder `f` followed by projection head `g`,
//! `z = g(f(x))`. MoCo has a query and a key branch, BYOL an online and a target one.

use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::heads::Head;
use crate::nn::{Encoder, Mlp};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;

/// `z = g(f(x))`, with `f: F`-dimensional features and a head `g: F → Z`: by default the MLP
/// `F → H → Z` (SimCLR, MoCo v2), or any other [`Head`] such as MoCo v1's
/// [`crate::nn::heads::LinearHead`] (which ignores `H`).
#[derive(Debug, Clone)]
pub struct Branch<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>, G = Mlp<F, H, Z, E, D>> {
    pub encoder: Enc,
    pub projector: G,
    _head: std::marker::PhantomData<(E, D)>,
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E: Dtype, D: Storage<E>, G> Branch<Enc, F, H, Z, E, D, G> {
    pub fn new(encoder: Enc, projector: G) -> Self {
        Self { encoder, projector, _head: std::marker::PhantomData }
    }
}

impl<Enc, const F: usize, const H: usize, const Z: usize, E, D, G> TensorCollection<E, D> for Branch<Enc, F, H, Z, E, D, G>
where
    E: Dtype + SampleUniform + num_traits::Float,
    D: Device<E>,
    Enc: TensorCollection<E, D>,
    G: TensorCollection<E, D>,
{
    type To<E2: Dtype, D2: Device<E2>> = Branch<Enc::To<E2, D2>, F, H, Z, E2, D2, G::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("encoder", |s| &s.encoder, |s| &mut s.encoder),
                Self::module("projector", |s| &s.projector, |s| &mut s.projector),
            ),
            |(encoder, projector)| Branch::new(encoder, projector),
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend, G: Head<D>> Branch<Enc, F, H, Z, f32, D, G> {
    /// Training mode.
    pub fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Mat<D, T> {
        self.projector.forward_train(self.encoder.forward_train(x))
    }
    /// Evaluation mode.
    pub fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T> {
        self.projector.forward_eval(self.encoder.forward_eval(x))
    }
}
