//! Solarisation.

use rand::RngCore;

use super::{check_probability, coin, Transform};
use crate::image::Image;

/// Inverts every value at or above `threshold`: `x >= threshold` becomes `1 - x`, smaller values
/// are kept. With `threshold = 0.5` bright regions turn dark while dark regions are unchanged.
pub fn solarize(img: &Image, threshold: f32) -> Image {
    let data = img.data.iter().map(|&x| if x >= threshold { 1.0 - x } else { x }).collect();
    Image::from_vec(img.channels, img.height, img.width, data)
}

/// Applies [`solarize`] with probability `p`.
///
/// Introduced for self-supervised learning by BYOL (Grill et al. 2020, "Bootstrap Your Own
/// Latent"), which solarises only the second of its two views (`p = 0.2`, `threshold = 0.5`) to
/// make the views asymmetric; DINO (Caron et al. 2021) does the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solarize {
    /// Values `>= threshold` are inverted; BYOL uses 0.5 (128 of 255).
    pub threshold: f32,
    /// Probability of solarising, in `[0, 1]`.
    pub p: f32,
}

impl Solarize {
    /// Solarisation at `threshold`, applied with probability `p`. Panics if `p` is not in `[0, 1]`.
    pub fn new(threshold: f32, p: f32) -> Self {
        check_probability("Solarize", p);
        Self { threshold, p }
    }
}

impl Transform for Solarize {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        if coin(rng, self.p) {
            solarize(img, self.threshold)
        } else {
            img.clone()
        }
    }

    fn name(&self) -> String {
        format!("Solarize(threshold={}, p={})", self.threshold, self.p)
    }
}
