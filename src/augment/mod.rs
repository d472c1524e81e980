//! Data augmentation on the host (plain Rust, CPU, no tensors).
//!
//! Self-supervised methods learn by making two (or more) *views* of the same image agree. A view
//! is the image after a random chain of transforms; which transforms, and how strong, decides
//! what the encoder learns to ignore. SimCLR (Chen et al. 2020) showed that random cropping
//! combined with colour distortion matters most; BYOL (Grill et al. 2020) made the two views
//! asymmetric (blur on one, solarisation on the other); SwAV and DINO (Caron et al. 2020, 2021)
//! add small "local" crops next to the usual "global" ones (multi-crop).
//!
//! Every transform here works on an [`Image`] (CHW floats in `[0, 1]`), keeps its values in
//! `[0, 1]`, keeps its channel count, and draws all its randomness from the RNG it is given, so a
//! seeded RNG always gives the same view.
//!
//! * [`RandomResizedCrop`], [`CenterCrop`], [`Resize`], [`resize_bilinear`] — geometry.
//! * [`RandomHorizontalFlip`] — mirror left/right.
//! * [`ColorJitter`], [`RandomGrayscale`] — colour distortion.
//! * [`GaussianBlur`], [`Solarize`] — BYOL's extra, asymmetric transforms.
//! * [`Pipeline`] — an ordered chain of transforms, with the SimCLR / BYOL presets.
//! * [`PatchGrid`], [`PatchMosaic`] — an image as a grid of patches (CPC).
//! * [`ViewGenerator`] — turn a batch of images into deterministic views, in parallel, packed
//!   per view for the training loop ([`ViewGenerator::views_batch`]).
//! * [`MultiCrop`] — SwAV's and DINO's two global and `N` small local crops, each followed by
//!   the method's colour pipeline, packed per crop size ([`MultiCropBatch`]) so each size is
//!   one forward pass.
//! * [`render_augmentation_grid`], [`render_image_grid`], [`image_grid_rgb8`] — look at them.

mod blur;
mod colour;
mod crop;
mod flip;
mod grid;
mod multicrop;
mod patches;
mod pipeline;
mod solarize;
mod views;

use rand::RngCore;

use crate::image::Image;

pub use blur::{gaussian_blur, gaussian_kernel, GaussianBlur};
pub use colour::{
    adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation, grayscale, hsv_to_rgb,
    rgb_to_hsv, ColorJitter, RandomGrayscale, LUMA_WEIGHTS,
};
pub use crop::{resize_bilinear, resized_crop, CenterCrop, CropBox, RandomResizedCrop, Resize};
pub use flip::{hflip, RandomHorizontalFlip};
pub use grid::{augmentation_tiles, image_grid_rgb8, render_augmentation_grid, render_image_grid, tile_scale, GRID_BORDER};
pub use patches::{mosaic, PatchGrid, PatchMosaic};
pub use multicrop::{LocalCrops, MultiCrop, MultiCropBatch, MIN_LOCAL_SIZE};
pub use pipeline::{image_rng, Pipeline, ViewBatch, ViewGenerator};
pub use solarize::{solarize, Solarize};
pub use views::ViewConfig;

/// One step of an augmentation pipeline: takes an image and an RNG, returns a new image.
///
/// The trait is object safe, so pipelines hold `Box<dyn Transform>` and the RNG is passed as
/// `&mut dyn RngCore` (every `rand` generator coerces to it; `rand::Rng`'s helpers such as
/// `gen_range` work on it directly). Implementations must:
///
/// * draw every random number from `rng` (never from a global RNG), so that a seeded RNG gives
///   reproducible views;
/// * return values in `[0, 1]` and keep the input's channel count;
/// * be `Send + Sync`, so that views of different images can be made on different threads.
pub trait Transform: Send + Sync {
    /// Returns a transformed copy of `img`, drawing randomness from `rng`.
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image;

    /// A short human-readable description including the parameters, e.g.
    /// `"RandomHorizontalFlip(p=0.5)"`; used in logs and in [`Pipeline`]'s `Debug` output.
    fn name(&self) -> String;
}

impl<T: Transform + ?Sized> Transform for Box<T> {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        (**self).apply(img, rng)
    }
    fn name(&self) -> String {
        (**self).name()
    }
}

impl<T: Transform + ?Sized> Transform for std::sync::Arc<T> {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        (**self).apply(img, rng)
    }
    fn name(&self) -> String {
        (**self).name()
    }
}

/// Returns `true` with probability `p`. `p <= 0` never fires and `p >= 1` always fires; neither
/// consumes a random number, so a transform with `p = 0` or `p = 1` leaves the stream unchanged.
pub(crate) fn coin(rng: &mut dyn RngCore, p: f32) -> bool {
    if p >= 1.0 {
        true
    } else if p > 0.0 {
        rand::Rng::gen::<f32>(rng) < p
    } else {
        false
    }
}

/// A uniform sample from `[lo, hi)`; returns `lo` when `hi <= lo` (unlike `gen_range`, which
/// panics on an empty range).
pub(crate) fn uniform(rng: &mut dyn RngCore, lo: f32, hi: f32) -> f32 {
    if hi > lo {
        lo + (hi - lo) * rand::Rng::gen::<f32>(rng)
    } else {
        lo
    }
}

/// Checks that `p` is a probability (used by the constructors).
pub(crate) fn check_probability(what: &str, p: f32) {
    assert!((0.0..=1.0).contains(&p), "{what}: probability p must be in [0, 1], got {p}");
}
