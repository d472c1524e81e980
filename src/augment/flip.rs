//! Random horizontal flip.

use rand::RngCore;

use super::{check_probability, coin, Transform};
use crate::image::Image;

/// Mirrors `img` left/right: output pixel `(c, y, x)` is input pixel `(c, y, width - 1 - x)`.
pub fn hflip(img: &Image) -> Image {
    let mut out = img.clone();
    for row in out.data.chunks_exact_mut(img.width.max(1)) {
        row.reverse();
    }
    out
}

/// Mirrors the image left/right with probability `p` (0.5 in SimCLR, BYOL, MoCo, SwAV and DINO).
///
/// A flip does not change what a natural image shows, so it gives the encoder a cheap
/// invariance; it is part of every view pipeline since SimCLR (Chen et al. 2020).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomHorizontalFlip {
    /// Probability of flipping, in `[0, 1]`.
    pub p: f32,
}

impl RandomHorizontalFlip {
    /// A flip applied with probability `p`. Panics if `p` is not in `[0, 1]`.
    pub fn new(p: f32) -> Self {
        check_probability("RandomHorizontalFlip", p);
        Self { p }
    }
}

impl Default for RandomHorizontalFlip {
    /// The standard `p = 0.5`.
    fn default() -> Self {
        Self { p: 0.5 }
    }
}

impl Transform for RandomHorizontalFlip {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        if coin(rng, self.p) {
            hflip(img)
        } else {
            img.clone()
        }
    }

    fn name(&self) -> String {
        format!("RandomHorizontalFlip(p={})", self.p)
    }
}
