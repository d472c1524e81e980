//! Pipelines of transforms, the method presets (SimCLR, BYOL), and the
//! [`ViewGenerator`] that turns a batch of images into deterministic, parallel views.

use std::fmt;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;

use super::{
    ColorJitter, GaussianBlur, RandomGrayscale, RandomHorizontalFlip, RandomResizedCrop, Resize,
    Solarize, Transform,
};
use crate::error::{Error, Result};
use crate::image::Image;

/// An ordered chain of transforms, applied first to last; itself a [`Transform`], so pipelines
/// nest. An empty pipeline is the identity.
///
/// Build one with [`Pipeline::new`] and [`Pipeline::then`], or start from a preset:
/// [`Pipeline::simclr`], its ablations [`Pipeline::simclr_without_color`] and
/// [`Pipeline::simclr_without_crop`], and BYOL's pair [`Pipeline::byol_views`].
///
/// The presets are tuned for small (32-px, CIFAR-sized) images; their docs say where they
/// differ from the papers' ImageNet settings and why.
#[derive(Default)]
pub struct Pipeline {
    steps: Vec<Box<dyn Transform>>,
}

impl Pipeline {
    /// An empty pipeline (the identity).
    pub fn new() -> Self {
        Self { steps: Vec::new() }
    }

    /// Appends `step` and returns the pipeline (builder style).
    pub fn then(mut self, step: impl Transform + 'static) -> Self {
        self.steps.push(Box::new(step));
        self
    }

    /// Appends `step` in place.
    pub fn push(&mut self, step: Box<dyn Transform>) {
        self.steps.push(step);
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Box<dyn Transform>] {
        &self.steps
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the pipeline has no steps (is the identity).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// SimCLR's augmentation (Chen et al. 2020, Appendix A), for `size × size` outputs:
    ///
    /// 1. [`RandomResizedCrop`] to `size`, area `scale = (0.2, 1.0)`, ratio `(3/4, 4/3)`.
    ///    The paper uses `(0.08, 1.0)` on ImageNet; on 32-px images the smallest such crop is
    ///    9×9 pixels, too little content, so we follow the common CIFAR choice of 0.2
    ///    (MoCo v2 / solo-learn CIFAR recipes).
    /// 2. [`RandomHorizontalFlip`], `p = 0.5`.
    /// 3. [`ColorJitter`] `(0.4, 0.4, 0.4, 0.1)` with `p = 0.8`: the paper's colour strength
    ///    `s = 0.5` that it uses for CIFAR-10 (`(0.8s, 0.8s, 0.8s, 0.2s)`).
    /// 4. [`RandomGrayscale`], `p = 0.2`.
    /// 5. [`GaussianBlur`], sigma in `(0.1, 2.0)`, `p = 0.5`, kernel 10% of the side (3 taps at
    ///    32 px). The paper drops blur for CIFAR-10; we keep it because the 3-tap kernel is mild
    ///    and one preset then serves both 32-px and 96-px data. Set its `p` to 0 to match the
    ///    paper's CIFAR setting exactly.
    ///
    /// Grayscale (1-channel) images go through unchanged in channel count: saturation, hue and
    /// grayscale conversion are no-ops on them, everything else applies.
    pub fn simclr(size: usize) -> Self {
        Self::simclr_with(size, 0.5, 0.2)
    }

    /// [`Pipeline::simclr`] with the two knobs that matter most exposed: the colour strength
    /// `s` (jitter `(0.8s, 0.8s, 0.8s, 0.2s)`, SimCLR §B.5) and the smallest crop area
    /// `min_scale`.
    pub fn simclr_with(size: usize, color_strength: f32, min_scale: f32) -> Self {
        Self::new().then(RandomResizedCrop::new((size, size), (min_scale, 1.0))).append(Self::simclr_colour(color_strength))
    }

    /// What [`Pipeline::simclr_with`] does after its crop: flip `p = 0.5`, [`ColorJitter`]
    /// `(0.8s, 0.8s, 0.8s, 0.2s)` with `p = 0.8`, grayscale `p = 0.2`, blur `p = 0.5`. Put a
    /// crop of any size in front of it, as multi-crop does ([`ViewGenerator::multi_crop_with`]).
    pub fn simclr_colour(color_strength: f32) -> Self {
        let s = color_strength;
        Self::new()
            .then(RandomHorizontalFlip::new(0.5))
            .then(ColorJitter::new(0.8 * s, 0.8 * s, 0.8 * s, (0.2 * s).min(0.5)).with_p(0.8))
            .then(RandomGrayscale::new(0.2))
            .then(GaussianBlur::new(GaussianBlur::SIMCLR_SIGMA, 0.5))
    }

    /// Appends the steps of `other`, in order (the result is one flat pipeline, not a nested
    /// one: the same views, and the same name as if the steps had been added one by one).
    pub fn append(mut self, other: Pipeline) -> Self {
        self.steps.extend(other.steps);
        self
    }

    /// MoCo v1's augmentation (He et al. 2020, §4: the official code's `aug_plus = False`):
    /// [`RandomResizedCrop`] with area `(min_scale, 1.0)`, [`RandomGrayscale`] `p = 0.2`,
    /// [`ColorJitter`] `(0.4, 0.4, 0.4, 0.4)` on every image, and a horizontal flip. No blur:
    /// MoCo v2 adds it, with SimCLR's jitter at `p = 0.8` ([`Pipeline::simclr_with`]).
    pub fn moco_v1(size: usize, min_scale: f32) -> Self {
        Self::new()
            .then(RandomResizedCrop::new((size, size), (min_scale, 1.0)))
            .then(RandomGrayscale::new(0.2))
            .then(ColorJitter::new(0.4, 0.4, 0.4, 0.4))
            .then(RandomHorizontalFlip::new(0.5))
    }

    /// [`Pipeline::simclr`] without colour distortion (no jitter, no grayscale): crop, flip and
    /// blur only. For the ablation of SimCLR's Figure 5, where crop alone lets the two views be
    /// matched by their colour histograms and linear accuracy drops sharply.
    pub fn simclr_without_color(size: usize) -> Self {
        Self::new()
            .then(RandomResizedCrop::new((size, size), (0.2, 1.0)))
            .then(RandomHorizontalFlip::new(0.5))
            .then(GaussianBlur::new(GaussianBlur::SIMCLR_SIGMA, 0.5))
    }

    /// [`Pipeline::simclr`] without the random crop: the whole image is [`Resize`]d to
    /// `size × size` (the identity when it already has that size), then flip, colour jitter,
    /// grayscale and blur as in SimCLR. The flip is kept: it is not a crop and it is nearly free.
    /// For the SimCLR Figure 5 ablation (colour alone is a weak augmentation too).
    pub fn simclr_without_crop(size: usize) -> Self {
        Self::new()
            .then(Resize::new((size, size)))
            .then(RandomHorizontalFlip::new(0.5))
            .then(simclr_jitter())
            .then(RandomGrayscale::new(0.2))
            .then(GaussianBlur::new(GaussianBlur::SIMCLR_SIGMA, 0.5))
    }

    /// BYOL's two asymmetric view pipelines (Grill et al. 2020, Table 6), for `size × size`
    /// outputs. Both: [`RandomResizedCrop`] (area `(0.2, 1.0)` on small images, as in
    /// [`Pipeline::simclr`]), flip `p = 0.5`, [`ColorJitter`] `(0.4, 0.4, 0.2, 0.1)` with
    /// `p = 0.8`, grayscale `p = 0.2`. Then
    ///
    /// * view 1: [`GaussianBlur`] with `p = 1.0`, no solarisation;
    /// * view 2: [`GaussianBlur`] with `p = 0.1`, [`Solarize`] (threshold 0.5) with `p = 0.2`.
    pub fn byol_views(size: usize) -> (Self, Self) {
        Self::byol_views_with(size, 1.0, 0.2, 1.0)
    }

    /// [`Pipeline::byol_views`] with colour strength `s` (jitter `(0.4s, 0.4s, 0.2s, 0.1s)`),
    /// smallest crop area `min_scale` and probability `first_blur` of the first view's blur.
    pub fn byol_views_with(size: usize, color_strength: f32, min_scale: f32, first_blur: f64) -> (Self, Self) {
        let common = || Self::new().then(RandomResizedCrop::new((size, size), (min_scale, 1.0))).append(Self::byol_colour(color_strength));
        let view1 = common().then(GaussianBlur::new(GaussianBlur::SIMCLR_SIGMA, first_blur as f32));
        let view2 = common()
            .then(GaussianBlur::new(GaussianBlur::SIMCLR_SIGMA, 0.1))
            .then(Solarize::new(0.5, 0.2));
        (view1, view2)
    }

    /// What BYOL's views (and DINO's crops) do after the crop and before the blur: flip
    /// `p = 0.5`, [`ColorJitter`] `(0.4s, 0.4s, 0.2s, 0.1s)` (hue at most 0.5) with `p = 0.8`,
    /// grayscale `p = 0.2`.
    pub fn byol_colour(color_strength: f32) -> Self {
        let s = color_strength;
        Self::new()
            .then(RandomHorizontalFlip::new(0.5))
            .then(ColorJitter::new(0.4 * s, 0.4 * s, 0.2 * s, (0.1 * s).min(0.5)).with_p(0.8))
            .then(RandomGrayscale::new(0.2))
    }

    /// A local crop of DINO's multi-crop (Caron et al. 2021, `DataAugmentationDINO`): `crop`
    /// (the local [`RandomResizedCrop`]), then [`Pipeline::byol_colour`] at `color_strength`,
    /// then [`GaussianBlur`] with `p = 0.5`; no solarisation.
    pub fn dino_local(crop: RandomResizedCrop, color_strength: f32) -> Self {
        Self::new().then(crop).append(Self::byol_colour(color_strength)).then(GaussianBlur::new(GaussianBlur::SIMCLR_SIGMA, 0.5))
    }
}

/// SimCLR's colour jitter at strength 0.5, applied with probability 0.8.
fn simclr_jitter() -> ColorJitter {
    ColorJitter::new(0.4, 0.4, 0.4, 0.1).with_p(0.8)
}

impl Transform for Pipeline {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        let mut out = img.clone();
        for step in &self.steps {
            out = step.apply(&out, rng);
        }
        out
    }

    fn name(&self) -> String {
        let names: Vec<String> = self.steps.iter().map(|s| s.name()).collect();
        format!("Pipeline[{}]", names.join(", "))
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The RNG for image `index` of a batch drawn with `seed`: a [`StdRng`] seeded from a
/// SplitMix64 mix of both numbers, so that every image has its own stream, independent of which
/// thread processes it or in what order.
///
/// The same `(seed, index)` gives the same stream for a given version of `rand` (0.8); `StdRng`'s
/// algorithm may change between major versions of `rand`.
pub fn image_rng(seed: u64, index: u64) -> StdRng {
    fn splitmix64(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    StdRng::seed_from_u64(splitmix64(splitmix64(seed) ^ index))
}

/// One view of a whole batch, packed for the training loop: `data` holds `batch` images of shape
/// `channels × height × width`, one after another (`B × C × H × W`, contiguous, row-major), ready
/// to be copied into a tensor of shape `(batch, channels, height, width)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewBatch {
    pub data: Vec<f32>,
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ViewBatch {
    /// `[batch, channels, height, width]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.batch, self.channels, self.height, self.width]
    }

    /// The batches `views` one after another, as one batch of `Σ batch` images (view-major:
    /// all of `views[0]`, then all of `views[1]`, ...), so that several views of one size go
    /// through the encoder in one forward pass.
    ///
    /// Errors ([`Error::Config`]) if `views` is empty or the views of different sizes cannot
    /// share a batch.
    pub fn stack(views: &[ViewBatch]) -> Result<ViewBatch> {
        let first = views.first().ok_or_else(|| Error::config("ViewBatch::stack: no views to stack"))?;
        let (channels, height, width) = (first.channels, first.height, first.width);
        if let Some(other) = views.iter().find(|v| (v.channels, v.height, v.width) != (channels, height, width)) {
            return Err(Error::config(format!(
                "ViewBatch::stack: views of different sizes cannot share a batch ({channels}x{height}x{width} and {}x{}x{})",
                other.channels, other.height, other.width
            )));
        }
        let mut data = Vec::with_capacity(views.iter().map(|v| v.data.len()).sum());
        views.iter().for_each(|v| data.extend_from_slice(&v.data));
        Ok(ViewBatch { data, batch: views.iter().map(|v| v.batch).sum(), channels, height, width })
    }

    /// Image `i` of the batch, unpacked.
    pub fn image(&self, i: usize) -> Image {
        let n = self.channels * self.height * self.width;
        Image::from_vec(
            self.channels,
            self.height,
            self.width,
            self.data[i * n..(i + 1) * n].to_vec(),
        )
    }
}

/// Makes the views that a self-supervised method trains on: view `k` of every image is made by
/// transform `k`. Three shapes cover the course's methods:
///
/// * [`ViewGenerator::two_view`] — the same pipeline twice (SimCLR, MoCo);
/// * [`ViewGenerator::asymmetric`] — a different pipeline per view (BYOL; see
///   [`Pipeline::byol_views`]);
/// * [`ViewGenerator::multi_crop`] — `n_global` large then `n_local` small views (SwAV, DINO).
///
/// **Determinism.** Views of image `i` in a batch drawn with `seed` use their own RNG,
/// [`image_rng`]`(seed, i)`, consumed view by view. So the same images and seed always give
/// identical views, a different seed gives different views, and images can be processed in
/// parallel (with `rayon`) without changing the result.
#[derive(Clone)]
pub struct ViewGenerator {
    views: Vec<Arc<dyn Transform>>,
}

impl ViewGenerator {
    /// One view per transform, in order (the general form of the constructors below).
    pub fn from_transforms(views: Vec<Arc<dyn Transform>>) -> Self {
        Self { views }
    }

    /// Two views from the same pipeline (SimCLR, MoCo): e.g.
    /// `ViewGenerator::two_view(Pipeline::simclr(32))`.
    pub fn two_view(pipeline: impl Transform + 'static) -> Self {
        let p: Arc<dyn Transform> = Arc::new(pipeline);
        Self { views: vec![p.clone(), p] }
    }

    /// Two views from two different pipelines (BYOL): view 1 from `first`, view 2 from `second`.
    pub fn asymmetric(first: impl Transform + 'static, second: impl Transform + 'static) -> Self {
        Self { views: vec![Arc::new(first), Arc::new(second)] }
    }

    /// BYOL's asymmetric pair at `size` (see [`Pipeline::byol_views`]).
    pub fn byol(size: usize) -> Self {
        let (first, second) = Pipeline::byol_views(size);
        Self::asymmetric(first, second)
    }

    /// How many views each image yields.
    pub fn num_views(&self) -> usize {
        self.views.len()
    }

    /// The transform that makes view `k`.
    pub fn view_transform(&self, k: usize) -> &dyn Transform {
        self.views[k].as_ref()
    }

    /// All views of one image, drawn from `rng` in view order.
    pub fn views(&self, img: &Image, rng: &mut dyn RngCore) -> Vec<Image> {
        self.views.iter().map(|t| t.apply(img, rng)).collect()
    }

    /// The views of image number `index` of a batch drawn with `seed` (uses
    /// [`image_rng`]`(seed, index)`); [`ViewGenerator::generate`] is this for every image.
    pub fn views_for(&self, img: &Image, seed: u64, index: usize) -> Vec<Image> {
        self.views(img, &mut image_rng(seed, index as u64))
    }

    /// The views of every image (outer index: image, inner: view), computed in parallel with
    /// `rayon`; identical to calling [`ViewGenerator::views_for`] on each image in turn.
    pub fn generate(&self, images: &[Image], seed: u64) -> Vec<Vec<Image>> {
        images.par_iter().enumerate().map(|(i, img)| self.views_for(img, seed, i)).collect()
    }

    /// The views of a batch, packed per view: element `k` holds view `k` of every image as one
    /// contiguous `B × C × H × W` buffer (see [`ViewBatch`]). Computed in parallel, deterministic
    /// in `seed` (see the type's docs).
    ///
    /// Errors ([`Error::Config`]) if `images` is empty, or if the images of one view do not all
    /// have the same shape (e.g. a batch mixing grayscale and colour images, or images of
    /// different sizes through a pipeline without a crop or resize).
    pub fn views_batch(&self, images: &[Image], seed: u64) -> Result<Vec<ViewBatch>> {
        if images.is_empty() {
            return Err(Error::config("views_batch: the batch of images is empty"));
        }
        let per_image = self.generate(images, seed);
        let batch = images.len();
        let mut packed = Vec::with_capacity(self.num_views());
        for k in 0..self.num_views() {
            let first = &per_image[0][k];
            let (channels, height, width) = (first.channels, first.height, first.width);
            let mut data = Vec::with_capacity(batch * first.data.len());
            for (i, views) in per_image.iter().enumerate() {
                let v = &views[k];
                if (v.channels, v.height, v.width) != (channels, height, width) {
                    return Err(Error::config(format!(
                        "views_batch: view {k} of image {i} has shape {}x{}x{}, but image 0's has \
                         {channels}x{height}x{width}; all images of a batch must give views of one shape",
                        v.channels, v.height, v.width
                    )));
                }
                data.extend_from_slice(&v.data);
            }
            packed.push(ViewBatch { data, batch, channels, height, width });
        }
        Ok(packed)
    }
}

impl fmt::Debug for ViewGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.views.iter().map(|t| t.name())).finish()
    }
}
