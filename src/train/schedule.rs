//! Learning-rate schedule: linear warmup, then cosine decay (Loshchilov & Hutter, SGDR 2017),
//! as used by SimCLR, MoCo v2, BYOL, SwAV and DINO.
//!
//! ```text
//! lr(t) = lr₀ · (t + 1) / W                                   for t < W (warmup steps)
//! lr(t) = lr_min + ½ (lr₀ − lr_min) (1 + cos(π (t − W) / (T − W)))   for W ≤ t < T
//! ```

use serde::{Deserialize, Serialize};

/// Warmup + cosine schedule over `total_steps` optimizer steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CosineSchedule {
    pub base_lr: f64,
    pub min_lr: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
}

impl CosineSchedule {
    pub fn new(base_lr: f64, warmup_steps: usize, total_steps: usize) -> Self {
        Self { base_lr, min_lr: 0.0, warmup_steps: warmup_steps.min(total_steps), total_steps }
    }

    /// The learning rate for optimizer step `t` (0-based).
    pub fn lr(&self, t: usize) -> f64 {
        if t < self.warmup_steps {
            return self.base_lr * (t + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((t - self.warmup_steps) as f64 / span as f64).min(1.0);
        self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
