//! `--train-images N` / `--test-images N` draw a class-balanced random subset for the run's
//! seed, whatever order the loader returns: on a folder loaded class by class, the first N
//! images would all be of the first classes.

use selfsup::data::dataset::ImageDataset;
use selfsup::image::Image;
use selfsup::run::load_dataset;
use selfsup::train::TrainConfig;
use std::path::Path;

/// Counts of each label in `set`.
fn per_class(set: &ImageDataset) -> Vec<usize> {
    let mut counts = vec![0; set.num_classes()];
    set.labels.iter().for_each(|&l| counts[l] += 1);
    counts
}

/// A folder of 4 classes of 10 images each (8×8 grey PNGs whose value says class and index);
/// the loader returns it sorted by class, and splits every fifth image to the test set.
fn class_sorted_folder(dir: &Path) {
    for class in 0..4u8 {
        let folder = dir.join(format!("class{class}"));
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..10u8 {
            image::GrayImage::from_fn(8, 8, |_, _| image::Luma([class * 40 + i])).save(folder.join(format!("{i}.png"))).unwrap();
        }
    }
}

fn config(dir: &Path, train: usize, test: usize, seed: u64) -> TrainConfig {
    TrainConfig { dataset: format!("folder:{}", dir.display()), train_images: train, test_images: test, seed, ..TrainConfig::default() }
}

#[test]
fn subsets_of_a_class_sorted_folder_hold_every_class_equally() {
    let tmp = tempfile::tempdir().unwrap();
    class_sorted_folder(tmp.path());
    let full = load_dataset(&config(tmp.path(), 0, 0, 0)).unwrap();
    assert_eq!((per_class(&full.train), per_class(&full.test)), (vec![8; 4], vec![2; 4]), "the fixture");
    assert!(full.train.labels.windows(2).all(|w| w[0] <= w[1]), "the loader returns the images class by class");

    let s = load_dataset(&config(tmp.path(), 12, 4, 7)).unwrap();
    assert_eq!(per_class(&s.train), vec![3; 4], "12 train images: 3 per class");
    assert_eq!(per_class(&s.test), vec![1; 4], "4 test images: 1 per class");
    // An uneven share: 2 or 3 per class.
    let s = load_dataset(&config(tmp.path(), 10, 0, 7)).unwrap();
    let counts = per_class(&s.train);
    assert_eq!(counts.iter().sum::<usize>(), 10);
    assert!(counts.iter().all(|&c| c == 2 || c == 3), "{counts:?}");
}

#[test]
fn the_subset_follows_the_seed_and_keeps_images_with_their_labels() {
    let tmp = tempfile::tempdir().unwrap();
    class_sorted_folder(tmp.path());
    let draw = |seed| load_dataset(&config(tmp.path(), 8, 0, seed)).unwrap().train;
    let (a, again, b) = (draw(1), draw(1), draw(2));
    assert_eq!(a.pixels, again.pixels, "the same seed draws the same subset");
    assert_ne!(a.pixels, b.pixels, "another seed draws another subset");
    for set in [&a, &b] {
        for i in 0..set.len() {
            // Grey value class * 40 + index, replicated to RGB by the loader.
            let class = (set.image(i).data[0] * 255.0).round() as usize / 40;
            assert_eq!(class, set.labels[i], "image {i} kept its label");
        }
    }
}

#[test]
fn a_class_that_runs_out_gives_its_share_to_the_others() {
    let mut set = ImageDataset::new("uneven", 1, 1, 1, vec!["a".into(), "b".into(), "c".into()]);
    for (label, count) in [(0, 1), (1, 10), (2, 10)] {
        for _ in 0..count {
            set.push(&Image::from_vec(1, 1, 1, vec![0.0]), label);
        }
    }
    let subset = set.balanced_subset(9, 3);
    assert_eq!(per_class(&subset), vec![1, 4, 4]);
    assert_eq!(set.balanced_subset(100, 3).labels, set.labels, "asking for more than there is keeps everything");
}
