//! Cutting an image into a grid of square patches, for methods that treat an image as a
//! sequence of patches (CPC: van den Oord et al. 2018; Hénaff et al. 2020).
//!
//! * [`PatchGrid`] — where the patches are: side `patch`, one every `stride` pixels, row-major.
//! * [`PatchMosaic`] — a [`Transform`] that cuts the patches, augments each one on its own, and
//!   tiles them back side by side without overlap, so the result is still one image (and a
//!   batch of them still packs into one [`ViewBatch`](super::ViewBatch)).

use rand::RngCore;

use super::{Pipeline, Transform};
use crate::image::Image;

/// A square grid of `patch × patch` patches taken every `stride` pixels, starting at the top
/// left corner. Overlapping when `stride < patch`; a tiling when `stride == patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchGrid {
    pub patch: usize,
    pub stride: usize,
}

impl PatchGrid {
    /// A grid of `patch` pixels every `stride` pixels. Panics if either is 0.
    pub fn new(patch: usize, stride: usize) -> Self {
        assert!(patch > 0 && stride > 0, "PatchGrid: patch and stride must be positive");
        Self { patch, stride }
    }

    /// Non-overlapping tiles of side `patch` (the layout of a [`PatchMosaic`]).
    pub fn tiles(patch: usize) -> Self {
        Self::new(patch, patch)
    }

    /// How many patches fit along a side of `size` pixels: `(size − patch) / stride + 1`.
    pub fn per_side(&self, size: usize) -> usize {
        assert!(size >= self.patch, "PatchGrid: a {size}-pixel side is smaller than a {}-pixel patch", self.patch);
        (size - self.patch) / self.stride + 1
    }

    /// The patches of `img`, row by row (patch `(r, c)` at index `r · cols + c`), each with
    /// `img`'s channels. Pixels right of or below the last whole patch are left out.
    pub fn extract(&self, img: &Image) -> Vec<Image> {
        let (rows, cols, p) = (self.per_side(img.height), self.per_side(img.width), self.patch);
        let mut patches = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                let (top, left) = (r * self.stride, c * self.stride);
                let mut out = Image::zeros(img.channels, p, p);
                for ch in 0..img.channels {
                    for y in 0..p {
                        let src = img.index(ch, top + y, left);
                        let dst = out.index(ch, y, 0);
                        out.data[dst..dst + p].copy_from_slice(&img.data[src..src + p]);
                    }
                }
                patches.push(out);
            }
        }
        patches
    }

    /// [`PatchGrid::extract`] on every image of a packed `(B, C, H, W)` batch: the patches of
    /// image 0 (row-major), then those of image 1, ..., packed as `(B · n, C, patch, patch)`.
    /// Returns the data and that shape.
    pub fn extract_batch(&self, data: &[f32], shape: [usize; 4]) -> (Vec<f32>, [usize; 4]) {
        let [b, c, h, w] = shape;
        assert_eq!(data.len(), b * c * h * w, "PatchGrid::extract_batch: data does not match the shape");
        let n = self.per_side(h) * self.per_side(w);
        let mut out = Vec::with_capacity(b * n * c * self.patch * self.patch);
        for chunk in data.chunks_exact(c * h * w) {
            for patch in self.extract(&Image::from_vec(c, h, w, chunk.to_vec())) {
                out.extend_from_slice(&patch.data);
            }
        }
        (out, [b * n, c, self.patch, self.patch])
    }
}

/// Tiles `side × side` patches of equal size, given row by row, into one image.
pub fn mosaic(patches: &[Image], side: usize) -> Image {
    assert!(side > 0 && patches.len() == side * side, "mosaic: expected {side}x{side} patches, got {}", patches.len());
    let (c, p) = (patches[0].channels, patches[0].height);
    let mut out = Image::zeros(c, side * p, side * p);
    for (i, patch) in patches.iter().enumerate() {
        assert_eq!((patch.channels, patch.height, patch.width), (c, p, p), "mosaic: patches of different sizes");
        let (top, left) = ((i / side) * p, (i % side) * p);
        for ch in 0..c {
            for y in 0..p {
                let src = patch.index(ch, y, 0);
                let dst = out.index(ch, top + y, left);
                out.data[dst..dst + p].copy_from_slice(&patch.data[src..src + p]);
            }
        }
    }
    out
}

/// Cuts an image into the patches of `grid` (which must be square: as many rows as columns),
/// applies `per_patch` to each patch with its own random draws, and returns the patches tiled
/// side by side ([`mosaic`]): an image of side `per_side · grid.patch`. Cut it back with
/// [`PatchGrid::tiles`]`(grid.patch)`.
///
/// Augmenting patches independently (Hénaff et al. 2020, §3) stops a patch from being matched
/// to its neighbours by low-level cues they share, such as the colour of the whole image.
pub struct PatchMosaic {
    pub grid: PatchGrid,
    pub per_patch: Pipeline,
}

impl Transform for PatchMosaic {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        let side = self.grid.per_side(img.height);
        assert_eq!(side, self.grid.per_side(img.width), "PatchMosaic: the grid must have as many rows as columns");
        let patches: Vec<Image> = self.grid.extract(img).iter().map(|p| self.per_patch.apply(p, rng)).collect();
        mosaic(&patches, side)
    }

    fn name(&self) -> String {
        format!("PatchMosaic(patch={}, stride={}, per_patch={})", self.grid.patch, self.grid.stride, self.per_patch.name())
    }
}
