//! Loader for the IDX format used by MNIST and Fashion-MNIST.
//!
//! # File format
//!
//! An IDX file is a big-endian header followed by a dense array of unsigned bytes:
//!
//! | offset | size      | content                                                        |
//! |--------|-----------|----------------------------------------------------------------|
//! | 0      | 4         | magic number: `0x00000803` for images, `0x00000801` for labels |
//! | 4      | 4 × ndims | one big-endian `u32` per dimension (`ndims` is the magic's low byte) |
//! | …      | product   | the payload, one `u8` per element, row-major                   |
//!
//! The third byte of the magic (`0x08`) says the elements are unsigned bytes; the fourth is the
//! number of dimensions: 3 for images (`count × rows × columns`, pixel 0 = background,
//! 255 = ink) and 1 for labels (`count`, each a class index in `0..10`).
//!
//! A dataset directory holds four such files, each either raw or gzip-compressed with a `.gz`
//! suffix (as distributed):
//!
//! ```text
//! train-images-idx3-ubyte[.gz]   train-labels-idx1-ubyte[.gz]
//! t10k-images-idx3-ubyte[.gz]    t10k-labels-idx1-ubyte[.gz]
//! ```
//!
//! Fashion-MNIST uses exactly the same names and layout; only the meaning of the labels
//! differs. Images are kept grayscale (one channel); use [`ImageDataset::to_rgb`] where three
//! channels are needed.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::data::dataset::{ImageDataset, Splits};
use crate::error::{Error, Result};

/// Magic number of an IDX file holding a 3-D array of unsigned bytes (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file holding a 1-D array of unsigned bytes (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Number of classes in MNIST and Fashion-MNIST.
pub const NUM_CLASSES: usize = 10;

/// MNIST class names: the digits.
pub const MNIST_CLASSES: [&str; NUM_CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Fashion-MNIST class names, in label order.
pub const FASHION_MNIST_CLASSES: [&str; NUM_CLASSES] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// The contents of an IDX image file: `count` grayscale images of `rows × cols` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes, image after image, each row-major.
    pub pixels: Vec<u8>,
}

/// Loads MNIST from `dir` (see the [module documentation](self) for the expected files).
///
/// Returns 60 000 training and 10 000 test images of 1 × 28 × 28 for the official files.
pub fn load_mnist(dir: &Path) -> Result<Splits> {
    load_idx_dir(dir, "mnist", &MNIST_CLASSES)
}

/// Loads Fashion-MNIST from `dir`: same files and format as MNIST, with clothing class names.
pub fn load_fashion_mnist(dir: &Path) -> Result<Splits> {
    load_idx_dir(dir, "fashion-mnist", &FASHION_MNIST_CLASSES)
}

/// Loads the four standard IDX files from `dir`, naming the datasets `"{kind}:{dir}/train"` and
/// `"{kind}:{dir}/test"`. Every label must be below `class_names.len()`, and both splits must
/// have the same image size.
pub fn load_idx_dir(dir: &Path, kind: &str, class_names: &[&str]) -> Result<Splits> {
    if !dir.is_dir() {
        return Err(Error::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "dataset directory not found")));
    }
    let names: Vec<String> = class_names.iter().map(|s| s.to_string()).collect();
    let train = load_split(dir, "train", "train", kind, &names)?;
    let test = load_split(dir, "t10k", "test", kind, &names)?;
    if (train.height, train.width) != (test.height, test.width) {
        let path = find_file(dir, "t10k-images-idx3-ubyte")?;
        return Err(Error::format(
            path,
            format!(
                "test images are {}x{} but training images are {}x{}",
                test.height, test.width, train.height, train.width
            ),
        ));
    }
    Ok(Splits { train, test })
}

/// Reads one split (`prefix` is `train` or `t10k`) into a dataset named after `split`.
fn load_split(dir: &Path, prefix: &str, split: &str, kind: &str, class_names: &[String]) -> Result<ImageDataset> {
    let images_path = find_file(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find_file(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = read_idx_images(&images_path)?;
    let labels = read_idx_labels(&labels_path)?;
    if images.count != labels.len() {
        return Err(Error::format(
            &labels_path,
            format!("holds {} labels but {} holds {} images", labels.len(), images_path.display(), images.count),
        ));
    }
    if let Some((i, &bad)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= class_names.len()) {
        return Err(Error::format(
            &labels_path,
            format!("label {bad} of item {i} is out of range (expected 0..{})", class_names.len()),
        ));
    }

    let name = format!("{kind}:{}", dir.join(split).display());
    let mut ds = ImageDataset::new(name, 1, images.rows, images.cols, class_names.to_vec());
    ds.pixels = images.pixels.iter().map(|&b| b as f32 / 255.0).collect();
    ds.labels = labels.iter().map(|&l| l as usize).collect();
    Ok(ds)
}

/// Returns `dir/name` if it exists, else `dir/name.gz` if that exists, else a not-found error
/// naming both candidates.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(Error::io(raw, std::io::Error::new(std::io::ErrorKind::NotFound, format!("file not found (nor {name}.gz)"))))
}

/// Reads the whole file, transparently decompressing it when it is gzip (a `.gz` suffix or the
/// gzip magic bytes `1f 8b`; a raw IDX file always starts with `00 00`).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let is_gz = path.extension().is_some_and(|e| e == "gz") || bytes.starts_with(&[0x1f, 0x8b]);
    if !is_gz {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, format!("invalid gzip data: {e}")))?;
    Ok(out)
}

/// Parses the header of an IDX file: checks the magic number and returns the dimensions and
/// the payload, which must be exactly as long as the product of the dimensions.
fn parse_idx<'a>(path: &Path, bytes: &'a [u8], magic: u32) -> Result<(Vec<usize>, &'a [u8])> {
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let what = if magic == IMAGES_MAGIC { "image" } else { "label" };
    if bytes.len() < 4 {
        return Err(Error::format(path, format!("file too short ({} bytes) for an IDX header", bytes.len())));
    }
    let found = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if found != magic {
        return Err(Error::format(
            path,
            format!("wrong magic number {found:#010x}; an IDX {what} file starts with {magic:#010x}"),
        ));
    }
    if bytes.len() < header_len {
        return Err(Error::format(
            path,
            format!("truncated header: {} bytes, expected at least {header_len}", bytes.len()),
        ));
    }
    let dims: Vec<usize> =
        bytes[4..header_len].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::format(path, format!("dimensions {dims:?} are too large")))?;
    let payload = &bytes[header_len..];
    if payload.len() != expected {
        let dims_text: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        return Err(Error::format(
            path,
            format!(
                "header announces {} = {expected} bytes of data but the file holds {} (truncated or corrupt)",
                dims_text.join("x"),
                payload.len()
            ),
        ));
    }
    Ok((dims, payload))
}

/// Reads an IDX image file (raw or gzip): magic `0x00000803`, dimensions
/// `count × rows × cols`, then the pixels.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_maybe_gz(path)?;
    let (dims, payload) = parse_idx(path, &bytes, IMAGES_MAGIC)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::format(path, format!("invalid image size {rows}x{cols}")));
    }
    Ok(IdxImages { count, rows, cols, pixels: payload.to_vec() })
}

/// Reads an IDX label file (raw or gzip): magic `0x00000801`, dimension `count`, then one byte
/// per label. The range of the labels is not checked here.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_maybe_gz(path)?;
    let (_, payload) = parse_idx(path, &bytes, LABELS_MAGIC)?;
    Ok(payload.to_vec())
}
