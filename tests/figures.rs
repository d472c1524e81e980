//! `selfsup figures` end to end on a tiny checkpoint: every slide figure is written, a missing
//! required experiment is reported by name, and once its JSON exists its figures appear.

use selfsup::figures::{generate, FiguresConfig};
use selfsup::train::{RunConfig, TrainConfig};

#[test]
fn figures_are_all_written_and_a_missing_experiment_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let mut tiny = RunConfig::for_method("simclr").unwrap();
    tiny.train = TrainConfig { epochs: 1, train_images: 128, test_images: 100, batch_size: 32, ..tiny.train };
    selfsup::run::train(&tiny, &run_dir, false, true).unwrap();

    let experiments = dir.path().join("experiments");
    std::fs::create_dir_all(&experiments).unwrap();
    let cfg = FiguresConfig {
        out: dir.path().join("figures"),
        experiments: experiments.clone(),
        checkpoint: Some(run_dir.join("checkpoint.safetensors")),
        run: RunConfig { train: TrainConfig { test_images: 100, ..TrainConfig::default() }, ..tiny.clone() },
        quiet: true,
        ..FiguresConfig::default()
    };
    let report = generate(&cfg).unwrap();
    for name in [
        "shapes-samples.png",
        "augmentation-grid.png",
        "augmentation-grid-strong.png",
        "infonce-temperature.png",
        "simclr-pca.png",
        "random-init-pca.png",
        "simclr-similarity.png",
        "random-init-similarity.png",
        "simclr-loss.png",
    ] {
        let path = cfg.out.join(name);
        assert!(report.written.contains(&path), "{name} not reported as written");
        let img = image::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(img.width() > 100 && img.height() > 100, "{name}: {}x{}", img.width(), img.height());
    }
    assert!(report.simclr.is_some(), "the checkpoint's summary.json should be read for the titles");
    let err = report.check().unwrap_err().to_string();
    assert!(err.contains("moco-momentum.json: not found"), "{err}");
    assert!(!cfg.out.join("moco-momentum.png").exists());

    let json = r#"{"experiment": "moco-momentum", "parameter": "momentum", "baseline_knn_top1": 0.2,
        "rows": [{"value": 0.99, "label": "m = 0.99", "knn_top1": 0.3, "linear_top1": 0.3, "final_loss": 5.0, "wall_seconds": 60}],
        "verdict": "test data", "settings": {}}"#;
    std::fs::write(experiments.join("moco-momentum.json"), json).unwrap();
    let report = generate(&cfg).unwrap();
    report.check().unwrap();
    assert!(cfg.out.join("moco-momentum.png").exists() && cfg.out.join("moco-momentum-table.png").exists());

    // A checkpoint without its config.json is refused with the file's name.
    let bad = FiguresConfig { checkpoint: Some(dir.path().join("nowhere/checkpoint.safetensors")), ..cfg };
    let err = generate(&bad).unwrap_err().to_string();
    assert!(err.contains("nowhere/config.json"), "{err}");
}
