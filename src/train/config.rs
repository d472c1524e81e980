//! Everything a training run depends on, saved as `config.json` in the run directory.

use crate::train::optimizer::OptimizerKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// `--method`: which self-supervised method (e.g. `simclr`).
    pub method: String,
    /// `--encoder`: `tiny-convnet` (default), `convnet` or `resnet`.
    pub encoder: String,
    /// `--dataset`: `shapes`, `mnist:DIR`, `cifar10:DIR`, ...
    pub dataset: String,
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    /// Peak learning rate (after warmup).
    pub lr: f64,
    pub weight_decay: f64,
    pub warmup_epochs: f64,
    pub seed: u64,
    /// Images used for self-supervised training (0 = all of the train split).
    pub train_images: usize,
    /// Images of the test split used for evaluation (0 = all).
    pub test_images: usize,
    /// SimCLR's temperature τ.
    pub tau: f64,
    /// MoCo: momentum `m` of the key encoder.
    pub momentum: f64,
    /// MoCo: number of keys `K` in the queue.
    pub queue_size: usize,
    /// Colour-jitter strength `s` of the SimCLR-style views: jitter `(0.8s, 0.8s, 0.8s, 0.2s)`.
    /// Its default comes from the dataset's recipe ([`crate::data::recipe`]).
    pub color_strength: f64,
    /// Smallest area fraction of the random resized crop. Its default comes from the dataset's
    /// recipe ([`crate::data::recipe`]): 0.2 (the papers' 20–100% at 32 px) except for
    /// grayscale digits.
    pub crop_min_scale: f64,
    /// The per-dataset recipe that set `crop_min_scale` and `color_strength` before any flag
    /// ([`crate::data::recipe::RECIPES`]), with ` + flags` when a flag overrode either.
    pub recipe: String,
    /// kNN evaluation: neighbours k and temperature T.
    pub knn_k: usize,
    pub knn_t: f32,
}

impl TrainConfig {
    /// The defaults for `method`: [`TrainConfig::default`] (tuned for SimCLR) with the
    /// settings each method needs to learn in minutes on two cores, measured on the built-in
    /// dataset (see the README's results). Command-line flags override them.
    ///
    /// MoCo (v1 and v2) and MoCHi: the key encoder must change slowly compared with the span of the
    /// queue, or the queue's keys come from visibly older encoders and the query can tell
    /// the positive from the negatives by "how recent" rather than by content. With AdamW at
    /// 2e-3, m = 0.99 and a 4096-key queue (64 batches), the representation collapsed and
    /// ended below the random-init baseline; learning rate 1e-3, m = 0.996 and a queue of
    /// 512 keys (8 batches) learn, given 8 epochs, and a queue of 128 keys (2 batches) learns
    /// more and more steadily across seeds (kNN over three seeds, MoCo v2: 60.1 / 52.9 / 50.1%
    /// at K = 128 vs 53.0 / 41.0 / 38.4% at K = 512; see the README's results).
    ///
    /// InstDisc: each bank entry moves once per epoch, so it needs more epochs (10).
    ///
    /// Deep InfoMax: stronger colour jitter (see [`crate::methods::dim`]).
    ///
    /// CPC: 2 epochs (nine 24×24 patches per image cost about 2.5× SimCLR's two views; see
    /// [`crate::methods::cpc`]).
    ///
    /// The augmentation defaults are those of the built-in dataset (recipe `shapes`); use
    /// [`TrainConfig::for_method_on`] for another dataset.
    pub fn for_method(method: &str) -> Self {
        let base = Self { method: method.into(), ..Self::default() };
        match method {
            "moco" | "moco-v1" | "mochi" => Self { epochs: 8, lr: 1e-3, momentum: 0.996, queue_size: 128, ..base },
            "instdisc" => Self { epochs: 10, ..base },
            "dim" => Self { color_strength: crate::methods::dim::DEFAULT_COLOR_STRENGTH, ..base },
            "cpc" => Self { epochs: crate::methods::cpc::DEFAULT_EPOCHS, ..base },
            _ => base,
        }
    }
}

impl TrainConfig {
    /// [`TrainConfig::for_method`] on `dataset` (as written after `--dataset`), with the
    /// augmentation defaults of the dataset's recipe ([`crate::data::recipe`]): its crop range,
    /// and its colour strength times the method's own factor (Deep InfoMax jitters twice as
    /// hard as SimCLR on every dataset). Fails on a dataset `--dataset` would reject.
    pub fn for_method_on(method: &str, dataset: &str) -> crate::error::Result<Self> {
        let recipe = crate::data::recipe::for_dataset(dataset)?;
        let base = Self::for_method(method);
        let colour_factor = base.color_strength / Self::default().color_strength;
        Ok(Self {
            dataset: dataset.into(),
            crop_min_scale: recipe.crop_min_scale,
            color_strength: colour_factor * recipe.color_strength,
            recipe: recipe.name.into(),
            ..base
        })
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            method: "simclr".into(),
            encoder: "tiny-convnet".into(),
            dataset: "shapes".into(),
            epochs: 4,
            batch_size: 64,
            optimizer: OptimizerKind::AdamW,
            lr: 2e-3,
            weight_decay: 1e-4,
            warmup_epochs: 0.5,
            seed: 0,
            train_images: 0,
            test_images: 0,
            tau: crate::methods::simclr::DEFAULT_TAU,
            momentum: 0.99,
            queue_size: 4096,
            // Recipe `shapes` (`crate::data::recipe::RECIPES[0]`; a test keeps them equal).
            color_strength: 1.0,
            crop_min_scale: 0.2,
            recipe: "shapes".into(),
            knn_k: 20,
            knn_t: 0.1,
        }
    }
}
