//! Tests of the on-disk dataset loaders. Every fixture is written in the exact file format into
//! a temporary directory; nothing is downloaded.

use std::io::Write;
use std::path::{Path, PathBuf};

use selfsup::data::cifar::{load_cifar10, load_cifar100, CIFAR100_CLASSES, CIFAR10_CLASSES};
use selfsup::data::dataset::Splits;
use selfsup::data::folder::load_folder;
use selfsup::data::idx::{load_fashion_mnist, load_mnist, FASHION_MNIST_CLASSES};
use selfsup::data::spec::DatasetSpec;
use selfsup::data::stl10::{load_stl10, STL10_CLASSES};
use selfsup::Error;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

fn write_gz(path: &Path, bytes: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap();
}

/// Asserts that `result` failed and that its message mentions `needle`; returns the message.
fn err_naming<T: std::fmt::Debug>(result: selfsup::Result<T>, needle: &str) -> String {
    let err = result.expect_err("expected an error");
    let msg = err.to_string();
    assert!(msg.contains(needle), "error `{msg}` does not mention `{needle}`");
    msg
}

fn px(v: u8) -> f32 {
    v as f32 / 255.0
}

// ---------------------------------------------------------------------------------------------
// IDX (MNIST, Fashion-MNIST)
// ---------------------------------------------------------------------------------------------

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0x0000_0803u32.to_be_bytes());
    for d in [count, rows, cols] {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0x0000_0801u32.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Pixel value of image `i` at row `y`, column `x` in the IDX fixtures.
fn idx_pixel(i: usize, y: usize, x: usize) -> u8 {
    (i * 50 + y * 10 + x) as u8
}

/// `n` images of 2 rows × 3 columns whose pixels follow [`idx_pixel`].
fn idx_fixture_images(n: usize) -> Vec<u8> {
    let mut px = Vec::new();
    for i in 0..n {
        for y in 0..2 {
            for x in 0..3 {
                px.push(idx_pixel(i, y, x));
            }
        }
    }
    idx_images(n as u32, 2, 3, &px)
}

/// Writes a valid MNIST directory: 3 training images (labels 7, 0, 9), 2 test images (labels
/// 3, 1). With `gz`, every file is gzip-compressed with a `.gz` suffix.
fn write_mnist(dir: &Path, gz: bool) {
    let files = [
        ("train-images-idx3-ubyte", idx_fixture_images(3)),
        ("train-labels-idx1-ubyte", idx_labels(&[7, 0, 9])),
        ("t10k-images-idx3-ubyte", idx_fixture_images(2)),
        ("t10k-labels-idx1-ubyte", idx_labels(&[3, 1])),
    ];
    for (name, bytes) in files {
        if gz {
            write_gz(&dir.join(format!("{name}.gz")), &bytes);
        } else {
            write(&dir.join(name), &bytes);
        }
    }
}

fn check_mnist_fixture(s: &Splits) {
    assert_eq!((s.train.len(), s.test.len()), (3, 2));
    assert_eq!((s.train.channels, s.train.height, s.train.width), (1, 2, 3));
    assert_eq!((s.test.channels, s.test.height, s.test.width), (1, 2, 3));
    assert_eq!(s.train.labels, vec![7, 0, 9]);
    assert_eq!(s.test.labels, vec![3, 1]);
    // Image 2, row 1, column 2 of the training set.
    assert_eq!(s.train.image(2).get(0, 1, 2), px(idx_pixel(2, 1, 2)));
    assert_eq!(s.train.image(2).get(0, 1, 2), px(112));
    assert_eq!(s.test.image(1).get(0, 0, 1), px(idx_pixel(1, 0, 1)));
    let expected: Vec<f32> =
        (0..3).flat_map(|i| (0..2).flat_map(move |y| (0..3).map(move |x| px(idx_pixel(i, y, x))))).collect();
    assert_eq!(s.train.pixels, expected);
}

#[test]
fn mnist_raw_files_load_exactly() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    let s = load_mnist(tmp.path()).unwrap();
    check_mnist_fixture(&s);
    assert_eq!(s.train.class_names, (0..10).map(|d| d.to_string()).collect::<Vec<_>>());
    assert!(s.train.name.starts_with("mnist:"), "{}", s.train.name);
    assert!(s.test.name.ends_with("test"), "{}", s.test.name);
}

#[test]
fn mnist_gzip_files_load_exactly() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), true);
    assert!(!tmp.path().join("train-images-idx3-ubyte").exists());
    check_mnist_fixture(&load_mnist(tmp.path()).unwrap());
}

#[test]
fn fashion_mnist_has_clothing_class_names() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), true);
    let s = load_fashion_mnist(tmp.path()).unwrap();
    check_mnist_fixture(&s);
    assert_eq!(s.train.class_names.len(), 10);
    assert_eq!(s.train.class_names[0], "T-shirt/top");
    assert_eq!(s.test.class_names[9], "Ankle boot");
    assert_eq!(s.train.class_names, FASHION_MNIST_CLASSES.map(String::from).to_vec());
    assert!(s.train.name.starts_with("fashion-mnist:"), "{}", s.train.name);
}

#[test]
fn mnist_grayscale_stays_one_channel_and_replicates_to_rgb() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    let s = load_mnist(tmp.path()).unwrap();
    assert_eq!(s.train.channels, 1);
    let rgb = s.train.to_rgb();
    assert_eq!((rgb.channels, rgb.height, rgb.width, rgb.len()), (3, 2, 3, 3));
    let img = rgb.image(1);
    for c in 0..3 {
        assert_eq!(img.get(c, 1, 0), px(idx_pixel(1, 1, 0)));
    }
    assert_eq!(s.train.image(1).to_rgb(), img);
    assert_eq!(rgb.labels, s.train.labels);
}

#[test]
fn mnist_truncated_images_file_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    let mut bytes = idx_fixture_images(3);
    bytes.pop();
    write(&tmp.path().join("train-images-idx3-ubyte"), &bytes);
    let msg = err_naming(load_mnist(tmp.path()), "train-images-idx3-ubyte");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn mnist_trailing_bytes_are_an_error_naming_the_file() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    let mut bytes = idx_labels(&[7, 0, 9]);
    bytes.push(0);
    write(&tmp.path().join("train-labels-idx1-ubyte"), &bytes);
    err_naming(load_mnist(tmp.path()), "train-labels-idx1-ubyte");
}

#[test]
fn mnist_truncated_gzip_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), true);
    let path = tmp.path().join("t10k-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    write(&path, &bytes[..bytes.len() / 2]);
    err_naming(load_mnist(tmp.path()), "t10k-images-idx3-ubyte.gz");
}

#[test]
fn mnist_truncated_header_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    write(&tmp.path().join("t10k-labels-idx1-ubyte"), &[0, 0, 8, 1, 0]);
    err_naming(load_mnist(tmp.path()), "t10k-labels-idx1-ubyte");
}

#[test]
fn mnist_wrong_magic_is_an_error_naming_the_file() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    // An image file where a label file is expected.
    write(&tmp.path().join("train-labels-idx1-ubyte"), &idx_fixture_images(3));
    let msg = err_naming(load_mnist(tmp.path()), "train-labels-idx1-ubyte");
    assert!(msg.contains("magic"), "{msg}");
}

#[test]
fn mnist_label_out_of_range_is_an_error_naming_the_file() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    write(&tmp.path().join("t10k-labels-idx1-ubyte"), &idx_labels(&[3, 10]));
    let msg = err_naming(load_mnist(tmp.path()), "t10k-labels-idx1-ubyte");
    assert!(msg.contains("10"), "{msg}");
}

#[test]
fn mnist_missing_file_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    std::fs::remove_file(tmp.path().join("t10k-labels-idx1-ubyte")).unwrap();
    err_naming(load_mnist(tmp.path()), "t10k-labels-idx1-ubyte");
}

#[test]
fn mnist_missing_directory_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("no-such-mnist");
    err_naming(load_mnist(&missing), "no-such-mnist");
}

#[test]
fn mnist_image_and_label_counts_must_agree() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    write(&tmp.path().join("train-labels-idx1-ubyte"), &idx_labels(&[1, 2]));
    let msg = err_naming(load_mnist(tmp.path()), "train-labels-idx1-ubyte");
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
}

#[test]
fn mnist_train_and_test_sizes_must_agree() {
    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    write(&tmp.path().join("t10k-images-idx3-ubyte"), &idx_images(2, 3, 2, &[0; 12]));
    err_naming(load_mnist(tmp.path()), "t10k-images-idx3-ubyte");
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10 and CIFAR-100
// ---------------------------------------------------------------------------------------------

/// A CHW 3×32×32 image whose byte at channel `c`, row `y`, column `x` is `(seed + 3c + 5y + 7x) % 256`.
fn cifar_pixels(seed: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(3072);
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                out.push(((seed + 3 * c + 5 * y + 7 * x) % 256) as u8);
            }
        }
    }
    out
}

fn cifar_pixel(seed: usize, c: usize, y: usize, x: usize) -> f32 {
    px(((seed + 3 * c + 5 * y + 7 * x) % 256) as u8)
}

fn cifar10_records(labels_and_seeds: &[(u8, usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(label, seed) in labels_and_seeds {
        out.push(label);
        out.extend(cifar_pixels(seed));
    }
    out
}

/// Writes CIFAR-10 into `dir`: batch `b` (1..=5) holds two records with labels `b-1`, `b+4`
/// and seeds `10b`, `10b+1`; the test batch holds one record (label 9, seed 99).
fn write_cifar10(dir: &Path) {
    for b in 1..=5u8 {
        let s = 10 * b as usize;
        write(&dir.join(format!("data_batch_{b}.bin")), &cifar10_records(&[(b - 1, s), (b + 4, s + 1)]));
    }
    write(&dir.join("test_batch.bin"), &cifar10_records(&[(9, 99)]));
}

#[test]
fn cifar10_loads_records_in_order_with_default_names() {
    let tmp = TempDir::new().unwrap();
    write_cifar10(tmp.path());
    let s = load_cifar10(tmp.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (10, 1));
    assert_eq!((s.train.channels, s.train.height, s.train.width), (3, 32, 32));
    assert_eq!(s.train.labels, vec![0, 5, 1, 6, 2, 7, 3, 8, 4, 9]);
    assert_eq!(s.test.labels, vec![9]);
    assert_eq!(s.train.class_names, CIFAR10_CLASSES.map(String::from).to_vec());
    // Record 3 is the second record of data_batch_2 (seed 21).
    let img = s.train.image(3);
    assert_eq!(img.get(1, 2, 3), cifar_pixel(21, 1, 2, 3));
    assert_eq!(img.get(2, 31, 0), cifar_pixel(21, 2, 31, 0));
    assert_eq!(img.data, cifar_pixels(21).iter().map(|&b| px(b)).collect::<Vec<_>>());
    assert_eq!(s.test.image(0).get(0, 10, 20), cifar_pixel(99, 0, 10, 20));
}

#[test]
fn cifar10_accepts_subfolder_and_reads_meta_names() {
    let tmp = TempDir::new().unwrap();
    let sub = tmp.path().join("cifar-10-batches-bin");
    write_cifar10(&sub);
    let names: Vec<String> = (0..10).map(|i| format!("class{i}")).collect();
    write(&sub.join("batches.meta.txt"), format!("{}\n\n", names.join("\n")).as_bytes());
    let s = load_cifar10(tmp.path()).unwrap();
    assert_eq!(s.train.len(), 10);
    assert_eq!(s.train.class_names, names);
    assert_eq!(s.test.class_names, names);
}

#[test]
fn cifar10_meta_with_wrong_name_count_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_cifar10(tmp.path());
    write(&tmp.path().join("batches.meta.txt"), b"a\nb\nc\n");
    err_naming(load_cifar10(tmp.path()), "batches.meta.txt");
}

#[test]
fn cifar10_truncated_batch_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_cifar10(tmp.path());
    let mut bytes = cifar10_records(&[(1, 0), (2, 0)]);
    bytes.truncate(bytes.len() - 100);
    write(&tmp.path().join("data_batch_3.bin"), &bytes);
    err_naming(load_cifar10(tmp.path()), "data_batch_3.bin");
}

#[test]
fn cifar10_label_out_of_range_is_an_error_naming_the_file() {
    let tmp = TempDir::new().unwrap();
    write_cifar10(tmp.path());
    write(&tmp.path().join("test_batch.bin"), &cifar10_records(&[(3, 0), (10, 0)]));
    let msg = err_naming(load_cifar10(tmp.path()), "test_batch.bin");
    assert!(msg.contains("record 1"), "{msg}");
}

#[test]
fn cifar10_missing_batch_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_cifar10(tmp.path());
    std::fs::remove_file(tmp.path().join("data_batch_5.bin")).unwrap();
    err_naming(load_cifar10(tmp.path()), "data_batch_5.bin");
}

fn cifar100_records(records: &[(u8, u8, usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(coarse, fine, seed) in records {
        out.push(coarse);
        out.push(fine);
        out.extend(cifar_pixels(seed));
    }
    out
}

fn write_cifar100(dir: &Path) {
    write(&dir.join("train.bin"), &cifar100_records(&[(19, 0, 1), (4, 99, 2), (0, 42, 3)]));
    write(&dir.join("test.bin"), &cifar100_records(&[(7, 63, 4)]));
}

#[test]
fn cifar100_uses_fine_labels() {
    let tmp = TempDir::new().unwrap();
    write_cifar100(tmp.path());
    let s = load_cifar100(tmp.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (3, 1));
    assert_eq!(s.train.labels, vec![0, 99, 42]);
    assert_eq!(s.test.labels, vec![63]);
    assert_eq!(s.train.num_classes(), 100);
    assert_eq!(s.train.class_names, CIFAR100_CLASSES.map(String::from).to_vec());
    assert_eq!(s.train.class_names[99], "worm");
    assert_eq!(s.train.image(1).get(0, 0, 0), cifar_pixel(2, 0, 0, 0));
    assert_eq!(s.train.image(1).get(2, 17, 9), cifar_pixel(2, 2, 17, 9));
    assert_eq!(s.test.image(0).get(1, 31, 31), cifar_pixel(4, 1, 31, 31));
}

#[test]
fn cifar100_accepts_subfolder_and_reads_fine_label_names() {
    let tmp = TempDir::new().unwrap();
    let sub = tmp.path().join("cifar-100-binary");
    write_cifar100(&sub);
    let names: Vec<String> = (0..100).map(|i| format!("fine{i}")).collect();
    write(&sub.join("fine_label_names.txt"), names.join("\n").as_bytes());
    let s = load_cifar100(tmp.path()).unwrap();
    assert_eq!(s.train.class_names, names);
    assert_eq!(s.train.labels, vec![0, 99, 42]);
}

#[test]
fn cifar100_fine_label_out_of_range_is_an_error_naming_the_file() {
    let tmp = TempDir::new().unwrap();
    write_cifar100(tmp.path());
    write(&tmp.path().join("test.bin"), &cifar100_records(&[(0, 100, 0)]));
    err_naming(load_cifar100(tmp.path()), "test.bin");
}

#[test]
fn cifar100_truncated_file_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_cifar100(tmp.path());
    // A CIFAR-10 record (3073 bytes) is one byte short of a CIFAR-100 record.
    write(&tmp.path().join("train.bin"), &cifar10_records(&[(1, 0)]));
    err_naming(load_cifar100(tmp.path()), "train.bin");
}

#[test]
fn cifar100_missing_directory_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    err_naming(load_cifar100(&tmp.path().join("nowhere100")), "nowhere100");
}

// ---------------------------------------------------------------------------------------------
// STL-10
// ---------------------------------------------------------------------------------------------

const STL_PLANE: usize = 96 * 96;
const STL_IMAGE: usize = 3 * STL_PLANE;

/// An STL-10 image in file order (column-major planes) whose pixel at channel `c`, row `y`,
/// column `x` has value `(seed + c + 2y + 3x) % 251`, plus a marker byte 255 at channel 2,
/// row 5, column 70.
fn stl_image(seed: usize) -> Vec<u8> {
    let mut out = vec![0u8; STL_IMAGE];
    for c in 0..3 {
        for y in 0..96 {
            for x in 0..96 {
                out[c * STL_PLANE + x * 96 + y] = ((seed + c + 2 * y + 3 * x) % 251) as u8;
            }
        }
    }
    out[2 * STL_PLANE + 70 * 96 + 5] = 255;
    out
}

fn stl_value(seed: usize, c: usize, y: usize, x: usize) -> f32 {
    px(((seed + c + 2 * y + 3 * x) % 251) as u8)
}

fn write_stl10(dir: &Path) {
    let mut train = stl_image(0);
    train.extend(stl_image(7));
    write(&dir.join("train_X.bin"), &train);
    write(&dir.join("train_y.bin"), &[1, 10]);
    write(&dir.join("test_X.bin"), &stl_image(3));
    write(&dir.join("test_y.bin"), &[4]);
    // Must be ignored: not a whole number of images.
    write(&dir.join("unlabeled_X.bin"), &[1, 2, 3]);
}

#[test]
fn stl10_transposes_planes_and_shifts_labels() {
    let tmp = TempDir::new().unwrap();
    write_stl10(&tmp.path().join("stl10_binary"));
    let s = load_stl10(tmp.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (2, 1));
    assert_eq!((s.train.channels, s.train.height, s.train.width), (3, 96, 96));
    assert_eq!(s.train.labels, vec![0, 9]);
    assert_eq!(s.test.labels, vec![3]);
    assert_eq!(s.train.class_names, STL10_CLASSES.map(String::from).to_vec());

    let img = s.train.image(1);
    // The marker is at row 5, column 70 (not at row 70, column 5).
    assert_eq!(img.get(2, 5, 70), 1.0);
    assert_eq!(img.get(2, 70, 5), stl_value(7, 2, 70, 5));
    assert_ne!(img.get(2, 70, 5), 1.0);
    for &(c, y, x) in &[(0, 0, 1), (0, 1, 0), (1, 95, 3), (2, 10, 90)] {
        assert_eq!(img.get(c, y, x), stl_value(7, c, y, x), "pixel ({c}, {y}, {x})");
    }
    assert_eq!(s.test.image(0).get(1, 40, 2), stl_value(3, 1, 40, 2));
}

#[test]
fn stl10_label_out_of_range_is_an_error_naming_the_file() {
    for bad in [0u8, 11] {
        let tmp = TempDir::new().unwrap();
        write_stl10(tmp.path());
        write(&tmp.path().join("train_y.bin"), &[1, bad]);
        let msg = err_naming(load_stl10(tmp.path()), "train_y.bin");
        assert!(msg.contains(&format!("label {bad}")), "{msg}");
    }
}

#[test]
fn stl10_truncated_images_file_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_stl10(tmp.path());
    write(&tmp.path().join("test_X.bin"), &stl_image(0)[..STL_IMAGE - 1]);
    err_naming(load_stl10(tmp.path()), "test_X.bin");
}

#[test]
fn stl10_image_and_label_counts_must_agree() {
    let tmp = TempDir::new().unwrap();
    write_stl10(tmp.path());
    write(&tmp.path().join("test_y.bin"), &[1, 2]);
    let msg = err_naming(load_stl10(tmp.path()), "test_y.bin");
    assert!(msg.contains("test_X.bin"), "{msg}");
}

#[test]
fn stl10_missing_file_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    write_stl10(tmp.path());
    std::fs::remove_file(tmp.path().join("test_y.bin")).unwrap();
    err_naming(load_stl10(tmp.path()), "test_y.bin");
}

// ---------------------------------------------------------------------------------------------
// Image folders
// ---------------------------------------------------------------------------------------------

fn save_rgb(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y))).save(path).unwrap();
}

fn save_gray(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)])).save(path).unwrap();
}

/// Flat layout: `cat/` and `dog/` with six 4×3 (w×h) RGB PNGs each, named `0.png`..`5.png`,
/// whose pixel (x, y) is `[10 * i + x, 100 + y, class]`.
fn write_flat_folder(dir: &Path) {
    // Written in reverse order: the loader must sort the classes.
    for (name, class) in [("dog", 1u8), ("cat", 0)] {
        for i in 0..6u32 {
            save_rgb(&dir.join(name).join(format!("{i}.png")), 4, 3, |x, y| {
                [(10 * i + x) as u8, (100 + y) as u8, class]
            });
        }
    }
}

#[test]
fn folder_flat_layout_splits_every_fifth_file_to_test() {
    let tmp = TempDir::new().unwrap();
    write_flat_folder(tmp.path());
    let s = load_folder(tmp.path(), None).unwrap();
    assert_eq!(s.train.class_names, vec!["cat".to_string(), "dog".to_string()]);
    assert_eq!((s.train.channels, s.train.height, s.train.width), (3, 3, 4));
    assert_eq!((s.train.len(), s.test.len()), (10, 2));
    assert_eq!(s.train.labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert_eq!(s.test.labels, vec![0, 1]);
    // Train image 6 is dog/1.png; pixel (x=3, y=2).
    let img = s.train.image(6);
    assert_eq!(img.get(0, 2, 3), px(13));
    assert_eq!(img.get(1, 2, 3), px(102));
    assert_eq!(img.get(2, 2, 3), px(1));
    // Test images are cat/4.png and dog/4.png.
    assert_eq!(s.test.image(0).get(0, 0, 0), px(40));
    assert_eq!(s.test.image(0).get(2, 0, 0), 0.0);
    assert_eq!(s.test.image(1).get(0, 1, 2), px(42));
    assert_eq!(s.test.image(1).get(2, 1, 2), px(1));
}

#[test]
fn folder_split_layout_grayscale_stays_one_channel() {
    let tmp = TempDir::new().unwrap();
    for (split, n) in [("train", 3u32), ("test", 1)] {
        for class in ["a", "b"] {
            for i in 0..n {
                save_gray(&tmp.path().join(split).join(class).join(format!("{i}.png")), 5, 2, |x, y| {
                    (x * 20 + y * 3 + i) as u8
                });
            }
        }
    }
    let s = load_folder(tmp.path(), None).unwrap();
    assert_eq!((s.train.channels, s.train.height, s.train.width), (1, 2, 5));
    assert_eq!((s.train.len(), s.test.len()), (6, 2));
    assert_eq!(s.train.labels, vec![0, 0, 0, 1, 1, 1]);
    assert_eq!(s.test.labels, vec![0, 1]);
    assert_eq!(s.train.image(2).get(0, 1, 4), px(4 * 20 + 3 + 2));
    let rgb = s.train.to_rgb();
    assert_eq!(rgb.channels, 3);
    for c in 0..3 {
        assert_eq!(rgb.image(2).get(c, 1, 4), px(85));
    }
    assert!(s.test.name.starts_with("folder:"), "{}", s.test.name);
}

#[test]
fn folder_mixed_gray_and_rgb_becomes_rgb() {
    let tmp = TempDir::new().unwrap();
    for i in 0..2u32 {
        save_gray(&tmp.path().join("g").join(format!("{i}.png")), 2, 2, |x, _| (60 + x) as u8);
    }
    save_rgb(&tmp.path().join("r").join("0.bmp"), 2, 2, |_, _| [1, 2, 3]);
    let s = load_folder(tmp.path(), None).unwrap();
    assert_eq!(s.train.channels, 3);
    assert_eq!(s.train.len(), 3);
    let gray = s.train.image(0);
    for c in 0..3 {
        assert_eq!(gray.get(c, 0, 1), px(61));
    }
    let rgb = s.train.image(2);
    assert_eq!((rgb.get(0, 1, 1), rgb.get(1, 1, 1), rgb.get(2, 1, 1)), (px(1), px(2), px(3)));
}

#[test]
fn folder_resizes_to_requested_size_as_height_width() {
    let tmp = TempDir::new().unwrap();
    for i in 0..2u32 {
        save_rgb(&tmp.path().join("c").join(format!("{i}.png")), 8, 8, |_, _| [200, 50, 0]);
    }
    let s = load_folder(tmp.path(), Some((4, 6))).unwrap();
    assert_eq!((s.train.channels, s.train.height, s.train.width), (3, 4, 6));
    // A uniform image stays uniform under bilinear resizing.
    let img = s.train.image(1);
    assert!(img.data[..24].iter().all(|&v| v == px(200)));
    assert!(img.data[24..48].iter().all(|&v| v == px(50)));
    assert!(img.data[48..].iter().all(|&v| v == 0.0));
}

#[test]
fn folder_resizes_to_first_image_size_by_default() {
    let tmp = TempDir::new().unwrap();
    save_gray(&tmp.path().join("c").join("a.png"), 3, 2, |_, _| 9);
    save_gray(&tmp.path().join("c").join("b.png"), 12, 8, |_, _| 9);
    let s = load_folder(tmp.path(), None).unwrap();
    assert_eq!((s.train.channels, s.train.height, s.train.width), (1, 2, 3));
    assert_eq!(s.train.len(), 2);
    assert!(s.train.pixels.iter().all(|&v| v == px(9)));
}

#[test]
fn folder_skips_non_image_and_hidden_files_and_reads_jpeg() {
    let tmp = TempDir::new().unwrap();
    save_rgb(&tmp.path().join("c").join("0.PNG"), 2, 2, |_, _| [5, 5, 5]);
    save_rgb(&tmp.path().join("c").join("1.jpg"), 8, 8, |_, _| [128, 128, 128]);
    write(&tmp.path().join("c").join("notes.txt"), b"not an image");
    write(&tmp.path().join("c").join(".hidden.png"), b"garbage");
    write(&tmp.path().join("README.md"), b"top-level files are ignored");
    let s = load_folder(tmp.path(), None).unwrap();
    assert_eq!(s.train.len(), 2);
    assert_eq!(s.train.class_names, vec!["c".to_string()]);
    assert_eq!(s.train.image(0).get(1, 1, 1), px(5));
    // JPEG is lossy: only approximately the stored gray.
    let v = s.train.image(1).get(0, 1, 1);
    assert!((v - px(128)).abs() < 0.05, "{v}");
}

#[test]
fn folder_missing_dir_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    err_naming(load_folder(&tmp.path().join("no-images-here"), None), "no-images-here");
}

#[test]
fn folder_without_class_subfolders_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("emptyset");
    std::fs::create_dir(&dir).unwrap();
    write(&dir.join("stray.png"), b"files directly in the folder are not a class");
    let msg = err_naming(load_folder(&dir, None), "emptyset");
    assert!(msg.contains("class"), "{msg}");
}

#[test]
fn folder_class_without_images_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    save_gray(&tmp.path().join("full").join("0.png"), 2, 2, |_, _| 0);
    write(&tmp.path().join("lonely").join("readme.txt"), b"no images");
    err_naming(load_folder(tmp.path(), None), "lonely");
}

#[test]
fn folder_corrupt_png_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    save_gray(&tmp.path().join("c").join("0.png"), 2, 2, |_, _| 0);
    let mut bytes = std::fs::read(tmp.path().join("c").join("0.png")).unwrap();
    bytes.truncate(bytes.len() / 2);
    write(&tmp.path().join("c").join("broken.png"), &bytes);
    err_naming(load_folder(tmp.path(), None), "broken.png");
}

#[test]
fn folder_test_class_unknown_to_train_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    save_gray(&tmp.path().join("train").join("a").join("0.png"), 2, 2, |_, _| 0);
    save_gray(&tmp.path().join("test").join("zebra").join("0.png"), 2, 2, |_, _| 0);
    err_naming(load_folder(tmp.path(), None), "zebra");
}

#[test]
fn folder_zero_size_is_a_config_error() {
    let tmp = TempDir::new().unwrap();
    save_gray(&tmp.path().join("c").join("0.png"), 2, 2, |_, _| 0);
    assert!(matches!(load_folder(tmp.path(), Some((0, 4))), Err(Error::Config(_))));
}

// ---------------------------------------------------------------------------------------------
// DatasetSpec
// ---------------------------------------------------------------------------------------------

fn dir_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn spec_parses_every_form_and_round_trips() {
    let tmp = TempDir::new().unwrap();
    let d: PathBuf = tmp.path().to_path_buf();
    let s = dir_str(&d);
    let cases = [
        ("shapes".to_string(), DatasetSpec::Shapes),
        ("textures".to_string(), DatasetSpec::Textures),
        (format!("mnist:{s}"), DatasetSpec::Mnist(d.clone())),
        (format!("fashion-mnist:{s}"), DatasetSpec::FashionMnist(d.clone())),
        (format!("cifar10:{s}"), DatasetSpec::Cifar10(d.clone())),
        (format!("cifar100:{s}"), DatasetSpec::Cifar100(d.clone())),
        (format!("stl10:{s}"), DatasetSpec::Stl10(d.clone())),
        (format!("folder:{s}"), DatasetSpec::Folder(d.clone())),
    ];
    for (text, expected) in cases {
        let parsed: DatasetSpec = text.parse().unwrap();
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(parsed.to_string(), text);
        assert_eq!(parsed.to_string().parse::<DatasetSpec>().unwrap(), parsed);
    }
}

#[test]
fn spec_kind_is_case_insensitive_and_dir_may_contain_colons() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path().join("a:b");
    std::fs::create_dir(&d).unwrap();
    let spec: DatasetSpec = format!("CIFAR10:{}", dir_str(&d)).parse().unwrap();
    assert_eq!(spec, DatasetSpec::Cifar10(d.clone()));
    assert_eq!(spec.to_string(), format!("cifar10:{}", dir_str(&d)));
}

#[test]
fn spec_unknown_kind_lists_valid_forms() {
    for text in ["imagenet:/tmp", "mnist2", ""] {
        let err = text.parse::<DatasetSpec>().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        let msg = err.to_string();
        for form in
            ["textures", "shapes", "mnist:DIR", "fashion-mnist:DIR", "cifar10:DIR", "cifar100:DIR", "stl10:DIR", "folder:DIR"]
        {
            assert!(msg.contains(form), "`{msg}` does not list `{form}`");
        }
    }
}

#[test]
fn spec_missing_dir_lists_valid_forms() {
    for text in ["mnist", "cifar100:", "folder:"] {
        let err = text.parse::<DatasetSpec>().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(err.to_string().contains("stl10:DIR"), "{err}");
    }
    assert!(matches!("shapes:/tmp".parse::<DatasetSpec>(), Err(Error::Config(_))));
}

#[test]
fn spec_nonexistent_dir_is_named() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("not-downloaded-yet");
    let err = format!("stl10:{}", dir_str(&missing)).parse::<DatasetSpec>().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("not-downloaded-yet"), "{err}");
}

#[test]
fn spec_load_calls_the_matching_loader_or_generator() {
    for (spec, name) in [(DatasetSpec::Textures, "textures/train"), (DatasetSpec::Shapes, "shapes/train")] {
        let built = spec.load(5).unwrap();
        assert_eq!((built.train.name.as_str(), built.train.len(), built.test.len()), (name, 10_000, 2_000));
    }

    let tmp = TempDir::new().unwrap();
    write_mnist(tmp.path(), false);
    let mnist: DatasetSpec = format!("mnist:{}", dir_str(tmp.path())).parse().unwrap();
    check_mnist_fixture(&mnist.load(0).unwrap());
    let fashion = DatasetSpec::FashionMnist(tmp.path().to_path_buf()).load(0).unwrap();
    assert_eq!(fashion.train.class_names[0], "T-shirt/top");
    // The same directory is not a CIFAR-10 directory.
    let cifar = DatasetSpec::Cifar10(tmp.path().to_path_buf()).load(0);
    assert!(cifar.unwrap_err().to_string().contains("data_batch_1.bin"));

    let c10 = TempDir::new().unwrap();
    write_cifar10(c10.path());
    assert_eq!(DatasetSpec::Cifar10(c10.path().to_path_buf()).load(0).unwrap().train.len(), 10);
    let c100 = TempDir::new().unwrap();
    write_cifar100(c100.path());
    assert_eq!(
        DatasetSpec::Cifar100(c100.path().to_path_buf()).load(0).unwrap().train.num_classes(),
        100
    );
    let stl = TempDir::new().unwrap();
    write_stl10(stl.path());
    assert_eq!(DatasetSpec::Stl10(stl.path().to_path_buf()).load(0).unwrap().test.len(), 1);
    let folder = TempDir::new().unwrap();
    write_flat_folder(folder.path());
    assert_eq!(DatasetSpec::Folder(folder.path().to_path_buf()).load(0).unwrap().test.len(), 2);
}
