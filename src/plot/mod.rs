//! Figures: what the notebooks show inline and what the slides embed.
//!
//! Every chart function returns a [`Figure`], an RGB picture in memory. A figure can be saved
//! as a PNG (atomically) or encoded to PNG bytes; the notebook layer displays those bytes
//! inline in Jupyter. Charts are drawn with plotters' bitmap backend and its pure-Rust font
//! path (`ab_glyph`), so nothing depends on the system's fonts.

use std::path::Path;

use crate::error::{Error, Result};
use crate::image::Image;

/// An RGB picture of `width × height` pixels (interleaved RGB8, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Figure {
    /// A figure from interleaved RGB8 bytes. Errors if the length is not `3 · width · height`.
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Self> {
        if rgb.len() != 3 * width as usize * height as usize {
            return Err(Error::config(format!(
                "Figure::from_rgb: {} bytes for {width}x{height} pixels (expected {})",
                rgb.len(),
                3 * width as usize * height as usize
            )));
        }
        Ok(Self { width, height, rgb })
    }

    /// A grid of images, `cols` per row, each scaled up `scale` times (see
    /// [`crate::augment::image_grid_rgb8`] for the layout).
    pub fn image_grid(images: &[Image], cols: usize, scale: usize) -> Result<Self> {
        if images.is_empty() || cols == 0 || scale == 0 {
            return Err(Error::config("Figure::image_grid: needs at least one image, cols >= 1 and scale >= 1"));
        }
        let (rgb, w, h) = crate::augment::image_grid_rgb8(images, cols, scale);
        Self::from_rgb(w, h, rgb)
    }

    /// The figure encoded as a PNG file's bytes.
    pub fn png_bytes(&self) -> Vec<u8> {
        use image::codecs::png::PngEncoder;
        use image::{ColorType, ImageEncoder};
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(&self.rgb, self.width, self.height, ColorType::Rgb8)
            .expect("encoding a PNG into memory cannot fail for a well-sized buffer");
        out
    }

    /// Saves the figure as a PNG at `path`, atomically (temporary file, then rename); creates
    /// missing parent folders. Errors name the file.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, self.png_bytes()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_keeps_pixels() {
        let fig = Figure::from_rgb(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap();
        let img = image::load_from_memory(&fig.png_bytes()).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (2, 1));
        assert_eq!(img.into_raw(), fig.rgb);
        assert!(Figure::from_rgb(2, 2, vec![0; 3]).is_err());
    }
}
