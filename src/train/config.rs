//! A run's settings, saved as `config.json` in the run directory:
//!
//! ```text
//! { "train":  { loop, data and evaluation settings: TrainConfig },
//!   "method": { "name": "moco", the method's own settings: moco::Config } }
//! ```
//!
//! [`TrainConfig`] holds what every method shares (epochs, optimizer, batch, dataset, encoder,
//! evaluation). Each method's module owns its `Config` (τ, m, K, views, ...), whose `Default` is
//! the only place that method's defaults are written, and says where its training budget
//! differs from the loop's ([`crate::methods::Settings::train_defaults`]).

use crate::error::{Error, Result};
use crate::data::spec::DatasetSpec;
use crate::methods::MethodConfig;
use crate::train::optimizer::OptimizerKind;
use crate::train::recipe::{recipe_for, AppliedRecipe};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The shared training loop's settings: budget, optimizer, data and evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Encoder: tiny-convnet, convnet, resnet or vit.
    #[arg(long)]
    pub encoder: String,
    /// Dataset: textures (built in, the default) or shapes (built in), mnist:DIR, fashion-mnist:DIR, cifar10:DIR, cifar100:DIR, stl10:DIR, folder:DIR.
    #[arg(long)]
    pub dataset: String,
    /// Passes over the training images.
    #[arg(long)]
    pub epochs: usize,
    /// Images per batch.
    #[arg(long)]
    pub batch_size: usize,
    /// Optimizer: adamw or sgd.
    #[arg(long)]
    pub optimizer: OptimizerKind,
    /// Peak learning rate (after warm-up; cosine decay to 0).
    #[arg(long)]
    pub lr: f64,
    /// Weight decay (decoupled for AdamW, L2 for SGD).
    #[arg(long)]
    pub weight_decay: f64,
    /// Epochs of linear learning-rate warm-up.
    #[arg(long)]
    pub warmup_epochs: f64,
    /// Seed of the weights, the views and the built-in dataset.
    #[arg(long)]
    pub seed: u64,
    /// Images used for self-supervised training: a class-balanced random subset from the seed (0 = all of the train split).
    #[arg(long)]
    pub train_images: usize,
    /// Images of the test split used for evaluation: a class-balanced random subset from the seed (0 = all).
    #[arg(long)]
    pub test_images: usize,
    /// kNN evaluation: number of neighbours k.
    #[arg(long)]
    pub knn_k: usize,
    /// kNN evaluation: temperature T of the neighbours' votes.
    #[arg(long)]
    pub knn_t: f64,
}

/// The dataset a run uses without `--dataset`: the built-in `textures`, on which the papers'
/// crop range works as on natural images (see [`crate::data::textures`]).
pub const DEFAULT_DATASET: &str = "textures";

impl Default for TrainConfig {
    /// The loop's defaults: the built-in `textures` dataset ([`DEFAULT_DATASET`]), the tiny
    /// convnet, 4 epochs of batch 64 with AdamW at 2·10⁻³ (about a minute on two cores).
    /// Methods that need another budget say so in their `Settings::train_defaults`.
    fn default() -> Self {
        Self {
            encoder: "tiny-convnet".into(),
            dataset: DEFAULT_DATASET.into(),
            epochs: 4,
            batch_size: 64,
            optimizer: OptimizerKind::AdamW,
            lr: 2e-3,
            weight_decay: 1e-4,
            warmup_epochs: 0.5,
            seed: 0,
            train_images: 0,
            test_images: 0,
            knn_k: 20,
            knn_t: 0.1,
        }
    }
}

impl TrainConfig {
    /// Checks the loop's settings (exit code 2 on bad input).
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("--epochs must be at least 1"));
        }
        if self.batch_size < 2 {
            return Err(Error::config("--batch-size must be at least 2"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::config("--lr must be a positive number"));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::config("--weight-decay must be zero or positive"));
        }
        if !(self.warmup_epochs >= 0.0 && self.warmup_epochs.is_finite()) {
            return Err(Error::config("--warmup-epochs must be zero or positive"));
        }
        if self.knn_k == 0 {
            return Err(Error::config("--knn-k must be at least 1"));
        }
        if !(self.knn_t > 0.0 && self.knn_t.is_finite() && self.knn_t as f32 > 0.0) {
            return Err(Error::config("--knn-t must be positive"));
        }
        Ok(())
    }
}

/// Everything a run depends on: the loop's settings and the method's, as in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub train: TrainConfig,
    pub method: MethodConfig,
    /// The dataset's recipe and the settings it gave ([`RunConfig::apply_recipe`]); absent in
    /// runs written before recipes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<AppliedRecipe>,
}

impl RunConfig {
    /// A run of `method` with its settings, and the loop's settings with the method's budget.
    ///
    /// ```
    /// use selfsup::methods::{moco, MethodConfig};
    /// use selfsup::train::RunConfig;
    /// let mut run = RunConfig::new(MethodConfig::MoCo(moco::Config { momentum: 0.999, ..Default::default() }));
    /// run.train.epochs = 1;
    /// assert_eq!(run.name(), "moco");
    /// ```
    pub fn new(method: MethodConfig) -> Self {
        let mut run = Self { train: method.train_defaults(), method, recipe: None };
        run.apply_recipe(&[]).expect("the default dataset is built in");
        run
    }

    /// The same run on `dataset`, with that dataset's recipe
    /// ([`crate::train::recipe`]) in place of the previous one.
    pub fn on_dataset(mut self, dataset: &str) -> Result<Self> {
        self.train.dataset = dataset.to_string();
        self.apply_recipe(&[])?;
        Ok(self)
    }

    /// Gives the method the settings of the dataset's recipe ([`crate::train::recipe`]),
    /// except those named in `keep` (the flags given on the command line), and records what it
    /// set in [`RunConfig::recipe`].
    pub fn apply_recipe(&mut self, keep: &[&str]) -> Result<()> {
        let spec: DatasetSpec = self.train.dataset.parse()?;
        let recipe = recipe_for(&spec);
        let mut train = serde_json::to_value(&self.train).expect("settings serialise");
        let mut method = serde_json::to_value(&self.method).expect("settings serialise");
        let mut set = std::collections::BTreeMap::new();
        for (key, value) in recipe.settings(self.method.name()) {
            if keep.contains(&key) {
                continue;
            }
            if set_leaf(&mut train, key, &value) | set_leaf(&mut method, key, &value) {
                set.insert(key.to_string(), value);
            }
        }
        self.train = serde_json::from_value(train).expect("a recipe sets values of the settings' own types");
        self.method = serde_json::from_value(method).expect("a recipe sets values of the settings' own types");
        self.recipe = Some(AppliedRecipe { name: recipe.name.to_string(), set });
        Ok(())
    }

    /// The default run of the method called `name` (`--method NAME` with no other flag).
    pub fn for_method(name: &str) -> Result<Self> {
        MethodConfig::default_for(name).map(Self::new)
    }

    /// The method's name (`--method`).
    pub fn name(&self) -> &'static str {
        self.method.name()
    }

    /// The method's typed settings, e.g. `run.settings_mut::<moco::Config>().momentum = 0.9`.
    ///
    /// Panics if the run's method does not use settings of type `C` (a programming error).
    pub fn settings_mut<C: 'static>(&mut self) -> &mut C {
        let name = self.name();
        self.method.get_mut::<C>().unwrap_or_else(|| panic!("a {name} run has no {}", std::any::type_name::<C>()))
    }

    /// The method's typed settings (see [`RunConfig::settings_mut`]).
    pub fn settings<C: 'static>(&self) -> &C {
        self.method.get::<C>().unwrap_or_else(|| panic!("a {} run has no {}", self.name(), std::any::type_name::<C>()))
    }

    /// Checks every setting (exit code 2 on bad input).
    pub fn validate(&self) -> Result<()> {
        self.train.validate()?;
        self.method.validate()?;
        self.method.check_encoder(&self.train.encoder)
    }

    /// Reads a run's `config.json`. A run folder written before methods had their own settings
    /// (one flat object with `method`, `tau`, `momentum`, ...) is converted: its method gets its
    /// default settings with the old file's values where the method has them.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::format(path, format!("not valid JSON: {e}")))?;
        Self::from_json(value).map_err(|message| Error::format(path, message))
    }

    /// [`RunConfig::load`] on a parsed JSON value.
    pub fn from_json(value: serde_json::Value) -> std::result::Result<Self, String> {
        let object = value.as_object().ok_or("a run config must be a JSON object")?;
        if object.contains_key("train") || !object.get("method").is_some_and(|m| m.is_string()) {
            return serde_json::from_value(value).map_err(|e| format!("not a run config: {e}"));
        }
        // The flat layout of earlier versions.
        let name = object["method"].as_str().unwrap_or_default();
        let method = MethodConfig::default_for(name).map_err(|e| format!("an old-style config of an {e}"))?;
        let mut method_json = serde_json::to_value(&method).expect("serialisable");
        let train_keys: Vec<String> = match serde_json::to_value(TrainConfig::default()).expect("serialisable") {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!("TrainConfig is a struct"),
        };
        let mut train = serde_json::Map::new();
        for (key, v) in object {
            if train_keys.contains(key) {
                train.insert(key.clone(), v.clone());
            } else {
                set_leaf(&mut method_json, key, v);
            }
        }
        let train: TrainConfig = serde_json::from_value(serde_json::Value::Object(train)).map_err(|e| format!("an old-style config: {e}"))?;
        let method: MethodConfig = serde_json::from_value(method_json).map_err(|e| format!("an old-style config: {e}"))?;
        Ok(Self { train, method, recipe: None })
    }
}

/// Sets every field called `key` anywhere inside `tree` (nested objects included) to `value`.
/// Returns whether one was found.
pub fn set_leaf(tree: &mut serde_json::Value, key: &str, value: &serde_json::Value) -> bool {
    let mut found = false;
    if let serde_json::Value::Object(map) = tree {
        for (k, v) in map.iter_mut() {
            if v.is_object() {
                found |= set_leaf(v, key, value);
            } else if k == key {
                *v = value.clone();
                found = true;
            }
        }
    }
    found
}

/// Every non-object field of `tree`, nested objects flattened: `(name, value)`.
pub fn leaves(tree: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = tree {
        for (k, v) in map {
            if v.is_object() {
                out.extend(leaves(v));
            } else {
                out.push((k.clone(), v.clone()));
            }
        }
    }
    out
}
