//! Time: the shared training loop, its schedule, optimizers, checkpoints and progress output.

pub mod checkpoint;
pub mod config;
pub mod optimizer;
pub mod progress;
pub mod recipe;
pub mod schedule;
pub mod trace;
pub mod trainer;

pub use config::{RunConfig, TrainConfig, DEFAULT_DATASET};
pub use optimizer::{Optimizer, OptimizerKind};
pub use schedule::CosineSchedule;
pub use trainer::{epoch_seed, fit, fit_observed, read_epoch_reports, StepInfo, TrainState};

use std::path::{Path, PathBuf};

/// The files of one run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// Creates the directory if needed.
    pub fn create(root: impl AsRef<Path>) -> crate::Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| crate::Error::io(&root, e))?;
        Ok(Self { root })
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    /// One JSON line per epoch from methods that report on their epochs (DeepCluster's
    /// clusters); absent for the others.
    pub fn epochs(&self) -> PathBuf {
        self.root.join("epochs.jsonl")
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint.safetensors")
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
}
