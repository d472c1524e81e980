//! Multi-crop (Caron et al., SwAV, NeurIPS 2020; also DINO, Caron et al., ICCV 2021): besides
//! the usual two large "global" crops, make `N` small "local" crops of the same image, at a
//! lower resolution. Predicting the global crops' codes from a local crop teaches
//! local-to-global correspondence ("à partir seulement d'une partie d'une image, on peut
//! prédire le descripteur global de toute l'image"), and the local crops are cheap because
//! they are small.
//!
//! ```text
//! view v = colour( RandomResizedCrop(global_size, global_scale)(x) )   v < n_global
//! view v = colour( RandomResizedCrop(local_size,  local_scale )(x) )   n_global ≤ v < n_global + N
//! ```
//!
//! `colour` is the method's own pipeline after its crop (flip, colour distortion, blur...;
//! e.g. [`Pipeline::simclr_colour`]). The views come from a [`ViewGenerator`], so they are
//! deterministic in the seed and made in parallel; [`MultiCrop::stack`] then packs them per
//! size ([`MultiCropBatch`]), so that the global views are one forward pass and the local
//! views another.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Pipeline, RandomResizedCrop, Transform, ViewBatch, ViewGenerator};
use crate::error::{Error, Result};

/// The smallest `--local-size`: the convnet encoders take images of at least 8 pixels.
pub const MIN_LOCAL_SIZE: usize = 8;

/// Multi-crop's local crops as a method's settings (SwAV's and DINO's): how many per image,
/// which part of the image each covers, and their side in pixels. The global crops' smallest
/// area is the method's `--crop-min-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct LocalCrops {
    /// Local (half-size) crops per image besides the two global ones; 0: two views only.
    #[arg(long)]
    pub local_crops: usize,
    /// Smallest area fraction of a local crop.
    #[arg(long)]
    pub local_min_scale: f64,
    /// Largest area fraction of a local crop.
    #[arg(long)]
    pub local_max_scale: f64,
    /// Side of a local crop in pixels; 0: half the image's side (16 px for 32-px images).
    #[arg(long)]
    pub local_size: usize,
}

impl Default for LocalCrops {
    /// None, and when turned on the kit's area range and size ([`MultiCrop::for_image_size`]).
    fn default() -> Self {
        Self { local_crops: 0, local_min_scale: 0.08, local_max_scale: 0.4, local_size: 0 }
    }
}

impl LocalCrops {
    /// The crops for `image_size`-pixel images: [`MultiCrop::for_image_size`] with these local
    /// crops, their area range and size (`--local-size`, when not 0), and global crops of
    /// `global_min_scale`–1 of the image.
    pub fn multi_crop(&self, image_size: usize, global_min_scale: f64) -> MultiCrop {
        let kit = MultiCrop::for_image_size(image_size, self.local_crops);
        MultiCrop {
            global_scale: (global_min_scale as f32, 1.0),
            local_scale: (self.local_min_scale as f32, self.local_max_scale as f32),
            local_size: if self.local_size == 0 { kit.local_size } else { self.local_size },
            ..kit
        }
    }

    /// Checks the flags (exit code 2, naming the flag).
    pub fn validate(&self) -> Result<()> {
        if !(self.local_min_scale > 0.0 && self.local_min_scale <= self.local_max_scale && self.local_max_scale <= 1.0) {
            return Err(Error::config("--local-min-scale and --local-max-scale must satisfy 0 < min <= max <= 1"));
        }
        if self.local_size != 0 && self.local_size < MIN_LOCAL_SIZE {
            return Err(Error::config(format!(
                "--local-size must be 0 (half the image) or at least {MIN_LOCAL_SIZE} pixels (the convnets' smallest input), got {}",
                self.local_size
            )));
        }
        Ok(())
    }

    /// Errors if `encoder` cannot take the local crops: the ViT cuts images into 4×4 patches,
    /// so an explicit `--local-size` must be a multiple of 4 (half of a 32-px image is 16).
    pub fn check_encoder(&self, encoder: &str) -> Result<()> {
        if encoder == "vit" && self.local_crops > 0 && self.local_size != 0 {
            crate::nn::vit::check_image_size(self.local_size).map_err(|e| Error::config(format!("--local-size {}: {e}", self.local_size)))?;
        }
        Ok(())
    }
}

/// The crops of multi-crop: how many, how large, and which part of the image each covers.
///
/// Global crops cover `global_scale` of the image area and are resized to
/// `global_size × global_size`; local crops cover `local_scale` and are resized to
/// `local_size × local_size`. The global views come first, then the local ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiCrop {
    pub global_size: usize,
    pub n_global: usize,
    /// Area fraction of global crops; DINO uses `(0.4, 1.0)`.
    pub global_scale: (f32, f32),
    pub local_size: usize,
    pub n_local: usize,
    /// Area fraction of local crops; DINO uses `(0.05, 0.4)`.
    pub local_scale: (f32, f32),
}

impl MultiCrop {
    /// Two global crops of `global_size` (area 0.4–1) and six local crops of `local_size`
    /// (area 0.05–0.4): DINO's ImageNet scales (224 + 96 px) with SwAV's 2 + 6 crops. For the
    /// kit's small images, see [`MultiCrop::for_image_size`].
    pub fn new(global_size: usize, local_size: usize) -> Self {
        Self { global_size, n_global: 2, global_scale: (0.4, 1.0), local_size, n_local: 6, local_scale: (0.05, 0.4) }
    }

    /// The kit's multi-crop for `image_size`-pixel images (32 px: CIFAR, the built-in set):
    /// two global crops at full size, area `(0.4, 1)`, and `n_local` local crops of half the
    /// side (16 px), area `(0.08, 0.4)`.
    ///
    /// * Half the side: between SwAV's 96/224 ≈ 0.43 and solo-learn's CIFAR multi-crop 18/32
    ///   ≈ 0.56, and a local view costs a quarter of a global one.
    /// * Local area `(0.08, 0.4)`, not DINO's `(0.05, 0.4)`: at 32 px a 5% crop is a 7×7
    ///   patch, blown up 2.3× to 16 px. At 8% (solo-learn's CIFAR minimum) it is 9×9, blown up
    ///   1.8×: the same zoom as the smallest local crops of SwAV and DINO on ImageNet (5% of
    ///   224 px is 50 px, shown at 96 px: 1.9×). The zoom only depends on the area and the
    ///   ratio of the sizes, so the choice holds at 64 or 96 px too.
    /// * The upper end 0.4 of the local area is the lower end of the global area (DINO): every
    ///   local crop is smaller than every global crop.
    pub fn for_image_size(image_size: usize, n_local: usize) -> Self {
        Self {
            global_size: image_size,
            n_global: 2,
            global_scale: (0.4, 1.0),
            local_size: (image_size / 2).max(1),
            n_local,
            local_scale: (0.08, 0.4),
        }
    }

    /// The same configuration with `n_global` global and `n_local` local crops.
    pub fn with_counts(mut self, n_global: usize, n_local: usize) -> Self {
        self.n_global = n_global;
        self.n_local = n_local;
        self
    }

    /// The number of views, `n_global + n_local`.
    pub fn num_views(&self) -> usize {
        self.n_global + self.n_local
    }

    /// Errors ([`Error::Config`]) unless the sizes are positive, there is at least one global
    /// crop, and both area ranges satisfy `0 < min ≤ max ≤ 1`.
    pub fn validate(&self) -> Result<()> {
        if self.global_size == 0 || self.local_size == 0 {
            return Err(Error::config(format!("multi-crop: crop sizes must be positive, got {} and {}", self.global_size, self.local_size)));
        }
        if self.n_global == 0 {
            return Err(Error::config("multi-crop: needs at least one global crop"));
        }
        for (what, (lo, hi)) in [("global", self.global_scale), ("local", self.local_scale)] {
            if !(lo > 0.0 && lo <= hi && hi <= 1.0) {
                return Err(Error::config(format!("multi-crop: the {what} crop area must satisfy 0 < min <= max <= 1, got ({lo}, {hi})")));
            }
        }
        Ok(())
    }

    /// The crop of a global view: [`RandomResizedCrop`] to `global_size` with `global_scale`.
    /// Panics on an invalid configuration (see [`MultiCrop::validate`]).
    pub fn global_crop(&self) -> RandomResizedCrop {
        RandomResizedCrop::new((self.global_size, self.global_size), self.global_scale)
    }

    /// The crop of a local view: [`RandomResizedCrop`] to `local_size` with `local_scale`.
    pub fn local_crop(&self) -> RandomResizedCrop {
        RandomResizedCrop::new((self.local_size, self.local_size), self.local_scale)
    }

    /// The pipeline of one global view with SwAV's colour distortion at strength 0.5 (the
    /// strength SimCLR uses for CIFAR): [`MultiCrop::global_crop`], then
    /// [`Pipeline::simclr_colour`].
    pub fn global_pipeline(&self) -> Pipeline {
        Pipeline::new().then(self.global_crop()).append(Pipeline::simclr_colour(0.5))
    }

    /// The pipeline of one local view: like [`MultiCrop::global_pipeline`], with the local crop.
    pub fn local_pipeline(&self) -> Pipeline {
        Pipeline::new().then(self.local_crop()).append(Pipeline::simclr_colour(0.5))
    }

    /// Packs the per-view batches of a multi-crop [`ViewGenerator`] (as
    /// [`ViewGenerator::views_batch`] returns them, or a method finds them in its batch) per
    /// size: the `n_global` global views stacked into one batch, the `n_local` local views into
    /// another.
    ///
    /// Errors ([`Error::Config`]) if there are not `n_global + n_local` views, or the views of
    /// one kind differ in size or batch.
    pub fn stack(&self, views: &[ViewBatch]) -> Result<MultiCropBatch> {
        if views.len() != self.num_views() {
            return Err(Error::config(format!(
                "MultiCrop::stack: {} views, but this multi-crop makes {} global + {} local",
                views.len(),
                self.n_global,
                self.n_local
            )));
        }
        let batch_size = views[0].batch;
        if views.iter().any(|v| v.batch != batch_size) {
            return Err(Error::config("MultiCrop::stack: the views hold different numbers of images"));
        }
        let (global, local) = views.split_at(self.n_global);
        Ok(MultiCropBatch {
            global: ViewBatch::stack(global)?,
            local: if local.is_empty() { None } else { Some(ViewBatch::stack(local)?) },
            batch_size,
            n_global: self.n_global,
            n_local: self.n_local,
        })
    }
}

/// A batch of multi-crop views packed per size, so each size is one forward pass. Images are
/// view-major: rows `v·B .. (v + 1)·B` of `global` are global view `v` of the `B` images, and
/// likewise for `local`; so the scores of a forward pass split into views the way
/// [`crate::methods::swav::swav_loss`] expects them.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiCropBatch {
    /// The global views: `n_global · B` images of `global_size²`.
    pub global: ViewBatch,
    /// The local views: `n_local · B` images of `local_size²`; `None` without local crops.
    pub local: Option<ViewBatch>,
    /// `B`, the number of images.
    pub batch_size: usize,
    pub n_global: usize,
    pub n_local: usize,
}

impl ViewGenerator {
    /// Multi-crop views with SwAV's colour distortion at strength 0.5: `n_global` views from
    /// [`MultiCrop::global_pipeline`] followed by `n_local` views from
    /// [`MultiCrop::local_pipeline`]. Panics on an invalid configuration; see
    /// [`ViewGenerator::multi_crop_with`] for the fallible form with a method's own colour.
    pub fn multi_crop(config: &MultiCrop) -> Self {
        Self::multi_crop_with(config, Pipeline::simclr_colour(0.5)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Multi-crop views with the method's `colour` pipeline after each crop (flip, colour
    /// distortion, blur...: everything but the crop, e.g. [`Pipeline::simclr_colour`]): view
    /// `v < n_global` is `colour(global_crop(x))`, the next `n_local` are `colour(local_crop(x))`.
    /// Pack the resulting per-view batches per size with [`MultiCrop::stack`].
    ///
    /// Errors if the configuration is invalid ([`MultiCrop::validate`]).
    pub fn multi_crop_with(config: &MultiCrop, colour: impl Transform + 'static) -> Result<Self> {
        config.validate()?;
        let colour: Arc<dyn Transform> = Arc::new(colour);
        let cropped = |crop: RandomResizedCrop| -> Arc<dyn Transform> { Arc::new(Pipeline::new().then(crop).then(colour.clone())) };
        let (global, local) = (cropped(config.global_crop()), cropped(config.local_crop()));
        let mut views = vec![global; config.n_global];
        views.extend(std::iter::repeat_n(local, config.n_local));
        Ok(Self::from_transforms(views))
    }
}
