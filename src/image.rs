//! A plain host-side image: `channels × height × width` floats in `[0, 1]`, channel-major (CHW).
//!
//! Everything before the encoder (datasets, augmentations, image grids) works on this type; the
//! training loop packs a batch of them into a dfdx tensor of shape `(B, C, H, W)`.

/// A CHW image with values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// `channels * height * width` values, channel-major: `data[(c * height + y) * width + x]`.
    pub data: Vec<f32>,
}

impl Image {
    /// An all-zero (black) image.
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Self { channels, height, width, data: vec![0.0; channels * height * width] }
    }

    /// Wraps `data` (CHW order). Panics if the length does not match the dimensions.
    pub fn from_vec(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), channels * height * width, "Image::from_vec: wrong length");
        Self { channels, height, width, data }
    }

    #[inline]
    pub fn index(&self, c: usize, y: usize, x: usize) -> usize {
        (c * self.height + y) * self.width + x
    }

    #[inline]
    pub fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[self.index(c, y, x)]
    }

    #[inline]
    pub fn set(&mut self, c: usize, y: usize, x: usize, v: f32) {
        let i = self.index(c, y, x);
        self.data[i] = v;
    }

    /// Number of pixels per channel.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }

    /// A 3-channel copy: grayscale images are replicated to RGB, RGB images are cloned.
    pub fn to_rgb(&self) -> Image {
        match self.channels {
            3 => self.clone(),
            1 => {
                let mut data = Vec::with_capacity(3 * self.plane());
                for _ in 0..3 {
                    data.extend_from_slice(&self.data);
                }
                Image::from_vec(3, self.height, self.width, data)
            }
            c => panic!("Image::to_rgb: unsupported channel count {c}"),
        }
    }

    /// Interleaved 8-bit RGB bytes (HWC), for writing PNGs.
    pub fn to_rgb8(&self) -> Vec<u8> {
        let rgb = self.to_rgb();
        let mut out = Vec::with_capacity(3 * rgb.plane());
        for y in 0..rgb.height {
            for x in 0..rgb.width {
                for c in 0..3 {
                    out.push((rgb.get(c, y, x).clamp(0.0, 1.0) * 255.0).round() as u8);
                }
            }
        }
        out
    }

    /// Builds an image from interleaved 8-bit bytes (HWC) with `channels` channels.
    pub fn from_hwc_u8(channels: usize, height: usize, width: usize, bytes: &[u8]) -> Image {
        assert_eq!(bytes.len(), channels * height * width);
        let mut img = Image::zeros(channels, height, width);
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    img.set(c, y, x, bytes[(y * width + x) * channels + c] as f32 / 255.0);
                }
            }
        }
        img
    }

    /// Builds an image from planar 8-bit bytes (CHW), as CIFAR stores them.
    pub fn from_chw_u8(channels: usize, height: usize, width: usize, bytes: &[u8]) -> Image {
        assert_eq!(bytes.len(), channels * height * width);
        Image::from_vec(channels, height, width, bytes.iter().map(|&b| b as f32 / 255.0).collect())
    }
}
