//! The shared training loop: schedule, checkpoint round-trip, resume, NaN stop, and the
//! command line's errors and exit codes.

use dfdx::prelude::*;
use selfsup::data::shapes::{self, ShapesConfig};
use selfsup::methods::{moco, Method, SimClr, METHODS};
use selfsup::nn::TinyConvNet;
use selfsup::train::checkpoint::{load_model, save_model};
use selfsup::train::{fit, CosineSchedule, RunConfig, RunDir, TrainConfig, TrainState};
use selfsup::Error;
use std::process::Command;

type Model = SimClr<TinyConvNet<Cpu>, 128, 64, 32, f32, Cpu>;

fn tiny_config() -> TrainConfig {
    TrainConfig { epochs: 2, batch_size: 32, train_images: 64, test_images: 32, ..TrainConfig::default() }
}

fn tiny_data() -> selfsup::data::dataset::ImageDataset {
    shapes::generate(&ShapesConfig { n_train: 64, n_test: 8, size: 16, seed: 1 }).train
}

fn params(m: &Model) -> Vec<f32> {
    let mut v = m.branch.encoder.block1.conv.weight.as_vec();
    v.extend(m.branch.projector.fc2.weight.as_vec());
    v.extend(m.branch.encoder.block4.bn.running_mean.as_vec());
    v
}

#[test]
fn cosine_schedule_warms_up_then_decays_to_zero() {
    let s = CosineSchedule::new(1.0, 10, 110);
    assert!((s.lr(0) - 0.1).abs() < 1e-12);
    assert!((s.lr(9) - 1.0).abs() < 1e-12);
    assert!((s.lr(10) - 1.0).abs() < 1e-12);
    assert!((s.lr(60) - 0.5).abs() < 1e-12, "half-way through the cosine the lr is half: {}", s.lr(60));
    assert!(s.lr(109) < 1e-3 && s.lr(109) > 0.0);
    assert!((1..110).all(|t| t < 10 || s.lr(t) <= s.lr(t - 1)), "monotone after warmup");
}

#[test]
fn checkpoint_round_trip_restores_every_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(1);
    let mut a = Model::build(&dev);
    // make running stats non-default so they are checked too
    a.branch.encoder.block4.bn.running_mean = dev.sample_normal();
    let path = dir.path().join("m.safetensors");
    save_model(&a, &path).unwrap();
    assert!(!dir.path().join("m.safetensors.tmp").exists(), "the temporary file is renamed away");
    let mut b = Model::build(&Cpu::seed_from_u64(2));
    assert_ne!(params(&a), params(&b));
    load_model(&mut b, &path).unwrap();
    assert_eq!(params(&a), params(&b));
}

#[test]
fn loading_a_corrupt_or_missing_checkpoint_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Model::build(&Cpu::default());
    let missing = dir.path().join("nope.safetensors");
    let e = load_model(&mut m, &missing).unwrap_err().to_string();
    assert!(e.contains("nope.safetensors"), "{e}");
    let corrupt = dir.path().join("bad.safetensors");
    std::fs::write(&corrupt, b"not a safetensors file").unwrap();
    let e = load_model(&mut m, &corrupt).unwrap_err().to_string();
    assert!(e.contains("bad.safetensors"), "{e}");
}

#[test]
fn training_changes_the_encoder_and_resume_continues_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let data = tiny_data();
    let cfg = tiny_config();
    let dev = Cpu::seed_from_u64(0);
    let mut model = Model::build(&dev);
    let before = model.branch.encoder.block1.conv.weight.as_vec();

    // Train one epoch, then "crash".
    let one = TrainConfig { epochs: 1, ..cfg.clone() };
    let state = fit(&mut model, &dev, &data, &one, &run, TrainState::default(), true).unwrap();
    assert_eq!((state.epoch, state.step), (1, 2));
    assert_ne!(before, model.branch.encoder.block1.conv.weight.as_vec(), "the first conv layer was trained");
    assert!(run.checkpoint().exists() && run.state().exists());
    let lines = std::fs::read_to_string(run.metrics()).unwrap().lines().count();
    assert_eq!(lines, 2, "one metrics line per step");

    // Resume from disk into a fresh model: it must start from the saved weights and state.
    let mut resumed = Model::build(&Cpu::seed_from_u64(123));
    load_model(&mut resumed, &run.checkpoint()).unwrap();
    assert_eq!(params(&resumed), params(&model));
    let saved: TrainState = selfsup::train::checkpoint::read_json(&run.state()).unwrap();
    let state = fit(&mut resumed, &dev, &data, &cfg, &run, saved, true).unwrap();
    assert_eq!((state.epoch, state.step), (2, 4), "resume runs only the missing epoch");
    let lines = std::fs::read_to_string(run.metrics()).unwrap().lines().count();
    assert_eq!(lines, 4, "metrics are appended on resume");
}

#[test]
fn a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let data = tiny_data();
    let dev = Cpu::seed_from_u64(0);
    let mut model = Model::build(&dev);
    let cfg = TrainConfig { epochs: 1, ..tiny_config() };
    fit(&mut model, &dev, &data, &cfg, &run, TrainState::default(), true).unwrap();
    let good = std::fs::read(run.checkpoint()).unwrap();
    // Poison the projection head's weights: the next loss is NaN. (Poisoning an early conv
    // layer is not enough: ReLU, like f32::max, maps NaN to 0.)
    model.branch.projector.fc2.weight = dev.ones() * f32::NAN;
    let cfg = TrainConfig { epochs: 2, ..tiny_config() };
    let state = TrainState { epoch: 1, step: 2, ..TrainState::default() };
    let err = fit(&mut model, &dev, &data, &cfg, &run, state, true).unwrap_err();
    match &err {
        Error::Diverged { step, loss, checkpoint } => {
            assert_eq!(*step, 2);
            assert!(!loss.is_finite());
            assert_eq!(checkpoint.as_deref(), Some(run.checkpoint().as_path()));
        }
        other => panic!("expected Diverged, got {other}"),
    }
    assert!(err.to_string().contains("checkpoint.safetensors"), "{err}");
    assert_eq!(std::fs::read(run.checkpoint()).unwrap(), good, "the last good checkpoint is untouched");
}

#[test]
fn method_embeds_with_the_encoder_in_eval_mode() {
    let dev = Cpu::seed_from_u64(0);
    let model = Model::build(&dev);
    let x: selfsup::nn::ops::Img<Cpu> = dev.sample_uniform_like(&(3, 3, 16, 16));
    let h = model.embed(x.clone());
    assert_eq!(h.shape(), &(3, 128));
    // eval mode: an image's embedding does not depend on the rest of the batch
    let one = model.embed(x.slice((0..1, .., .., ..)).realize());
    let a = h.as_vec();
    let b = one.as_vec();
    assert!(a[..128].iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
}

fn selfsup(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_selfsup")).args(args).output().expect("run selfsup")
}

#[test]
fn cli_rejects_bad_usage_with_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--method", "nosuch"], "unknown method `nosuch`"),
        (&["train", "--method", "mocco"], "did you mean `moco`?"),
        (&["train", "--epochs", "many"], "--epochs: `many` is not a valid value"),
        (&["train", "--epochs"], "--epochs needs a value"),
        (&["train", "--bogus"], "unexpected argument `--bogus`"),
        (&["train", "--dataset", "cifar10:/no/such/dir"], "/no/such/dir"),
        (&["train", "--dataset", "imagenet:/x"], "imagenet"),
        (&["train", "--encoder", "vgg"], "unknown encoder `vgg`"),
        (&["train", "--knn-k", "0"], "--knn-k must be at least 1"),
        (&["train", "--knn-t", "0"], "--knn-t must be positive"),
        (&["train", "--color-strength", "-1"], "--color-strength must be zero or positive"),
        (&["train", "--crop-min-scale", "1.5"], "--crop-min-scale must be in (0, 1]"),
        (&["train", "--crop-min-scale", "0"], "--crop-min-scale must be in (0, 1]"),
        (&["train", "--weight-decay", "-1"], "--weight-decay must be zero or positive"),
        (&["train", "--warmup-epochs", "-1"], "--warmup-epochs must be zero or positive"),
        (&["train", "--method", "moco", "--momentum", "1.5"], "--momentum must be in [0, 1]"),
        (&["train", "--method", "moco", "--queue-size", "0"], "--queue-size must be at least 1"),
        (&["train", "--method", "instdisc", "--bank-momentum", "-0.5"], "--bank-momentum must be in [0, 1]"),
        (&["train", "--tau", "0"], "--tau must be positive"),
        (&["train", "--optimizer", "adam"], "--optimizer: `adam` is not a valid value"),
        (&["eval"], "--checkpoint"),
        (&["eval", "--checkpoint", "/no/such/checkpoint.safetensors"], "/no/such/config.json"),
        (&["frobnicate"], "unknown command `frobnicate`"),
    ];
    for (args, message) in cases {
        let out = selfsup(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: expected `{message}` in: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}

#[test]
fn cli_train_then_eval_writes_the_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = selfsup(&[
        "train", "--encoder", "tiny-convnet", "--epochs", "1", "--batch-size", "32", "--train-images", "64",
        "--test-images", "40", "--out", out.to_str().unwrap(), "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    for f in ["config.json", "metrics.jsonl", "checkpoint.safetensors", "state.json", "summary.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in ["method", "dataset", "knn_top1", "linear_top1", "baseline_knn_top1", "baseline_linear_top1", "collapse_std", "epochs", "wall_seconds"] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    let last = stdout.lines().last().unwrap();
    assert!(last.contains("kNN top-1") && last.contains("random init"), "last line: {last}");
    // and evaluate the checkpoint
    let o = selfsup(&["eval", "--checkpoint", out.join("checkpoint.safetensors").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let knn = summary["knn_top1"].as_f64().unwrap();
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains(&format!("kNN top-1 {:.1}%", 100.0 * knn)), "eval reproduces the run's kNN: {printed}");
}

#[test]
fn cli_resume_continues_a_run_and_refuses_a_different_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let common = ["--encoder", "tiny-convnet", "--batch-size", "32", "--train-images", "64", "--test-images", "20", "--quiet"];
    let mut first = vec!["train", "--epochs", "1", "--out", out.to_str().unwrap()];
    first.extend(common);
    let o = selfsup(&first);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut again = vec!["train", "--epochs", "2", "--resume", "--out", out.to_str().unwrap()];
    again.extend(common);
    let o = selfsup(&again);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"], 2);
    assert_eq!(state["step"], 4, "two steps per epoch, the first epoch not repeated");
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().count();
    assert_eq!(lines, 4);
    // resuming as another method is refused with exit code 2, naming config.json
    let mut wrong = vec!["train", "--method", "moco", "--epochs", "3", "--resume", "--out", out.to_str().unwrap()];
    wrong.extend(common);
    let o = selfsup(&wrong);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("config.json") && stderr.contains("cannot resume"), "{stderr}");
}

fn run_config(dir: &std::path::Path) -> RunConfig {
    RunConfig::load(&dir.join("config.json")).unwrap()
}

#[test]
fn cli_starts_from_the_methods_defaults_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = selfsup(&[
        "train", "--method", "moco", "--epochs", "1", "--batch-size", "32", "--train-images", "64", "--test-images", "20",
        "--queue-size", "96", "--out", out.to_str().unwrap(), "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = run_config(&out);
    let recipe = RunConfig::for_method("moco").unwrap();
    assert_ne!(recipe.train.lr, TrainConfig::default().lr, "MoCo has its own learning rate");
    assert_eq!(config.train.lr, recipe.train.lr, "unset flags keep MoCo's defaults");
    let (settings, defaults) = (config.settings::<moco::Config>(), moco::Config::default());
    assert_eq!(settings.momentum, defaults.momentum, "unset flags keep MoCo's defaults");
    assert_eq!((config.train.epochs, settings.queue_size, config.train.batch_size), (1, 96, 32), "flags override them");
}

/// Every method's `Config::default()` and budget are what a run with no method flag records:
/// the defaults are written in one place, the method's module.
#[test]
fn a_default_run_records_each_methods_own_defaults() {
    let dir = tempfile::tempdir().unwrap();
    for m in METHODS {
        let out = dir.path().join(m.name);
        let o = selfsup(&[
            "train", "--method", m.name, "--epochs", "1", "--batch-size", "32", "--train-images", "64", "--test-images", "20",
            "--out", out.to_str().unwrap(), "--quiet",
        ]);
        assert!(o.status.success(), "{}: {}", m.name, String::from_utf8_lossy(&o.stderr));
        let recorded = run_config(&out);
        let expected = RunConfig::for_method(m.name).unwrap();
        assert_eq!(recorded.method, expected.method, "{}: config.json's method settings are its Config::default()", m.name);
        let budget = TrainConfig { epochs: 1, batch_size: 32, train_images: 64, test_images: 20, ..expected.train.clone() };
        assert_eq!(recorded.train, budget, "{}: config.json's loop settings are the method's budget", m.name);
        let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["method"], m.name);
    }
}

#[test]
fn a_flag_of_another_method_names_the_methods_that_have_it() {
    let o = selfsup(&["train", "--method", "simclr", "--queue-size", "96"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`--queue-size` is a setting of moco-v1, moco, mochi, not of simclr"), "{stderr}");
    // A typo gets clap's suggestion.
    let o = selfsup(&["train", "--method", "moco", "--momentun", "0.9"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unexpected argument `--momentun`") && stderr.contains("--momentum"), "{stderr}");
}

#[test]
fn help_lists_the_chosen_methods_settings_with_their_defaults() {
    let o = selfsup(&["train", "--method", "moco", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for want in ["--momentum", "[default: 0.99]", "--queue-size", "[default: 4096]", "--epochs", "[default: 12]", "mochi"] {
        assert!(help.contains(want), "`{want}` missing from:\n{help}");
    }
    let o = selfsup(&["train", "--method", "mochi", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--hard-negatives") && help.contains("[default: 256]"), "{help}");
    let o = selfsup(&["train", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--tau") && !help.contains("--momentum"), "simclr's settings by default: {help}");
}

#[test]
fn config_json_round_trips_and_old_flat_configs_still_load() {
    let run = RunConfig::for_method("mochi").unwrap();
    let text = serde_json::to_string(&run).unwrap();
    assert!(text.contains(r#""method":{"name":"mochi""#), "{text}");
    assert_eq!(serde_json::from_str::<RunConfig>(&text).unwrap(), run);
    // A typo in a hand-edited config.json is refused, naming the field.
    let typo = text.replace("queue_size", "queue_sise");
    let e = RunConfig::from_json(serde_json::from_str(&typo).unwrap()).unwrap_err();
    assert!(e.contains("queue_sise"), "{e}");
    // The flat layout of earlier versions: its values where the method has them.
    let old = serde_json::json!({
        "method": "moco", "encoder": "tiny-convnet", "dataset": "shapes", "epochs": 8, "batch_size": 64,
        "optimizer": "adamw", "lr": 0.001, "weight_decay": 0.0001, "warmup_epochs": 0.5, "seed": 3,
        "train_images": 0, "test_images": 0, "tau": 0.2, "momentum": 0.999, "queue_size": 128,
        "color_strength": 1.0, "crop_min_scale": 0.5, "knn_k": 20, "knn_t": 0.1
    });
    let run = RunConfig::from_json(old).unwrap();
    assert_eq!((run.name(), run.train.epochs, run.train.seed), ("moco", 8, 3));
    let m = run.settings::<moco::Config>();
    assert_eq!((m.tau, m.momentum, m.queue_size, m.views.crop_min_scale), (0.2, 0.999, 128, 0.5));
    let e = RunConfig::from_json(serde_json::json!({"method": "nosuch"})).unwrap_err();
    assert!(e.contains("unknown method `nosuch`"), "{e}");
}

#[test]
fn moco_v1_trains_saves_and_evaluates_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = selfsup(&[
        "train", "--method", "moco-v1", "--epochs", "1", "--batch-size", "32", "--train-images", "64", "--test-images", "20",
        "--queue-size", "64", "--out", out.to_str().unwrap(), "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["method"], "moco-v1");
    let config = run_config(&out);
    assert_eq!(config.name(), "moco-v1");
    assert_eq!(config.settings::<moco::Config>().queue_size, 64, "the flag reaches MoCo v1's settings");
    // The checkpoint holds the linear head, so `eval` rebuilds the same model from it.
    let ckpt = out.join("checkpoint.safetensors");
    let o = selfsup(&["eval", "--checkpoint", ckpt.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
