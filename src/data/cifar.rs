//! Loaders for the binary versions of CIFAR-10 and CIFAR-100.
//!
//! # File format
//!
//! Both datasets are plain concatenations of fixed-size records, with no header. Every image is
//! 3 × 32 × 32 bytes stored channel-major (CHW): the 1024 red values row by row, then the 1024
//! green, then the 1024 blue.
//!
//! **CIFAR-10** (`cifar-10-batches-bin/`): records of 3073 bytes,
//!
//! ```text
//! <1 byte label 0..10> <3072 bytes of pixels>
//! ```
//!
//! in `data_batch_1.bin` … `data_batch_5.bin` (training, 10 000 records each) and
//! `test_batch.bin` (10 000 records). Class names are read from `batches.meta.txt` (one per
//! line) when present.
//!
//! **CIFAR-100** (`cifar-100-binary/`): records of 3074 bytes,
//!
//! ```text
//! <1 byte coarse label 0..20> <1 byte fine label 0..100> <3072 bytes of pixels>
//! ```
//!
//! in `train.bin` (50 000 records) and `test.bin` (10 000 records). The fine labels (100
//! classes) are used; their names are read from `fine_label_names.txt` when present.

use std::path::{Path, PathBuf};

use crate::data::dataset::{ImageDataset, Splits};
use crate::error::{Error, Result};
use crate::image::Image;

/// Side of a CIFAR image in pixels.
pub const SIDE: usize = 32;
/// Bytes of pixels in one record: 3 × 32 × 32.
pub const IMAGE_BYTES: usize = 3 * SIDE * SIDE;

/// Default CIFAR-10 class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Default CIFAR-100 fine class names, in label order.
#[rustfmt::skip]
pub const CIFAR100_CLASSES: [&str; 100] = [
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
];

/// Number of CIFAR-100 coarse classes (superclasses); only used to validate records.
const CIFAR100_COARSE: usize = 20;

/// The CIFAR-10 training batch files, in loading order.
const CIFAR10_TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

/// Describes one of the two record layouts.
struct Layout {
    /// Label bytes before the pixels (1 for CIFAR-10, 2 for CIFAR-100).
    label_bytes: usize,
    /// Index of the label to use within those bytes.
    label_index: usize,
    /// Exclusive upper bound of each label byte, in order.
    label_limits: &'static [usize],
}

const CIFAR10_LAYOUT: Layout = Layout { label_bytes: 1, label_index: 0, label_limits: &[10] };
const CIFAR100_LAYOUT: Layout = Layout { label_bytes: 2, label_index: 1, label_limits: &[CIFAR100_COARSE, 100] };

/// Loads CIFAR-10 from `dir` or from its `cifar-10-batches-bin` subfolder: 50 000 training and
/// 10 000 test images of 3 × 32 × 32 for the official files.
pub fn load_cifar10(dir: &Path) -> Result<Splits> {
    let root = resolve_dir(dir, "cifar-10-batches-bin", "data_batch_1.bin")?;
    let class_names = read_class_names(&root.join("batches.meta.txt"), &CIFAR10_CLASSES)?;
    let train_files: Vec<PathBuf> = CIFAR10_TRAIN_FILES.iter().map(|f| root.join(f)).collect();
    let test_files = [root.join("test_batch.bin")];
    let mut train =
        ImageDataset::new(format!("cifar10:{}", dir.join("train").display()), 3, SIDE, SIDE, class_names.clone());
    read_records(&train_files, &CIFAR10_LAYOUT, &mut train)?;
    let mut test = ImageDataset::new(format!("cifar10:{}", dir.join("test").display()), 3, SIDE, SIDE, class_names);
    read_records(&test_files, &CIFAR10_LAYOUT, &mut test)?;
    Ok(Splits { train, test })
}

/// Loads CIFAR-100 (fine labels, 100 classes) from `dir` or from its `cifar-100-binary`
/// subfolder: 50 000 training and 10 000 test images of 3 × 32 × 32 for the official files.
pub fn load_cifar100(dir: &Path) -> Result<Splits> {
    let root = resolve_dir(dir, "cifar-100-binary", "train.bin")?;
    let class_names = read_class_names(&root.join("fine_label_names.txt"), &CIFAR100_CLASSES)?;
    let mut train =
        ImageDataset::new(format!("cifar100:{}", dir.join("train").display()), 3, SIDE, SIDE, class_names.clone());
    read_records(&[root.join("train.bin")], &CIFAR100_LAYOUT, &mut train)?;
    let mut test = ImageDataset::new(format!("cifar100:{}", dir.join("test").display()), 3, SIDE, SIDE, class_names);
    read_records(&[root.join("test.bin")], &CIFAR100_LAYOUT, &mut test)?;
    Ok(Splits { train, test })
}

/// Picks the directory holding the files: `dir` itself if it contains `marker`, else
/// `dir/subfolder` if that is a directory, else `dir` (so that the missing-file error names
/// the file expected directly in `dir`).
fn resolve_dir(dir: &Path, subfolder: &str, marker: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "dataset directory not found")));
    }
    let sub = dir.join(subfolder);
    if !dir.join(marker).exists() && sub.is_dir() {
        Ok(sub)
    } else {
        Ok(dir.to_path_buf())
    }
}

/// Reads one class name per non-empty line of `path` (surrounding whitespace trimmed); if the
/// file does not exist, returns `defaults`. A file with the wrong number of names is an error.
fn read_class_names(path: &Path, defaults: &[&str]) -> Result<Vec<String>> {
    if !path.exists() {
        return Ok(defaults.iter().map(|s| s.to_string()).collect());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if names.len() != defaults.len() {
        return Err(Error::format(
            path,
            format!("expected {} class names (one per line), found {}", defaults.len(), names.len()),
        ));
    }
    Ok(names)
}

/// Appends every record of every file in `files` to `out`, validating the file size and the
/// label bytes.
fn read_records(files: &[PathBuf], layout: &Layout, out: &mut ImageDataset) -> Result<()> {
    let record = layout.label_bytes + IMAGE_BYTES;
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(Error::format(
                path,
                format!(
                    "size {} bytes is not a positive multiple of the {record}-byte record (truncated or not a CIFAR file)",
                    bytes.len()
                ),
            ));
        }
        let n = bytes.len() / record;
        out.pixels.reserve(n * IMAGE_BYTES);
        out.labels.reserve(n);
        for (i, rec) in bytes.chunks_exact(record).enumerate() {
            for (k, &limit) in layout.label_limits.iter().enumerate() {
                if rec[k] as usize >= limit {
                    return Err(Error::format(
                        path,
                        format!("record {i}: label byte {k} is {} (expected 0..{limit})", rec[k]),
                    ));
                }
            }
            let img = Image::from_chw_u8(3, SIDE, SIDE, &rec[layout.label_bytes..]);
            out.push(&img, rec[layout.label_index] as usize);
        }
    }
    Ok(())
}
