//! The in-memory labelled image set every loader returns.
//!
//! Labels are kept only for evaluation (kNN, linear probe, plots): no self-supervised method
//! ever reads them.

use crate::image::Image;

/// A labelled set of images of one size.
#[derive(Debug, Clone)]
pub struct ImageDataset {
    /// Human-readable name, e.g. `"shapes/train"` or `"cifar10:/data/cifar/test"`.
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// All images, back to back, each CHW in `[0, 1]`: image `i` is
    /// `pixels[i * C*H*W .. (i + 1) * C*H*W]`.
    pub pixels: Vec<f32>,
    /// One label per image, in `0..class_names.len()`.
    pub labels: Vec<usize>,
    pub class_names: Vec<String>,
}

/// A train split (for self-supervised training and as the kNN / probe memory) and a held-out
/// test split (for reporting accuracy).
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: ImageDataset,
    pub test: ImageDataset,
}

impl ImageDataset {
    /// An empty set of `channels × height × width` images.
    pub fn new(name: impl Into<String>, channels: usize, height: usize, width: usize, class_names: Vec<String>) -> Self {
        Self { name: name.into(), channels, height, width, pixels: Vec::new(), labels: Vec::new(), class_names }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Values per image: `C * H * W`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The raw CHW pixels of image `i`.
    pub fn pixels_of(&self, i: usize) -> &[f32] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Image `i` as an owned [`Image`].
    pub fn image(&self, i: usize) -> Image {
        Image::from_vec(self.channels, self.height, self.width, self.pixels_of(i).to_vec())
    }

    /// Appends one image (its size must match the set's).
    pub fn push(&mut self, img: &Image, label: usize) {
        assert_eq!((img.channels, img.height, img.width), (self.channels, self.height, self.width));
        self.pixels.extend_from_slice(&img.data);
        self.labels.push(label);
    }

    /// The first `n` images (or all of them if there are fewer).
    pub fn truncated(&self, n: usize) -> ImageDataset {
        let n = n.min(self.len());
        let mut out = self.clone();
        out.pixels.truncate(n * self.image_len());
        out.labels.truncate(n);
        out
    }

    /// A class-balanced random subset of `n` images (all of them, in order, if there are no
    /// more than `n`), drawn from `seed`: the same seed gives the same subset.
    ///
    /// The classes take turns, in a random order, each giving one image it has not given yet,
    /// until `n` are drawn; so every class gets `n / classes` images or one more, except a
    /// class that runs out, whose share goes to the others. The drawn images keep the set's
    /// order. Unlike the first `n` images, this works for any loader's order: a folder loaded
    /// class by class would otherwise give a subset of one class.
    pub fn balanced_subset(&self, n: usize, seed: u64) -> ImageDataset {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        if n >= self.len() {
            return self.clone();
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let classes = self.labels.iter().max().map_or(0, |&m| m + 1);
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
        for (i, &label) in self.labels.iter().enumerate() {
            by_class[label].push(i);
        }
        by_class.iter_mut().for_each(|members| members.shuffle(&mut rng));
        let mut turns: Vec<usize> = (0..classes).collect();
        turns.shuffle(&mut rng);
        let mut chosen = Vec::with_capacity(n);
        'draw: for round in 0.. {
            for &class in &turns {
                if chosen.len() == n {
                    break 'draw;
                }
                if let Some(&i) = by_class[class].get(round) {
                    chosen.push(i);
                }
            }
        }
        chosen.sort_unstable();
        let mut out = ImageDataset::new(self.name.clone(), self.channels, self.height, self.width, self.class_names.clone());
        out.pixels.reserve(n * self.image_len());
        for i in chosen {
            out.pixels.extend_from_slice(self.pixels_of(i));
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// A copy with grayscale images replicated to 3 channels (RGB sets are returned unchanged).
    pub fn to_rgb(&self) -> ImageDataset {
        if self.channels == 3 {
            return self.clone();
        }
        assert_eq!(self.channels, 1, "to_rgb: unsupported channel count {}", self.channels);
        let plane = self.height * self.width;
        let mut pixels = Vec::with_capacity(self.len() * 3 * plane);
        for i in 0..self.len() {
            let p = self.pixels_of(i);
            for _ in 0..3 {
                pixels.extend_from_slice(p);
            }
        }
        ImageDataset { channels: 3, pixels, ..self.clone() }
    }
}
