//! `selfsup experiment`: the sweeps' settings, the verdict rules, and a tiny end-to-end run.

use selfsup::experiments::{run, sweep, verdict, EXPERIMENTS};
use selfsup::figures::{Experiment, ExperimentRow};
use selfsup::methods::{moco, simclr};
use selfsup::train::{RunConfig, TrainConfig};

fn base() -> TrainConfig {
    TrainConfig { epochs: 1, train_images: 200, test_images: 100, batch_size: 32, ..TrainConfig::default() }
}

fn row(label: &str, value: f64, knn: f64) -> ExperimentRow {
    ExperimentRow { value, label: label.into(), knn_top1: knn, linear_top1: knn, final_loss: None, wall_seconds: 1.0, knn_runs: Vec::new() }
}

/// A row trained with several seeds: `knn_top1` is the mean of `runs`.
fn seeded(label: &str, value: f64, runs: &[f64]) -> ExperimentRow {
    let mean = runs.iter().sum::<f64>() / runs.len() as f64;
    ExperimentRow { knn_runs: runs.to_vec(), ..row(label, value, mean) }
}

fn experiment(name: &str, baseline: f64, rows: Vec<ExperimentRow>) -> Experiment {
    Experiment { experiment: name.into(), parameter: "p".into(), baseline_knn_top1: baseline, rows, verdict: String::new(), settings: serde_json::Value::Null }
}

#[test]
fn every_experiment_changes_only_its_parameter() {
    for name in EXPERIMENTS {
        let s = sweep(name, &base()).unwrap();
        assert!(s.settings.len() >= 2, "{name}: a sweep needs at least two settings");
        for setting in &s.settings {
            assert_eq!(setting.config.train.train_images, 200, "{name}: the budget comes from the base config");
            if !(*name == "negatives" && setting.config.name() == "simclr") {
                assert_eq!(setting.config.train.epochs, 1, "{name}: the budget comes from the base config");
            }
        }
    }
    let m: Vec<f64> = sweep("moco-momentum", &base()).unwrap().settings.iter().map(|s| s.config.settings::<moco::Config>().momentum).collect();
    assert_eq!(m, vec![0.0, 0.9, 0.99, 0.999, 0.9999]);
    let neg = sweep("negatives", &base()).unwrap();
    assert_eq!(neg.settings[0].value, 30.0, "SimCLR with B = 16 has 2B - 2 negatives");
    assert_eq!(neg.settings.last().unwrap().config.settings::<moco::Config>().queue_size, 16384);
    let aug = sweep("augmentations", &base()).unwrap();
    assert_eq!(aug.settings[1].config.settings::<simclr::Config>().views.color_strength, 0.0);
    assert_eq!(aug.settings[2].config.settings::<simclr::Config>().views.crop_min_scale, 1.0);
    let err = sweep("bogus", &base()).unwrap_err().to_string();
    assert!(err.contains("bogus") && err.contains("moco-momentum"), "{err}");
}

/// `negatives` compares SimCLR's batch sizes at (nearly) the same number of optimizer steps, so
/// that it measures the number of negatives rather than the number of updates.
#[test]
fn the_batch_sweep_keeps_the_number_of_steps() {
    let s = sweep("negatives", &selfsup::experiments::default_base()).unwrap();
    let steps: Vec<usize> = s.settings.iter().filter(|r| r.config.name() == "simclr").map(|r| r.config.train.epochs * (r.config.train.train_images / r.config.train.batch_size)).collect();
    assert_eq!(steps.len(), 3);
    for st in &steps {
        assert!((*st as f64 - steps[1] as f64).abs() <= 0.01 * steps[1] as f64, "steps per setting: {steps:?}");
    }
}

/// `docs/experiments.md` is written from the saved JSON: every row, the baseline, the verdict
/// and the command that reproduces it.
#[test]
fn the_experiments_page_shows_every_saved_experiment() {
    use selfsup::experiments::{markdown_section, write_page};
    let mut e = experiment("mochi", 0.2, vec![seeded("MoCo", 0.0, &[0.5, 0.4, 0.45]), seeded("MoCo + MoCHi", 1.0, &[0.52, 0.43, 0.46])]);
    e.verdict = verdict("mochi", &e);
    e.settings = serde_json::json!({"claim": "synthetic hard negatives help", "seeds": 3});
    let section = markdown_section(&e, "../results/experiments");
    for want in ["## `mochi`", "synthetic hard negatives help", "selfsup experiment mochi --seeds 3", "| MoCo | 45.0% ± 5.0 | 50.0% / 40.0% / 45.0% |", "| random init | 20.0% | | | | |\n", &e.verdict, "](../results/experiments/mochi.png)"] {
        assert!(section.contains(want), "missing `{want}` in:\n{section}");
    }
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join("mochi.json"), serde_json::to_string(&e).unwrap()).unwrap();
    let page = dir.path().join("docs").join("experiments.md");
    write_page(&results, &page).unwrap();
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("## `mochi`") && !text.contains("## `temperature`"), "only saved experiments appear:\n{text}");
}

#[test]
fn by_default_each_run_trains_its_method_for_its_own_epochs_and_moco_sweeps_use_every_image() {
    use selfsup::experiments::default_base;
    for (name, method, images) in [
        ("moco-momentum", "moco", 10_000),
        ("temperature", "simclr", 5000),
        ("negatives", "simclr", 10_000),
        ("negatives", "moco", 10_000),
        ("mochi", "moco", 10_000),
        ("mochi", "mochi", 10_000),
    ] {
        let s = sweep(name, &default_base()).unwrap();
        let runs: Vec<_> = s.settings.iter().filter(|r| r.config.name() == method).collect();
        assert!(!runs.is_empty(), "{name} trains {method}");
        let recipe = RunConfig::for_method(method).unwrap();
        for r in runs {
            // SimCLR's batch sweep keeps the number of optimizer steps, not of epochs.
            let (train, default) = (&r.config.train, &recipe.train);
            let epochs = if name == "negatives" && method == "simclr" { default.epochs * train.batch_size / default.batch_size } else { default.epochs };
            assert_eq!((train.epochs, train.train_images), (epochs, images), "{name}: {}", r.label);
            assert_eq!(train.lr, default.lr, "{name}: {}", r.label);
            // Only the swept setting differs from the method's own settings.
            let swept = ["momentum", "queue_size", "tau"];
            let differs: Vec<String> = selfsup::train::config::leaves(&serde_json::to_value(&r.config.method).unwrap())
                .into_iter()
                .zip(selfsup::train::config::leaves(&serde_json::to_value(&recipe.method).unwrap()))
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.0)
                .collect();
            assert!(differs.iter().all(|k| swept.contains(&k.as_str())), "{name}: {} changes {differs:?}", r.label);
        }
    }
}

#[test]
fn verdicts_follow_the_numbers() {
    let shape = experiment("moco-momentum", 0.2, vec![row("m = 0", 0.0, 0.15), row("m = 0.9", 0.9, 0.3), row("m = 0.99", 0.99, 0.45), row("m = 0.999", 0.999, 0.4)]);
    assert!(verdict("moco-momentum", &shape).starts_with("Reproduces"), "{}", verdict("moco-momentum", &shape));
    assert!(verdict("moco-momentum", &shape).contains("m = 0 gives 15.0%, 30.0 points below it"), "{}", verdict("moco-momentum", &shape));
    let m0_learns = experiment("moco-momentum", 0.2, vec![row("m = 0", 0.0, 0.26), row("m = 0.9", 0.9, 0.25), row("m = 0.99", 0.99, 0.28)]);
    assert!(verdict("moco-momentum", &m0_learns).starts_with("Partly reproduces: the best m is in"), "{}", verdict("moco-momentum", &m0_learns));
    let best_high = experiment("moco-momentum", 0.2, vec![row("m = 0", 0.0, 0.15), row("m = 0.99", 0.99, 0.28), row("m = 0.9999", 0.9999, 0.3)]);
    assert!(verdict("moco-momentum", &best_high).starts_with("Partly reproduces: m = 0 fails"), "{}", verdict("moco-momentum", &best_high));
    let flat = experiment("moco-momentum", 0.2, vec![row("m = 0", 0.0, 0.18), row("m = 0.99", 0.99, 0.19)]);
    assert!(verdict("moco-momentum", &flat).starts_with("Not reproduced"), "{}", verdict("moco-momentum", &flat));
    let helps = experiment("mochi", 0.2, vec![row("MoCo", 0.0, 0.40), row("MoCo + MoCHi", 1.0, 0.43)]);
    assert!(verdict("mochi", &helps).starts_with("Reproduces"));
    let hurts = experiment("mochi", 0.2, vec![row("MoCo", 0.0, 0.40), row("MoCo + MoCHi", 1.0, 0.39)]);
    assert!(verdict("mochi", &hurts).starts_with("Does not reproduce"));
    // Several seeds: MoCHi's gain is judged seed by seed against its standard error.
    let steady = experiment("mochi", 0.2, vec![seeded("MoCo", 0.0, &[0.40, 0.45, 0.50]), seeded("MoCo + MoCHi", 1.0, &[0.42, 0.47, 0.53])]);
    let v = verdict("mochi", &steady);
    assert!(v.starts_with("Reproduces: over 3 seeds") && v.contains("+2.0, +2.0, +3.0"), "{v}");
    let noisy = experiment("mochi", 0.2, vec![seeded("MoCo", 0.0, &[0.40, 0.45, 0.50]), seeded("MoCo + MoCHi", 1.0, &[0.48, 0.41, 0.49])]);
    let v = verdict("mochi", &noisy);
    assert!(v.starts_with("Not shown") && v.contains("+1.0 points"), "{v}");
    let worse = experiment("mochi", 0.2, vec![seeded("MoCo", 0.0, &[0.40, 0.45]), seeded("MoCo + MoCHi", 1.0, &[0.38, 0.44])]);
    assert!(verdict("mochi", &worse).starts_with("Does not reproduce"), "{}", verdict("mochi", &worse));
    assert_eq!(steady.rows[1].knn_std().map(|s| (s * 1e4).round()), Some(551.0));
    assert_eq!(row("MoCo", 0.0, 0.4).knn_std(), None);
    let colour = experiment("augmentations", 0.2, vec![row("crop + colour", 0.0, 0.6), row("no colour jitter", 1.0, 0.3)]);
    assert!(verdict("augmentations", &colour).starts_with("Reproduces"));
}

#[test]
fn a_tiny_sweep_writes_its_json_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let s = sweep("mochi", &base()).unwrap();
    let result = run(&s, &dir.path().join("runs"), &dir.path().join("out"), true).unwrap();
    assert_eq!(result.rows.len(), 2);
    let back = Experiment::load(&dir.path().join("out/mochi.json")).unwrap();
    assert_eq!(back.rows.len(), 2);
    assert_eq!(back.verdict, result.verdict);
    assert!(back.rows.iter().all(|r| (0.0..=1.0).contains(&r.knn_top1) && r.wall_seconds > 0.0));
    let png = image::open(dir.path().join("out/mochi.png")).unwrap();
    assert!(png.width() > 100 && png.height() > 100);

    // --rejudge: the verdict is recomputed from the saved rows, nothing else changes.
    let path = dir.path().join("out/mochi.json");
    let mut stale = back.clone();
    stale.verdict = "stale".into();
    std::fs::write(&path, serde_json::to_string(&stale).unwrap()).unwrap();
    let judged = selfsup::experiments::rejudge("mochi", &path).unwrap();
    assert_eq!(judged.verdict, result.verdict);
    assert_eq!(Experiment::load(&path).unwrap().verdict, result.verdict);
    let err = selfsup::experiments::rejudge("temperature", &path).unwrap_err().to_string();
    assert!(err.contains("mochi.json") && err.contains("temperature"), "{err}");
}

#[test]
fn with_several_seeds_each_row_is_the_mean_of_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sweep("mochi", &base()).unwrap();
    s.seeds = 2;
    let result = run(&s, &dir.path().join("runs"), &dir.path().join("out"), true).unwrap();
    for r in &result.rows {
        assert_eq!(r.knn_runs.len(), 2, "{}", r.label);
        assert!((r.knn_top1 - (r.knn_runs[0] + r.knn_runs[1]) / 2.0).abs() < 1e-9, "{}", r.label);
    }
    for i in 0..2 {
        for seed in [0, 1] {
            assert!(dir.path().join(format!("runs/mochi/{i}/seed-{seed}")).is_dir(), "one run folder per setting and seed");
        }
    }
    assert!(result.verdict.contains("over 2 seeds"), "{}", result.verdict);
    let back = Experiment::load(&dir.path().join("out/mochi.json")).unwrap();
    assert_eq!(back.rows[0].knn_runs.len(), 2);
    assert!(back.rows[0].knn_runs.iter().zip(&result.rows[0].knn_runs).all(|(a, b)| (a - b).abs() < 1e-12), "the per-seed accuracies are saved");
}
