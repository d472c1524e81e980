//! `shapes`: the kit's built-in, procedurally generated dataset.
//!
//! Every image shows one filled shape on a textured background. The **class is the shape
//! only** — one of [`CLASS_NAMES`] — while everything else is drawn at random, independently of
//! the class:
//!
//! - the shape's colour and the background colour (random hues, with a minimum luminance
//!   contrast between the two so the shape stays visible) and a soft shading of the shape;
//! - the shape's position, scale and rotation;
//! - a background texture: flat, a linear gradient, sinusoidal stripes or smooth value noise;
//! - 0–3 small distractor blobs of random colour, much smaller than the shape;
//! - (approximately) Gaussian pixel noise of random strength.
//!
//! These nuisances dominate the raw pixel values, so raw pixels are a poor representation:
//! images with similar *colours* are near each other whatever their shape, and a weighted kNN
//! on the (mean-centred) pixels of the default 10k/2k split scores about 27% (chance is 10%),
//! a linear probe on them 10–13%. The shapes themselves stay large (14–27 pixels across at
//! 32×32) and clean, easy to tell apart by eye — the kind of invariance a small CNN trained with
//! augmentations should learn. That gap is what representation learning has to close, on data
//! that is generated in a fraction of a second and needs no download.
//!
//! Shapes are rendered from exact signed distance functions (SDFs, after Inigo Quilez's
//! catalogue of 2-D distance functions) with a one-pixel linear edge ramp: the coverage of a
//! pixel whose centre is at signed distance `s` pixels from the outline is
//! `clamp(0.5 − s, 0, 1)`, which gives clean anti-aliased edges with one evaluation per pixel.
//!
//! Generation is deterministic and parallel, with balanced labels (see
//! [`procedural`](crate::data::procedural)).

use std::f32::consts::{PI, TAU};

use rand::Rng;

use crate::data::dataset::{ImageDataset, Splits};
pub use crate::data::procedural::Split;
use crate::data::procedural::{contrasting_colour, ProceduralConfig, generate_split_with, render_image, Background, Blob, PixelNoise};
use crate::image::Image;

/// The class names, in label order: label `i` means the image shows `CLASS_NAMES[i]`.
///
/// No class is a rotated or scaled copy of another (a "diamond" would be a rotated square),
/// since rotation and scale are nuisances.
pub const CLASS_NAMES: [&str; 10] = ["circle", "square", "triangle", "plus", "ring", "star", "crescent", "heart", "arrow", "corner"];

/// Number of classes (chance level is `1 / NUM_CLASSES` = 10%).
pub const NUM_CLASSES: usize = CLASS_NAMES.len();

/// Size and seed of the generated dataset (10 000 / 2 000 images of 32×32 by default).
pub type ShapesConfig = ProceduralConfig;

/// Generates the train split (`"shapes/train"`, `cfg.n_train` images) and the test split
/// (`"shapes/test"`, `cfg.n_test` images) of `cfg.size × cfg.size` RGB images.
///
/// The same configuration always gives the same bytes.
pub fn generate(cfg: &ShapesConfig) -> Splits {
    Splits { train: generate_split(cfg, Split::Train), test: generate_split(cfg, Split::Test) }
}

/// Generates one split (see [`generate`]).
pub fn generate_split(cfg: &ShapesConfig, split: Split) -> ImageDataset {
    generate_split_with("shapes", &CLASS_NAMES, cfg.count(split), cfg.size, cfg.seed, split, render_into)
}

/// Renders one random `size × size` RGB image of class `label` (an index into [`CLASS_NAMES`]),
/// drawing every nuisance factor from `rng`.
pub fn render(label: usize, size: usize, rng: &mut impl Rng) -> Image {
    render_image(size, |out| render_into(label, size, rng, out))
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// Renders one image into `out` (CHW, `3 × size × size`).
fn render_into(label: usize, size: usize, rng: &mut impl Rng, out: &mut [f32]) {
    assert!(label < NUM_CLASSES, "shapes: label {label} is out of range");
    assert_eq!(out.len(), 3 * size * size);
    let s = size as f32;

    let background = Background::random(rng, s);
    let blobs: Vec<Blob> = (0..rng.gen_range(0..=3)).map(|_| Blob::random(rng, s)).collect();

    // The shape: outline, colour, placement.
    let outline = Outline::of_class(label);
    let colour = contrasting_colour(rng, background.mean);
    let scale = rng.gen_range(0.26..0.40) * s; // pixels per canonical unit
    let margin = 0.9 * scale; // keeps all but the outermost tips inside the image
    let centre = [rng.gen_range(margin..s - margin), rng.gen_range(margin..s - margin)];
    let angle = rng.gen_range(0.0..TAU);
    let (sin, cos) = angle.sin_cos();
    // Soft shading: brightness varies by ±`shade` across the shape along a random direction.
    let shade = rng.gen_range(0.0..0.15);
    let (shade_sin, shade_cos) = rng.gen_range(0.0..TAU).sin_cos();
    let noise = PixelNoise { sigma: rng.gen_range(0.0..0.05), seed: rng.gen() };

    let reach = outline.radius() + 1.0 / scale; // beyond this the shape covers nothing
    let plane = size * size;
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let mut rgb = background.at(px, py);
            for blob in &blobs {
                blob.paint(px, py, &mut rgb);
            }

            // Pixel centre in the shape's canonical frame: undo translation, rotation, scale.
            let (dx, dy) = (px - centre[0], py - centre[1]);
            let p = [(cos * dx + sin * dy) / scale, (-sin * dx + cos * dy) / scale];
            if p[0] * p[0] + p[1] * p[1] < reach * reach {
                let coverage = (0.5 - outline.sdf(p) * scale).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    let t = shade_cos * p[0] + shade_sin * p[1]; // in about [-1, 1]
                    let bright = 1.0 + shade * t;
                    for c in 0..3 {
                        let fg = (colour[c] * bright).clamp(0.0, 1.0);
                        rgb[c] += coverage * (fg - rgb[c]);
                    }
                }
            }

            noise.write_pixel(out, plane, y * size + x, rgb);
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

    /// Radius of a disk around the origin that contains the whole shape.
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

}
