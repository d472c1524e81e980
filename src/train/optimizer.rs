//! The two optimizers the kit offers, behind one type the training loop can drive.
//!
//! - SGD with momentum and L2 weight decay (SimCLR and MoCo use it, LARS aside):
//!   `v ← μ v + (g + λ θ)`, `θ ← θ − lr · v`.
//! - AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay
//!   `θ ← θ − lr · (m̂ / (√v̂ + ε) + λ θ)`, which DINO and ViTs use.

use crate::error::{Error, Result};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::optim::{Adam, AdamConfig, Momentum, Optimizer as _, OptimizerUpdateError, Sgd, SgdConfig, WeightDecay};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Which optimizer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    AdamW,
}

impl FromStr for OptimizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "sgd" => Ok(Self::Sgd),
            "adamw" => Ok(Self::AdamW),
            other => Err(Error::config(format!("unknown optimizer `{other}` (expected `sgd` or `adamw`)"))),
        }
    }
}

/// An optimizer over the model `M`.
pub enum Optimizer<M, D: Device<f32>> {
    Sgd(Sgd<M, f32, D>),
    AdamW(Adam<M, f32, D>),
}

impl<M: TensorCollection<f32, D>, D: Device<f32>> Optimizer<M, D> {
    /// SGD uses momentum 0.9; AdamW uses β = (0.9, 0.999).
    pub fn new(model: &M, kind: OptimizerKind, lr: f64, weight_decay: f64) -> Self {
        match kind {
            OptimizerKind::Sgd => Self::Sgd(Sgd::new(
                model,
                SgdConfig {
                    lr,
                    momentum: Some(Momentum::Classic(0.9)),
                    weight_decay: Some(WeightDecay::L2(weight_decay)),
                },
            )),
            OptimizerKind::AdamW => Self::AdamW(Adam::new(
                model,
                AdamConfig {
                    lr,
                    betas: [0.9, 0.999],
                    eps: 1e-8,
                    weight_decay: Some(WeightDecay::Decoupled(weight_decay)),
                },
            )),
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Self::Sgd(o) => o.cfg.lr = lr,
            Self::AdamW(o) => o.cfg.lr = lr,
        }
    }

    /// One update from `grads`. Tensors without a gradient (a momentum encoder, a teacher)
    /// are simply left alone.
    pub fn step(&mut self, model: &mut M, grads: &Gradients<f32, D>) -> Result<()> {
        let r = match self {
            Self::Sgd(o) => o.update(model, grads),
            Self::AdamW(o) => o.update(model, grads),
        };
        match r {
            Ok(()) | Err(OptimizerUpdateError::UnusedParams(_)) => Ok(()),
            Err(e) => Err(Error::config(format!("optimizer update failed: {e:?}"))),
        }
    }
}
