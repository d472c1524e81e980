//! `textures`: the kit's default built-in dataset, procedurally generated.
//!
//! Every image shows one large object on a smooth background. The **class is the pattern the
//! object is covered with** — one of [`CLASS_NAMES`] — and everything else is drawn at random,
//! independently of the class:
//!
//! - the pattern's two colours (random hues with a minimum luminance contrast), its scale
//!   (period), orientation and phase, and a soft shading across the object;
//! - the object's outline (a wobbly disk), position and size (it covers roughly 40–95% of the
//!   image);
//! - the background (flat, a linear gradient or smooth value noise, in a random colour) and
//!   0–3 small distractor blobs;
//! - (approximately) Gaussian pixel noise of random strength.
//!
//! Unlike [`shapes`](crate::data::shapes), where the class is a whole silhouette that a crop
//! cuts off, the class here is spread over the object, as the texture and parts of objects are
//! in natural images: a crop of 20–50% of the image that lands on the object still shows what it
//! is, so SimCLR's standard crop range (0.2–1) works. What a crop removes is the instance's
//! layout (where the object is, its outline), which is exactly the shortcut a method must not
//! learn; what colour jitter removes is the instance's colours. Both nuisances identify an
//! image far better than its class does, so raw pixels are a poor representation.
//!
//! Patterns are rendered from signed distances in the pattern's own frame (one unit = one
//! period), converted to pixels, with a one-pixel linear edge ramp: a pixel whose centre is `s`
//! pixels inside the ink is covered by `clamp(0.5 + s, 0, 1)`.
//!
//! Generation is deterministic and parallel, with balanced labels (see
//! [`procedural`](crate::data::procedural)); 12 000 images take well under a second.

use std::f32::consts::TAU;

use rand::Rng;

use crate::data::dataset::{ImageDataset, Splits};
use crate::data::procedural::{contrasting_colour, generate_split_with, render_image, random_colour, splitmix64, Background, Blob, PixelNoise, ProceduralConfig, Split};
use crate::image::Image;

/// The class names, in label order: label `i` means the object is covered with `CLASS_NAMES[i]`.
///
/// No class is a rotated or rescaled copy of another, since orientation and scale are nuisances.
pub const CLASS_NAMES: [&str; 10] = ["stripes", "checks", "dots", "rings", "grid", "zigzag", "spots", "spokes", "bricks", "crosses"];

/// Number of classes (chance level is `1 / NUM_CLASSES` = 10%).
pub const NUM_CLASSES: usize = CLASS_NAMES.len();

/// Generates the train split (`"textures/train"`, `cfg.n_train` images) and the test split
/// (`"textures/test"`, `cfg.n_test` images) of `cfg.size × cfg.size` RGB images.
///
/// The same configuration always gives the same bytes.
pub fn generate(cfg: &ProceduralConfig) -> Splits {
    Splits { train: generate_split(cfg, Split::Train), test: generate_split(cfg, Split::Test) }
}

/// Generates one split (see [`generate`]).
pub fn generate_split(cfg: &ProceduralConfig, split: Split) -> ImageDataset {
    generate_split_with("textures", &CLASS_NAMES, cfg.count(split), cfg.size, cfg.seed, split, render_into)
}

/// Renders one random `size × size` RGB image of class `label` (an index into [`CLASS_NAMES`]),
/// drawing every nuisance factor from `rng`.
pub fn render(label: usize, size: usize, rng: &mut impl Rng) -> Image {
    render_image(size, |out| render_into(label, size, rng, out))
}

/// Renders one image into `out` (CHW, `3 × size × size`).
fn render_into(label: usize, size: usize, rng: &mut impl Rng, out: &mut [f32]) {
    assert!(label < NUM_CLASSES, "textures: label {label} is out of range");
    assert_eq!(out.len(), 3 * size * size);
    let s = size as f32;

    let background = Background::random_smooth(rng, s);
    let blobs: Vec<Blob> = (0..rng.gen_range(0..=3)).map(|_| Blob::random(rng, s)).collect();
    let object = Object::random(rng, s);
    let pattern = Pattern::random(label, rng, s, object.centre);
    // Clutter in front of the object: a view-to-view cue that a crop moves or removes.
    let occluders: Vec<Blob> = (0..rng.gen_range(1..=3)).map(|_| Blob::random_sized(rng, s, 0.06..0.12)).collect();
    let paper = random_colour(rng);
    let ink = contrasting_colour(rng, paper);
    // Soft shading: brightness varies by ±`shade` across the object along a random direction.
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
            let cover = object.coverage(px, py);
            if cover > 0.0 {
                let t = pattern.ink(px, py);
                let along = (shade_cos * (px - object.centre[0]) + shade_sin * (py - object.centre[1])) / object.radius;
                let bright = 1.0 + shade * along.clamp(-1.0, 1.0);
                for c in 0..3 {
                    let fg = ((paper[c] + t * (ink[c] - paper[c])) * bright).clamp(0.0, 1.0);
                    rgb[c] += cover * (fg - rgb[c]);
                }
            }
            for blob in &occluders {
                blob.paint(px, py, &mut rgb);
            }
            noise.write_pixel(out, plane, y * size + x, rgb);
        }
    }
}

/// Distance from `t` to the nearest integer, in `[0, 0.5]`.
#[inline]
fn tri(t: f32) -> f32 {
    (t - t.round()).abs()
}

/// Signed distance to an axis-aligned box of half-sizes `(hx, hy)` centred on the origin.
fn sd_box(x: f32, y: f32, hx: f32, hy: f32) -> f32 {
    let (dx, dy) = (x.abs() - hx, y.abs() - hy);
    let outside = (dx.max(0.0).powi(2) + dy.max(0.0).powi(2)).sqrt();
    outside + dx.max(dy).min(0.0)
}

/// The object: a wobbly disk `r(φ) = R · (1 + a₂ cos(2φ + φ₂) + a₃ cos(3φ + φ₃))`.
struct Object {
    centre: [f32; 2],
    radius: f32,
    wobble: [(f32, f32); 2],
}

impl Object {
    fn random(rng: &mut impl Rng, s: f32) -> Self {
        let centre = [rng.gen_range(0.4..0.6) * s, rng.gen_range(0.4..0.6) * s];
        let radius = rng.gen_range(0.45..0.62) * s;
        let wobble = [(rng.gen_range(0.0..0.15), rng.gen_range(0.0..TAU)), (rng.gen_range(0.0..0.12), rng.gen_range(0.0..TAU))];
        Self { centre, radius, wobble }
    }

    /// Fraction of the pixel centred on `(x, y)` that the object covers (radial edge ramp).
    fn coverage(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.centre[0], y - self.centre[1]);
        let phi = dy.atan2(dx);
        let [(a2, p2), (a3, p3)] = self.wobble;
        let r = self.radius * (1.0 + a2 * (2.0 * phi + p2).cos() + a3 * (3.0 * phi + p3).cos());
        (0.5 + r - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0)
    }
}

/// A class's pattern, placed in the image: pattern coordinates are
/// `(u, v) = R(−θ) · (p − origin) / period`, so one unit is one period.
struct Pattern {
    kind: Kind,
    origin: [f32; 2],
    cos: f32,
    sin: f32,
    /// Pixels per pattern unit.
    period: f32,
}

enum Kind {
    /// Parallel bands of width `w` (in periods).
    Stripes { w: f32 },
    /// Alternating square cells.
    Checks,
    /// Disks of radius `r` on a square lattice.
    Dots { r: f32 },
    /// Concentric bands of width `w` around the origin.
    Rings { w: f32 },
    /// Thin lines of width `w` in two perpendicular directions.
    Grid { w: f32 },
    /// Bands of width `w` that zigzag with amplitude `amp` over a run of `run` periods.
    Zigzag { w: f32, amp: f32, run: f32 },
    /// Disks of random size at jittered lattice positions (hashed from `seed`).
    Spots { seed: u64 },
    /// `n` rays of half the turn each, from the origin.
    Spokes { n: f32 },
    /// Mortar lines of width `w` around bricks two periods long, odd rows shifted by one.
    Bricks { w: f32 },
    /// Plus signs with arms of half-length `arm` and half-width `half`, on a square lattice.
    Crosses { arm: f32, half: f32 },
}

impl Pattern {
    fn random(label: usize, rng: &mut impl Rng, s: f32, object_centre: [f32; 2]) -> Self {
        let period = rng.gen_range(0.11..0.19) * s;
        let (sin, cos) = rng.gen_range(0.0..TAU).sin_cos();
        // Lattices start at a random phase; rings and spokes are centred near the object's centre.
        let near_centre = [object_centre[0] + rng.gen_range(-0.1..0.1) * s, object_centre[1] + rng.gen_range(-0.1..0.1) * s];
        let random_phase = [rng.gen_range(0.0..s), rng.gen_range(0.0..s)];
        let (kind, origin, scale) = match label {
            0 => (Kind::Stripes { w: rng.gen_range(0.4..0.55) }, random_phase, 1.0),
            1 => (Kind::Checks, random_phase, 1.0),
            2 => (Kind::Dots { r: rng.gen_range(0.24..0.32) }, random_phase, 1.0),
            3 => (Kind::Rings { w: rng.gen_range(0.4..0.55) }, near_centre, 1.0),
            4 => (Kind::Grid { w: rng.gen_range(0.2..0.3) }, random_phase, 1.2),
            5 => (Kind::Zigzag { w: rng.gen_range(0.4..0.5), amp: rng.gen_range(0.5..0.7), run: rng.gen_range(1.4..1.8) }, random_phase, 1.0),
            6 => (Kind::Spots { seed: rng.gen() }, random_phase, 1.3),
            7 => (Kind::Spokes { n: rng.gen_range(7..=12) as f32 }, near_centre, 1.0),
            8 => (Kind::Bricks { w: rng.gen_range(0.2..0.3) }, random_phase, 1.2),
            9 => (Kind::Crosses { arm: rng.gen_range(0.3..0.38), half: rng.gen_range(0.09..0.13) }, random_phase, 1.5),
            _ => unreachable!("label checked by the caller"),
        };
        Self { kind, origin, cos, sin, period: period * scale }
    }

    /// Ink coverage in `[0, 1]` of the pixel centred on `(x, y)`.
    fn ink(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.origin[0], y - self.origin[1]);
        let (u, v) = ((self.cos * dx + self.sin * dy) / self.period, (-self.sin * dx + self.cos * dy) / self.period);
        (0.5 - self.sdf(u, v) * self.period).clamp(0.0, 1.0)
    }

    /// Signed distance (in periods, negative in the ink) at pattern coordinates `(u, v)`.
    fn sdf(&self, u: f32, v: f32) -> f32 {
        match self.kind {
            Kind::Stripes { w } => tri(u) - w / 2.0,
            Kind::Checks => {
                let edge = tri(u).min(tri(v)); // cell edges are at integer u or v
                if (u.floor() + v.floor()).rem_euclid(2.0) < 1.0 {
                    -edge
                } else {
                    edge
                }
            }
            Kind::Dots { r } => (tri(u).powi(2) + tri(v).powi(2)).sqrt() - r,
            Kind::Rings { w } => tri((u * u + v * v).sqrt()) - w / 2.0,
            Kind::Grid { w } => tri(u).min(tri(v)) - w / 2.0,
            Kind::Zigzag { w, amp, run } => {
                // The centre line v = amp · (4·tri(u / run) − 1) has slope ±4·amp/run.
                let slope = 4.0 * amp / run;
                (tri(v - amp * (4.0 * tri(u / run) - 1.0)) - w / 2.0) / (1.0 + slope * slope).sqrt()
            }
            Kind::Spots { seed } => {
                let (i, j) = (u.floor() as i64, v.floor() as i64);
                let mut d = f32::MAX;
                for (di, dj) in [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)] {
                    let h = splitmix64(seed ^ ((i + di) as u64).wrapping_mul(0x9e37_79b9) ^ ((j + dj) as u64).wrapping_mul(0x85eb_ca6b_0000_0001));
                    let unit = |k: u32| ((h >> (16 * k)) & 0xffff) as f32 / 65_536.0;
                    let (cx, cy) = ((i + di) as f32 + 0.2 + 0.6 * unit(0), (j + dj) as f32 + 0.2 + 0.6 * unit(1));
                    let r = 0.12 + 0.26 * unit(2);
                    d = d.min(((u - cx).powi(2) + (v - cy).powi(2)).sqrt() - r);
                }
                d
            }
            Kind::Spokes { n } => {
                // Angular distance to a ray's edge, converted to a distance along the arc.
                let turns = v.atan2(u) / TAU * n;
                (tri(turns) - 0.25) * TAU / n * (u * u + v * v).sqrt()
            }
            Kind::Bricks { w } => {
                let shift = if v.floor().rem_euclid(2.0) < 1.0 { 0.0 } else { 1.0 };
                let joint = 2.0 * tri((u + shift) / 2.0);
                tri(v).min(joint) - w / 2.0 // rows change at integer v
            }
            Kind::Crosses { arm, half } => {
                let (x, y) = (u - u.round(), v - v.round());
                sd_box(x, y, arm, half).min(sd_box(x, y, half, arm))
            }
        }
    }
}

/// The pattern sampled alone, for the tests and figures: the ink fraction of `size × size`
/// pixels of class `label`, without object, background or noise.
#[cfg(test)]
fn ink_fraction(label: usize, size: usize, rng: &mut impl Rng) -> f32 {
    let s = size as f32;
    let pattern = Pattern::random(label, rng, s, [s / 2.0, s / 2.0]);
    let mut total = 0.0;
    for y in 0..size {
        for x in 0..size {
            total += pattern.ink(x as f32 + 0.5, y as f32 + 0.5);
        }
    }
    total / (size * size) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn every_pattern_has_both_ink_and_paper() {
        let mut rng = StdRng::seed_from_u64(3);
        for (label, name) in CLASS_NAMES.iter().enumerate() {
            for _ in 0..20 {
                let f = ink_fraction(label, 32, &mut rng);
                assert!((0.1..0.9).contains(&f), "{name}: ink covers {f:.2} of the image");
            }
        }
    }

    #[test]
    fn sd_box_matches_hand_values() {
        assert!((sd_box(0.0, 0.0, 1.0, 0.5) + 0.5).abs() < 1e-6);
        assert!((sd_box(2.0, 0.0, 1.0, 0.5) - 1.0).abs() < 1e-6);
        assert!((sd_box(2.0, 1.5, 1.0, 0.5) - 2f32.sqrt()).abs() < 1e-6);
    }
}
