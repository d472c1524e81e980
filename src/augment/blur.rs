//! Gaussian blur.

use rand::RngCore;

use super::{check_probability, coin, uniform, Transform};
use crate::image::Image;

/// A normalised 1-D Gaussian kernel with standard deviation `sigma` (pixels) and `2 * radius + 1`
/// taps, summing to 1. A `sigma` at or near 0 gives the identity kernel `[.., 0, 1, 0, ..]`.
pub fn gaussian_kernel(sigma: f32, radius: usize) -> Vec<f32> {
    let sigma = sigma.max(1e-6);
    let weights: Vec<f32> = (-(radius as isize)..=radius as isize)
        .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// Index `i` (possibly outside `0..n`) mirrored into range without repeating the edge pixel
/// (`-1 -> 1`, `n -> n - 2`, numpy's "reflect" mode), for any distance outside the image.
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m >= n as isize { period - m } else { m }) as usize
}

/// Blurs `img` with a separable Gaussian of standard deviation `sigma` pixels, truncated to
/// `2 * radius + 1` taps (renormalised, so a constant image is unchanged), filtering rows then
/// columns. Borders are handled by reflection. Each channel is blurred independently.
pub fn gaussian_blur(img: &Image, sigma: f32, radius: usize) -> Image {
    let kernel = gaussian_kernel(sigma, radius);
    let r = radius as isize;
    let (h, w) = (img.height, img.width);
    if h == 0 || w == 0 || radius == 0 {
        return img.clone();
    }
    let mut tmp = vec![0.0f32; h * w];
    let mut out = img.clone();
    for c in 0..img.channels {
        let plane = &img.data[c * h * w..(c + 1) * h * w];
        // Horizontal pass.
        for y in 0..h {
            let row = &plane[y * w..(y + 1) * w];
            for x in 0..w {
                let mut acc = 0.0;
                for (k, wk) in kernel.iter().enumerate() {
                    acc += wk * row[reflect(x as isize + k as isize - r, w)];
                }
                tmp[y * w + x] = acc;
            }
        }
        // Vertical pass.
        let dst = &mut out.data[c * h * w..(c + 1) * h * w];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (k, wk) in kernel.iter().enumerate() {
                    acc += wk * tmp[reflect(y as isize + k as isize - r, h) * w + x];
                }
                dst[y * w + x] = acc.clamp(0.0, 1.0);
            }
        }
    }
    out
}

/// Blurs the image with a Gaussian whose `sigma` is drawn uniformly from `sigma = (min, max)`
/// (in pixels), with probability `p`.
///
/// SimCLR (Chen et al. 2020) blurs with `p = 0.5`, `sigma` in `[0.1, 2.0]` and a kernel 10% of
/// the image side; BYOL (Grill et al. 2020) blurs its first view always (`p = 1.0`) and its
/// second rarely (`p = 0.1`).
///
/// **Kernel size.** The kernel radius is `ceil(3 sigma)` (which covers 99.7% of the Gaussian),
/// capped, as in SimCLR, so that the kernel spans about `kernel_fraction` of the shorter image
/// side: `radius <= max(1, floor(kernel_fraction * side) / 2)`. With the default 0.1 this is
/// SimCLR's 23-tap kernel at 224 px, 9 taps at 96 px and 3 taps at 32 px — a mild blur that
/// does not wipe out a CIFAR image even at `sigma = 2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianBlur {
    /// `(min, max)` standard deviation in pixels.
    pub sigma: (f32, f32),
    /// Probability of blurring, in `[0, 1]`.
    pub p: f32,
    /// Largest kernel size as a fraction of the shorter image side (SimCLR: 0.1).
    pub kernel_fraction: f32,
}

impl GaussianBlur {
    /// SimCLR's `sigma` range `(0.1, 2.0)`.
    pub const SIMCLR_SIGMA: (f32, f32) = (0.1, 2.0);

    /// A blur with `sigma` drawn from `sigma = (min, max)`, applied with probability `p`, with
    /// SimCLR's 10% kernel size. Panics unless `0 < min <= max` and `p` is in `[0, 1]`.
    pub fn new(sigma: (f32, f32), p: f32) -> Self {
        assert!(
            sigma.0 > 0.0 && sigma.0 <= sigma.1,
            "GaussianBlur: sigma must satisfy 0 < min <= max, got {sigma:?}"
        );
        check_probability("GaussianBlur", p);
        Self { sigma, p, kernel_fraction: 0.1 }
    }

    /// The kernel radius used for `sigma` on an `height × width` image (see the type's docs).
    pub fn radius(&self, sigma: f32, height: usize, width: usize) -> usize {
        let side = height.min(width) as f32;
        let cap = (((self.kernel_fraction * side).floor() as usize) / 2).max(1);
        ((3.0 * sigma).ceil() as usize).clamp(1, cap)
    }
}

impl Transform for GaussianBlur {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        if !coin(rng, self.p) {
            return img.clone();
        }
        let sigma = uniform(rng, self.sigma.0, self.sigma.1);
        gaussian_blur(img, sigma, self.radius(sigma, img.height, img.width))
    }

    fn name(&self) -> String {
        format!(
            "GaussianBlur(sigma=({}, {}), p={}, kernel_fraction={})",
            self.sigma.0, self.sigma.1, self.p, self.kernel_fraction
        )
    }
}
