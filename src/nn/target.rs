//! # The target network: a slowly updated copy that no optimizer can touch
//!
//! MoCo's key encoder, BYOL's target network and DINO's teacher are all the same object: a
//! second network with the online network's architecture, never trained by gradient descent,
//! only pulled towards the online network after each step by an exponential moving average
//! (see [`crate::nn::ema`]):
//!
//! ```text
//! θ_t ← m · θ_t + (1 − m) · θ_o        (m = 1: frozen;  m = 0: a copy of the online network)
//! ```
//!
//! [`Target`] wraps such a network and guarantees three things:
//!
//! 1. **Its own tensors.** It is built as a separate module and receives the online network's
//!    *values* by copy ([`Target::start_from`]). In dfdx, `Clone` keeps a tensor's id, and
//!    gradients and optimizer state (Adam's moments, SGD's velocity) are keyed by id: a
//!    target made with `online.clone()` would share every gradient and every optimizer step
//!    with the online network, so `m` would have no effect at all (the kit's MoCo ran like
//!    that, effectively with `m ≈ 0`, until this type existed). A binary op between a tensor
//!    and its clone also panics in backward.
//! 2. **Invisible to optimizers.** Every tensor inside is reported to dfdx's visitors as
//!    *detached* (`do_gradient_update = false`), so an optimizer skips it entirely — no
//!    gradient step, no weight decay, no Adam moments — even if a gradient for it existed.
//!    It is not counted by `num_trainable_params`, and `alloc_grads` allocates nothing for it.
//! 3. **Saved with checkpoints.** Its tensors keep their names (a `key` field holds
//!    `key.encoder…` as before) and a flag `initialised` records that it holds real values,
//!    so a resumed run does not copy the online network over a trained target.

use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use num_traits::NumCast;
use std::marker::PhantomData;

/// A slowly updated copy of a network `M`, never visited by an optimizer.
#[derive(Debug, Clone)]
pub struct Target<M> {
    net: M,
    /// 1 once the target holds values copied from the online network (saved in checkpoints).
    initialised: f64,
}

impl<M> Target<M> {
    /// The network, for forward passes (training-mode BatchNorm may update its running
    /// statistics; no optimizer ever sees it).
    pub fn net(&self) -> &M {
        &self.net
    }

    /// Mutable access for forward passes that update BatchNorm statistics. Do not assign a
    /// `clone()` of the online network here: see the module documentation.
    pub fn net_mut(&mut self) -> &mut M {
        &mut self.net
    }

    /// Whether [`Target::start_from`] has filled it (or a checkpoint restored it).
    pub fn is_initialised(&self) -> bool {
        self.initialised != 0.0
    }
}

impl<M> Target<M> {
    /// Copies the online network's values into the target's own tensors, unless the target
    /// already holds values (a run resumed from a checkpoint keeps its trained target).
    pub fn start_from<D: Device<f32>>(&mut self, online: &M)
    where
        M: TensorCollection<f32, D>,
    {
        if !self.is_initialised() {
            self.copy_from(online);
        }
    }

    /// `θ_t ← θ_o`, by value: the target keeps its own tensor ids.
    pub fn copy_from<D: Device<f32>>(&mut self, online: &M)
    where
        M: TensorCollection<f32, D>,
    {
        M::iter_tensors(&mut RecursiveWalker { m: (&mut self.net, online), f: &mut CopyValues }).expect("copy into the target network");
        self.initialised = 1.0;
    }

    /// The momentum update `θ_t ← m · θ_t + (1 − m) · θ_o` of every tensor (BatchNorm
    /// statistics included).
    pub fn update<D: Device<f32>>(&mut self, online: &M, m: f64)
    where
        M: TensorCollection<f32, D>,
    {
        assert!(self.is_initialised(), "Target::update: the target was never filled (call start_from first)");
        crate::nn::ema::momentum_update(&mut self.net, online, m);
    }
}

/// Copies each online tensor's values into the matching target tensor.
struct CopyValues;

impl<D: Device<f32>> TensorVisitor<f32, D> for CopyValues {
    type Viewer = (ViewTensorMut, ViewTensorRef);
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(&mut self, _opts: TensorOptions<S, f32, D>, (target, online): (&mut Tensor<S, f32, D>, &Tensor<S, f32, D>)) -> Result<Option<Tensor<S, f32, D>>, D::Err> {
        target.copy_from(&online.as_vec());
        Ok(None)
    }
}

impl<M: TensorCollection<E, D>, E: Dtype, D: Device<E>> TensorCollection<E, D> for Target<M> {
    type To<E2: Dtype, D2: Device<E2>> = Target<M::To<E2, D2>>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        let initialised = visitor.visit_scalar("initialised", |s| &s.initialised, |s| &mut s.initialised, ScalarOptions::from_default(0.0))?;
        // The network's tensors are visited through `Detached`, which marks each one as not
        // to be updated by gradients and keeps its full name.
        let mut detached = Detached { root: visitor, prefix: String::new(), get_ref: root_ref::<M>, get_mut: root_mut::<M>, _cur: PhantomData };
        let net = M::iter_tensors(&mut detached)?;
        Ok(match (net, initialised) {
            (Some(net), Some(initialised)) => Some(Target { net, initialised }),
            _ => None,
        })
    }
}

/// A [`ModuleVisitor`] for a module `Cur` nested somewhere inside a [`Target`] (`Root`): it
/// forwards every tensor and scalar to the visitor of the target itself, with its full name
/// and an accessor from the root, and with `do_gradient_update = false`.
///
/// The accessors from the root down to `Cur` are chained level by level. They are kept as
/// projections between raw pointers because a chained closure `&Root → &Cur → &Field` cannot
/// be written for every lifetime of `&Root` without requiring `Cur: 'static`; each link only
/// follows dfdx's own field accessor, so every pointer points into the borrowed root.
struct Detached<'v, V, Root, Cur, GetRef, GetMut> {
    root: &'v mut V,
    /// The path from the target to `Cur`, dot-separated as dfdx names tensors.
    prefix: String,
    get_ref: GetRef,
    get_mut: GetMut,
    _cur: PhantomData<fn(&Root) -> &Cur>,
}

/// dfdx's naming of nested fields: `parent.child`, or `child` at the top.
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The first link: `&Target<M> → &M` as a pointer projection.
fn root_ref<M>(t: *const Target<M>) -> *const M {
    // SAFETY: `t` comes from a live `&Target<M>` (see `as_ref_accessor`).
    unsafe { &(*t).net }
}

fn root_mut<M>(t: *mut Target<M>) -> *mut M {
    // SAFETY: `t` comes from a live `&mut Target<M>` (see `as_mut_accessor`).
    unsafe { &mut (*t).net }
}

/// Appends dfdx's field accessor `&B → &C` to a projection `A → B`.
fn chain_ref<'f, A, B: 'f, C>(mut outer: impl FnMut(*const A) -> *const B + 'f, mut field: impl FnMut(&B) -> &C + 'f) -> impl FnMut(*const A) -> *const C + 'f {
    // SAFETY: `outer` returns a pointer into the live root it was given.
    move |a| field(unsafe { &*outer(a) })
}

fn chain_mut<'f, A, B: 'f, C>(mut outer: impl FnMut(*mut A) -> *mut B + 'f, mut field: impl FnMut(&mut B) -> &mut C + 'f) -> impl FnMut(*mut A) -> *mut C + 'f {
    // SAFETY: `outer` returns a pointer into the live root it was given, borrowed mutably.
    move |a| field(unsafe { &mut *outer(a) })
}

/// The projection as the accessor dfdx's visitors take: `&A → &C` for every lifetime.
fn as_ref_accessor<'f, A, C>(mut project: impl FnMut(*const A) -> *const C + 'f) -> impl FnMut(&A) -> &C + 'f {
    // SAFETY: the result points into `a`, which outlives the returned reference.
    move |a| unsafe { &*project(a) }
}

fn as_mut_accessor<'f, A, C>(mut project: impl FnMut(*mut A) -> *mut C + 'f) -> impl FnMut(&mut A) -> &mut C + 'f {
    // SAFETY: the result points into `a`, borrowed mutably for as long as the result lives.
    move |a| unsafe { &mut *project(a) }
}

impl<'v, V, Root, Cur, GR, GM, E, D> ModuleVisitor<Cur, E, D> for Detached<'v, V, Root, Cur, GR, GM>
where
    E: Dtype,
    D: Device<E>,
    Root: TensorCollection<E, D>,
    Cur: TensorCollection<E, D>,
    V: ModuleVisitor<Root, E, D>,
    GR: FnMut(*const Root) -> *const Cur,
    GM: FnMut(*mut Root) -> *mut Cur,
{
    type Err = V::Err;
    type E2 = V::E2;
    type D2 = V::D2;

    fn visit_module<Field, GetRef, GetMut>(&mut self, name: &str, get_refs: GetRef, get_muts: GetMut) -> Result<Option<Field::To<Self::E2, Self::D2>>, Self::Err>
    where
        GetRef: FnMut(&Cur) -> &Field,
        GetMut: FnMut(&mut Cur) -> &mut Field,
        Field: TensorCollection<E, D>,
    {
        let mut inner = Detached {
            root: &mut *self.root,
            prefix: join(&self.prefix, name),
            get_ref: chain_ref(&mut self.get_ref, get_refs),
            get_mut: chain_mut(&mut self.get_mut, get_muts),
            _cur: PhantomData,
        };
        Field::iter_tensors(&mut inner)
    }

    fn visit_tensor<S: Shape, GetRef, GetMut>(&mut self, name: &str, get_refs: GetRef, get_muts: GetMut, mut opts: TensorOptions<S, E, D>) -> Result<Option<Tensor<S, Self::E2, Self::D2>>, Self::Err>
    where
        GetRef: FnMut(&Cur) -> &Tensor<S, E, D>,
        GetMut: FnMut(&mut Cur) -> &mut Tensor<S, E, D>,
    {
        opts.do_gradient_update = false;
        let get_ref = as_ref_accessor(chain_ref(&mut self.get_ref, get_refs));
        let get_mut = as_mut_accessor(chain_mut(&mut self.get_mut, get_muts));
        self.root.visit_tensor(&join(&self.prefix, name), get_ref, get_mut, opts)
    }

    fn visit_scalar<N, GetRef, GetMut>(&mut self, name: &str, get_refs: GetRef, get_muts: GetMut, opts: ScalarOptions<N>) -> Result<Option<N>, Self::Err>
    where
        N: NumCast,
        GetRef: FnMut(&Cur) -> &N,
        GetMut: FnMut(&mut Cur) -> &mut N,
    {
        let get_ref = as_ref_accessor(chain_ref(&mut self.get_ref, get_refs));
        let get_mut = as_mut_accessor(chain_mut(&mut self.get_mut, get_muts));
        self.root.visit_scalar(&join(&self.prefix, name), get_ref, get_mut, opts)
    }

    fn visit_fields<M: ModuleFields<Cur, E, D>>(&mut self, fields: M, builder: impl FnOnce(M::Output<Self::E2, Self::D2>) -> Cur::To<Self::E2, Self::D2>) -> Result<Option<Cur::To<Self::E2, Self::D2>>, Self::Err> {
        let options = fields.visit_fields(self)?;
        Ok(M::handle_options(options).map(builder))
    }
}
