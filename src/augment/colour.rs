//! Colour distortion: brightness, contrast, saturation and hue jitter, and random grayscale.
//!
//! All functions accept 1-channel (grayscale) and 3-channel (RGB) images and return an image
//! with the same number of channels. Operations that only make sense for colour (saturation,
//! hue) leave a 1-channel image unchanged, as torchvision does.

use rand::seq::SliceRandom;
use rand::RngCore;

use super::{check_probability, coin, uniform, Transform};
use crate::image::Image;

/// ITU-R BT.601 luma weights for (R, G, B): `gray = 0.299 R + 0.587 G + 0.114 B`.
pub const LUMA_WEIGHTS: [f32; 3] = [0.299, 0.587, 0.114];

/// The luma plane of `img` (`height × width` values): the weighted sum of R, G and B with
/// [`LUMA_WEIGHTS`] for an RGB image, a copy of the single channel for a grayscale one.
fn luma(img: &Image) -> Vec<f32> {
    let n = img.plane();
    match img.channels {
        3 => (0..n)
            .map(|i| {
                LUMA_WEIGHTS[0] * img.data[i]
                    + LUMA_WEIGHTS[1] * img.data[n + i]
                    + LUMA_WEIGHTS[2] * img.data[2 * n + i]
            })
            .collect(),
        _ => img.data[..n].to_vec(),
    }
}

/// Converts to grayscale with [`LUMA_WEIGHTS`] and keeps the channel count: for an RGB image
/// all three output channels hold the same luma value (so the encoder's input shape does not
/// change); a 1-channel image is returned unchanged.
pub fn grayscale(img: &Image) -> Image {
    if img.channels != 3 {
        return img.clone();
    }
    let gray = luma(img);
    let mut data = Vec::with_capacity(img.data.len());
    for _ in 0..3 {
        data.extend(gray.iter().map(|g| g.clamp(0.0, 1.0)));
    }
    Image::from_vec(3, img.height, img.width, data)
}

/// `factor * x + (1 - factor) * other`, clamped to `[0, 1]`, applied elementwise with `other`
/// given per pixel (broadcast over channels).
fn blend_with_plane(img: &Image, other: &[f32], factor: f32) -> Image {
    let n = img.plane();
    let data = img
        .data
        .iter()
        .enumerate()
        .map(|(i, &x)| (factor * x + (1.0 - factor) * other[i % n]).clamp(0.0, 1.0))
        .collect();
    Image::from_vec(img.channels, img.height, img.width, data)
}

/// Multiplies every value by `factor` (a blend with black) and clamps to `[0, 1]`.
/// `factor = 1` is the identity, `0` gives black.
pub fn adjust_brightness(img: &Image, factor: f32) -> Image {
    let data = img.data.iter().map(|&x| (x * factor).clamp(0.0, 1.0)).collect();
    Image::from_vec(img.channels, img.height, img.width, data)
}

/// Blends with the image's mean gray level: `factor * x + (1 - factor) * mean(luma)`, clamped.
/// `factor = 1` is the identity, `0` gives a flat gray image, `> 1` increases contrast.
pub fn adjust_contrast(img: &Image, factor: f32) -> Image {
    let gray = luma(img);
    let mean = if gray.is_empty() { 0.0 } else { gray.iter().sum::<f32>() / gray.len() as f32 };
    let data =
        img.data.iter().map(|&x| (factor * x + (1.0 - factor) * mean).clamp(0.0, 1.0)).collect();
    Image::from_vec(img.channels, img.height, img.width, data)
}

/// Blends each pixel with its own gray level: `factor * x + (1 - factor) * luma`, clamped.
/// `factor = 1` is the identity, `0` gives [`grayscale`], `> 1` oversaturates.
/// A 1-channel image is returned unchanged.
pub fn adjust_saturation(img: &Image, factor: f32) -> Image {
    if img.channels != 3 {
        return img.clone();
    }
    blend_with_plane(img, &luma(img), factor)
}

/// Converts one RGB pixel (components in `[0, 1]`) to HSV, all three in `[0, 1]`
/// (hue as a fraction of a full turn; hue is 0 for grays).
pub fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let s = if max > 0.0 { delta / max } else { 0.0 };
    let h = if delta <= 0.0 {
        0.0
    } else if max == r {
        ((g - b) / delta).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / delta + 2.0) / 6.0
    } else {
        ((r - g) / delta + 4.0) / 6.0
    };
    (h.rem_euclid(1.0), s, max)
}

/// Converts one HSV pixel (hue as a fraction of a turn, any real value; `s`, `v` in `[0, 1]`)
/// back to RGB.
pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let h6 = h.rem_euclid(1.0) * 6.0;
    let sector = (h6.floor() as usize).min(5);
    let f = h6 - sector as f32;
    let p = v * (1.0 - s);
    let q = v * (1.0 - s * f);
    let t = v * (1.0 - s * (1.0 - f));
    match sector {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

/// Rotates the hue of every pixel by `shift` turns (`0.5` = 180°, `1.0` = a full turn, i.e. the
/// identity up to rounding) through RGB → HSV → RGB. Saturation and value are kept, so grays
/// stay gray. A 1-channel image is returned unchanged.
pub fn adjust_hue(img: &Image, shift: f32) -> Image {
    if img.channels != 3 {
        return img.clone();
    }
    let n = img.plane();
    let mut out = img.clone();
    for i in 0..n {
        let (h, s, v) = rgb_to_hsv(img.data[i], img.data[n + i], img.data[2 * n + i]);
        let (r, g, b) = hsv_to_rgb(h + shift, s, v);
        out.data[i] = r.clamp(0.0, 1.0);
        out.data[n + i] = g.clamp(0.0, 1.0);
        out.data[2 * n + i] = b.clamp(0.0, 1.0);
    }
    out
}

/// Randomly changes brightness, contrast, saturation and hue, in a random order — the colour
/// distortion that SimCLR (Chen et al. 2020) found essential: without it, two crops of one image
/// can be matched by their colour histograms alone. BYOL (Grill et al. 2020), MoCo v2, SwAV and
/// DINO use it too.
///
/// Factors are sampled as in torchvision's `ColorJitter`:
/// * `brightness` — factor uniform in `[max(0, 1 - b), 1 + b]`, see [`adjust_brightness`];
/// * `contrast` — factor uniform in `[max(0, 1 - c), 1 + c]`, see [`adjust_contrast`]
///   (blend with the mean gray level);
/// * `saturation` — factor uniform in `[max(0, 1 - s), 1 + s]`, see [`adjust_saturation`]
///   (blend with the pixel's gray level);
/// * `hue` — shift uniform in `[-h, h]` of a full turn, `h <= 0.5`, see [`adjust_hue`].
///
/// A strength of 0 disables that adjustment. The four adjustments run in a random order, and
/// the whole jitter is applied with probability `p` (SimCLR: strength `s` gives
/// `(0.8s, 0.8s, 0.8s, 0.2s)` with `p = 0.8`; `s = 0.5` on CIFAR-10, `s = 1` on ImageNet).
///
/// On a 1-channel image saturation and hue do nothing; brightness and contrast still apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorJitter {
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub hue: f32,
    /// Probability of applying the jitter at all, in `[0, 1]`.
    pub p: f32,
}

impl ColorJitter {
    /// A jitter with the given strengths, always applied (`p = 1`; see [`ColorJitter::with_p`]).
    ///
    /// Panics if a strength is negative or `hue > 0.5`.
    pub fn new(brightness: f32, contrast: f32, saturation: f32, hue: f32) -> Self {
        for (what, v) in
            [("brightness", brightness), ("contrast", contrast), ("saturation", saturation)]
        {
            assert!(v >= 0.0, "ColorJitter: {what} must be >= 0, got {v}");
        }
        assert!((0.0..=0.5).contains(&hue), "ColorJitter: hue must be in [0, 0.5], got {hue}");
        Self { brightness, contrast, saturation, hue, p: 1.0 }
    }

    /// The same jitter applied with probability `p`. Panics if `p` is not in `[0, 1]`.
    pub fn with_p(mut self, p: f32) -> Self {
        check_probability("ColorJitter", p);
        self.p = p;
        self
    }
}

/// One of the four jitter operations, with its sampled factor.
#[derive(Clone, Copy)]
enum Jitter {
    Brightness(f32),
    Contrast(f32),
    Saturation(f32),
    Hue(f32),
}

/// Uniform in `[max(0, 1 - strength), 1 + strength]`, or `None` when the strength is 0.
fn factor(rng: &mut dyn RngCore, strength: f32) -> Option<f32> {
    (strength > 0.0).then(|| uniform(rng, (1.0 - strength).max(0.0), 1.0 + strength))
}

impl Transform for ColorJitter {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        if !coin(rng, self.p) {
            return img.clone();
        }
        let mut ops: Vec<Jitter> = Vec::with_capacity(4);
        if let Some(f) = factor(rng, self.brightness) {
            ops.push(Jitter::Brightness(f));
        }
        if let Some(f) = factor(rng, self.contrast) {
            ops.push(Jitter::Contrast(f));
        }
        if let Some(f) = factor(rng, self.saturation) {
            ops.push(Jitter::Saturation(f));
        }
        if self.hue > 0.0 {
            ops.push(Jitter::Hue(uniform(rng, -self.hue, self.hue)));
        }
        ops.shuffle(rng);
        let mut out = img.clone();
        for op in ops {
            out = match op {
                Jitter::Brightness(f) => adjust_brightness(&out, f),
                Jitter::Contrast(f) => adjust_contrast(&out, f),
                Jitter::Saturation(f) => adjust_saturation(&out, f),
                Jitter::Hue(shift) => adjust_hue(&out, shift),
            };
        }
        out
    }

    fn name(&self) -> String {
        format!(
            "ColorJitter(brightness={}, contrast={}, saturation={}, hue={}, p={})",
            self.brightness, self.contrast, self.saturation, self.hue, self.p
        )
    }
}

/// Converts the image to grayscale (see [`grayscale`]) with probability `p`, keeping 3 channels.
///
/// SimCLR (Chen et al. 2020) and BYOL (Grill et al. 2020) use `p = 0.2`: it stops the encoder
/// from relying on colour alone. A 1-channel image is already gray and is returned unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomGrayscale {
    /// Probability of converting, in `[0, 1]`.
    pub p: f32,
}

impl RandomGrayscale {
    /// Grayscale with probability `p`. Panics if `p` is not in `[0, 1]`.
    pub fn new(p: f32) -> Self {
        check_probability("RandomGrayscale", p);
        Self { p }
    }
}

impl Transform for RandomGrayscale {
    fn apply(&self, img: &Image, rng: &mut dyn RngCore) -> Image {
        if coin(rng, self.p) {
            grayscale(img)
        } else {
            img.clone()
        }
    }

    fn name(&self) -> String {
        format!("RandomGrayscale(p={})", self.p)
    }
}
