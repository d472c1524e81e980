//! SwAV as a method (`--method swav`): its loss against the composition computed by hand, the
//! codes' missing gradient, the prototypes (unit rows, frozen under a real optimizer, then
//! trained), the queue (FIFO, used only once full), multi-crop through the encoders, and a
//! short end-to-end run. The building blocks (`sinkhorn`, `swav_loss`) are checked against
//! NumPy in `tests/clustering.rs`.

use dfdx::prelude::*;
use selfsup::augment::ViewGenerator;
use selfsup::data::shapes::{self, ShapesConfig};
use selfsup::methods::swav::{self, codes_from_scores, sinkhorn, swav_batch_loss, swav_loss, Codes, FeatureQueue, SinkhornConfig, SwAV, MAX_PROTOTYPES, N_GLOBAL};
use selfsup::methods::{Batch, Method, Settings};
use selfsup::nn::ops::{Img, Mat};
use selfsup::nn::{Encoder, SmallConvNet, SmallResNet, TinyConvNet};
use selfsup::train::checkpoint::{load_model, save_model};
use selfsup::train::optimizer::{Optimizer, OptimizerKind};

const Z: usize = 16;
type Model = SwAV<TinyConvNet<Cpu>, 128, 32, Z, f32, Cpu>;

/// A SwAV with `K = 8` prototypes, one local crop, the prototypes trainable from the start,
/// no queue (tests change what they need).
fn settings() -> swav::Config {
    swav::Config { prototypes: 8, local_crops: 1, freeze_prototypes_steps: 0, ..swav::Config::default() }
}

fn model(settings: &swav::Config) -> (Model, Cpu) {
    let dev = Cpu::seed_from_u64(3);
    let mut m = Model::build(&dev);
    m.configure(settings);
    (m, dev)
}

/// Batch number `k` of `b` images of the built-in set, in `model`'s views.
fn batch(model: &Model, b: usize, k: usize) -> Batch {
    let data = shapes::generate(&ShapesConfig { n_train: 64, n_test: 8, ..ShapesConfig::default() }).train;
    let images: Vec<_> = (b * k..b * k + b).map(|i| data.image(i % data.len())).collect();
    Batch { views: model.views(32).views_batch(&images, k as u64).unwrap(), indices: (0..b).collect() }
}

fn image_tensor(dev: &Cpu, views: &[selfsup::augment::ViewBatch]) -> Img<Cpu> {
    selfsup::methods::stack_views(dev, views)
}

/// `steps` real training steps as the loop takes them (loss, backward, optimizer step with
/// weight decay, zero_grads, after_step), with the same optimizer across calls.
fn train_steps(model: &mut Model, dev: &Cpu, opt: &mut Optimizer<Model, Cpu>, grads: &mut Gradients<f32, Cpu>, first: usize, steps: usize) -> Vec<f32> {
    let mut losses = Vec::new();
    for k in first..first + steps {
        let b = batch(model, 8, k);
        let loss = model.loss(&b, dev, std::mem::replace(grads, Gradients::leaky()));
        losses.push(loss.array());
        *grads = loss.backward();
        opt.step(model, grads).unwrap();
        model.zero_grads(grads);
        model.after_step(0.5);
    }
    losses
}

fn row_norms(values: &[f32], dim: usize) -> Vec<f32> {
    values.chunks_exact(dim).map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt()).collect()
}

/// The model's loss on a fixed batch equals the loss composed by hand in f64 from the
/// network's projections: unit z and C, scores, Sinkhorn codes of the two global crops, the
/// log-softmax of s/τ, averaged over every pair (global i, other view v ≠ i).
#[test]
fn the_methods_loss_is_the_swapped_prediction_composed_by_hand() {
    let cfg = swav::Config { local_crops: 2, ..settings() };
    let (mut m, dev) = model(&cfg);
    let b = 4;
    let fixed = batch(&m, b, 0);
    let got = m.loss(&fixed, &dev, Gradients::leaky()).array() as f64;

    // The projections again, one pass per crop size as the method does (training-mode
    // BatchNorm: batch statistics, so the values are the same).
    let z_global = m.branch.forward_train(image_tensor(&dev, &fixed.views[..2])).as_vec();
    let z_local = m.branch.forward_train(image_tensor(&dev, &fixed.views[2..])).as_vec();
    let z: Vec<f32> = [z_global, z_local].concat();
    let (k, views) = (cfg.prototypes, 4);
    let unit = |v: &[f32]| -> Vec<f64> {
        v.chunks_exact(Z)
            .flat_map(|r| {
                let n = r.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
                r.iter().map(move |&x| x as f64 / n)
            })
            .collect()
    };
    let (z, c) = (unit(&z), unit(&m.prototype_values()));
    let scores: Vec<f64> = (0..views * b).flat_map(|r| (0..k).map(|j| (0..Z).map(|d| z[r * Z + d] * c[j * Z + d]).sum::<f64>()).collect::<Vec<_>>()).collect();
    let view_scores = |v: usize| -> Vec<f64> { scores[v * b * k..(v + 1) * b * k].to_vec() };
    let codes: Vec<Vec<f32>> = (0..2).map(|i| {
        let s: Vec<f32> = view_scores(i).iter().map(|&x| x as f32).collect();
        sinkhorn(&s, b, k, &SinkhornConfig { epsilon: cfg.epsilon as f32, iterations: cfg.sinkhorn_iterations }).unwrap()
    }).collect();
    let tau = cfg.tau;
    let mut total = 0.0;
    let mut pairs = 0;
    for (i, q) in codes.iter().enumerate() {
        for v in (0..views).filter(|&v| v != i) {
            let s = view_scores(v);
            for row in 0..b {
                let logits: Vec<f64> = (0..k).map(|j| s[row * k + j] / tau).collect();
                let max = logits.iter().cloned().fold(f64::MIN, f64::max);
                let log_z = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
                total -= (0..k).map(|j| q[row * k + j] as f64 * (logits[j] - log_z)).sum::<f64>() / b as f64;
            }
            pairs += 1;
        }
    }
    assert_eq!(pairs, 2 * 3, "two global crops, each predicted by the three other views");
    let expected = total / pairs as f64;
    assert!((got - expected).abs() < 1e-4, "method's loss {got}, by hand {expected}");
}

/// The codes are targets: the gradient of the loss with respect to the projections (global
/// crops included) and the prototypes is the one with the codes held fixed, checked by finite
/// differences through a real backward; recomputing the codes at every perturbation would give
/// another gradient (so the check can tell the two apart).
#[test]
fn the_codes_carry_no_gradient() {
    let dev = Cpu::default();
    let (b, k, d, views) = (3, 4, 5, 3); // two global views and one local
    let z_values: Vec<f32> = (0..views * b * d).map(|i| ((i * 37 % 23) as f32 / 11.0 - 1.0) + 0.1 * (i % 3) as f32).collect();
    let c_values: Vec<f32> = (0..k * d).map(|i| (i * 17 % 13) as f32 / 6.0 - 1.0).collect();
    let cfg = SinkhornConfig::default();
    let tau = 0.1;
    let z: Mat<Cpu> = dev.tensor_from_vec(z_values.clone(), (views * b, d));
    let c: Mat<Cpu> = dev.tensor_from_vec(c_values.clone(), (k, d));
    let grads = Gradients::leaky();
    let (loss, codes) = swav_batch_loss(z.clone().traced(grads), c.clone().retaped(), b, N_GLOBAL, None, Codes::Sinkhorn, &cfg, tau).unwrap();
    let grads = loss.backward();
    let (gz, gc) = (grads.get(&z).as_vec(), grads.get(&c).as_vec());

    let fixed_codes = |zv: &[f32], cv: &[f32]| -> f64 {
        let s = swav::prototype_scores(dev.tensor_from_vec(zv.to_vec(), (views * b, d)), dev.tensor_from_vec(cv.to_vec(), (k, d)));
        swav_loss(vec![s], &codes, tau).array() as f64
    };
    let recomputed = |zv: &[f32], cv: &[f32]| -> f64 {
        let (l, _) = swav_batch_loss(dev.tensor_from_vec(zv.to_vec(), (views * b, d)), dev.tensor_from_vec(cv.to_vec(), (k, d)), b, N_GLOBAL, None, Codes::Sinkhorn, &cfg, tau).unwrap();
        l.array() as f64
    };
    let h = 1e-3f32;
    let mut largest_gap = 0.0f64;
    for (which, analytic) in [("z", &gz), ("C", &gc)] {
        for i in 0..analytic.len() {
            let (mut zp, mut zm, mut cp, mut cm) = (z_values.clone(), z_values.clone(), c_values.clone(), c_values.clone());
            if which == "z" {
                zp[i] += h;
                zm[i] -= h;
            } else {
                cp[i] += h;
                cm[i] -= h;
            }
            let fd_fixed = (fixed_codes(&zp, &cp) - fixed_codes(&zm, &cm)) / (2.0 * h as f64);
            let fd_moving = (recomputed(&zp, &cp) - recomputed(&zm, &cm)) / (2.0 * h as f64);
            let g = analytic[i] as f64;
            assert!((g - fd_fixed).abs() < 3e-3 + 3e-3 * fd_fixed.abs(), "dL/d{which}[{i}]: backward {g}, finite differences with fixed codes {fd_fixed}");
            largest_gap = largest_gap.max((fd_moving - fd_fixed).abs());
        }
    }
    assert!(largest_gap > 0.05, "the codes should depend on z and C (largest gap {largest_gap}): the test could not tell");
}

#[test]
fn prototypes_stay_unit_rows_while_they_train() {
    let (mut m, dev) = model(&settings());
    let before = m.prototype_values();
    assert!(row_norms(&before, Z).iter().all(|n| (n - 1.0).abs() < 1e-5), "a fresh model's prototypes are unit rows");
    let mut opt = Optimizer::new(&m, OptimizerKind::AdamW, 1e-2, 1e-2);
    let mut grads = m.alloc_grads();
    train_steps(&mut m, &dev, &mut opt, &mut grads, 0, 3);
    let after = m.prototype_values();
    let moved = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(moved > 1e-3, "the prototypes should train (moved {moved})");
    for (j, n) in row_norms(&after, Z).iter().enumerate() {
        assert!((n - 1.0).abs() < 1e-5, "prototype {j} has norm {n} after training steps");
    }
}

/// Frozen means untouched by the optimizer — no gradient step, no weight decay, no Adam or
/// SGD momentum — bit for bit, under the shared optimizer with weight decay; the freeze counts
/// steps across a checkpoint; afterwards the prototypes train.
#[test]
fn frozen_prototypes_do_not_move_under_a_real_optimizer_then_train() {
    for kind in [OptimizerKind::AdamW, OptimizerKind::Sgd] {
        let cfg = swav::Config { freeze_prototypes_steps: 3, ..settings() };
        let (mut m, dev) = model(&cfg);
        let before = m.prototypes.as_vec();
        let encoder_before = m.branch.encoder.block1.conv.weight.as_vec();
        let mut opt = Optimizer::new(&m, kind, 1e-2, 1e-1);
        let mut grads = m.alloc_grads();
        train_steps(&mut m, &dev, &mut opt, &mut grads, 0, 3);
        assert_eq!(m.prototypes.as_vec(), before, "{kind:?}: the prototypes moved while frozen");
        assert_ne!(m.branch.encoder.block1.conv.weight.as_vec(), encoder_before, "{kind:?}: the encoder should train meanwhile");
        assert!(!m.prototypes_frozen(), "3 steps taken: the freeze is over");

        // The step count survives a checkpoint: a resumed run does not freeze again.
        let dir = tempfile::tempdir().unwrap();
        save_model(&m, &dir.path().join("model.safetensors")).unwrap();
        let (mut resumed, _) = model(&cfg);
        load_model(&mut resumed, &dir.path().join("model.safetensors")).unwrap();
        assert_eq!(resumed.steps, 3.0);
        assert!(!resumed.prototypes_frozen());

        train_steps(&mut m, &dev, &mut opt, &mut grads, 3, 2);
        let after = m.prototypes.as_vec();
        let moved = before[..cfg.prototypes * Z].iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(moved > 1e-4, "{kind:?}: the prototypes should train once the freeze is over (moved {moved})");
    }
}

#[test]
fn the_queue_is_first_in_first_out() {
    let mut q = FeatureQueue::new(5, 2);
    assert!(q.is_empty() && !q.is_full());
    q.push(&[1.0, 1.0, 2.0, 2.0]);
    q.push(&[3.0, 3.0, 4.0, 4.0]);
    assert_eq!((q.len(), q.is_full()), (4, false));
    assert_eq!(q.rows(), [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
    q.push(&[5.0, 5.0, 6.0, 6.0, 7.0, 7.0]);
    assert!(q.is_full());
    assert_eq!(q.rows(), [3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 6.0, 7.0, 7.0], "the oldest rows leave first");
}

#[test]
fn queued_scores_go_above_the_batch_and_only_the_batch_rows_are_kept() {
    let cfg = SinkhornConfig::default();
    let (b, k) = (2, 3);
    let batch = [0.9, 0.1, -0.2, 0.3, 0.8, 0.0];
    let queued = [0.1, 0.2, 0.95, 0.0, 0.1, 0.9, -0.1, 0.2, 0.85];
    let with_queue = codes_from_scores(&batch, b, k, Some(&queued), Codes::Sinkhorn, &cfg).unwrap();
    let stacked = sinkhorn(&[&queued[..], &batch[..]].concat(), 5, k, &cfg).unwrap();
    assert_eq!(with_queue, stacked[3 * k..], "the batch's rows of Sinkhorn over queue + batch");
    let alone = codes_from_scores(&batch, b, k, None, Codes::Sinkhorn, &cfg).unwrap();
    // The queue leans on prototype 2, so equipartition pushes the batch towards 0 and 1.
    assert!(with_queue[2] + with_queue[5] < alone[2] + alone[5], "{with_queue:?} vs {alone:?}");
    // Softmax codes ignore the queue and are each row's softmax(s / ε).
    let soft = codes_from_scores(&batch, b, k, Some(&queued), Codes::Softmax, &cfg).unwrap();
    let e: Vec<f64> = batch[..3].iter().map(|&s| (s as f64 / 0.05).exp()).collect();
    assert!((soft[0] as f64 - e[0] / e.iter().sum::<f64>()).abs() < 1e-6);
}

/// With a queue of two batches' global crops, the first two losses equal those of a model
/// without a queue (the queue is filling), the third differs (it is full and used); the queue
/// then holds the latest global-crop projections, unit rows.
#[test]
fn the_queue_is_used_only_once_full() {
    let b = 4;
    let length = 2 * N_GLOBAL * b;
    let (mut with, dev) = model(&swav::Config { queue_length: length, ..settings() });
    let (mut without, _) = model(&settings());
    let fixed = batch(&with, b, 0);
    for call in 0..3 {
        let a = with.loss(&fixed, &dev, Gradients::leaky()).array();
        let c = without.loss(&fixed, &dev, Gradients::leaky()).array();
        let queue = with.queue.as_ref().unwrap();
        if call < 2 {
            assert_eq!(a, c, "call {call}: the queue is not full ({} of {length}) and must not be used", queue.len());
        } else {
            assert_ne!(a, c, "call {call}: the full queue should change the codes");
        }
        assert_eq!(queue.len(), (N_GLOBAL * b * (call + 1)).min(length));
    }
    let rows = with.queue.as_ref().unwrap().rows();
    assert!(row_norms(&rows, Z).iter().all(|n| (n - 1.0).abs() < 1e-5), "the queue holds unit projections");
}

/// BatchNorm's running averages (used by evaluation, on whole images) come from the global
/// crops only: a step with local crops leaves them as a pass over the global crops alone does.
#[test]
fn local_crops_do_not_feed_batchnorms_running_averages() {
    let (mut m, dev) = model(&swav::Config { local_crops: 2, ..settings() });
    let fixed = batch(&m, 4, 0);
    let mut global_only = m.clone();
    global_only.branch.forward_train(image_tensor(&dev, &fixed.views[..2]));
    let before = m.branch.encoder.block1.bn.running_mean.as_vec();
    m.loss(&fixed, &dev, Gradients::leaky());
    let after = m.branch.encoder.block1.bn.running_mean.as_vec();
    assert_ne!(after, before, "the global crops update the running averages");
    assert_eq!(after, global_only.branch.encoder.block1.bn.running_mean.as_vec(), "the local crops changed them");
    assert_eq!(m.branch.projector.bn.running_var.as_vec(), global_only.branch.projector.bn.running_var.as_vec());
}

/// Two global 32-px crops and local 16-px crops in one step, through the default encoder; the
/// convnet and the resnet take 16 px too, and the ViT (resampled position embeddings) when the
/// local crops are whole 4×4 patches; another size is refused with a clear error.
#[test]
fn multi_crop_batches_of_two_sizes_go_through_the_encoders() {
    let cfg = swav::Config { local_crops: 3, ..settings() };
    let (mut m, dev) = model(&cfg);
    let views: ViewGenerator = m.views(32);
    let fixed = batch(&m, 4, 0);
    assert_eq!(views.num_views(), 5);
    let sizes: Vec<usize> = fixed.views.iter().map(|v| v.shape()[2]).collect();
    assert_eq!(sizes, [32, 32, 16, 16, 16]);
    let loss = m.loss(&fixed, &dev, Gradients::leaky()).array();
    assert!(loss.is_finite(), "loss {loss}");
    let small: Img<Cpu> = dev.sample_normal_like(&(2, 3, 16, 16));
    assert_eq!(m.branch.encoder.forward_train(small.clone()).shape(), &(2, 128));
    let mut convnet = SmallConvNet::<Cpu>::build(&dev);
    assert_eq!(convnet.forward_train(small.clone()).shape(), &(2, 256));
    let mut resnet = SmallResNet::<Cpu>::build(&dev);
    assert_eq!(resnet.forward_train(small).shape().0, 2);
    for encoder in ["tiny-convnet", "convnet", "resnet", "vit"] {
        assert!(cfg.check_encoder(encoder).is_ok(), "{encoder}");
    }
    // The ViT takes local crops of whole 4×4 patches only (16 px: a 4×4 grid of tokens).
    let odd = swav::Config { local_size: 10, ..cfg.clone() };
    assert!(odd.check_encoder("convnet").is_ok());
    let err = odd.check_encoder("vit").unwrap_err().to_string();
    assert!(err.contains("--local-size 10") && err.contains("multiple of 4"), "{err}");
    // `--local-size 32`: the extra crops at the global crops' size, still one pass per kind.
    let (mut full, _) = model(&swav::Config { local_crops: 2, local_size: 32, ..settings() });
    let full_views = batch(&full, 4, 0);
    assert_eq!(full_views.views.iter().map(|v| v.shape()[2]).collect::<Vec<_>>(), [32, 32, 32, 32]);
    assert!(full.loss(&full_views, &dev, Gradients::leaky()).array().is_finite());
    // Plain two-view SwAV: no local crops.
    let (mut two, _) = model(&swav::Config { local_crops: 0, ..settings() });
    assert_eq!(two.views(32).num_views(), 2);
    let two_view = batch(&two, 4, 0);
    assert!(two.loss(&two_view, &dev, Gradients::leaky()).array().is_finite());
}

#[test]
fn bad_settings_are_refused() {
    for (cfg, flag) in [
        (swav::Config { prototypes: 0, ..settings() }, "--prototypes"),
        (swav::Config { prototypes: MAX_PROTOTYPES + 1, ..settings() }, "--prototypes"),
        (swav::Config { epsilon: 0.0, ..settings() }, "--epsilon"),
        (swav::Config { sinkhorn_iterations: 0, ..settings() }, "--sinkhorn-iterations"),
        (swav::Config { tau: -1.0, ..settings() }, "--tau"),
        (swav::Config { local_crops: 2, local_size: 4, ..settings() }, "--local-size"),
    ] {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(flag), "{flag}: {err}");
    }
}

#[test]
fn a_short_run_on_a_few_hundred_images_ends_with_a_finite_loss() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = selfsup::train::RunConfig::for_method("swav").unwrap();
    cfg.train = selfsup::train::TrainConfig { epochs: 1, train_images: 320, test_images: 100, ..cfg.train };
    cfg.settings_mut::<swav::Config>().freeze_prototypes_steps = 2;
    let s = selfsup::run::train(&cfg, dir.path(), false, true).unwrap();
    let loss = s.final_loss.expect("a loss");
    assert!(loss.is_finite() && loss > 0.0, "final loss {loss}");
    assert_eq!(s.method, "swav");
}
