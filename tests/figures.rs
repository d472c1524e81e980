//! `selfsup figures` end to end on a tiny checkpoint: every slide figure is written, a missing
//! required experiment is reported by name, and once its JSON exists its figures appear (with
//! the rank chart for the collapse experiments, their trace chart when the JSON has traces, and
//! the soft targets for distillation).

use selfsup::experiments::kd;
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
        "textures-samples.png",
        "shapes-samples.png",
        "augmentation-grid.png",
        "augmentation-grid-strong.png",
        "infonce-temperature.png",
        "simclr-retrieval.png",
        "simclr-tsne.png",
        "random-init-tsne.png",
        "simclr-similarity.png",
        "random-init-similarity.png",
        "simclr-loss.png",
        "barlow-cross-correlation.png",
        "byol-tau-schedule.png",
        "swav-codes.png",
        "multicrop-views.png",
        "simclr-kmeans.png",
        "random-init-kmeans.png",
    ] {
        let path = cfg.out.join(name);
        assert!(report.written.contains(&path), "{name} not reported as written");
        let img = image::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(img.width() > 100 && img.height() > 100, "{name}: {}x{}", img.width(), img.height());
    }
    assert!(report.simclr.is_some(), "the checkpoint's summary.json should be read for the titles");
    // Every experiment a deck shows is named when its JSON is missing.
    let err = report.check().unwrap_err().to_string();
    for name in selfsup::figures::REQUIRED_EXPERIMENTS {
        assert!(err.contains(&format!("{name}.json: not found")), "{name}: {err}");
        assert!(!cfg.out.join(format!("{name}.png")).exists());
    }

    let json = r#"{"experiment": "moco-momentum", "parameter": "momentum", "baseline_knn_top1": 0.2,
        "rows": [{"value": 0.99, "label": "m = 0.99", "knn_top1": 0.3, "linear_top1": 0.3, "final_loss": 5.0, "wall_seconds": 60}],
        "verdict": "test data", "settings": {}}"#;
    std::fs::write(experiments.join("moco-momentum.json"), json).unwrap();
    let report = generate(&cfg).unwrap();
    let err = report.check().unwrap_err().to_string();
    assert!(!err.contains("moco-momentum") && err.contains("barlow-lambda.json: not found"), "{err}");
    assert!(cfg.out.join("moco-momentum.png").exists() && cfg.out.join("moco-momentum-table.png").exists());
    assert!(!cfg.out.join("moco-momentum-rank.png").exists(), "no effective rank in its rows, so no rank chart");

    // Part 2: the collapse experiments carry effective ranks (here only the features' for
    // byol-collapse, as its first runs had) and, when saved since runs are traced, collapse
    // traces (here byol-collapse's; barlow-lambda's JSON predates them); kd-temperature has its
    // own format.
    let collapse = |name: &str, projections: bool| {
        let z = if projections { r#", "projection_effective_rank": 9.5"# } else {
            r#", "collapse_trace": [{"step": 0, "collapse_std": 0.09, "effective_rank": 30.0, "dim": 128, "projection_collapse_std": 0.088, "projection_effective_rank": 60.0, "projection_dim": 128},
                                    {"step": 20, "collapse_std": 0.05, "effective_rank": 20.0, "dim": 128, "projection_collapse_std": 0.001, "projection_effective_rank": 1.5, "projection_dim": 128}]"#
        };
        format!(
            r#"{{"experiment": "{name}", "parameter": "p", "baseline_knn_top1": 0.2,
            "rows": [{{"value": 0, "label": "a", "knn_top1": 0.3, "linear_top1": 0.35, "final_loss": 1.0, "wall_seconds": 60, "effective_rank": 30.0{z}}},
                     {{"value": 1, "label": "b", "knn_top1": 0.5, "linear_top1": 0.55, "final_loss": 2.0, "wall_seconds": 61, "effective_rank": 31.0{z}}}],
            "verdict": "test data", "settings": {{}}}}"#
        )
    };
    std::fs::write(experiments.join("barlow-lambda.json"), collapse("barlow-lambda", true)).unwrap();
    std::fs::write(experiments.join("byol-collapse.json"), collapse("byol-collapse", false)).unwrap();
    let row = |label: &str, t: Option<f64>, acc: f64| kd::KdRow { label: label.into(), temperature: t, accuracy: acc, runs: vec![acc], wall_seconds: 1.0 };
    let mut budget = kd::KdBudget::from_base(&TrainConfig::default(), 1);
    budget.seeds = 1;
    let distilled = kd::KdExperiment {
        experiment: kd::NAME.into(),
        budget,
        rows: vec![row("teacher", None, 0.9), row("student, labels only", None, 0.6), row("student, KD T = 2", Some(2.0), 0.62)],
        soft_targets: kd::TEMPERATURES.iter().map(|&t| kd::softmax(&[3.0, 1.0, 0.0], t as f64)).collect(),
        class_names: vec!["x".into(), "y".into(), "z".into()],
        verdict: "test data".into(),
    };
    std::fs::write(experiments.join("kd-temperature.json"), serde_json::to_string(&distilled).unwrap()).unwrap();
    // Part 3: DeepCluster's rows carry their clusterings, SwAV's equipartition its traces.
    let balance = r#", "cluster_balance": [{"epoch": 0, "non_empty": 3, "largest_share": 0.4, "effective_clusters": 2.9, "sorted_sizes": [4, 3, 3]},
                                          {"epoch": 1, "non_empty": 2, "largest_share": 0.9, "effective_clusters": 1.4, "sorted_sizes": [9, 1, 0]}]"#;
    let clustered = format!(
        r#"{{"experiment": "deepcluster-collapse", "parameter": "variant", "baseline_knn_top1": 0.2,
        "rows": [{{"value": 0, "label": "a", "knn_top1": 0.6, "linear_top1": 0.6, "wall_seconds": 60{balance}}},
                 {{"value": 3, "label": "b", "knn_top1": 0.2, "linear_top1": 0.3, "wall_seconds": 60{balance}}}],
        "verdict": "test data", "settings": {{}}}}"#
    );
    std::fs::write(experiments.join("deepcluster-collapse.json"), clustered).unwrap();
    std::fs::write(experiments.join("swav-equipartition.json"), collapse("swav-equipartition", false)).unwrap();
    std::fs::write(experiments.join("multi-crop.json"), json.replace("moco-momentum", "multi-crop")).unwrap();
    std::fs::write(experiments.join("augmentations.json"), json.replace("moco-momentum", "augmentations")).unwrap();
    // Part 4: the two DINO experiments, and the attention figure that `dino-backbone`'s ViT
    // run draws (named, with the command that makes it, while it is missing).
    std::fs::write(experiments.join("dino-collapse.json"), json.replace("moco-momentum", "dino-collapse")).unwrap();
    std::fs::write(experiments.join("dino-backbone.json"), json.replace("moco-momentum", "dino-backbone")).unwrap();
    let err = generate(&cfg).unwrap().check().unwrap_err().to_string();
    assert!(err.contains("dino-backbone-attention.png") && err.contains("selfsup experiment dino-backbone") && !err.contains(".json"), "{err}");
    selfsup::plot::Figure::from_rgb(120, 110, vec![200; 120 * 110 * 3]).unwrap().save_png(experiments.join("dino-backbone-attention.png")).unwrap();
    let report = generate(&cfg).unwrap();
    report.check().unwrap();
    for name in [
        "barlow-lambda.png",
        "barlow-lambda-table.png",
        "barlow-lambda-rank.png",
        "byol-collapse.png",
        "byol-collapse-table.png",
        "byol-collapse-rank.png",
        "byol-collapse-trace.png",
        "kd-temperature.png",
        "kd-temperature-table.png",
        "kd-temperature-soft-targets.png",
        "deepcluster-collapse.png",
        "deepcluster-collapse-clusters.png",
        "swav-equipartition-trace.png",
        "multi-crop.png",
        "multi-crop-table.png",
        "augmentations.png",
        "augmentations-table.png",
        "dino-collapse.png",
        "dino-backbone.png",
        "dino-backbone-table.png",
        "dino-attention.png",
    ] {
        let path = cfg.out.join(name);
        assert!(report.written.contains(&path), "{name} not reported as written");
        let img = image::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(img.width() > 100 && img.height() > 100, "{name}: {}x{}", img.width(), img.height());
    }

    assert!(!cfg.out.join("barlow-lambda-trace.png").exists(), "a JSON without traces gets no trace chart");
    assert!(!cfg.out.join("multi-crop-clusters.png").exists(), "only rows with clusterings get a cluster chart");

    // A checkpoint without its config.json is refused with the file's name.
    let bad = FiguresConfig { checkpoint: Some(dir.path().join("nowhere/checkpoint.safetensors")), ..cfg };
    let err = generate(&bad).unwrap_err().to_string();
    assert!(err.contains("nowhere/config.json"), "{err}");
}

#[test]
fn the_barlow_heatmap_shows_a_real_cross_correlation_far_from_the_identity() {
    let c = selfsup::figures::barlow_cross_correlation(0).unwrap();
    assert_eq!((c.dim, c.c.len()), (128, 128 * 128));
    assert!(c.c.iter().all(|v| (-1.0 - 1e-4..=1.0 + 1e-4).contains(v)), "a correlation lies in [-1, 1]");
    // Untrained, two views of an image agree only partly on each dimension: the invariance
    // term is well above 0 and below its value for a collapsed (constant) output, D.
    assert!(c.invariance > 1.0 && c.invariance < 128.0, "{}", c.invariance);
    let by_hand: f32 = (0..128).map(|i| (1.0 - c.c[i * 129]).powi(2)).sum();
    assert!((by_hand - c.invariance).abs() < 1e-3);
    assert!(c.figure.width > 1000 && c.figure.height > 400, "{}x{}", c.figure.width, c.figure.height);
    // Same seed, same network and views: the same picture.
    assert_eq!(c.figure, selfsup::figures::barlow_cross_correlation(0).unwrap().figure);
}

#[test]
fn the_codes_figure_shows_sinkhorn_sharing_the_batch_where_the_softmax_does_not() {
    use selfsup::figures::clustering::{column_totals, swav_codes, CODES_IMAGES as B, CODES_PROTOTYPES as K};
    let f = swav_codes(0).unwrap();
    let (soft, codes) = (column_totals(&f.softmax, K), column_totals(&f.codes, K));
    // Each image's row is a distribution in both.
    for m in [&f.softmax, &f.codes] {
        for row in m.chunks(K) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{row:?}");
        }
    }
    // The softmax hands most of the batch to prototype 0 (its scores are 0.15 ahead)...
    assert!(soft[0] > 0.75 * B as f32, "softmax totals {soft:?}");
    // ...while Sinkhorn's codes come close to B / K = 4 for every prototype.
    let fair = B as f32 / K as f32;
    assert!(codes.iter().all(|&t| (t - fair).abs() < 0.25 * fair), "Sinkhorn totals {codes:?}");
    assert_eq!(f.codes, selfsup::methods::swav::sinkhorn(&f.scores, B, K, &Default::default()).unwrap());
}

#[test]
fn the_cluster_map_finds_well_separated_groups() {
    // Three tight groups of 20 points in 5 dimensions: k-means with k = 3 recovers them (NMI 1).
    let centres = [[1.0f32, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0]];
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for i in 0..60 {
        let c = centres[i % 3];
        x.extend(c.iter().enumerate().map(|(j, v)| v + 0.01 * (((i * 7 + j * 13) % 11) as f32 - 5.0) / 5.0));
        labels.push(i % 3);
    }
    let map = selfsup::figures::clustering::cluster_map(&x, 5, &labels, &["a", "b", "c"], "test", 0).unwrap();
    assert!((map.nmi - 1.0).abs() < 1e-9, "NMI {}", map.nmi);
    assert!(map.figure.width > 1000, "two panels side by side");
}
