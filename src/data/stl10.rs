//! Loader for the binary version of STL-10 (the labelled part).
//!
//! # File format
//!
//! The `stl10_binary/` directory holds headerless byte arrays:
//!
//! | file          | content                                     |
//! |---------------|---------------------------------------------|
//! | `train_X.bin` | 5 000 images of 3 × 96 × 96 bytes           |
//! | `train_y.bin` | 5 000 labels, one byte each, in `1..=10`    |
//! | `test_X.bin`  | 8 000 images                                |
//! | `test_y.bin`  | 8 000 labels                                |
//! | `class_names.txt` | optional, one class name per line       |
//!
//! Each image is stored channel by channel (red, green, blue plane), but each 96 × 96 plane is
//! **column-major** (the MATLAB layout): byte `x * 96 + y` of a plane is the pixel at row `y`,
//! column `x`. The loader transposes the planes into the row-major CHW layout of
//! [`Image`](crate::image::Image), and shifts labels to `0..10`.
//!
//! `unlabeled_X.bin` (100 000 unlabelled images) is ignored.

use std::path::{Path, PathBuf};

use crate::data::dataset::{ImageDataset, Splits};
use crate::error::{Error, Result};

/// Side of an STL-10 image in pixels.
pub const SIDE: usize = 96;
/// Bytes per image: 3 × 96 × 96.
pub const IMAGE_BYTES: usize = 3 * SIDE * SIDE;

/// Default STL-10 class names, in label order (file label `1` is index 0).
pub const STL10_CLASSES: [&str; 10] =
    ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"];

/// Loads STL-10's labelled train (5 000) and test (8 000) splits from `dir` or from its
/// `stl10_binary` subfolder, as 3 × 96 × 96 images.
pub fn load_stl10(dir: &Path) -> Result<Splits> {
    if !dir.is_dir() {
        return Err(Error::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "dataset directory not found")));
    }
    let sub = dir.join("stl10_binary");
    let root: PathBuf = if !dir.join("train_X.bin").exists() && sub.is_dir() { sub } else { dir.to_path_buf() };
    let class_names = read_class_names(&root.join("class_names.txt"))?;
    let train = load_split(&root, dir, "train", &class_names)?;
    let test = load_split(&root, dir, "test", &class_names)?;
    Ok(Splits { train, test })
}

/// Reads `class_names.txt` (one name per non-empty line) if present, else the defaults.
fn read_class_names(path: &Path) -> Result<Vec<String>> {
    if !path.exists() {
        return Ok(STL10_CLASSES.iter().map(|s| s.to_string()).collect());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if names.len() != STL10_CLASSES.len() {
        return Err(Error::format(
            path,
            format!("expected {} class names (one per line), found {}", STL10_CLASSES.len(), names.len()),
        ));
    }
    Ok(names)
}

/// Reads `{split}_X.bin` and `{split}_y.bin` from `root`; `dir` is only used for the name.
fn load_split(root: &Path, dir: &Path, split: &str, class_names: &[String]) -> Result<ImageDataset> {
    let x_path = root.join(format!("{split}_X.bin"));
    let y_path = root.join(format!("{split}_y.bin"));
    let x = std::fs::read(&x_path).map_err(|e| Error::io(&x_path, e))?;
    let y = std::fs::read(&y_path).map_err(|e| Error::io(&y_path, e))?;

    if x.is_empty() || x.len() % IMAGE_BYTES != 0 {
        return Err(Error::format(
            &x_path,
            format!(
                "size {} bytes is not a positive multiple of the {IMAGE_BYTES}-byte image (truncated or not an STL-10 file)",
                x.len()
            ),
        ));
    }
    let n = x.len() / IMAGE_BYTES;
    if y.len() != n {
        return Err(Error::format(
            &y_path,
            format!("holds {} labels but {} holds {n} images", y.len(), x_path.display()),
        ));
    }
    let num_classes = class_names.len();
    let mut labels = Vec::with_capacity(n);
    for (i, &l) in y.iter().enumerate() {
        if l == 0 || l as usize > num_classes {
            return Err(Error::format(
                &y_path,
                format!("label {l} of item {i} is out of range (expected 1..={num_classes})"),
            ));
        }
        labels.push(l as usize - 1);
    }

    let mut pixels = Vec::with_capacity(x.len());
    for plane in x.chunks_exact(SIDE * SIDE) {
        // `plane[col * SIDE + row]` holds pixel (row, col): emit it row by row.
        for row in 0..SIDE {
            pixels.extend((0..SIDE).map(|col| plane[col * SIDE + row] as f32 / 255.0));
        }
    }

    let name = format!("stl10:{}", dir.join(split).display());
    let mut ds = ImageDataset::new(name, 3, SIDE, SIDE, class_names.to_vec());
    ds.pixels = pixels;
    ds.labels = labels;
    Ok(ds)
}
