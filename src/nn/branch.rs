//! A branch of a joint-embedding method: encoder `f` followed by projection head `g`,
//! `z = g(f(x))`. MoCo has a query and a key branch, BYOL an online and a target one.

use crate::augment::{MultiCropBatch, ViewBatch};
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

impl<Enc: Encoder<D>, const F: usize, const H: usize, const Z: usize, D: Backend, G: Head<D> + TensorCollection<f32, D>> Branch<Enc, F, H, Z, f32, D, G> {
    /// Multi-crop's forward pass (SwAV, DINO's student): `z` for every crop, the global crops'
    /// rows first, then the local ones (view-major, as [`MultiCropBatch`] packs them), on a
    /// tape that starts from `grads`. One pass per crop size, so that BatchNorm normalises
    /// each size with its own batch statistics.
    ///
    /// The local crops do not feed BatchNorm's running averages: those serve evaluation, on
    /// whole images, and small crops have other statistics (the reference code lets both
    /// sizes update them; not measured on its own here).
    pub fn forward_multi_crop(&mut self, dev: &D, crops: MultiCropBatch, grads: Gradients<f32, D>) -> Mat<D, OwnedTape<f32, D>> {
        let z_global = self.forward_train(images(dev, crops.global).traced(grads));
        match crops.local {
            None => z_global,
            Some(local) => {
                let saved = running_statistics(self);
                let z_local = self.forward_train(images(dev, local).retaped::<OwnedTape<f32, D>>());
                restore_running_statistics(self, saved);
                (z_global, z_local).concat_along(Axis::<0>)
            }
        }
    }
}

/// The values of every tensor of `m` that no optimizer trains (BatchNorm's running averages),
/// in visiting order.
fn running_statistics<M: TensorCollection<f32, D>, D: Device<f32>>(m: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl<D: Device<f32>> TensorVisitor<f32, D> for Collect {
        type Viewer = ViewTensorRef;
        type Err = D::Err;
        type E2 = f32;
        type D2 = D;
        fn visit<S: Shape>(&mut self, opts: TensorOptions<S, f32, D>, t: &Tensor<S, f32, D>) -> std::result::Result<Option<Tensor<S, f32, D>>, D::Err> {
            if !opts.do_gradient_update {
                self.0.push(t.as_vec());
            }
            Ok(None)
        }
    }
    let mut c = Collect(Vec::new());
    M::iter_tensors(&mut RecursiveWalker { m, f: &mut c }).expect("read the running statistics");
    c.0
}

/// Writes back what [`running_statistics`] read (same tensors, same ids).
fn restore_running_statistics<M: TensorCollection<f32, D>, D: Device<f32>>(m: &mut M, saved: Vec<Vec<f32>>) {
    struct Restore(std::vec::IntoIter<Vec<f32>>);
    impl<D: Device<f32>> TensorVisitor<f32, D> for Restore {
        type Viewer = ViewTensorMut;
        type Err = D::Err;
        type E2 = f32;
        type D2 = D;
        fn visit<S: Shape>(&mut self, opts: TensorOptions<S, f32, D>, t: &mut Tensor<S, f32, D>) -> std::result::Result<Option<Tensor<S, f32, D>>, D::Err> {
            if !opts.do_gradient_update {
                t.copy_from(&self.0.next().expect("as many statistics as were read"));
            }
            Ok(None)
        }
    }
    M::iter_tensors(&mut RecursiveWalker { m, f: &mut Restore(saved.into_iter()) }).expect("restore the running statistics");
}

/// A view batch as an image tensor on `dev`.
fn images<D: Backend>(dev: &D, views: ViewBatch) -> Img<D> {
    let [b, c, h, w] = views.shape();
    dev.tensor_from_vec(views.data, (b, c, h, w))
}

