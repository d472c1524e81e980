//! The momentum (exponential moving average) update of a copy of a network, used for MoCo's
//! key encoder, BYOL's target and DINO's teacher (each held in a [`crate::nn::Target`], which
//! keeps the copy away from every optimizer):
//!
//! ```text
//! θ_k ← m · θ_k + (1 − m) · θ_q
//! ```
//!
//! Unlike dfdx's `ModelEMA`, which only averages trainable parameters, this averages **every**
//! tensor, BatchNorm running statistics included, as MoCo's code does: otherwise the key
//! encoder would normalise with statistics that never move.

use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;

// ANCHOR: moco_momentum_queue
/// Visits each pair of tensors (key encoder's, query encoder's) and applies the update.
struct MomentumOp {
    m: f64,
}

impl<D: Device<f32>> TensorVisitor<f32, D> for MomentumOp {
    type Viewer = (ViewTensorMut, ViewTensorRef);
    type Err = D::Err;
    type E2 = f32;
    type D2 = D;

    fn visit<S: Shape>(
        &mut self,
        _opts: TensorOptions<S, f32, D>,
        (target, online): (&mut Tensor<S, f32, D>, &Tensor<S, f32, D>),
    ) -> Result<Option<Tensor<S, f32, D>>, Self::Err> {
        // BEGIN SOLUTION
        // HINT: `a.try_axpy(alpha, b, beta)` sets a ← alpha · a + beta · b, in place.
        // HINT: `target` is θ_k (it keeps most of itself), `online` is θ_q; m = `self.m`.
        target.try_axpy(self.m, online, 1.0 - self.m)?;
        Ok(None)
        // END SOLUTION
    }
}

/// `target ← m · target + (1 − m) · online` for every tensor of the two networks.
pub fn momentum_update<M: TensorCollection<f32, D>, D: Device<f32>>(target: &mut M, online: &M, m: f64) {
    assert!((0.0..=1.0).contains(&m), "momentum_update: m must be in [0, 1], got {m}");
    M::iter_tensors(&mut RecursiveWalker { m: (target, online), f: &mut MomentumOp { m } }).expect("momentum update");
}
// ANCHOR_END: moco_momentum_queue
