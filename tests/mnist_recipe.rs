//! The per-dataset augmentation recipes (`selfsup::data::recipe`): every dataset kind has one,
//! `--dataset` selects it, flags override it, and `config.json` records what was used. The
//! real-data check (SimCLR on the MNIST split beats random init) is `.ci/mnist.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use selfsup::data::recipe::{self, RECIPES};
use selfsup::train::TrainConfig;

/// The real MNIST split shared by every machine that runs the tests (see `../shared/data`).
fn mnist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist-t10k-split")
}

fn mnist_spec() -> Option<String> {
    let candidates = [mnist_dir(), Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist-t10k-split")];
    candidates.iter().find(|d| d.is_dir()).map(|d| format!("mnist:{}", d.display()))
}

#[test]
fn every_dataset_kind_has_exactly_one_recipe() {
    for kind in ["shapes", "mnist", "fashion-mnist", "cifar10", "cifar100", "stl10", "folder"] {
        let rows = RECIPES.iter().filter(|r| r.kinds.contains(&kind)).count();
        assert_eq!(rows, 1, "{kind}: {rows} recipes");
        assert!(recipe::for_kind(kind).is_some());
    }
    for r in RECIPES {
        assert!(r.crop_min_scale > 0.0 && r.crop_min_scale <= 1.0, "{}", r.name);
        assert!(r.color_strength >= 0.0, "{}", r.name);
    }
}

#[test]
fn the_defaults_are_the_shapes_recipe_and_the_papers_crop() {
    let shapes = recipe::for_kind("shapes").unwrap();
    let d = TrainConfig::default();
    assert_eq!((d.crop_min_scale, d.color_strength, d.recipe.as_str()), (shapes.crop_min_scale, shapes.color_strength, "shapes"));
    // SimCLR / MoCo v2 at 32 px: crops of 20-100% of the image, on shapes and on photos.
    assert_eq!(shapes.crop_min_scale, 0.2);
    assert_eq!(recipe::for_kind("cifar10").unwrap().crop_min_scale, 0.2);
    assert_eq!(TrainConfig::for_method_on("simclr", "shapes").unwrap(), TrainConfig::for_method("simclr"));
}

#[test]
fn for_method_on_takes_the_datasets_recipe_and_keeps_the_methods_colour_factor() {
    let Some(mnist) = mnist_spec() else {
        eprintln!("skipped: no MNIST split at {}", mnist_dir().display());
        return;
    };
    let digits = recipe::for_kind("mnist").unwrap();
    let cfg = TrainConfig::for_method_on("simclr", &mnist).unwrap();
    assert_eq!((cfg.crop_min_scale, cfg.color_strength), (digits.crop_min_scale, digits.color_strength));
    assert_eq!((cfg.recipe.as_str(), cfg.dataset.as_str()), ("grayscale-digits", mnist.as_str()));
    // Deep InfoMax jitters twice as hard as SimCLR on every dataset.
    let dim = TrainConfig::for_method_on("dim", &mnist).unwrap();
    assert_eq!(dim.color_strength, 2.0 * digits.color_strength);
    assert!(TrainConfig::for_method_on("simclr", "nonsense:/nowhere").is_err());
}

fn train_config_json(extra: &[&str]) -> serde_json::Value {
    let mnist = mnist_spec().expect("MNIST split");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec!["train", "--dataset", &mnist, "--epochs", "1", "--train-images", "128", "--test-images", "64", "--quiet"];
    args.extend_from_slice(extra);
    let out_s = out.display().to_string();
    args.extend_from_slice(&["--out", &out_s]);
    let o = Command::new(env!("CARGO_BIN_EXE_selfsup")).args(&args).output().expect("run selfsup");
    assert!(o.status.success(), "selfsup {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap()
}

#[test]
fn the_command_line_applies_the_recipe_then_the_flags_and_records_both() {
    if mnist_spec().is_none() {
        eprintln!("skipped: no MNIST split at {}", mnist_dir().display());
        return;
    }
    let c = train_config_json(&[]);
    assert_eq!(c["recipe"], "grayscale-digits");
    assert_eq!(c["crop_min_scale"], 0.5);
    assert_eq!(c["color_strength"], 0.5);
    let c = train_config_json(&["--crop-min-scale", "0.2"]);
    assert_eq!(c["recipe"], "grayscale-digits + flags");
    assert_eq!(c["crop_min_scale"], 0.2);
    assert_eq!(c["color_strength"], 0.5);
}
