//! `shapes`: the kit's built-in, procedurally generated dataset.
//!
//! Every image is a **pattern of one shape**: a randomly rotated and shifted lattice of small
//! copies ("motifs", 6–9 pixels across at 32×32, 2.5–3.5 lattice cells per side) of one of
//! [`CLASS_NAMES`], over a textured background. The **class is the motif's shape**; everything
//! else is drawn at random, independently of the class:
//!
//! - the motifs' colour and the background colour (random hues, with a minimum luminance
//!   contrast between the two so the motifs stay visible) and a soft shading;
//! - the lattice's spacing, rotation and phase (where the motifs sit), and each motif's own
//!   rotation, size (±15%) and small offset;
//! - a background texture: flat, a linear gradient, sinusoidal stripes or smooth value noise;
//! - 0–3 small distractor blobs of random colour;
//! - (approximately) Gaussian pixel noise of random strength.
//!
//! Why a pattern rather than one large shape: SimCLR's standard views are crops of 20–100% of
//! the image. A crop of a single large silhouette often shows an edge or a corner of it, not
//! what it is, so on the earlier one-shape-per-image version the standard crop range was
//! harmful (kNN 22% vs 65% with crops of 80–100%). Here, as with the fur, feathers or wheels
//! of natural images, the class is carried by parts that repeat over the image: every crop of
//! a fifth of the image still contains motifs (see `tests/shapes.rs`).
//!
//! These nuisances dominate the raw pixel values, so raw pixels are a poor representation:
//! images with similar *colours* are near each other whatever their shape, and a weighted kNN
//! on the (mean-centred) pixels stays far below a trained encoder (see
//! `tests/shapes_hardness.rs`).
//!
//! Shapes are rendered from exact signed distance functions (SDFs, after Inigo Quilez's
//! catalogue of 2-D distance functions) with a one-pixel linear edge ramp: the coverage of a
//! pixel whose centre is at signed distance `s` pixels from the outline is
//! `clamp(0.5 − s, 0, 1)`, which gives clean anti-aliased edges with one evaluation per pixel
//! (a motif never leaves its lattice cell, so only the pixel's own cell is evaluated, and the
//! cell's motif is hashed from its index rather than stored).
//!
//! Generation is deterministic: image `i` of a split is drawn from its own
//! [`StdRng`] seeded with a hash of `(seed, split, i)`, so images can be rendered in parallel
//! (rayon) in any order and still be identical from run to run; the train and test splits use
//! different streams. Labels are balanced (class counts differ by at most one) and shuffled.

use std::f32::consts::{PI, TAU};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::dataset::{ImageDataset, Splits};
use crate::image::Image;

/// The class names, in label order: label `i` means the image shows `CLASS_NAMES[i]`.
///
/// No class is a rotated or scaled copy of another (a "diamond" would be a rotated square),
/// since rotation and scale are nuisances.
pub const CLASS_NAMES: [&str; 10] = ["circle", "square", "triangle", "plus", "ring", "star", "crescent", "heart", "arrow", "corner"];

/// Number of classes (chance level is `1 / NUM_CLASSES` = 10%).
pub const NUM_CLASSES: usize = CLASS_NAMES.len();

/// Size and seed of the generated dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShapesConfig {
    /// Number of training images. Default 10 000.
    pub n_train: usize,
    /// Number of test images. Default 2 000.
    pub n_test: usize,
    /// Side of the square RGB images, in pixels. Default 32.
    pub size: usize,
    /// Seed of the whole dataset. Default 0.
    pub seed: u64,
}

impl Default for ShapesConfig {
    fn default() -> Self {
        Self { n_train: 10_000, n_test: 2_000, size: 32, seed: 0 }
    }
}

/// Which split to generate; each has its own random streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// Distinguishes the random streams of the two splits.
    fn stream(self) -> u64 {
        match self {
            Split::Train => 0x7472_6169_6e00_0001,
            Split::Test => 0x7465_7374_0000_0002,
        }
    }
}

/// Generates the train split (`"shapes/train"`, `cfg.n_train` images) and the test split
/// (`"shapes/test"`, `cfg.n_test` images) of `cfg.size × cfg.size` RGB images.
///
/// The same configuration always gives the same bytes.
pub fn generate(cfg: &ShapesConfig) -> Splits {
    Splits { train: generate_split(cfg, Split::Train), test: generate_split(cfg, Split::Test) }
}

/// Generates one split (see [`generate`]).
pub fn generate_split(cfg: &ShapesConfig, split: Split) -> ImageDataset {
    assert!(cfg.size >= 8, "shapes: images must be at least 8 pixels wide, got {}", cfg.size);
    let n = match split {
        Split::Train => cfg.n_train,
        Split::Test => cfg.n_test,
    };
    let class_names = CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    let mut ds = ImageDataset::new(format!("shapes/{}", split.name()), 3, cfg.size, cfg.size, class_names);

    // Balanced labels: round-robin over the classes, then shuffled with the split's own stream
    // (index u64::MAX is never an image index).
    let mut labels: Vec<usize> = (0..n).map(|i| i % NUM_CLASSES).collect();
    labels.shuffle(&mut StdRng::seed_from_u64(stream_seed(cfg.seed, split, u64::MAX)));

    let image_len = 3 * cfg.size * cfg.size;
    let mut pixels = vec![0.0f32; n * image_len];
    pixels.par_chunks_mut(image_len).zip(labels.par_iter()).enumerate().for_each(|(i, (out, &label))| {
        let mut rng = StdRng::seed_from_u64(stream_seed(cfg.seed, split, i as u64));
        render_into(label, cfg.size, &mut rng, out, None);
    });
    ds.pixels = pixels;
    ds.labels = labels;
    ds
}

/// Renders one random `size × size` RGB image of class `label` (an index into [`CLASS_NAMES`]),
/// drawing every nuisance factor from `rng`.
pub fn render(label: usize, size: usize, rng: &mut impl Rng) -> Image {
    render_with_coverage(label, size, rng).0
}

/// [`render`], also returning how much of each pixel the class's motifs cover (`size × size`
/// values in `[0, 1]`, row-major): where the class is visible. The same `rng` state gives the
/// same image as [`render`].
pub fn render_with_coverage(label: usize, size: usize, rng: &mut impl Rng) -> (Image, Vec<f32>) {
    let mut data = vec![0.0; 3 * size * size];
    let mut coverage = vec![0.0; size * size];
    render_into(label, size, rng, &mut data, Some(&mut coverage));
    (Image::from_vec(3, size, size, data), coverage)
}

/// SplitMix64 finaliser (Steele, Lea & Flood, 2014): a bijective 64-bit mixer whose outputs
/// for consecutive inputs look independent.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The RNG seed of item `index` of `split` for the dataset seed `seed`.
fn stream_seed(seed: u64, split: Split, index: u64) -> u64 {
    splitmix64(splitmix64(splitmix64(seed) ^ split.stream()) ^ index)
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

type Rgb = [f32; 3];

/// The pattern's geometry: lattice spacing as a fraction of the image side.
///
/// Measured with SimCLR (5 000 images, 4 epochs, seed 0; kNN with crops of 20-100% vs no crop):
/// this lattice 28.7% vs 39.2% (random init 18.9%); spacing 0.16-0.5 19.2% vs 33.1%; 0.2-0.28
/// (colour strength 0.5) 30.1% vs 34.0%; a two-level quadtree lattice (0.38-0.5) 24.4% vs
/// 21.7%; the pattern confined to a disk 14.5% vs 20.8%; occluding "dead leaves" 13.8% vs
/// 12.8%. None makes the standard crop range beat no crop by 5 points at this budget yet.
const SPACING: std::ops::Range<f32> = 0.28..0.40;
/// Radius of a motif in lattice cells (the outline's canonical radius is about 1).
const MOTIF_RADIUS: f32 = 0.36;
/// Each motif's size varies by ±15% around `MOTIF_RADIUS`.
const MOTIF_SIZE_JITTER: f32 = 0.15;
/// Each motif's centre moves by up to this many cells from its cell's centre; with
/// `MOTIF_RADIUS · 1.15 + JITTER < 0.5` a motif never leaves its cell, so one SDF evaluation
/// per pixel suffices.
const JITTER: f32 = 0.08;

/// Renders one image into `out` (CHW, `3 × size × size`) and, if given, the motif coverage of
/// every pixel (in `[0, 1]`, `size × size`) into `coverage`.
fn render_into(label: usize, size: usize, rng: &mut impl Rng, out: &mut [f32], mut coverage: Option<&mut [f32]>) {
    assert!(label < NUM_CLASSES, "shapes: label {label} is out of range");
    assert_eq!(out.len(), 3 * size * size);
    let s = size as f32;

    let background = Background::random(rng, s);
    let blobs: Vec<Blob> = (0..rng.gen_range(0..=3)).map(|_| Blob::random(rng, s)).collect();

    // The pattern: a randomly rotated and shifted lattice, one motif of the class's outline per
    // cell, each with its own rotation, size and offset.
    let outline = Outline::of_class(label);
    let colour = contrasting_colour(rng, background.mean);
    let spacing = rng.gen_range(SPACING) * s; // pixels between lattice points
    let (lat_sin, lat_cos) = rng.gen_range(0.0..TAU).sin_cos();
    let phase = [rng.gen_range(0.0..1.0f32), rng.gen_range(0.0..1.0f32)];
    let cell_seed: u64 = rng.gen();
    // Soft shading: brightness varies by ±`shade` across the image along a random direction.
    let shade = rng.gen_range(0.0..0.15);
    let (shade_sin, shade_cos) = rng.gen_range(0.0..TAU).sin_cos();
    let noise = PixelNoise { sigma: rng.gen_range(0.0..0.05), seed: rng.gen() };

    let plane = size * size;
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let mut rgb = background.at(px, py);
            for blob in &blobs {
                blob.paint(px, py, &mut rgb);
            }

            // Lattice coordinates (one unit per cell) and this pixel's cell.
            let (dx, dy) = (px - s / 2.0, py - s / 2.0);
            let u = (lat_cos * dx + lat_sin * dy) / spacing + phase[0];
            let v = (-lat_sin * dx + lat_cos * dy) / spacing + phase[1];
            let (ci, cj) = (u.floor(), v.floor());
            // The cell's motif: its randomness is hashed from the cell's index, so every
            // pixel of the cell sees the same motif without storing it.
            let h = splitmix64(cell_seed ^ (ci as i64 as u64).wrapping_mul(0x9e37_79b9) ^ (cj as i64 as u64).wrapping_mul(0x85eb_ca6b_0000_0001));
            let unit = |bit: u32| ((h >> bit) & 0xffff) as f32 / 65_536.0;
            let (ox, oy) = (JITTER * (2.0 * unit(0) - 1.0), JITTER * (2.0 * unit(16) - 1.0));
            let (rot_sin, rot_cos) = (TAU * unit(32)).sin_cos();
            let radius = MOTIF_RADIUS * (1.0 - MOTIF_SIZE_JITTER + 2.0 * MOTIF_SIZE_JITTER * unit(48)); // in cells
            let (lx, ly) = ((u - ci - 0.5 - ox) / radius, (v - cj - 0.5 - oy) / radius);
            let p = [rot_cos * lx + rot_sin * ly, -rot_sin * lx + rot_cos * ly];
            let pixels_per_unit = radius * spacing;
            let cover = (0.5 - outline.sdf(p) * pixels_per_unit).clamp(0.0, 1.0);
            if cover > 0.0 {
                let t = (shade_cos * dx + shade_sin * dy) / (0.5 * s); // in about [-1, 1]
                let bright = 1.0 + shade * t;
                for c in 0..3 {
                    let fg = (colour[c] * bright).clamp(0.0, 1.0);
                    rgb[c] += cover * (fg - rgb[c]);
                }
            }

            let i = y * size + x;
            if let Some(cov) = coverage.as_deref_mut() {
                cov[i] = cover;
            }
            for (c, &v) in rgb.iter().enumerate() {
                let j = c * plane + i;
                out[j] = (v + noise.at(j as u64)).clamp(0.0, 1.0);
            }
        }
    }
}

/// Zero-mean pixel noise of standard deviation `sigma`, one independent value per index.
///
/// Drawing 3 072 Gaussian samples per image from [`StdRng`] would take half of the generation
/// time, so each value is instead hashed from `(seed, index)` with SplitMix64 and shaped by the
/// Irwin–Hall trick: the sum of four independent uniforms on `[0, 1)` has mean 2 and variance
/// 4/12, so `(Σu − 2) · √3 · σ` is close to `N(0, σ²)` (bounded at ±2√3 σ, which is harmless
/// for image noise).
struct PixelNoise {
    sigma: f32,
    seed: u64,
}

impl PixelNoise {
    #[inline]
    fn at(&self, index: u64) -> f32 {
        let bits = splitmix64(self.seed ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93));
        // Four 16-bit uniforms from one 64-bit hash.
        let sum: u32 = (0..4).map(|k| ((bits >> (16 * k)) & 0xffff) as u32).sum();
        let uniform_sum = sum as f32 / 65_536.0;
        (uniform_sum - 2.0) * (3.0f32.sqrt() * self.sigma)
    }
}

/// Relative luminance (ITU-R BT.601 weights), the brightness a viewer perceives.
fn luminance(c: Rgb) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

/// HSV to RGB, all components in `[0, 1]`.
fn hsv(h: f32, s: f32, v: f32) -> Rgb {
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

fn random_colour(rng: &mut impl Rng) -> Rgb {
    hsv(rng.gen(), rng.gen_range(0.0..1.0), rng.gen_range(0.05..1.0))
}

/// A random colour whose luminance differs from `background`'s by at least 0.25, so the shape
/// is always visible (the background texture moves the local luminance by at most about 0.15).
fn contrasting_colour(rng: &mut impl Rng, background: Rgb) -> Rgb {
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
struct Background {
    /// Average colour, used for the contrast check.
    mean: Rgb,
    texture: Texture,
}

enum Texture {
    Flat,
    /// Linear blend from `mean − delta/2` to `mean + delta/2` along the unit `direction`.
    Gradient { delta: Rgb, direction: [f32; 2], size: f32 },
    /// `amplitude · tint · sin(2π · frequency · (u · p) + phase)`.
    Stripes { amplitude: f32, tint: Rgb, normal: [f32; 2], frequency: f32, phase: f32 },
    /// Smoothly interpolated random offsets on a coarse `grid × grid` lattice.
    Noise { grid: usize, values: Vec<Rgb>, cell: f32 },
}

impl Background {
    fn random(rng: &mut impl Rng, size: f32) -> Self {
        let mean = hsv(rng.gen(), rng.gen_range(0.0..0.9), rng.gen_range(0.1..0.95));
        let texture = match rng.gen_range(0..4) {
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
    fn at(&self, x: f32, y: f32) -> Rgb {
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
fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A small anti-aliased disk of random colour, painted on the background (under the shape).
struct Blob {
    centre: [f32; 2],
    radius: f32,
    colour: Rgb,
}

impl Blob {
    fn random(rng: &mut impl Rng, size: f32) -> Self {
        let radius = rng.gen_range(0.03..0.07) * size; // 1–2.2 px at 32×32; shapes are ≥ 8 px
        Self { centre: [rng.gen_range(0.0..size), rng.gen_range(0.0..size)], radius, colour: random_colour(rng) }
    }

    fn paint(&self, x: f32, y: f32, rgb: &mut Rgb) {
        let dist = ((x - self.centre[0]).powi(2) + (y - self.centre[1]).powi(2)).sqrt() - self.radius;
        let coverage = (0.5 - dist).clamp(0.0, 1.0);
        for (v, &c) in rgb.iter_mut().zip(&self.colour) {
            *v += coverage * (c - *v);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes as signed distance functions
// ---------------------------------------------------------------------------------------------

/// A class's outline in its canonical frame: centred on the origin, fitting in a disk of radius
/// about 1, negative distances inside.
enum Outline {
    Circle { r: f32 },
    /// Annulus of mid-radius `r` and half-thickness `w`.
    Ring { r: f32, w: f32 },
    /// Disk of radius `r` minus the disk of radius `cut_r` centred at `(cut_x, 0)`; the result is
    /// shifted right by `shift` so the crescent's bulk sits near the origin.
    Crescent { r: f32, cut_r: f32, cut_x: f32, shift: f32 },
    Heart,
    /// A simple polygon (any winding).
    Polygon(Polygon),
}

impl Outline {
    fn of_class(label: usize) -> Outline {
        match CLASS_NAMES[label] {
            "circle" => Outline::Circle { r: 0.85 },
            "square" => Outline::polygon(&[[-0.7, -0.7], [0.7, -0.7], [0.7, 0.7], [-0.7, 0.7]]),
            "triangle" => Outline::polygon(&regular_star(3, 1.05, 1.05 * 0.5)),
            "plus" => {
                let (a, b) = (0.92, 0.3); // arm half-length, half-width
                Outline::polygon(&[
                    [b, -a], [b, -b], [a, -b], [a, b], [b, b], [b, a],
                    [-b, a], [-b, b], [-a, b], [-a, -b], [-b, -b], [-b, -a],
                ])
            }
            "ring" => Outline::Ring { r: 0.68, w: 0.2 },
            "star" => Outline::polygon(&regular_star(5, 1.05, 0.45)),
            "crescent" => Outline::Crescent { r: 0.9, cut_r: 0.72, cut_x: 0.42, shift: 0.25 },
            "heart" => Outline::Heart,
            // Pointing along +x: a shaft and a triangular head.
            "arrow" => Outline::polygon(&[
                [-0.95, -0.2], [0.1, -0.2], [0.1, -0.62], [0.95, 0.0], [0.1, 0.62], [0.1, 0.2], [-0.95, 0.2],
            ]),
            // An "L": a vertical bar with a foot.
            "corner" => Outline::polygon(&[
                [-0.7, -0.85], [-0.18, -0.85], [-0.18, 0.33], [0.75, 0.33], [0.75, 0.85], [-0.7, 0.85],
            ]),
            other => unreachable!("no outline for class {other}"),
        }
    }

    fn polygon(vertices: &[[f32; 2]]) -> Outline {
        Outline::Polygon(Polygon::new(vertices))
    }

    /// Radius of a disk around the origin that contains the whole shape (checked by the tests).
    #[cfg(test)]
    fn radius(&self) -> f32 {
        match self {
            Outline::Circle { r } => *r,
            Outline::Ring { r, w } => r + w,
            Outline::Crescent { r, shift, .. } => r + shift,
            Outline::Heart => 1.05,
            Outline::Polygon(poly) => poly.radius(),
        }
    }

    /// Signed Euclidean distance from `p` to the outline (negative inside), in canonical units.
    /// Exact for every shape except the crescent, whose `max(a, −b)` form is exact outside and
    /// a close bound inside — more than enough for a one-pixel edge ramp.
    fn sdf(&self, p: [f32; 2]) -> f32 {
        let len = |x: f32, y: f32| (x * x + y * y).sqrt();
        match self {
            Outline::Circle { r } => len(p[0], p[1]) - r,
            Outline::Ring { r, w } => (len(p[0], p[1]) - r).abs() - w,
            Outline::Crescent { r, cut_r, cut_x, shift } => {
                let (x, y) = (p[0] - shift, p[1]);
                (len(x, y) - r).max(cut_r - len(x - cut_x, y))
            }
            Outline::Heart => sd_heart(p),
            Outline::Polygon(poly) => poly.sdf(p),
        }
    }
}

/// Vertices of a star with `points` tips at radius `outer` and notches at radius `inner`,
/// first tip pointing up (`-y`). With `inner = outer · cos(π / points)` the notches lie on the
/// edges and it is a regular polygon (used for the triangle: `cos(π/3) = 0.5`).
fn regular_star(points: usize, outer: f32, inner: f32) -> Vec<[f32; 2]> {
    (0..2 * points)
        .map(|i| {
            let r = if i % 2 == 0 { outer } else { inner };
            let a = -PI / 2.0 + i as f32 * PI / points as f32;
            [r * a.cos(), r * a.sin()]
        })
        .collect()
}

/// A simple polygon with its edges precomputed for fast distance queries.
struct Polygon {
    /// Edge `i` runs from `start[i]` by `edge[i]` to the next vertex.
    start: Vec<[f32; 2]>,
    edge: Vec<[f32; 2]>,
    /// `1 / ‖edge[i]‖²`.
    inv_len2: Vec<f32>,
}

impl Polygon {
    fn new(vertices: &[[f32; 2]]) -> Self {
        let n = vertices.len();
        assert!(n >= 3, "a polygon needs at least 3 vertices");
        let start = vertices.to_vec();
        let edge: Vec<[f32; 2]> = (0..n)
            .map(|i| {
                let (a, b) = (vertices[i], vertices[(i + 1) % n]);
                [b[0] - a[0], b[1] - a[1]]
            })
            .collect();
        let inv_len2 = edge.iter().map(|e| 1.0 / (e[0] * e[0] + e[1] * e[1])).collect();
        Self { start, edge, inv_len2 }
    }

    #[cfg(test)]
    fn radius(&self) -> f32 {
        self.start.iter().map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt()).fold(0.0, f32::max)
    }

    /// Exact signed distance (Quilez, "2D distance functions": sdPolygon): the distance to the
    /// nearest edge, negative when the crossing number of a horizontal ray from `p` is odd.
    fn sdf(&self, p: [f32; 2]) -> f32 {
        let mut d2 = f32::INFINITY;
        let mut inside = false;
        for ((a, e), inv) in self.start.iter().zip(&self.edge).zip(&self.inv_len2) {
            let w = [p[0] - a[0], p[1] - a[1]];
            // Closest point of the segment: a + t e with t clamped to [0, 1].
            let t = ((w[0] * e[0] + w[1] * e[1]) * inv).clamp(0.0, 1.0);
            let b = [w[0] - e[0] * t, w[1] - e[1] * t];
            d2 = d2.min(b[0] * b[0] + b[1] * b[1]);
            // Does the ray from p towards +x cross this edge? (half-open in y, so a vertex
            // exactly at p's height is counted once)
            let end_y = a[1] + e[1];
            if (a[1] <= p[1]) != (end_y <= p[1]) {
                let x_cross = a[0] + (p[1] - a[1]) / e[1] * e[0];
                if x_cross > p[0] {
                    inside = !inside;
                }
            }
        }
        if inside {
            -d2.sqrt()
        } else {
            d2.sqrt()
        }
    }
}

/// Exact signed distance to a heart (Quilez's sdHeart), scaled by 1.5 and centred, tip
/// pointing down (`+y`).
fn sd_heart(p: [f32; 2]) -> f32 {
    const SCALE: f32 = 1.5;
    // Quilez's heart has its tip at the origin and its lobes up to y ≈ 1.1 (y pointing up).
    let x = (p[0] / SCALE).abs();
    let y = 0.55 - p[1] / SCALE;
    let dot2 = |a: f32, b: f32| a * a + b * b;
    let d = if x + y > 1.0 {
        dot2(x - 0.25, y - 0.75).sqrt() - std::f32::consts::SQRT_2 / 4.0
    } else {
        let m = 0.5 * (x + y).max(0.0);
        dot2(x, y - 1.0).min(dot2(x - m, y - m)).sqrt() * (x - y).signum()
    };
    d * SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outline_contains_the_origin_region_and_excludes_far_points() {
        for (label, name) in CLASS_NAMES.iter().enumerate() {
            let o = Outline::of_class(label);
            assert!(o.sdf([2.0, 0.0]) > 0.5, "{name}");
            let r = o.radius();
            assert!((0.8..1.3).contains(&r), "{name}: radius {r}");
            // Some point near the centre is inside (the ring's hole is empty, so probe a circle).
            let inside = (0..64).any(|i| {
                let a = i as f32 * TAU / 64.0;
                o.sdf([0.6 * a.cos(), 0.6 * a.sin()]) < 0.0
            });
            assert!(inside, "{name}");
        }
    }

    #[test]
    fn polygon_sdf_of_a_square_and_a_concave_l() {
        let sq = Polygon::new(&[[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]);
        assert!((sq.sdf([0.0, 0.0]) + 1.0).abs() < 1e-6);
        assert!((sq.sdf([0.5, 0.9]) + 0.1).abs() < 1e-6);
        assert!((sq.sdf([3.0, 0.0]) - 2.0).abs() < 1e-6);
        assert!((sq.sdf([2.0, 2.0]) - 2f32.sqrt()).abs() < 1e-6);
        // L-shape: the notch at the top right is outside.
        let l = Polygon::new(&[[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0], [1.0, 2.0], [0.0, 2.0]]);
        assert!(l.sdf([0.5, 1.5]) < 0.0 && l.sdf([1.5, 0.5]) < 0.0);
        assert!((l.sdf([1.5, 1.5]) - 0.5).abs() < 1e-6);
    }

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
