//! Watching a run while it trains: `fit_observed`'s hook and the collapse trace built on it
//! (`train::trace`, `run::train_traced`).

use dfdx::prelude::*;
use selfsup::data::shapes::{self, ShapesConfig};
use selfsup::methods::{byol, SimClr};
use selfsup::nn::TinyConvNet;
use selfsup::train::trace::{self, TraceConfig};
use selfsup::train::{fit, fit_observed, RunConfig, RunDir, StepInfo, TrainConfig, TrainState};

type Model = SimClr<TinyConvNet<Cpu>, 128, 64, 32, f32, Cpu>;

/// The observer sees the model before the first step and after every step, in order, and
/// observing does not change the run: same weights as `fit` from the same start.
#[test]
fn the_observer_sees_every_step_and_does_not_change_training() {
    let data = shapes::generate(&ShapesConfig { n_train: 64, n_test: 8, size: 16, seed: 1 }).train;
    let cfg = TrainConfig { epochs: 2, batch_size: 32, ..TrainConfig::default() };
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let mut plain = Model::build(&Cpu::seed_from_u64(0));
    fit(&mut plain, &Cpu::seed_from_u64(0), &data, &cfg, &RunDir::create(a_dir.path()).unwrap(), TrainState::default(), true).unwrap();

    let mut observed = Model::build(&Cpu::seed_from_u64(0));
    let mut seen: Vec<StepInfo> = Vec::new();
    let mut first_weight = Vec::new();
    let state = fit_observed(&mut observed, &Cpu::seed_from_u64(0), &data, &cfg, &RunDir::create(b_dir.path()).unwrap(), TrainState::default(), true, &mut |m: &Model, _: &Cpu, at| {
        if at.step == 0 {
            first_weight = m.branch.encoder.block1.conv.weight.as_vec();
        }
        seen.push(at);
        Ok(())
    })
    .unwrap();
    assert_eq!(state.step, 4);
    let steps: Vec<usize> = seen.iter().map(|s| s.step).collect();
    assert_eq!(steps, vec![0, 1, 2, 3, 4], "before training, then after each step");
    assert!(seen.iter().all(|s| s.total_steps == 4));
    assert_eq!(seen.iter().map(|s| s.epoch).collect::<Vec<_>>(), vec![0, 0, 0, 1, 1]);
    assert_eq!(first_weight, Model::build(&Cpu::seed_from_u64(0)).branch.encoder.block1.conv.weight.as_vec(), "step 0 is the initialisation");
    assert_eq!(observed.branch.encoder.block1.conv.weight.as_vec(), plain.branch.encoder.block1.conv.weight.as_vec(), "observing changed the run");
    assert_eq!(observed.branch.projector.fc2.weight.as_vec(), plain.branch.projector.fc2.weight.as_vec());

    // An observer's error stops training.
    let mut model = Model::build(&Cpu::seed_from_u64(0));
    let err = fit_observed(&mut model, &Cpu::seed_from_u64(0), &data, &cfg, &RunDir::create(b_dir.path()).unwrap(), TrainState::default(), true, &mut |_: &Model, _: &Cpu, at| {
        if at.step == 2 {
            Err(selfsup::Error::config("stop here"))
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    assert!(err.to_string().contains("stop here"), "{err}");
}

/// `run::train_traced` writes `collapse.jsonl`: one point at step 0, every `every` steps and at
/// the last step, with the projections' metrics for a method that has a projector (BYOL), and
/// the same summary as an untraced run.
#[test]
fn train_traced_writes_the_collapse_metric_over_training() {
    let mut run = RunConfig::for_method("byol").unwrap();
    run.settings_mut::<byol::Config>().ablation = byol::Ablation::NoPredictor;
    run.train = TrainConfig { epochs: 2, train_images: 96, test_images: 40, batch_size: 32, encoder: "tiny-convnet".into(), ..run.train };
    let dir = tempfile::tempdir().unwrap();
    let trace_cfg = TraceConfig { every: 2, images: 24 };
    let traced = selfsup::run::train_traced(&run, dir.path(), &trace_cfg, true).unwrap();
    let points = trace::read(dir.path()).unwrap();
    // 3 steps per epoch, 6 in all: steps 0, 2, 4, 6.
    assert_eq!(points.iter().map(|p| p.step).collect::<Vec<_>>(), vec![0, 2, 4, 6]);
    for p in &points {
        assert!(p.collapse_std > 0.0 && p.collapse_std <= 1.0, "{p:?}");
        assert!(p.effective_rank >= 1.0 && p.effective_rank <= p.dim as f32 + 1e-3, "{p:?}");
        let (std, rank, d) = (p.projection_collapse_std.unwrap(), p.projection_effective_rank.unwrap(), p.projection_dim.unwrap());
        assert!(std > 0.0 && rank >= 1.0 && rank <= d as f32 + 1e-3, "{p:?}");
    }

    let plain_dir = tempfile::tempdir().unwrap();
    let plain = selfsup::run::train(&run, plain_dir.path(), false, true).unwrap();
    assert_eq!(traced.final_loss, plain.final_loss, "tracing changed the run");
    assert_eq!(traced.knn_top1, plain.knn_top1);
    assert!(!plain_dir.path().join(trace::TRACE_FILE).exists(), "an untraced run writes no trace");

    let bad = selfsup::run::train_traced(&run, dir.path(), &TraceConfig { every: 0, images: 24 }, true).unwrap_err();
    assert!(bad.to_string().contains("every"), "{bad}");
}
