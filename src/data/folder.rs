//! Loader for a folder of ordinary image files, one sub-folder per class.
//!
//! # Layout
//!
//! Either an explicit split,
//!
//! ```text
//! dir/train/<class>/<image>     dir/test/<class>/<image>
//! ```
//!
//! or a single set of class folders that is split deterministically,
//!
//! ```text
//! dir/<class>/<image>
//! ```
//!
//! where, within each class, the files are sorted by name and every fifth one (0-based index
//! `i` with `i % 5 == 4`) goes to the test split, the rest to the train split. A class with
//! fewer than five images therefore contributes no test image.
//!
//! Class names are the sub-folder names, sorted; the label of a class is its index in that
//! order. With an explicit split the classes are those of `train/`, and every folder of `test/`
//! must be one of them. Hidden entries (names starting with `.`) are ignored, as are files
//! lying directly in `dir`.
//!
//! # Files
//!
//! Files with the extensions `png`, `jpg`, `jpeg` or `bmp` (any case) are decoded with the
//! `image` crate (the format is guessed from the content); files with other extensions are
//! skipped. An image file that cannot be decoded is an error naming it.
//!
//! Every image is resized (bilinear) to the requested size, or to the size of the first image
//! (the first file of the first class of the train split). If every image is grayscale the
//! datasets have one channel, otherwise all images are converted to RGB (grayscale ones are
//! replicated). Alpha channels are dropped.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{ColorType, DynamicImage};

use crate::data::dataset::{ImageDataset, Splits};
use crate::error::{Error, Result};
use crate::image::Image;

/// File extensions (lower case) treated as images.
pub const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// Loads the image folder `dir` (see the [module documentation](self) for the layout).
///
/// `size` is the `(height, width)` every image is resized to; `None` uses the size of the first
/// image. The datasets are named `"folder:{dir}/train"` and `"folder:{dir}/test"`.
pub fn load_folder(dir: &Path, size: Option<(usize, usize)>) -> Result<Splits> {
    if let Some((h, w)) = size {
        if h == 0 || w == 0 || h > u32::MAX as usize || w > u32::MAX as usize {
            return Err(Error::config(format!("invalid image size {h}x{w} for {}", dir.display())));
        }
    }
    if !dir.is_dir() {
        return Err(Error::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "image folder not found")));
    }

    let (train_files, test_files, class_names) = if dir.join("train").is_dir() && dir.join("test").is_dir() {
        let train_classes = list_classes(&dir.join("train"))?;
        let class_names: Vec<String> = train_classes.iter().map(|(name, _)| name.clone()).collect();
        let mut train_files = Vec::new();
        for (label, (_, files)) in train_classes.into_iter().enumerate() {
            train_files.extend(files.into_iter().map(|f| (f, label)));
        }
        let mut test_files = Vec::new();
        for (name, files) in list_classes(&dir.join("test"))? {
            let label = class_names.iter().position(|c| *c == name).ok_or_else(|| {
                Error::format(
                    dir.join("test").join(&name),
                    format!("class folder has no counterpart in {}", dir.join("train").display()),
                )
            })?;
            test_files.extend(files.into_iter().map(|f| (f, label)));
        }
        (train_files, test_files, class_names)
    } else {
        let classes = list_classes(dir)?;
        let class_names: Vec<String> = classes.iter().map(|(name, _)| name.clone()).collect();
        let (mut train_files, mut test_files) = (Vec::new(), Vec::new());
        for (label, (_, files)) in classes.into_iter().enumerate() {
            for (i, f) in files.into_iter().enumerate() {
                if i % 5 == 4 {
                    test_files.push((f, label));
                } else {
                    train_files.push((f, label));
                }
            }
        }
        (train_files, test_files, class_names)
    };

    // Decode everything first: the channel count is only known once every image has been seen.
    let mut target = size;
    let train = decode_all(&train_files, &mut target)?;
    let test = decode_all(&test_files, &mut target)?;
    let (height, width) = target.expect("at least one training image was decoded");
    let channels = if train.iter().chain(&test).all(|d| d.channels == 1) { 1 } else { 3 };

    let build = |split: &str, decoded: Vec<Decoded>| {
        let name = format!("folder:{}", dir.join(split).display());
        let mut ds = ImageDataset::new(name, channels, height, width, class_names.clone());
        ds.pixels.reserve(decoded.len() * channels * height * width);
        for d in decoded {
            let img = Image::from_hwc_u8(d.channels, height, width, &d.bytes);
            let img = if channels == 3 { img.to_rgb() } else { img };
            ds.push(&img, d.label);
        }
        ds
    };
    Ok(Splits { train: build("train", train), test: build("test", test) })
}

/// One decoded, resized image: interleaved bytes with 1 (gray) or 3 (RGB) channels.
struct Decoded {
    channels: usize,
    bytes: Vec<u8>,
    label: usize,
}

/// Decodes and resizes every `(file, label)`; `target` is set to the first image's size if
/// it is still `None`.
fn decode_all(files: &[(PathBuf, usize)], target: &mut Option<(usize, usize)>) -> Result<Vec<Decoded>> {
    files
        .iter()
        .map(|(path, label)| {
            let img = decode(path)?;
            let (h, w) = *target.get_or_insert((img.height() as usize, img.width() as usize));
            let (w32, h32) = (w as u32, h as u32);
            let gray = matches!(img.color(), ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16);
            let (channels, bytes) = if gray {
                let buf = img.to_luma8();
                let buf = if buf.dimensions() == (w32, h32) {
                    buf
                } else {
                    image::imageops::resize(&buf, w32, h32, FilterType::Triangle)
                };
                (1, buf.into_raw())
            } else {
                let buf = img.to_rgb8();
                let buf = if buf.dimensions() == (w32, h32) {
                    buf
                } else {
                    image::imageops::resize(&buf, w32, h32, FilterType::Triangle)
                };
                (3, buf.into_raw())
            };
            Ok(Decoded { channels, bytes, label: *label })
        })
        .collect()
}

/// Decodes one image file, naming it in any error.
fn decode(path: &Path) -> Result<DynamicImage> {
    image::io::Reader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?
        .decode()
        .map_err(|e| Error::format(path, format!("cannot decode image: {e}")))
}

/// Whether `path` has one of the [`IMAGE_EXTENSIONS`] (case-insensitive).
fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Whether the entry's file name starts with a dot.
fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

/// Sorted, non-hidden entries of `dir`.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if !is_hidden(&path) {
            entries.push(path);
        }
    }
    entries.sort();
    Ok(entries)
}

/// The class sub-folders of `dir`, sorted by name, each with its sorted image files. No class
/// folder at all, or a class folder without images, is an error.
fn list_classes(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut classes = Vec::new();
    for class_dir in sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()) {
        let name = class_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let files: Vec<PathBuf> =
            sorted_entries(&class_dir)?.into_iter().filter(|p| p.is_file() && is_image_file(p)).collect();
        if files.is_empty() {
            return Err(Error::format(
                &class_dir,
                format!("class folder contains no images ({})", IMAGE_EXTENSIONS.join(", ")),
            ));
        }
        classes.push((name, files));
    }
    if classes.is_empty() {
        return Err(Error::format(dir, "no class sub-folders found (expected <dir>/<class>/<image files>)"));
    }
    Ok(classes)
}
