//! Per-dataset augmentation defaults: which crop range and colour-jitter strength `--dataset`
//! selects unless `--crop-min-scale` / `--color-strength` are given.
//!
//! What a view may change without changing what the image shows depends on the data. The
//! papers' recipe (SimCLR, MoCo v2: random resized crops of 20–100% of the image at 32 px,
//! strong colour jitter) is written for photos; grayscale digits have no colour to distort and
//! lose their identity when cropped as hard as a photo. Each dataset kind therefore starts from
//! its own row of [`RECIPES`]:
//!
//! | recipe | `--dataset` kinds | crop area (`crop_min_scale`–1) | colour strength `s` | why |
//! |---|---|---|---|---|
//! | `shapes` | `shapes` | 0.2–1 | 1.0 | the papers' crop; colours are random nuisances, so strong jitter |
//! | `grayscale-digits` | `mnist`, `fashion-mnist` | 0.5–1 | 0.5 | a 20% crop of a 28-px digit is a stroke, not a digit; jitter only moves brightness and contrast |
//! | `photos` | `cifar10`, `cifar100`, `stl10`, `folder` | 0.2–1 | 1.0 | SimCLR / MoCo v2 at 32 px (the papers' 0.08 is for 224-px ImageNet) |
//!
//! The colour strength `s` is SimCLR's: jitter `(0.8s, 0.8s, 0.8s, 0.2s)` with `p = 0.8`, plus
//! grayscale with `p = 0.2` (see [`crate::augment::Pipeline::simclr_with`]). A method that needs a
//! different strength states it as a multiple of the dataset's (Deep InfoMax: twice, see
//! [`crate::train::TrainConfig::for_method_on`]).
//!
//! `selfsup train` applies the recipe, then the flags, and writes the result — the recipe's
//! name and the crop range and strength actually used — to the run's `config.json`.

use crate::data::spec::DatasetSpec;
use crate::error::Result;

/// One row of the table: the augmentation defaults for a kind of data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    /// The recipe's name, recorded in `config.json` (`recipe`).
    pub name: &'static str,
    /// The `--dataset` kinds (the part before the colon) it applies to.
    pub kinds: &'static [&'static str],
    /// Smallest area fraction of the random resized crop (`--crop-min-scale`).
    pub crop_min_scale: f64,
    /// Colour-jitter strength `s` (`--color-strength`).
    pub color_strength: f64,
    /// One line on why, for the docs and `--help`.
    pub why: &'static str,
}

/// The table, one row per kind of data. Every kind [`DatasetSpec`] parses is in exactly one row.
pub const RECIPES: &[Recipe] = &[
    Recipe {
        name: "shapes",
        kinds: &["shapes"],
        crop_min_scale: 0.2,
        color_strength: 1.0,
        why: "the papers' crop (the class is a pattern that any 20% crop still shows); colours are random, so strong jitter",
    },
    Recipe {
        name: "grayscale-digits",
        kinds: &["mnist", "fashion-mnist"],
        crop_min_scale: 0.5,
        color_strength: 0.5,
        why: "a 20% crop of a digit is a stroke, not a digit; no colour to distort, only brightness and contrast",
    },
    Recipe {
        name: "photos",
        kinds: &["cifar10", "cifar100", "stl10", "folder"],
        crop_min_scale: 0.2,
        color_strength: 1.0,
        why: "SimCLR / MoCo v2 at 32 px: crops of 20-100% of the image, strong colour jitter",
    },
];

/// The recipe of a dataset kind (`"shapes"`, `"mnist"`, …); `None` for an unknown kind.
pub fn for_kind(kind: &str) -> Option<&'static Recipe> {
    RECIPES.iter().find(|r| r.kinds.contains(&kind))
}

/// The recipe for a parsed `--dataset`.
pub fn for_spec(spec: &DatasetSpec) -> &'static Recipe {
    for_kind(spec.kind()).expect("every dataset kind has a recipe (checked by the tests)")
}

/// The recipe for a `--dataset` value as written on the command line (`shapes`, `mnist:DIR`, …).
/// Fails like [`DatasetSpec`]'s parser on an unknown kind or a missing directory.
pub fn for_dataset(dataset: &str) -> Result<&'static Recipe> {
    Ok(for_spec(&dataset.parse()?))
}
