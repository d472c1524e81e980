//! Do the methods learn? Each test trains for real on the built-in dataset and compares the
//! kNN accuracy of the trained encoder with the same encoder at random initialisation.
//! They print what they measure (run with `--nocapture` to see it).

use selfsup::data::procedural::ProceduralConfig;
use selfsup::data::{shapes, textures};
use selfsup::nn::TinyConvNet;
use selfsup::run;
use selfsup::supervised::Classifier;
use selfsup::train::{RunConfig, TrainConfig};
use dfdx::prelude::*;

#[test]
fn supervised_default_encoder_reaches_90_percent() {
    // Both built-in datasets are learnable: the kit's default encoder, trained with labels,
    // must reach 90% test accuracy (raw pixels get < 40% with kNN, see tests/shapes_hardness.rs).
    let cfg = ProceduralConfig { n_train: 10_000, n_test: 2_000, ..ProceduralConfig::default() };
    for (name, splits) in [("shapes", shapes::generate(&cfg)), ("textures", textures::generate(&cfg))] {
        let dev = Cpu::seed_from_u64(0);
        let mut model = Classifier::<TinyConvNet<Cpu>, 128, 10, f32, Cpu>::build(&dev);
        let before = model.test_accuracy(&dev, &splits);
        let acc = model.fit(&dev, &splits, 4, 128, 3e-3, 0);
        println!("supervised tiny-convnet on {name}: test top-1 {:.1}% (untrained {:.1}%)", 100.0 * acc, 100.0 * before);
        assert!(acc >= 0.90, "supervised accuracy on {name}: {acc}");
    }
}

#[test]
fn simclr_beats_random_init_by_a_clear_margin() {
    let dir = tempfile::tempdir().unwrap();
    // A short run on `shapes`, where 2 epochs suffice (on `textures` SimCLR's small crops need
    // its whole 8-epoch budget, which CI checks on the default run).
    let mut cfg = RunConfig::for_method("simclr").unwrap().on_dataset("shapes").unwrap();
    cfg.train = TrainConfig { encoder: "tiny-convnet".into(), epochs: 2, train_images: 5_000, test_images: 1_000, ..cfg.train };
    let s = run::train(&cfg, dir.path(), false, true).unwrap();
    println!("{}", s.line());
    assert!(s.knn_top1 >= s.baseline_knn_top1 + 0.10, "kNN {} vs random init {}", s.knn_top1, s.baseline_knn_top1);
    assert!(s.collapse_std > 0.3 * s.healthy_collapse_std, "collapsed: {}", s.collapse_std);
}
