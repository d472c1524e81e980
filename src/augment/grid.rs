//! Image grids: look at a batch of images, or at what an augmentation pipeline does to them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use image::codecs::png::PngEncoder;
use image::{ColorType, ImageEncoder, ImageError};

use super::{image_rng, Transform};
use crate::error::{Error, Result};
use crate::image::Image;

/// Width in pixels of the white border around and between grid tiles.
pub const GRID_BORDER: usize = 2;

/// Target tile side, in pixels, that [`render_augmentation_grid`] scales images up to.
const TARGET_TILE: usize = 96;

/// Lays `images` out in a grid of `cols` columns (fewer if there are fewer images), each scaled
/// up `scale` times by nearest-neighbour, on a white background with a [`GRID_BORDER`]-pixel
/// white border around and between tiles. Returns interleaved RGB8 bytes and
/// `(width, height)` in pixels.
///
/// Every cell is as large as the largest image (after scaling); smaller images (e.g.
/// multi-crop's local views) are centred in their cell. With `n` images, `c = min(cols, n)`
/// columns, `r = ceil(n / c)` rows and cells of `cw × ch` pixels, the grid is
/// `c * cw + (c + 1) * GRID_BORDER` wide and `r * ch + (r + 1) * GRID_BORDER` high.
/// Grayscale images are shown as gray RGB.
///
/// Returns an empty buffer and `(0, 0)` if `images` is empty or `cols` or `scale` is 0.
/// Panics if an image has other than 1 or 3 channels.
pub fn image_grid_rgb8(images: &[Image], cols: usize, scale: usize) -> (Vec<u8>, u32, u32) {
    if images.is_empty() || cols == 0 || scale == 0 {
        return (Vec::new(), 0, 0);
    }
    let cols = cols.min(images.len());
    let rows = images.len().div_ceil(cols);
    let cell_w = images.iter().map(|im| im.width).max().unwrap_or(0) * scale;
    let cell_h = images.iter().map(|im| im.height).max().unwrap_or(0) * scale;
    let width = cols * cell_w + (cols + 1) * GRID_BORDER;
    let height = rows * cell_h + (rows + 1) * GRID_BORDER;
    let mut buf = vec![255u8; width * height * 3];
    for (k, img) in images.iter().enumerate() {
        let (row, col) = (k / cols, k % cols);
        let (tile_w, tile_h) = (img.width * scale, img.height * scale);
        let x0 = GRID_BORDER + col * (cell_w + GRID_BORDER) + (cell_w - tile_w) / 2;
        let y0 = GRID_BORDER + row * (cell_h + GRID_BORDER) + (cell_h - tile_h) / 2;
        let rgb = img.to_rgb8();
        for ty in 0..tile_h {
            let src_row = (ty / scale) * img.width;
            let dst_row = ((y0 + ty) * width + x0) * 3;
            for tx in 0..tile_w {
                let s = (src_row + tx / scale) * 3;
                let d = dst_row + tx * 3;
                buf[d..d + 3].copy_from_slice(&rgb[s..s + 3]);
            }
        }
    }
    (buf, width as u32, height as u32)
}

/// Writes `images` as a PNG grid of `cols` columns, each image scaled up `scale` times (see
/// [`image_grid_rgb8`] for the layout). The file is written atomically: first to `<path>.tmp`,
/// then renamed over `path`. Missing parent directories are created.
///
/// Errors: [`Error::Config`] if `images` is empty, `cols` or `scale` is 0, or an image has
/// other than 1 or 3 channels; [`Error::Io`] naming the file if writing fails.
pub fn render_image_grid(images: &[Image], cols: usize, scale: usize, path: &Path) -> Result<()> {
    if images.is_empty() {
        return Err(Error::config(format!("{}: no images to draw", path.display())));
    }
    if cols == 0 || scale == 0 {
        return Err(Error::config(format!(
            "{}: image grid needs cols >= 1 and scale >= 1, got cols={cols}, scale={scale}",
            path.display()
        )));
    }
    check_channels(images, path)?;
    let (buf, w, h) = image_grid_rgb8(images, cols, scale);
    write_png_atomic(path, &buf, w, h)
}

/// Draws what `pipeline` does: one row per image, the original first, then `views_per_image`
/// augmented views of it; saved as a PNG at `path` (atomically, like [`render_image_grid`]).
///
/// Views of image `i` are drawn from [`image_rng`]`(seed, i)`, so the same seed gives the same
/// picture. Tiles are scaled up by nearest-neighbour by an integer factor chosen so that the
/// largest image is about 96 pixels (×3 for 32-px images, ×1 from 96 px up), with a 2-px white
/// border between tiles.
///
/// Errors as [`render_image_grid`].
pub fn render_augmentation_grid(
    images: &[Image],
    pipeline: &dyn Transform,
    views_per_image: usize,
    seed: u64,
    path: &Path,
) -> Result<()> {
    if images.is_empty() {
        return Err(Error::config(format!("{}: no images to draw", path.display())));
    }
    check_channels(images, path)?;
    let tiles = augmentation_tiles(images, pipeline, views_per_image, seed);
    let (buf, w, h) = image_grid_rgb8(&tiles, 1 + views_per_image, tile_scale(&tiles));
    write_png_atomic(path, &buf, w, h)
}

/// The tiles of an augmentation grid, row by row: each image followed by `views_per_image`
/// views of it drawn from [`image_rng`]`(seed, i)`.
pub fn augmentation_tiles(images: &[Image], pipeline: &dyn Transform, views_per_image: usize, seed: u64) -> Vec<Image> {
    let mut tiles = Vec::with_capacity(images.len() * (1 + views_per_image));
    for (i, img) in images.iter().enumerate() {
        let mut rng = image_rng(seed, i as u64);
        tiles.push(img.clone());
        for _ in 0..views_per_image {
            tiles.push(pipeline.apply(img, &mut rng));
        }
    }
    tiles
}

/// The integer up-scaling that brings the largest of `images` to about 96 pixels (×3 for
/// 32-px images, ×1 from 96 px up).
pub fn tile_scale(images: &[Image]) -> usize {
    let largest = images.iter().map(|t| t.height.max(t.width)).max().unwrap_or(1).max(1);
    (TARGET_TILE as f32 / largest as f32).round().max(1.0) as usize
}

fn check_channels(images: &[Image], path: &Path) -> Result<()> {
    match images.iter().position(|im| im.channels != 1 && im.channels != 3) {
        Some(i) => Err(Error::config(format!(
            "{}: image {i} has {} channels; only 1 (gray) or 3 (RGB) can be drawn",
            path.display(),
            images[i].channels
        ))),
        None => Ok(()),
    }
}

/// `<path>.tmp`, next to `path`.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Encodes an RGB8 buffer as PNG into `<path>.tmp`, then renames it to `path`.
fn write_png_atomic(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = tmp_path(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut writer = BufWriter::new(file);
        PngEncoder::new(&mut writer).write_image(rgb, width, height, ColorType::Rgb8).map_err(
            |e| match e {
                ImageError::IoError(io) => Error::io(&tmp, io),
                other => Error::format(path, format!("cannot encode PNG: {other}")),
            },
        )?;
        writer.flush().map_err(|e| Error::io(&tmp, e))?;
        let file = writer.into_inner().map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
