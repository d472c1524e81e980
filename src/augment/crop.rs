//! Geometric transforms: random resized crops, centre crops, resizing and bilinear resampling.

use rand::{Rng, RngCore};

use super::{uniform, Transform};
use crate::image::Image;

/// A rectangle inside an image, in pixels: rows `top..top + height`, columns `left..left + width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    pub top: usize,
    pub left: usize,
    pub height: usize,
    pub width: usize,
}

impl CropBox {
    /// The whole of an `height × width` image.
    pub fn full(height: usize, width: usize) -> Self {
        Self { top: 0, left: 0, height, width }
    }
}

// ANCHOR: augment_crop
/// Precomputed bilinear taps along one axis: output position `o` reads source positions
/// `i0[o]` and `i1[o]` with weights `1 - t[o]` and `t[o]`.
struct Taps {
    i0: Vec<usize>,
    i1: Vec<usize>,
    t: Vec<f32>,
}

/// Bilinear taps mapping `out` output pixels onto the source span `start..start + len`, with
/// half-pixel centres (PyTorch's `align_corners=False`, PIL's convention): output pixel `o`
/// covers source coordinate `start + (o + 0.5) * len / out - 0.5`, clamped to the span.
fn taps(start: usize, len: usize, out: usize) -> Taps {
    // BEGIN SOLUTION
    // HINT: source coordinate s = (o + 0.5) · len / out − 0.5, clamped to [0, len − 1];
    // HINT: i0 = floor(s), i1 = min(i0 + 1, len − 1), t = s − i0; add `start` to both indices.
    let scale = len as f32 / out as f32;
    let last = (len - 1) as f32;
    let mut taps = Taps {
        i0: Vec::with_capacity(out),
        i1: Vec::with_capacity(out),
        t: Vec::with_capacity(out),
    };
    for o in 0..out {
        let s = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, last);
        let i0 = s.floor() as usize;
        let i1 = (i0 + 1).min(len - 1);
        taps.i0.push(start + i0);
        taps.i1.push(start + i1);
        taps.t.push(s - i0 as f32);
    }
    taps
    // END SOLUTION
}

/// Crops `region` out of `img` and resizes it to `out_h × out_w` with bilinear interpolation, in
/// one pass (no intermediate crop is allocated). Pixels outside the region are never read.
///
/// This is torchvision's `resized_crop` without antialiasing: when shrinking by more than 2×,
/// fine detail can alias. The kit's images are small (32–96 px) and crops are mostly enlarged,
/// so plain bilinear is what we use.
///
/// Panics if the region is empty, does not fit in the image, or the output size is zero.
pub fn resized_crop(img: &Image, region: CropBox, out_h: usize, out_w: usize) -> Image {
    assert!(
        out_h > 0 && out_w > 0,
        "resized_crop: output size must be non-zero, got {out_h}x{out_w}"
    );
    assert!(
        region.height > 0
            && region.width > 0
            && region.top + region.height <= img.height
            && region.left + region.width <= img.width,
        "resized_crop: region {region:?} does not fit in a {}x{} image",
        img.height,
        img.width
    );
    if region == CropBox::full(img.height, img.width) && out_h == img.height && out_w == img.width {
        return img.clone();
    }
    // BEGIN SOLUTION
    // HINT: taps along y for the region's rows, along x for its columns; then for every
    // HINT: channel and output pixel, mix the 4 neighbours: first along x (weight t_x on the
    // HINT: right one), then the two results along y (weight t_y on the lower one); clamp to [0, 1].
    let ty = taps(region.top, region.height, out_h);
    let tx = taps(region.left, region.width, out_w);
    let mut out = Image::zeros(img.channels, out_h, out_w);
    for c in 0..img.channels {
        for y in 0..out_h {
            let (y0, y1, wy) = (ty.i0[y], ty.i1[y], ty.t[y]);
            for x in 0..out_w {
                let (x0, x1, wx) = (tx.i0[x], tx.i1[x], tx.t[x]);
                let top = img.get(c, y0, x0) * (1.0 - wx) + img.get(c, y0, x1) * wx;
                let bottom = img.get(c, y1, x0) * (1.0 - wx) + img.get(c, y1, x1) * wx;
                let v = top * (1.0 - wy) + bottom * wy;
                out.set(c, y, x, v.clamp(0.0, 1.0));
            }
        }
    }
    out
    // END SOLUTION
}
// ANCHOR_END: augment_crop

/// Resizes `img` to `height × width` with bilinear interpolation (half-pixel centres, no
/// antialiasing). Resizing to the same size returns an identical copy.
pub fn resize_bilinear(img: &Image, height: usize, width: usize) -> Image {
    resized_crop(img, CropBox::full(img.height, img.width), height, width)
}

/// Crops a random region and resizes it to a fixed `size` — the single most important
/// augmentation in SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of
/// Visual Representations"), and the "global"/"local" crops of SwAV and DINO's multi-crop
/// (Caron et al. 2020, 2021).
///
/// The region is sampled like torchvision's `RandomResizedCrop`: up to 10 times, draw an area
/// fraction uniformly from `scale` and an aspect ratio (width / height) log-uniformly from
/// `ratio`; the first box that fits in the image is used, at a uniformly random position. If
/// none fits, fall back to the largest centred box whose aspect ratio is clamped into `ratio`.
///
/// * `size` — output `(height, width)` in pixels; the output always has exactly this size.
/// * `scale` — `(min, max)` fraction of the image area the crop covers. torchvision / SimCLR on
///   ImageNet use `(0.08, 1.0)`; on 32-px images a crop of 8% is a 9×9 patch with almost no
///   content, so the kit's presets use `(0.2, 1.0)`.
/// * `ratio` — `(min, max)` aspect ratio (width / height), usually `(3/4, 4/3)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomResizedCrop {
    pub size: (usize, usize),
    pub scale: (f32, f32),
    pub ratio: (f32, f32),
}

impl RandomResizedCrop {
    /// torchvision's default aspect-ratio range `(3/4, 4/3)`.
    pub const DEFAULT_RATIO: (f32, f32) = (3.0 / 4.0, 4.0 / 3.0);

    /// A crop to `size` with area fraction in `scale` and the default ratio `(3/4, 4/3)`.
    ///
    /// Panics if `size` has a zero side or `scale` is not `0 < min <= max <= 1`.
    pub fn new(size: (usize, usize), scale: (f32, f32)) -> Self {
        Self::with_ratio(size, scale, Self::DEFAULT_RATIO)
    }

    /// A crop with an explicit aspect-ratio range. Panics on invalid parameters
    /// (zero size, `scale` outside `0 < min <= max <= 1`, `ratio` not `0 < min <= max`).
    pub fn with_ratio(size: (usize, usize), scale: (f32, f32), ratio: (f32, f32)) -> Self {
        assert!(size.0 > 0 && size.1 > 0, "RandomResizedCrop: size must be non-zero, got {size:?}");
        assert!(
            scale.0 > 0.0 && scale.0 <= scale.1 && scale.1 <= 1.0,
            "RandomResizedCrop: scale must satisfy 0 < min <= max <= 1, got {scale:?}"
        );
        assert!(
            ratio.0 > 0.0 && ratio.0 <= ratio.1,
            "RandomResizedCrop: ratio must satisfy 0 < min <= max, got {ratio:?}"
        );
        Self { size, scale, ratio }
    }

    /// Samples the crop box for an `height × width` image (torchvision's `get_params`).
    pub fn sample_box(&self, height: usize, width: usize, rng: &mut dyn RngCore) -> CropBox {
        let area = (height * width) as f32;
        let (log_lo, log_hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target_area = area * uniform(rng, self.scale.0, self.scale.1);
            let aspect = uniform(rng, log_lo, log_hi).exp();
            let w = (target_area * aspect).sqrt().round() as usize;
            let h = (target_area / aspect).sqrt().round() as usize;
            if 0 < w && w <= width && 0 < h && h <= height {
                let top = rng.gen_range(0..=height - h);
                let left = rng.gen_range(0..=width - w);
                return CropBox { top, left, height: h, width: w };
            }
        }
        // Fallback: a centred crop of the whole image, with its aspect ratio clamped into range.
        let in_ratio = width as f32 / height as f32;
        let (h, w) = if in_ratio < self.ratio.0 {
            (((width as f32 / self.ratio.0).round() as usize).clamp(1, height), width)
        } else if in_ratio > self.ratio.1 {
            (height, ((height as f32 * self.ratio.1).round() as usize).clamp(1, width))
        } else {
            (height, width)
        };
        CropBox { top: (height - h) / 2, left: (width - w) / 2, height: h, width: w }
    }
}

impl Transform for RandomResizedCrop {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        let region = self.sample_box(img.height, img.width, rng);
        resized_crop(img, region, self.size.0, self.size.1)
    }

    fn name(&self) -> String {
        format!(
            "RandomResizedCrop(size={}x{}, scale=({}, {}), ratio=({:.3}, {:.3}))",
            self.size.0, self.size.1, self.scale.0, self.scale.1, self.ratio.0, self.ratio.1
        )
    }
}

/// Cuts the central `size = (height, width)` region out of the image (deterministic; the usual
/// evaluation-time transform). If the image is smaller than `size` along an axis, the missing
/// border is filled with zeros (black), as torchvision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CenterCrop {
    pub size: (usize, usize),
}

impl CenterCrop {
    /// A centre crop to `size`. Panics if a side is zero.
    pub fn new(size: (usize, usize)) -> Self {
        assert!(size.0 > 0 && size.1 > 0, "CenterCrop: size must be non-zero, got {size:?}");
        Self { size }
    }
}

impl Transform for CenterCrop {
    fn apply(&self, img: &Image, _rng: &mut dyn RngCore) -> Image {
        let (h, w) = self.size;
        // Offset of the crop in the source; negative when the image is smaller (zero padding).
        let top = (img.height as isize - h as isize).div_euclid(2);
        let left = (img.width as isize - w as isize).div_euclid(2);
        let mut out = Image::zeros(img.channels, h, w);
        for c in 0..img.channels {
            for y in 0..h {
                let sy = top + y as isize;
                if sy < 0 || sy >= img.height as isize {
                    continue;
                }
                for x in 0..w {
                    let sx = left + x as isize;
                    if sx >= 0 && sx < img.width as isize {
                        out.set(c, y, x, img.get(c, sy as usize, sx as usize));
                    }
                }
            }
        }
        out
    }

    fn name(&self) -> String {
        format!("CenterCrop({}x{})", self.size.0, self.size.1)
    }
}

/// Resizes the whole image to `size = (height, width)` with [`resize_bilinear`] (deterministic;
/// ignores aspect ratio). Used where a pipeline has no crop but must still output a fixed size,
/// e.g. [`Pipeline::simclr_without_crop`](super::Pipeline::simclr_without_crop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resize {
    pub size: (usize, usize),
}

impl Resize {
    /// A resize to `size`. Panics if a side is zero.
    pub fn new(size: (usize, usize)) -> Self {
        assert!(size.0 > 0 && size.1 > 0, "Resize: size must be non-zero, got {size:?}");
        Self { size }
    }
}

impl Transform for Resize {
    fn apply(&self, img: &Image, _rng: &mut dyn RngCore) -> Image {
        resize_bilinear(img, self.size.0, self.size.1)
    }

    fn name(&self) -> String {
        format!("Resize({}x{})", self.size.0, self.size.1)
    }
}
