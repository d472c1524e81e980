//! What the built-in procedural datasets share: deterministic per-image random streams,
//! balanced labels, parallel rendering, colours, backgrounds and pixel noise.
//!
//! Image `i` of a split is drawn from its own [`StdRng`] seeded with a hash of
//! `(seed, split, i)`, so images can be rendered in parallel (rayon) in any order and still be
//! identical from run to run; the train and test splits use different streams. Labels are
//! balanced (class counts differ by at most one) and shuffled.

use std::f32::consts::TAU;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use crate::data::dataset::ImageDataset;
use crate::image::Image;

/// Size and seed of the generated dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProceduralConfig {
    /// Number of training images. Default 10 000.
    pub n_train: usize,
    /// Number of test images. Default 2 000.
    pub n_test: usize,
    /// Side of the square RGB images, in pixels. Default 32.
    pub size: usize,
    /// Seed of the whole dataset. Default 0.
    pub seed: u64,
}

impl Default for ProceduralConfig {
    fn default() -> Self {
        Self { n_train: 10_000, n_test: 2_000, size: 32, seed: 0 }
    }
}

impl ProceduralConfig {
    /// Number of images in `split`.
    pub fn count(&self, split: Split) -> usize {
        match split {
            Split::Train => self.n_train,
            Split::Test => self.n_test,
        }
    }
}

/// Which split to generate; each has its own random streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// Distinguishes the random streams of the two splits.
    pub(crate) fn stream(self) -> u64 {
        match self {
            Split::Train => 0x7472_6169_6e00_0001,
            Split::Test => 0x7465_7374_0000_0002,
        }
    }
}


/// Generates `n` images of `size × size` RGB pixels named `"{prefix}/{split}"`: balanced,
/// shuffled labels over `class_names`, image `i` rendered by `render(label, size, rng, out)`
/// from its own random stream. The same arguments always give the same bytes.
pub(crate) fn generate_split_with(
    prefix: &str,
    class_names: &[&str],
    n: usize,
    size: usize,
    seed: u64,
    split: Split,
    render: impl Fn(usize, usize, &mut StdRng, &mut [f32]) + Sync,
) -> ImageDataset {
    assert!(size >= 8, "{prefix}: images must be at least 8 pixels wide, got {size}");
    let classes = class_names.len();
    let names = class_names.iter().map(|s| s.to_string()).collect();
    let mut ds = ImageDataset::new(format!("{prefix}/{}", split.name()), 3, size, size, names);

    // Balanced labels: round-robin over the classes, then shuffled with the split's own stream
    // (index u64::MAX is never an image index).
    let mut labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
    labels.shuffle(&mut StdRng::seed_from_u64(stream_seed(seed, split, u64::MAX)));

    let image_len = 3 * size * size;
    let mut pixels = vec![0.0f32; n * image_len];
    pixels.par_chunks_mut(image_len).zip(labels.par_iter()).enumerate().for_each(|(i, (out, &label))| {
        let mut rng = StdRng::seed_from_u64(stream_seed(seed, split, i as u64));
        render(label, size, &mut rng, out);
    });
    ds.pixels = pixels;
    ds.labels = labels;
    ds
}

/// SplitMix64 finaliser (Steele, Lea & Flood, 2014): a bijective 64-bit mixer whose outputs
/// for consecutive inputs look independent.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The RNG seed of item `index` of `split` for the dataset seed `seed`.
pub(crate) fn stream_seed(seed: u64, split: Split, index: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(seed) ^ split.stream()) ^ index)
}


/// A `size × size` RGB image drawn by `render` into its CHW pixels.
pub(crate) fn render_image(size: usize, render: impl FnOnce(&mut [f32])) -> Image {
    let mut data = vec![0.0; 3 * size * size];
    render(&mut data);
    Image::from_vec(3, size, size, data)
}

/// An RGB colour, components in `[0, 1]`.
pub(crate) type Rgb = [f32; 3];

/// Zero-mean pixel noise of standard deviation `sigma`, one independent value per index.
///
/// Drawing 3 072 Gaussian samples per image from [`StdRng`] would take half of the generation
/// time, so each value is instead hashed from `(seed, index)` with SplitMix64 and shaped by the
/// Irwin–Hall trick: the sum of four independent uniforms on `[0, 1)` has mean 2 and variance
/// 4/12, so `(Σu − 2) · √3 · σ` is close to `N(0, σ²)` (bounded at ±2√3 σ, which is harmless
/// for image noise).
pub(crate) struct PixelNoise {
    pub(crate) sigma: f32,
    pub(crate) seed: u64,
}

impl PixelNoise {
    #[inline]
    pub(crate) fn at(&self, index: u64) -> f32 {
        let bits = splitmix64(self.seed ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93));
        // Four 16-bit uniforms from one 64-bit hash.
        let sum: u32 = (0..4).map(|k| ((bits >> (16 * k)) & 0xffff) as u32).sum();
        let uniform_sum = sum as f32 / 65_536.0;
        (uniform_sum - 2.0) * (3.0f32.sqrt() * self.sigma)
    }

    /// Writes pixel `i` (row-major within a plane of `plane` values) of a CHW image: `rgb` plus
    /// this noise, clamped to `[0, 1]`.
    #[inline]
    pub(crate) fn write_pixel(&self, out: &mut [f32], plane: usize, i: usize, rgb: Rgb) {
        for (c, &v) in rgb.iter().enumerate() {
            let j = c * plane + i;
            out[j] = (v + self.at(j as u64)).clamp(0.0, 1.0);
        }
    }
}

/// Relative luminance (ITU-R BT.601 weights), the brightness a viewer perceives.
pub(crate) fn luminance(c: Rgb) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// HSV to RGB, all components in `[0, 1]`.
pub(crate) fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h6 = (h.rem_euclid(1.0)) * 6.0;
    let f = h6 - h6.floor();
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match h6 as u32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

pub(crate) fn random_colour(rng: &mut impl Rng) -> Rgb {
    hsv(rng.gen(), rng.gen_range(0.0..1.0), rng.gen_range(0.05..1.0))
}

/// A random colour whose luminance differs from `background`'s by at least 0.25, so the shape
/// is always visible (the background texture moves the local luminance by at most about 0.15).
pub(crate) fn contrasting_colour(rng: &mut impl Rng, background: Rgb) -> Rgb {
    const MIN_CONTRAST: f32 = 0.25;
    let bg = luminance(background);
    for _ in 0..64 {
        let c = random_colour(rng);
        if (luminance(c) - bg).abs() >= MIN_CONTRAST {
            return c;
        }
    }
    // Practically unreachable (a mid-grey background leaves plenty of room); a light or dark
    // version of a random hue always qualifies.
    hsv(rng.gen(), rng.gen_range(0.0..0.5), if bg > 0.5 { 0.1 } else { 0.95 })
}

/// The background: a base colour plus one of four textures.
pub(crate) struct Background {
    /// Average colour, used for the contrast check.
    pub(crate) mean: Rgb,
    texture: Texture,
}

pub(crate) enum Texture {
    Flat,
    /// Linear blend from `mean − delta/2` to `mean + delta/2` along the unit `direction`.
    Gradient { delta: Rgb, direction: [f32; 2], size: f32 },
    /// `amplitude · tint · sin(2π · frequency · (u · p) + phase)`.
    Stripes { amplitude: f32, tint: Rgb, normal: [f32; 2], frequency: f32, phase: f32 },
    /// Smoothly interpolated random offsets on a coarse `grid × grid` lattice.
    Noise { grid: usize, values: Vec<Rgb>, cell: f32 },
}

impl Background {
    pub(crate) fn random(rng: &mut impl Rng, size: f32) -> Self {
        Self::random_from(rng, size, &[0, 1, 2, 3])
    }

    /// A random background without stripes (flat, gradient or noise), for datasets whose
    /// classes are patterns.
    pub(crate) fn random_smooth(rng: &mut impl Rng, size: f32) -> Self {
        Self::random_from(rng, size, &[0, 1, 3])
    }

    /// A background whose texture is drawn from `kinds` (0 flat, 1 gradient, 2 stripes, 3 noise).
    fn random_from(rng: &mut impl Rng, size: f32, kinds: &[u32]) -> Self {
        let mean = hsv(rng.gen(), rng.gen_range(0.0..0.9), rng.gen_range(0.1..0.95));
        let texture = match kinds[rng.gen_range(0..kinds.len() as i32) as usize] { // i32: the draw shapes has always made
            0 => Texture::Flat,
            1 => {
                let target = random_colour(rng);
                let amount = rng.gen_range(0.1..0.3);
                let delta = [0, 1, 2].map(|c| amount * (target[c] - mean[c]));
                let (s, c) = rng.gen_range(0.0..TAU).sin_cos();
                Texture::Gradient { delta, direction: [c, s], size }
            }
            2 => {
                let (s, c) = rng.gen_range(0.0..TAU).sin_cos();
                let tint = [0, 1, 2].map(|_| rng.gen_range(0.5..1.0));
                Texture::Stripes {
                    amplitude: rng.gen_range(0.04..0.12),
                    tint,
                    normal: [c, s],
                    frequency: rng.gen_range(1.5..5.0) / size,
                    phase: rng.gen_range(0.0..TAU),
                }
            }
            _ => {
                let grid = rng.gen_range(3..=6);
                let amplitude = rng.gen_range(0.05..0.15);
                let values = (0..grid * grid).map(|_| [0; 3].map(|_| amplitude * rng.gen_range(-1.0..1.0))).collect();
                Texture::Noise { grid, values, cell: size / (grid - 1) as f32 }
            }
        };
        Self { mean, texture }
    }

    /// Background colour at pixel position `(x, y)`.
    pub(crate) fn at(&self, x: f32, y: f32) -> Rgb {
        let m = self.mean;
        match &self.texture {
            Texture::Flat => m,
            Texture::Gradient { delta, direction, size } => {
                // t in [-0.5, 0.5] across the image (roughly), centred on the image centre.
                let t = (direction[0] * (x - size / 2.0) + direction[1] * (y - size / 2.0)) / size;
                [0, 1, 2].map(|c| m[c] + t * delta[c])
            }
            Texture::Stripes { amplitude, tint, normal, frequency, phase } => {
                let w = amplitude * (TAU * frequency * (normal[0] * x + normal[1] * y) + phase).sin();
                [0, 1, 2].map(|c| m[c] + w * tint[c])
            }
            Texture::Noise { grid, values, cell } => {
                let (gx, gy) = (x / cell, y / cell);
                let (i, j) = ((gx as usize).min(grid - 2), (gy as usize).min(grid - 2));
                let (fx, fy) = (smoothstep(gx - i as f32), smoothstep(gy - j as f32));
                let v = |a: usize, b: usize| values[b * grid + a];
                let (v00, v10, v01, v11) = (v(i, j), v(i + 1, j), v(i, j + 1), v(i + 1, j + 1));
                [0, 1, 2].map(|c| {
                    let top = v00[c] + fx * (v10[c] - v00[c]);
                    let bottom = v01[c] + fx * (v11[c] - v01[c]);
                    m[c] + top + fy * (bottom - top)
                })
            }
        }
    }
}

/// `3t² − 2t³` on `[0, 1]`: an S-curve with zero slope at both ends.
pub(crate) fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A small anti-aliased disk of random colour, painted on the background (under the shape).
pub(crate) struct Blob {
    centre: [f32; 2],
    radius: f32,
    colour: Rgb,
}

impl Blob {
    pub(crate) fn random(rng: &mut impl Rng, size: f32) -> Self {
        Self::random_sized(rng, size, 0.03..0.07) // 1–2.2 px at 32×32; shapes are ≥ 8 px
    }

    /// A blob anywhere in the image whose radius is `radius` times the image size.
    pub(crate) fn random_sized(rng: &mut impl Rng, size: f32, radius: std::ops::Range<f32>) -> Self {
        let radius = rng.gen_range(radius) * size;
        Self { centre: [rng.gen_range(0.0..size), rng.gen_range(0.0..size)], radius, colour: random_colour(rng) }
    }

    pub(crate) fn paint(&self, x: f32, y: f32, rgb: &mut Rgb) {
        let dist = ((x - self.centre[0]).powi(2) + (y - self.centre[1]).powi(2)).sqrt() - self.radius;
        let coverage = (0.5 - dist).clamp(0.0, 1.0);
        for (v, &c) in rgb.iter_mut().zip(&self.colour) {
            *v += coverage * (c - *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_noise_has_zero_mean_and_the_requested_std() {
        let noise = PixelNoise { sigma: 0.05, seed: 7 };
        let v: Vec<f32> = (0..100_000).map(|i| noise.at(i)).collect();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt();
        assert!(mean.abs() < 1e-3, "mean {mean}");
        assert!((std - 0.05).abs() < 1e-3, "std {std}");
    }
}
