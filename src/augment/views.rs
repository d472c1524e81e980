//! The two augmentation settings the part-1 methods expose: how strong the colour distortion is
//! and how small a crop can be. Each method's `Config` holds one [`ViewConfig`] with its own
//! defaults; the flags `--color-strength` and `--crop-min-scale` set it.

use crate::augment::Pipeline;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// SimCLR-style view settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ViewConfig {
    /// Colour-jitter strength s: jitter (0.8s, 0.8s, 0.8s, 0.2s), applied with p = 0.8 (BYOL's and DINO's views: (0.4s, 0.4s, 0.2s, 0.1s)).
    #[arg(long)]
    pub color_strength: f64,
    /// Smallest area fraction of the random resized crop (the largest is 1). Default: the dataset's recipe (0.2 on textures and photos, 0.8 there for barlow, byol, deepcluster, swav and dino; 0.8 on shapes; 0.5 on digits).
    #[arg(long)]
    pub crop_min_scale: f64,
}

impl Default for ViewConfig {
    /// Colour strength 1 (SimCLR's value for ImageNet) and crops of 20–100% of the image (a
    /// common choice at 32 px): the `natural` recipe. Other datasets get theirs
    /// from [`crate::train::recipe`].
    fn default() -> Self {
        Self { color_strength: 1.0, crop_min_scale: 0.2 }
    }
}

impl ViewConfig {
    /// SimCLR's pipeline with these settings ([`Pipeline::simclr_with`]).
    pub fn simclr(&self, size: usize) -> Pipeline {
        Pipeline::simclr_with(size, self.color_strength as f32, self.crop_min_scale as f32)
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.color_strength >= 0.0 && self.color_strength.is_finite()) {
            return Err(Error::config("--color-strength must be zero or positive"));
        }
        if !(self.crop_min_scale > 0.0 && self.crop_min_scale <= 1.0) {
            return Err(Error::config("--crop-min-scale must be in (0, 1]"));
        }
        Ok(())
    }
}
