//! `selfsup experiment`: the sweeps' settings, the verdict rules, and a tiny end-to-end run.

use selfsup::experiments::{run, sweep, verdict, EXPERIMENTS};
use selfsup::figures::{Experiment, ExperimentRow};
use selfsup::experiments::kd;
use selfsup::eval::kmeans::ClusterBalance;
use selfsup::methods::dino::{self, DiagnosticsPoint};
use selfsup::methods::{barlow, deepcluster, moco, simclr, swav};
use selfsup::train::trace::TracePoint;
use selfsup::train::{RunConfig, TrainConfig};

fn base() -> TrainConfig {
    TrainConfig { epochs: 1, train_images: 200, test_images: 100, batch_size: 32, ..TrainConfig::default() }
}

fn row(label: &str, value: f64, knn: f64) -> ExperimentRow {
    ExperimentRow { value, label: label.into(), knn_top1: knn, linear_top1: knn, final_loss: None, wall_seconds: 1.0, knn_runs: Vec::new(), effective_rank: None, projection_effective_rank: None, collapse_trace: Vec::new(), cluster_balance: Vec::new(), distillation_trace: Vec::new(), baseline_knn_top1: None }
}

/// A row whose run was traced: the projections' collapse std (d = 128) at steps 0, 20, 40, …
/// (the features' at a healthy 0.1, d = 64).
fn traced(label: &str, value: f64, knn: f64, z_std: &[f32]) -> ExperimentRow {
    let trace = z_std
        .iter()
        .enumerate()
        .map(|(i, &z)| TracePoint { step: 20 * i, collapse_std: 0.1, effective_rank: 30.0, dim: 64, projection_collapse_std: Some(z), projection_effective_rank: Some(30.0), projection_dim: Some(128) })
        .collect();
    ExperimentRow { effective_rank: Some(30.0), collapse_trace: trace, ..row(label, value, knn) }
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
    // kd-temperature trains classifiers, not one method's sweep (tested below).
    for name in EXPERIMENTS.iter().filter(|n| **n != kd::NAME) {
        let s = sweep(name, &base()).unwrap();
        assert!(s.settings.len() >= 2, "{name}: a sweep needs at least two settings");
        for setting in &s.settings {
            assert_eq!(setting.config.train.train_images, 200, "{name}: the budget comes from the base config");
            // Three do: SimCLR's batch sizes at equal steps, the two-crop SwAV given the local
            // crops' compute, and the ViT given 3x the convnet's time in `dino-backbone`.
            if !(*name == "negatives" && setting.config.name() == "simclr") && !(*name == "multi-crop" && setting.value == 1.0) && !(*name == "dino-backbone" && setting.value == 2.0) {
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
    let lambdas: Vec<f64> = sweep("barlow-lambda", &base()).unwrap().settings.iter().map(|s| s.config.settings::<barlow::Config>().lambda).collect();
    assert_eq!(lambdas, vec![0.0, 1.0 / 128.0, 1.0 / 32.0, 1.0 / 8.0]);
    assert_eq!(barlow::Config::default().lambda, 1.0 / 32.0, "the sweep's third setting is the default");
    // barlow-lambda keeps the 4 epochs its runs were measured at, not the default run's 8.
    let barlow_runs = sweep("barlow-lambda", &selfsup::experiments::default_base()).unwrap();
    let barlow_epochs: Vec<usize> = barlow_runs.settings.iter().map(|s| s.config.train.epochs).collect();
    assert_eq!(barlow_epochs, vec![selfsup::experiments::BARLOW_LAMBDA_EPOCHS; 4]);
    assert_eq!(RunConfig::for_method("barlow").unwrap().train.epochs, 8);
    let b = sweep("byol-collapse", &selfsup::experiments::default_base()).unwrap();
    let ablations: Vec<String> = b.settings.iter().filter(|s| s.config.name() == "byol").map(|s| serde_json::to_value(s.config.settings::<selfsup::methods::byol::Config>().ablation).unwrap().as_str().unwrap().to_string()).collect();
    assert_eq!(ablations, ["full", "no-predictor", "no-ema", "no-stop-gradient"]);
    let (byol_run, simclr_run) = (&b.settings[0].config.train, &b.settings[4].config.train);
    assert_eq!((simclr_run.epochs, simclr_run.batch_size, simclr_run.train_images), (byol_run.epochs, byol_run.batch_size, byol_run.train_images), "SimCLR at BYOL's budget");
    // The runs keep the budget they were measured at, not BYOL's default run's 16 epochs.
    assert_eq!(byol_run.epochs, selfsup::experiments::BYOL_COLLAPSE_EPOCHS);
    assert_eq!(RunConfig::for_method("byol").unwrap().train.epochs, 16);
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

/// The page's command trains the saved runs again: `--dataset` when they were not on the default
/// dataset, `--epochs` / `--train-images` when today's defaults would change their budget, and a
/// sentence when no flag can.
#[test]
fn the_reproduce_command_gives_the_saved_runs_their_dataset_and_budget_back() {
    use selfsup::experiments::{markdown_section, sweep};
    let saved_with = |dataset: &str, change: &dyn Fn(&mut TrainConfig)| {
        let mut base = TrainConfig { dataset: dataset.into(), ..selfsup::experiments::default_base() };
        change(&mut base);
        let s = sweep("temperature", &base).unwrap();
        let mut e = experiment("temperature", 0.2, vec![row("0.1", 0.1, 0.5)]);
        e.settings = serde_json::json!({"claim": "c", "runs": s.settings.iter().map(|r| serde_json::json!({"label": r.label, "config": r.config})).collect::<Vec<_>>()});
        markdown_section(&e, "img")
    };
    let today = saved_with(selfsup::train::DEFAULT_DATASET, &|_| ());
    assert!(today.contains("Reproduce: `selfsup experiment temperature` ("), "{today}");
    let shapes = saved_with("shapes", &|_| ());
    assert!(shapes.contains("Reproduce: `selfsup experiment temperature --dataset shapes` ("), "{shapes}");
    let older = saved_with("shapes", &|b| {
        b.epochs = 4;
        b.train_images = 5000;
    });
    assert!(older.contains("Reproduce: `selfsup experiment temperature --dataset shapes --epochs 4 --train-images 5000` ("), "{older}");
    assert!(!older.contains("budgets of their day"), "{older}");
    // Runs of different epochs that no single --epochs gives back.
    let mixed = {
        let s = sweep("negatives", &TrainConfig { epochs: 3, ..selfsup::experiments::default_base() }).unwrap();
        let mut runs: Vec<_> = s.settings.iter().map(|r| serde_json::json!({"label": r.label, "config": r.config})).collect();
        runs[0]["config"]["train"]["epochs"] = serde_json::json!(1);
        let mut e = experiment("negatives", 0.2, vec![row("a", 1.0, 0.5)]);
        e.settings = serde_json::json!({"claim": "c", "runs": runs});
        markdown_section(&e, "img")
    };
    assert!(mixed.contains("budgets of their day"), "{mixed}");
}

#[test]
fn by_default_each_run_trains_its_method_for_its_own_epochs_and_moco_sweeps_use_every_image() {
    use selfsup::experiments::default_base;
    for (name, method, images) in [
        ("moco-momentum", "moco", 10_000),
        ("temperature", "simclr", 10_000),
        ("augmentations", "simclr", 10_000),
        ("negatives", "simclr", 10_000),
        ("negatives", "moco", 10_000),
        ("mochi", "moco", 10_000),
        ("mochi", "mochi", 10_000),
        ("barlow-lambda", "barlow", 10_000),
        ("byol-collapse", "byol", 5000),
    ] {
        let s = sweep(name, &default_base()).unwrap();
        let runs: Vec<_> = s.settings.iter().filter(|r| r.config.name() == method).collect();
        assert!(!runs.is_empty(), "{name} trains {method}");
        let recipe = RunConfig::for_method(method).unwrap();
        for r in runs {
            // SimCLR's batch sweep keeps the number of optimizer steps, not of epochs.
            let (train, default) = (&r.config.train, &recipe.train);
            // byol-collapse and barlow-lambda keep the epochs their runs were measured at (8 and 4;
            // the default runs: 16 and 8).
            let epochs = match (name, method) {
                ("negatives", "simclr") => default.epochs * train.batch_size / default.batch_size,
                ("byol-collapse", "byol") => selfsup::experiments::BYOL_COLLAPSE_EPOCHS,
                ("barlow-lambda", "barlow") => selfsup::experiments::BARLOW_LAMBDA_EPOCHS,
                _ => default.epochs,
            };
            assert_eq!((train.epochs, train.train_images), (epochs, images), "{name}: {}", r.label);
            assert_eq!(train.lr, default.lr, "{name}: {}", r.label);
            // Only the swept setting differs from the method's own settings.
            let swept: &[&str] = if name == "augmentations" { &["color_strength", "crop_min_scale"] } else { &["momentum", "queue_size", "tau", "lambda", "ablation"] };
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
    assert!(verdict("augmentations", &colour).starts_with("Reproduces the claim for colour jitter (no run without crop)"));
    // Cropping is judged too: on the built-in set without crop did better (+7.9 points).
    let crop_hurts = experiment("augmentations", 0.2, vec![row("crop + colour", 0.0, 0.456), row("no colour jitter", 1.0, 0.32), row("no crop", 2.0, 0.535)]);
    let v = verdict("augmentations", &crop_hurts);
    assert!(v.starts_with("Reproduces the claim for colour jitter only, not for cropping") && v.contains("without crop 53.5% (+7.9 points)"), "{v}");
    let both = experiment("augmentations", 0.2, vec![seeded("crop + colour", 0.0, &[0.6, 0.62, 0.58]), seeded("no colour jitter", 1.0, &[0.3, 0.35, 0.32]), seeded("no crop", 2.0, &[0.5, 0.55, 0.52])]);
    assert!(verdict("augmentations", &both).starts_with("Reproduces the claim: colour jitter and cropping are both needed"), "{}", verdict("augmentations", &both));
    // Paired by seed: one seed where the crop costs less than 5 points is enough to fail.
    let one_seed_short = experiment("augmentations", 0.2, vec![seeded("crop + colour", 0.0, &[0.6, 0.62, 0.58]), seeded("no colour jitter", 1.0, &[0.3, 0.35, 0.32]), seeded("no crop", 2.0, &[0.5, 0.59, 0.52])]);
    assert!(verdict("augmentations", &one_seed_short).starts_with("Reproduces the claim for colour jitter only"), "{}", verdict("augmentations", &one_seed_short));
    // barlow-lambda: collapse is judged on the effective rank, learning on kNN.
    let ranked = |label: &str, value: f64, knn: f64, rank: f64| ExperimentRow { effective_rank: Some(rank), ..row(label, value, knn) };
    let collapse = experiment("barlow-lambda", 0.2, vec![ranked("lambda = 0", 0.0, 0.3, 4.0), ranked("lambda = 1/32 (default)", 1.0 / 32.0, 0.45, 30.0)]);
    let v = verdict("barlow-lambda", &collapse);
    assert!(v.starts_with("Reproduces") && v.contains("4.0 effective dimensions") && v.contains("with the default 1/32, 30.0 dimensions"), "{v}");
    let spread = experiment("barlow-lambda", 0.2, vec![ranked("lambda = 0", 0.0, 0.3, 20.0), ranked("lambda = 1/32 (default)", 1.0 / 32.0, 0.45, 30.0)]);
    assert!(verdict("barlow-lambda", &spread).starts_with("Partly reproduces (kNN drops"), "{}", verdict("barlow-lambda", &spread));
    let same = experiment("barlow-lambda", 0.2, vec![ranked("lambda = 0", 0.0, 0.44, 20.0), ranked("lambda = 1/32 (default)", 1.0 / 32.0, 0.45, 30.0)]);
    assert!(verdict("barlow-lambda", &same).starts_with("Does not reproduce"), "{}", verdict("barlow-lambda", &same));
    // With the projections measured, collapse is judged there (the features may keep their rank).
    let projected = |label: &str, value: f64, knn: f64, rank: f64, z: f64| ExperimentRow { projection_effective_rank: Some(z), ..ranked(label, value, knn, rank) };
    let e = experiment("barlow-lambda", 0.2, vec![projected("lambda = 0", 0.0, 0.28, 35.0, 3.0), projected("lambda = 1/32 (default)", 1.0 / 32.0, 0.49, 34.0, 60.0)]);
    let v = verdict("barlow-lambda", &e);
    assert!(v.starts_with("Reproduces: with lambda = 0 the projections use 3.0 effective dimensions"), "{v}");
    let section = selfsup::experiments::markdown_section(&e, "x");
    assert!(section.contains("| effective rank | projection rank |") && section.contains("| 35.0 | 3.0 |"), "{section}");
}

#[test]
fn the_byol_collapse_verdict_names_what_collapsed() {
    let ranked = |label: &str, value: f64, knn: f64, rank: f64| ExperimentRow { effective_rank: Some(rank), ..row(label, value, knn) };
    let e = experiment(
        "byol-collapse",
        0.2,
        vec![
            ranked("BYOL", 0.0, 0.5, 40.0),
            ranked("no predictor", 1.0, 0.15, 1.2),
            ranked("no EMA (tau = 0)", 2.0, 0.45, 35.0),
            ranked("no stop-gradient", 3.0, 0.12, 1.0),
            ranked("SimCLR", 4.0, 0.6, 50.0),
        ],
    );
    let v = verdict("byol-collapse", &e);
    assert!(v.starts_with("Reproduces") && v.contains("no predictor 15.0% kNN, effective rank 1.2 (collapsed)") && v.contains("no EMA (tau = 0) 45.0% kNN, effective rank 35.0;") && v.contains("SimCLR at the same budget: 60.0% (better than BYOL)"), "{v}");
    let mut stuck = e.clone();
    stuck.rows[0].knn_top1 = 0.21;
    assert!(verdict("byol-collapse", &stuck).starts_with("Partly reproduces (the ablations collapse, but full BYOL"), "{}", verdict("byol-collapse", &stuck));
    let mut sturdy = e.clone();
    sturdy.rows[1].effective_rank = Some(30.0);
    assert!(verdict("byol-collapse", &sturdy).starts_with("Partly reproduces (BYOL learns, but"), "{}", verdict("byol-collapse", &sturdy));
}

/// With traces, byol-collapse judges collapse on the projections' collapse std at the end of
/// training (below a quarter of 1/√d), and says from which step it stayed there; the effective
/// rank no longer decides.
#[test]
fn the_byol_collapse_verdict_reads_the_collapse_trace() {
    // 1/√128 = 0.088; a quarter of it 0.022.
    let e = experiment(
        "byol-collapse",
        0.2,
        vec![
            traced("BYOL", 0.0, 0.5, &[0.088, 0.08, 0.075, 0.07]),
            // Dips, recovers, then collapses for good from step 40.
            traced("no predictor", 1.0, 0.15, &[0.088, 0.01, 0.05, 0.004]),
            traced("no EMA (tau = 0)", 2.0, 0.45, &[0.088, 0.06, 0.05, 0.05]),
            traced("no stop-gradient", 3.0, 0.12, &[0.088, 0.001, 0.0002, 0.0001]),
            row("SimCLR", 4.0, 0.6),
        ],
    );
    let v = verdict("byol-collapse", &e);
    for want in [
        "Reproduces: BYOL 50.0% kNN, final collapse std of the projections z 0.070 against 1/√d = 0.088 (random init 20.0%)",
        "no predictor 15.0% kNN, final collapse std 0.004 (below 0.25 × 1/√d from step 60 on: collapsed)",
        "no EMA (tau = 0) 45.0% kNN, final collapse std 0.050;",
        "no stop-gradient 12.0% kNN, final collapse std 0.000 (below 0.25 × 1/√d from step 20 on: collapsed)",
        "SimCLR at the same budget: 60.0% (better than BYOL).",
    ] {
        assert!(v.contains(want), "missing `{want}` in: {v}");
    }
    // A trace that ends above the threshold is not a collapse, whatever the effective rank.
    let mut recovers = e.clone();
    recovers.rows[1] = ExperimentRow { effective_rank: Some(1.0), projection_effective_rank: Some(1.0), ..traced("no predictor", 1.0, 0.15, &[0.088, 0.004, 0.03]) };
    let v = verdict("byol-collapse", &recovers);
    assert!(v.starts_with("Partly reproduces (BYOL learns, but") && v.contains("no predictor 15.0% kNN, final collapse std 0.030;"), "{v}");
    // Several seeds: the traces are the first seed's, and the verdict says so.
    let mut seeds = e.clone();
    seeds.rows[0].knn_runs = vec![0.5, 0.5];
    assert!(verdict("byol-collapse", &seeds).contains("against 1/√d = 0.088, traces of the first seed (random init"), "{}", verdict("byol-collapse", &seeds));
}

/// `collapse_trace` is saved only when there is one, and JSONs without it (every saved one
/// before the collapse experiments traced their runs) load and save unchanged.
#[test]
fn experiment_json_round_trips_with_and_without_a_collapse_trace() {
    let e = experiment("byol-collapse", 0.2, vec![traced("BYOL", 0.0, 0.5, &[0.088, 0.07]), row("SimCLR", 4.0, 0.6)]);
    let text = serde_json::to_string(&e).unwrap();
    assert_eq!(text.matches("\"collapse_trace\"").count(), 1, "only the traced row carries the field: {text}");
    let back: Experiment = serde_json::from_str(&text).unwrap();
    assert_eq!(back.rows[0].collapse_trace, e.rows[0].collapse_trace);
    assert_eq!(back.rows[0].collapse_trace[1].projection_collapse_std, Some(0.07));
    assert!(back.rows[1].collapse_trace.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("byol-collapse.json");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(Experiment::load(&path).unwrap().rows[0].collapse_trace.len(), 2);

    // The saved experiments of the repository, those saved before runs were traced and those
    // saved since (byol-collapse): the same JSON once loaded and saved again.
    let mut checked = 0;
    for name in EXPERIMENTS.iter().filter(|n| **n != kd::NAME) {
        let path = std::path::Path::new("results/experiments").join(format!("{name}.json"));
        if !path.exists() {
            continue;
        }
        let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let loaded = Experiment::load(&path).unwrap();
        // Through the text, as the file is written: `to_value` would widen the traces' f32
        // fields to f64 digits that the file never held.
        let again: serde_json::Value = serde_json::from_str(&serde_json::to_string(&loaded).unwrap()).unwrap();
        assert_eq!(again, saved, "{name}: loading and saving changed the JSON");
        checked += 1;
    }
    assert!(checked >= 2, "the repository's results/experiments should hold saved experiments");
}

/// The page shows the effective rank of experiments about collapse, and only of those.
#[test]
fn collapse_experiments_show_the_effective_rank() {
    use selfsup::experiments::markdown_section;
    let ranked = |label: &str, value: f64, knn: f64, rank: f64| ExperimentRow { effective_rank: Some(rank), ..row(label, value, knn) };
    let mut e = experiment("barlow-lambda", 0.2, vec![ranked("lambda = 0", 0.0, 0.3, 4.0), ranked("lambda = 1/32 (default)", 1.0 / 32.0, 0.45, 30.25)]);
    e.verdict = verdict("barlow-lambda", &e);
    let section = markdown_section(&e, "../results/experiments");
    for want in ["| p | kNN top-1 | linear top-1 | effective rank | final loss | wall per run |", "| lambda = 1/32 (default) | 45.0% | 45.0% | 30.2 | — | 1 s |", "| random init | 20.0% | | | | |\n"] {
        assert!(section.contains(want), "missing `{want}` in:\n{section}");
    }
    let plain = markdown_section(&experiment("mochi", 0.2, vec![row("MoCo", 0.0, 0.4)]), "x");
    assert!(!plain.contains("effective rank"), "{plain}");
}

/// kd-temperature's verdict: some T > 1 must beat the label-only student at every seed.
#[test]
fn the_distillation_verdict_is_paired_by_seed() {
    let r = |label: &str, t: Option<f64>, runs: &[f64]| kd::KdRow { label: label.into(), temperature: t, accuracy: runs.iter().sum::<f64>() / runs.len() as f64, runs: runs.to_vec(), wall_seconds: 1.0 };
    let budget = kd::KdBudget::from_base(&base(), 3);
    let e = |t4: &[f64]| kd::KdExperiment {
        experiment: kd::NAME.into(),
        budget: budget.clone(),
        rows: vec![r("teacher", None, &[0.9, 0.9, 0.9]), r("student, labels only", None, &[0.60, 0.62, 0.58]), r("student, KD T = 1", Some(1.0), &[0.61, 0.60, 0.59]), r("student, KD T = 4", Some(4.0), t4)],
        soft_targets: vec![],
        class_names: vec![],
        verdict: String::new(),
    };
    let v = kd::verdict(&e(&[0.65, 0.66, 0.63]));
    assert!(v.starts_with("Reproduces: distilled at T = 4") && v.contains("label-only student 60.0%"), "{v}");
    let v = kd::verdict(&e(&[0.70, 0.61, 0.63]));
    assert!(v.starts_with("Not shown"), "one seed loses: {v}");
    let v = kd::verdict(&e(&[0.55, 0.56, 0.57]));
    assert!(v.starts_with("Does not reproduce"), "{v}");
    let p = kd::softmax(&[2.0, 1.0, 0.0], 1.0);
    let hot = kd::softmax(&[2.0, 1.0, 0.0], 4.0);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12 && (p[0] - 0.665240955775).abs() < 1e-9, "{p:?}");
    assert!(hot[2] > p[2] && hot[0] < p[0], "a higher T flattens the distribution: {hot:?}");
}

/// A tiny kd-temperature run: every classifier trained, JSON, both charts and the page.
#[test]
fn a_tiny_distillation_experiment_writes_its_json_charts_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut budget = kd::KdBudget::from_base(&base(), 1);
    budget.teacher_images = 200;
    budget.teacher_epochs = 1;
    budget.labelled_images = 100;
    budget.student_epochs = 1;
    budget.batch_size = 32;
    let out = dir.path().join("out");
    let e = kd::run(&budget, &out, true).unwrap();
    assert_eq!(e.rows.len(), 2 + kd::TEMPERATURES.len());
    assert!(e.rows.iter().all(|r| r.runs.len() == 1 && (0.0..=1.0).contains(&r.accuracy)), "{:?}", e.rows);
    assert_eq!(e.soft_targets.len(), kd::TEMPERATURES.len());
    for p in &e.soft_targets {
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9 && p.len() == 10);
    }
    let back = kd::KdExperiment::load(&out.join("kd-temperature.json")).unwrap();
    assert_eq!(back.verdict, e.verdict);
    for png in ["kd-temperature.png", "kd-temperature-soft-targets.png"] {
        let img = image::open(out.join(png)).unwrap();
        assert!(img.width() > 100 && img.height() > 100, "{png}");
    }
    let page = dir.path().join("docs/experiments.md");
    selfsup::experiments::write_page(&out, &page).unwrap();
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("## `kd-temperature`") && text.contains("| student, labels only |") && text.contains(&e.verdict), "{text}");
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
    assert!(back.rows.iter().all(|r| r.collapse_trace.is_empty()) && !dir.path().join("out/mochi-trace.png").exists(), "only the collapse experiments trace their runs");

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

/// A collapse experiment traces the first seed's run of each setting: the rows keep the
/// collapse metrics over training (projections included for BYOL), the JSON saves them, the
/// sweep draws `<name>-trace.png` and the page shows it.
#[test]
fn a_tiny_collapse_sweep_keeps_each_settings_trace() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sweep("byol-collapse", &base()).unwrap();
    s.settings.truncate(2); // BYOL and no predictor
    s.seeds = 2;
    let out = dir.path().join("out");
    let result = run(&s, &dir.path().join("runs"), &out, true).unwrap();
    // 200 images in BYOL's batches of 64, one epoch: 3 steps, traced at step 0 and at the last.
    let train = &s.settings[0].config.train;
    let steps = train.epochs * (train.train_images / train.batch_size);
    assert_eq!(steps, 3);
    for r in &result.rows {
        assert_eq!(r.collapse_trace.iter().map(|p| p.step).collect::<Vec<_>>(), vec![0, steps], "{}", r.label);
        assert!(r.collapse_trace.iter().all(|p| p.projection_collapse_std.is_some_and(|z| z > 0.0) && p.collapse_std > 0.0), "{}: {:?}", r.label, r.collapse_trace);
    }
    assert!(dir.path().join("runs/byol-collapse/0/seed-0/collapse.jsonl").exists());
    assert!(!dir.path().join("runs/byol-collapse/0/seed-1/collapse.jsonl").exists(), "only the first seed is traced");
    let back = Experiment::load(&out.join("byol-collapse.json")).unwrap();
    assert_eq!(back.rows[1].collapse_trace, result.rows[1].collapse_trace);
    let png = image::open(out.join("byol-collapse-trace.png")).unwrap();
    assert!(png.width() > 600 && png.height() > 400, "{}x{}", png.width(), png.height());
    let page = selfsup::experiments::markdown_section(&back, "../results/experiments");
    assert!(page.contains("](../results/experiments/byol-collapse-trace.png)"), "{page}");
}

/// The part-3 sweeps change what their claims are about, and nothing else.
#[test]
fn the_clustering_sweeps_change_their_one_setting() {
    let dc = sweep("deepcluster-collapse", &base()).unwrap();
    let tricks: Vec<(bool, bool, bool)> = dc.settings.iter().map(|s| s.config.settings::<deepcluster::Config>()).map(|c| (c.uniform_sampling, c.empty_cluster_fix, c.whiten)).collect();
    assert_eq!(tricks, [(true, true, true), (false, true, true), (true, false, true), (false, false, true), (false, false, false)]);
    assert!(dc.settings.iter().all(|s| s.config.settings::<deepcluster::Config>().clusters == deepcluster::Config::default().clusters));

    let eq = sweep("swav-equipartition", &base()).unwrap();
    let codes: Vec<swav::Codes> = eq.settings.iter().map(|s| s.config.settings::<swav::Config>().codes).collect();
    assert_eq!(codes, [swav::Codes::Sinkhorn, swav::Codes::Softmax]);
    assert!(eq.collapse, "the equipartition experiment traces the collapse of its runs");

    // Default budget: SwAV's own 4 epochs on 10 000 images; the two-crop run with the local
    // crops' compute gets 6.
    let mc = sweep("multi-crop", &selfsup::experiments::default_base()).unwrap();
    let crops: Vec<(usize, usize, f64, f64, usize)> = mc
        .settings
        .iter()
        .map(|s| s.config.settings::<swav::Config>())
        .zip(mc.settings.iter().map(|s| s.config.train.epochs))
        .map(|(c, epochs)| (epochs, c.local_crops, c.local_min_scale, c.local_max_scale, c.local_size))
        .collect();
    let (small, large, whole) = ((0.08, 0.4), (0.4, 0.8), (0.8, 1.0));
    assert_eq!(
        crops,
        [
            (4, 0, small.0, small.1, 0),
            (6, 0, small.0, small.1, 0),
            (4, 4, small.0, small.1, 0),
            (4, 4, large.0, large.1, 0),
            (4, 4, whole.0, whole.1, 0),
            (4, 4, whole.0, whole.1, 32)
        ]
    );
    // The kit's local size is half the image; `local_size` overrides it.
    assert_eq!(mc.settings[4].config.settings::<swav::Config>().multi_crop(32).local_size, 16);
    assert_eq!(mc.settings[5].config.settings::<swav::Config>().multi_crop(32).local_size, 32);
    assert!(mc.settings.iter().all(|s| s.config.train.train_images == 10_000));
}

/// The cluster balance of `sizes` at epochs 0, 1, …
fn balances(sizes: &[&[usize]]) -> Vec<ClusterBalance> {
    sizes.iter().enumerate().map(|(e, s)| ClusterBalance::from_sizes(e, s)).collect()
}

#[test]
fn cluster_balance_matches_hand_computed_values() {
    let b = ClusterBalance::from_sizes(3, &[0, 10, 30, 0, 60]);
    assert_eq!((b.epoch, b.non_empty, b.sorted_sizes.clone()), (3, 3, vec![60, 30, 10, 0, 0]));
    assert!((b.largest_share - 0.6).abs() < 1e-12);
    // H = -(0.1 ln 0.1 + 0.3 ln 0.3 + 0.6 ln 0.6) = 0.8979457, exp(H) = 2.4545556 (Python).
    assert!((b.effective_clusters - 2.454_555_6).abs() < 1e-6, "{}", b.effective_clusters);
    let even = ClusterBalance::from_sizes(0, &[5; 8]);
    assert!((even.effective_clusters - 8.0).abs() < 1e-9 && (even.largest_share - 0.125).abs() < 1e-12);
    let one = ClusterBalance::from_sizes(0, &[0, 7, 0]);
    assert_eq!((one.non_empty, one.largest_share, one.effective_clusters), (1, 1.0, 1.0));
}

#[test]
fn the_clustering_verdicts_follow_the_numbers() {
    let with_clusters = |label: &str, value: f64, knn: f64, last: &[usize]| ExperimentRow { cluster_balance: balances(&[&[25, 25, 25, 25], last]), ..row(label, value, knn) };
    let collapsed = experiment(
        "deepcluster-collapse",
        0.2,
        vec![with_clusters("paper's tricks", 0.0, 0.6, &[30, 25, 25, 20]), with_clusters("naive (neither)", 3.0, 0.22, &[94, 2, 2, 2])],
    );
    let v = verdict("deepcluster-collapse", &collapsed);
    assert!(v.starts_with("Reproduces") && v.contains("largest cluster 94%"), "{v}");
    let balanced = experiment(
        "deepcluster-collapse",
        0.2,
        vec![with_clusters("paper's tricks", 0.0, 0.6, &[30, 25, 25, 20]), with_clusters("naive (neither)", 3.0, 0.58, &[40, 30, 20, 10])],
    );
    assert!(verdict("deepcluster-collapse", &balanced).starts_with("Does not reproduce:"), "{}", verdict("deepcluster-collapse", &balanced));
    let mut weaker = balanced.clone();
    weaker.rows[1].knn_top1 = 0.5;
    let v = verdict("deepcluster-collapse", &weaker);
    assert!(v.starts_with("Does not reproduce the collapse") && v.contains("learns less") && v.contains("largest cluster 40%"), "{v}");
    let no_clusters = experiment("deepcluster-collapse", 0.2, vec![row("paper's tricks", 0.0, 0.6), row("naive (neither)", 3.0, 0.2)]);
    assert!(verdict("deepcluster-collapse", &no_clusters).starts_with("Incomplete"));

    // SwAV: softmax codes collapse (projections' std falls to 0.004 < 0.25/√128), Sinkhorn's don't.
    let eq = experiment("swav-equipartition", 0.2, vec![traced("Sinkhorn codes", 0.0, 0.58, &[0.088, 0.07, 0.06]), traced("softmax codes", 1.0, 0.15, &[0.088, 0.01, 0.004])]);
    let v = verdict("swav-equipartition", &eq);
    assert!(v.starts_with("Reproduces") && v.contains("collapsed from step 20"), "{v}");
    let both = experiment("swav-equipartition", 0.2, vec![traced("Sinkhorn codes", 0.0, 0.58, &[0.088, 0.07, 0.06]), traced("softmax codes", 1.0, 0.5, &[0.088, 0.07, 0.06])]);
    assert!(verdict("swav-equipartition", &both).starts_with("Does not reproduce"));

    // Multi-crop is judged against the two-crop run at the same compute (value 1).
    let mc = |small: f64| {
        experiment(
            "multi-crop",
            0.2,
            vec![row("2 global", 0.0, 0.55), row("2 global, 6 epochs (same compute)", 1.0, 0.58), row("2 global + 4 local (8-40%)", 2.0, small), row("2 global + 4 local (40-80%)", 3.0, 0.6)],
        )
    };
    let v = verdict("multi-crop", &mc(0.40));
    assert!(v.starts_with("Does not reproduce") && v.contains("-18.0 points"), "{v}");
    assert!(verdict("multi-crop", &mc(0.61)).starts_with("Reproduces"));
    assert!(verdict("multi-crop", &mc(0.59)).starts_with("Not shown"));
    // The two controls name the cause: judged against the two-crop run (55%), 5 points down.
    let controls = |low: f64, full: f64| {
        let mut e = mc(0.40);
        e.rows.push(row("2 global + 4 local (80-100%)", 4.0, low));
        e.rows.push(row("2 global + 4 at 32 px (80-100%)", 5.0, full));
        verdict("multi-crop", &e)
    };
    let v = controls(0.36, 0.63);
    assert!(v.contains("at the local size 36.0%, at full size 63.0%") && v.contains("low resolution, not their content"), "{v}");
    assert!(controls(0.36, 0.40).contains("suspect the loss over many views"));
    assert!(controls(0.56, 0.60).contains("content is what hurts"));
    assert!(controls(0.60, 0.40).contains("the controls disagree"));
}

/// A tiny DeepCluster sweep keeps each run's clusterings, draws `<name>-clusters.png`, and the
/// page shows it.
#[test]
fn a_tiny_deepcluster_sweep_keeps_its_clusterings() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sweep("deepcluster-collapse", &TrainConfig { epochs: 2, ..base() }).unwrap();
    s.settings.retain(|s| s.value == 0.0 || s.value == 3.0);
    let out = dir.path().join("out");
    let result = run(&s, &dir.path().join("runs"), &out, true).unwrap();
    for r in &result.rows {
        assert_eq!(r.cluster_balance.iter().map(|b| b.epoch).collect::<Vec<_>>(), vec![0, 1], "{}", r.label);
        let k = deepcluster::Config::default().clusters;
        assert!(r.cluster_balance.iter().all(|b| b.sorted_sizes.len() == k && b.sorted_sizes.iter().sum::<usize>() == 200), "{}", r.label);
    }
    let back = Experiment::load(&out.join("deepcluster-collapse.json")).unwrap();
    assert_eq!(back.rows[1].cluster_balance, result.rows[1].cluster_balance);
    let png = image::open(out.join("deepcluster-collapse-clusters.png")).unwrap();
    assert!(png.width() > 1200 && png.height() > 300, "{}x{}", png.width(), png.height());
    let page = selfsup::experiments::markdown_section(&back, "../results/experiments");
    assert!(page.contains("](../results/experiments/deepcluster-collapse-clusters.png)"), "{page}");
}

#[test]
fn an_experiment_on_another_dataset_takes_that_datasets_recipe() {
    let crop = |dataset: &str| -> Vec<f64> {
        let base = TrainConfig { dataset: dataset.into(), ..selfsup::experiments::default_base() };
        let sweep = sweep("augmentations", &base).unwrap();
        sweep.settings.iter().map(|s| s.config.settings::<simclr::Config>().views.crop_min_scale).collect()
    };
    // crop + colour, no colour jitter, no crop, neither.
    assert_eq!(crop("shapes"), [0.8, 0.8, 1.0, 1.0]);
    assert_eq!(crop("textures"), [0.2, 0.2, 1.0, 1.0]);
    let bad = TrainConfig { dataset: "nope".into(), ..selfsup::experiments::default_base() };
    assert!(sweep("augmentations", &bad).is_err());
}

#[test]
fn the_saved_augmentation_experiment_is_on_the_default_dataset_and_its_verdict_follows_its_numbers() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/experiments/augmentations.json");
    let saved = Experiment::load(&path).unwrap();
    assert_eq!(saved.dataset(), Some("textures"));
    assert_eq!(saved.dataset(), Some(selfsup::train::DEFAULT_DATASET));
    assert_eq!(saved.rows.len(), 4);
    assert!(saved.rows.iter().all(|r| r.knn_runs.len() == 3), "three seeds per setting");
    let again = verdict(&saved.experiment, &saved);
    assert_eq!(again, saved.verdict);
    assert!(saved.verdict.starts_with("Reproduces"), "{}", saved.verdict);
}

/// `dino-collapse` turns off centring (m_c = 1: the centre stays 0) and sharpening (τ_t = τ_s,
/// from the first step) one at a time and together; nothing else changes.
#[test]
fn the_dino_collapse_sweep_turns_off_centring_and_sharpening() {
    let s = sweep("dino-collapse", &selfsup::experiments::default_base()).unwrap();
    let d = dino::Config::default();
    let switches: Vec<(f64, f64, f64)> = s.settings.iter().map(|s| s.config.settings::<dino::Config>()).map(|c| (c.centre_momentum, c.teacher_tau, c.teacher_tau_start)).collect();
    let (on, off) = ((d.teacher_tau, d.teacher_tau_start), (d.student_tau, d.student_tau));
    assert_eq!(switches, [(d.centre_momentum, on.0, on.1), (1.0, on.0, on.1), (d.centre_momentum, off.0, off.1), (1.0, off.0, off.1)]);
    let epochs = s.settings[0].config.train.epochs;
    assert!(s.settings.iter().all(|s| s.config.train.train_images == 10_000 && s.config.train.epochs == epochs));
    let untouched = |c: &dino::Config| dino::Config { centre_momentum: d.centre_momentum, teacher_tau: d.teacher_tau, teacher_tau_start: d.teacher_tau_start, ..c.clone() };
    let first = untouched(s.settings[0].config.settings::<dino::Config>());
    assert!(s.settings.iter().all(|s| untouched(s.config.settings::<dino::Config>()) == first));
}

/// A row whose diagnostics end at `entropy` with KL `kl` (one earlier point at 4.5, 1.0).
fn diagnosed(label: &str, value: f64, knn: f64, entropy: f32, kl: f32) -> ExperimentRow {
    let trace = vec![DiagnosticsPoint { step: 10, teacher_entropy: 4.5, teacher_student_kl: 1.0 }, DiagnosticsPoint { step: 20, teacher_entropy: entropy, teacher_student_kl: kl }];
    ExperimentRow { distillation_trace: trace, ..row(label, value, knn) }
}

/// The verdict reads the teacher's final entropy against ln K (K = 1024: 6.93 nats) and the KL:
/// collapsed when the KL is below 0.01 nats and the entropy below a tenth of ln K (one-hot) or
/// above nine tenths (uniform). A broad teacher with a KL left (full DINO here) is not.
#[test]
fn the_dino_collapse_verdict_reads_the_teachers_entropy() {
    // The measured run's shape: full DINO broad (6.27 nats) but with a KL of 0.26 left.
    let e = |full: f64, no_centring: (f32, f32), no_sharpening: (f32, f32)| {
        experiment(
            "dino-collapse",
            0.3,
            vec![
                diagnosed("DINO (centring + sharpening)", 0.0, full, 6.27, 0.26),
                diagnosed("no centring (m_c = 1)", 1.0, 0.2, no_centring.0, no_centring.1),
                diagnosed("no sharpening (tau_t = tau_s)", 2.0, 0.25, no_sharpening.0, no_sharpening.1),
                diagnosed("neither", 3.0, 0.25, 6.6, 0.0),
            ],
        )
    };
    let v = verdict("dino-collapse", &e(0.45, (0.001, 0.0001), (6.93, 0.001)));
    assert!(v.starts_with("Reproduces:") && v.contains("no centring (m_c = 1) 20.0% kNN, final teacher entropy 0.00 nats (one-hot collapse), KL 0.000"), "{v}");
    assert!(v.contains("DINO (centring + sharpening) 45.0% kNN, final teacher entropy 6.27 nats, KL 0.260;"), "{v}");
    assert!(v.contains("6.93 nats (uniform collapse)") && v.contains("ln K = 6.93"), "{v}");
    // Without centring, a low entropy with a KL left is no collapse.
    let v = verdict("dino-collapse", &e(0.45, (0.001, 0.2), (6.93, 0.001)));
    assert!(v.starts_with("Partly reproduces (without centring the teacher does not end one-hot)"), "{v}");
    let v = verdict("dino-collapse", &e(0.32, (2.0, 0.0), (5.0, 0.0)));
    assert!(v.starts_with("Does not reproduce (full DINO does not beat random init by 5 points;"), "{v}");
    let untraced = experiment("dino-collapse", 0.3, vec![row("DINO (centring + sharpening)", 0.0, 0.5)]);
    assert!(verdict("dino-collapse", &untraced).starts_with("Incomplete"));
}

/// A tiny DINO sweep keeps each run's diagnostics (read back from its `metrics.jsonl`), draws
/// `<name>-diagnostics.png`, and the page shows it.
#[test]
fn a_tiny_dino_sweep_keeps_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sweep("dino-collapse", &base()).unwrap();
    s.settings.retain(|s| s.value == 0.0 || s.value == 2.0);
    let out = dir.path().join("out");
    let result = run(&s, &dir.path().join("runs"), &out, true).unwrap();
    let ln_k = (dino::Config::default().outputs as f64).ln();
    for r in &result.rows {
        // 200 images at DINO's batch of 64: 3 steps, one window of 10.
        assert_eq!(r.distillation_trace.iter().map(|p| p.step).collect::<Vec<_>>(), vec![3], "{}", r.label);
        let p = r.distillation_trace[0];
        assert!(p.teacher_entropy > 0.0 && p.teacher_entropy as f64 <= ln_k + 1e-6 && p.teacher_student_kl >= 0.0, "{}: {p:?}", r.label);
    }
    let back = Experiment::load(&out.join("dino-collapse.json")).unwrap();
    assert_eq!(back.rows[1].distillation_trace, result.rows[1].distillation_trace);
    let png = image::open(out.join("dino-collapse-diagnostics.png")).unwrap();
    assert!(png.width() > 1200 && png.height() > 400, "{}x{}", png.width(), png.height());
    let page = selfsup::experiments::markdown_section(&back, "../results/experiments");
    assert!(page.contains("](../results/experiments/dino-collapse-diagnostics.png)"), "{page}");
}

/// `read_diagnostics` averages the logged values over windows of steps, skips lines without
/// them, and names the file and the line of a bad one.
#[test]
fn dino_diagnostics_are_read_back_as_window_means() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let line = |step: usize, h: f64, kl: f64| format!(r#"{{"epoch":0,"step":{step},"loss":1.0,"lr":0.1,"images_per_s":1.0,"teacher_entropy":{h},"teacher_student_kl":{kl}}}"#);
    let lines = [line(1, 1.0, 0.5), line(2, 3.0, 0.1), r#"{"epoch":0,"step":3,"loss":1.0}"#.to_string(), line(4, 5.0, 0.3)];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let points = dino::read_diagnostics(&path, 2).unwrap();
    assert_eq!(points, vec![DiagnosticsPoint { step: 2, teacher_entropy: 2.0, teacher_student_kl: 0.3 }, DiagnosticsPoint { step: 4, teacher_entropy: 5.0, teacher_student_kl: 0.3 }]);
    std::fs::write(&path, "{\"step\": 1}\nnot json\n").unwrap();
    let err = dino::read_diagnostics(&path, 2).unwrap_err().to_string();
    assert!(err.contains("metrics.jsonl") && err.contains("line 2"), "{err}");
}

/// `dino-backbone` trains DINO on the tiny convnet for its own epochs, then on the ViT for an
/// eighth of them (about the same time: a ViT epoch costs about 8 convnet epochs here) and for
/// three times that; the head's last layer stays frozen for the same share of each run.
#[test]
fn the_dino_backbone_sweep_gives_the_vit_the_convnets_time() {
    let s = sweep("dino-backbone", &selfsup::experiments::default_base()).unwrap();
    let d = dino::Config::default();
    let runs: Vec<(String, usize, usize)> = s.settings.iter().map(|s| (s.config.train.encoder.clone(), s.config.train.epochs, s.config.settings::<dino::Config>().freeze_last_layer_steps)).collect();
    assert_eq!(d.freeze_last_layer_steps, 156);
    assert_eq!(runs, [("tiny-convnet".to_string(), 8, 156), ("vit".to_string(), 1, 19), ("vit".to_string(), 3, 58)]);
    assert_eq!(s.settings.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(), ["tiny-convnet, 8 epochs", "ViT, 1 epoch (same time)", "ViT, 3 epochs (3x the time)"]);
    assert!(s.settings.iter().all(|s| s.config.train.train_images == 10_000 && s.config.name() == "dino"));
    // Asked for the ViT, the convnet row stays a convnet; asked for another convnet, it uses it.
    let on_vit = sweep("dino-backbone", &TrainConfig { encoder: "vit".into(), ..selfsup::experiments::default_base() }).unwrap();
    assert_eq!(on_vit.settings[0].config.train.encoder, "tiny-convnet");
    let on_convnet = sweep("dino-backbone", &TrainConfig { encoder: "convnet".into(), ..selfsup::experiments::default_base() }).unwrap();
    assert_eq!(on_convnet.settings[0].label, "convnet, 8 epochs");
}

/// Each row of `dino-backbone` is judged against its own encoder's random init (the ViT's is far
/// below the convnet's); the page and the table then show a random-init column instead of one
/// baseline row.
#[test]
fn the_dino_backbone_verdict_compares_gains_over_each_encoders_random_init() {
    let own = |label: &str, value: f64, knn: f64, random: f64| ExperimentRow { baseline_knn_top1: Some(random), ..row(label, value, knn) };
    let e = |same: f64, longer: f64| {
        let mut e = experiment("dino-backbone", 0.2, vec![own("tiny-convnet, 8 epochs", 0.0, 0.57, 0.33), own("ViT, 1 epoch (same time)", 1.0, same, 0.14), own("ViT, 3 epochs (3x the time)", 2.0, longer, 0.14)]);
        e.verdict = verdict("dino-backbone", &e);
        e
    };
    // Gains: convnet +24; the ViT +24 (as well), +20 then +25 (with 3x), +10 / +12 (learns, less), +2 / +3.
    let v = e(0.38, 0.40).verdict;
    assert!(v.starts_with("Reproduces:") && v.contains("ViT, 1 epoch (same time) 38.0% kNN against 14.0% at random init (+24.0 points)"), "{v}");
    assert!(v.contains("tiny-convnet, 8 epochs 57.0% kNN against 33.0% at random init (+24.0 points)"), "{v}");
    assert!(e(0.34, 0.39).verdict.starts_with("Partly reproduces: the ViT matches the convnet's gain only with 3x"), "{}", e(0.34, 0.39).verdict);
    assert!(e(0.24, 0.26).verdict.starts_with("Does not reproduce at this scale: DINO's ViT learns, but"), "{}", e(0.24, 0.26).verdict);
    assert!(e(0.16, 0.17).verdict.starts_with("Does not reproduce at this scale: DINO's ViT does not get 5 kNN points"), "{}", e(0.16, 0.17).verdict);
    let x = e(0.24, 0.26);
    assert!(x.per_row_baselines());
    assert!((x.knn_gain(&x.rows[2]) - 0.12).abs() < 1e-9);
    let page = selfsup::experiments::markdown_section(&x, "../results/experiments");
    assert!(page.contains("| backbone | kNN top-1 | random init kNN | linear top-1 |") || page.contains("| p | kNN top-1 | random init kNN | linear top-1 |"), "{page}");
    assert!(page.contains("| ViT, 3 epochs (3x the time) | 26.0% | 14.0% | 26.0% |") && !page.contains("| random init |"), "{page}");
    // One shared baseline (every other experiment, and JSONs saved before rows kept theirs): as before.
    let shared = experiment("mochi", 0.2, vec![own("MoCo", 0.0, 0.5, 0.2), row("MoCo + MoCHi", 1.0, 0.52)]);
    assert!(!shared.per_row_baselines());
    assert!(selfsup::experiments::markdown_section(&shared, "x").contains("| random init | 20.0% |"));
    x.table().unwrap();
    x.chart().unwrap();
}
