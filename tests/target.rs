//! The target network (MoCo's key encoder, BYOL's target, DINO's teacher) under a real
//! optimizer: it has its own tensor ids, no optimizer moves it, `m = 1` freezes it, `m = 0`
//! makes it the online network, and a resumed run keeps the trained target. BYOL's target and
//! DINO's teacher are checked the same way: they receive no gradient and a base rate of 1
//! freezes them; DINO's centre and frozen last layer are checked under the same steps.
//!
//! These are the tests that would have caught the kit's first MoCo, whose key encoder was a
//! `clone()` of the query encoder: dfdx keeps a tensor's id on `clone()`, so the optimizer
//! applied the query's gradients and Adam steps to the key encoder too.

use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use selfsup::data::shapes::{self, ShapesConfig};
use selfsup::methods::dino::{self, Dino};
use selfsup::methods::{byol, moco, Batch, Byol, Method, MoCo};
use selfsup::nn::{Branch, Target, TinyConvNet};
use selfsup::train::checkpoint::{load_model, save_model};
use selfsup::train::optimizer::{Optimizer, OptimizerKind};

type Net = Branch<TinyConvNet<Cpu>, 128, 32, 16, f32, Cpu>;
type Moco = MoCo<TinyConvNet<Cpu>, 128, 32, 16, f32, Cpu>;
type Byol_ = Byol<TinyConvNet<Cpu>, 128, 32, 16, f32, Cpu>;
type Dino_ = Dino<TinyConvNet<Cpu>, 128, 32, 16, f32, Cpu>;

/// What the tests look at in each tensor, in visiting order: its dfdx id, whether an
/// optimizer would train it, and its values.
struct Seen {
    id: String,
    trainable: bool,
    values: Vec<f32>,
}

fn tensors<M: TensorCollection<f32, Cpu>>(m: &M) -> Vec<Seen> {
    struct Collect(Vec<Seen>);
    impl TensorVisitor<f32, Cpu> for Collect {
        type Viewer = ViewTensorRef;
        type Err = <Cpu as HasErr>::Err;
        type E2 = f32;
        type D2 = Cpu;
        fn visit<S: Shape>(&mut self, opts: TensorOptions<S, f32, Cpu>, t: &Tensor<S, f32, Cpu>) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
            // dfdx does not export tensor ids; its `Debug` output starts with them.
            let debug = format!("{t:?}");
            let start = debug.find("UniqueId(").expect("dfdx's Debug shows the tensor id");
            let end = start + debug[start..].find(')').unwrap();
            self.0.push(Seen { id: debug[start..=end].to_string(), trainable: opts.do_gradient_update, values: t.as_vec() });
            Ok(None)
        }
    }
    let mut c = Collect(Vec::new());
    M::iter_tensors(&mut RecursiveWalker { m, f: &mut c }).unwrap();
    c.0
}

/// Every tensor's values.
fn values<M: TensorCollection<f32, Cpu>>(m: &M) -> Vec<Vec<f32>> {
    tensors(m).into_iter().map(|t| t.values).collect()
}

/// The values of the tensors an optimizer would train (BatchNorm's running statistics, which
/// forward passes update, left out).
fn params<M: TensorCollection<f32, Cpu>>(m: &M) -> Vec<Vec<f32>> {
    tensors(m).into_iter().filter(|t| t.trainable).map(|t| t.values).collect()
}

fn ids<M: TensorCollection<f32, Cpu>>(m: &M) -> Vec<String> {
    tensors(m).into_iter().map(|t| t.id).collect()
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs())).fold(0.0, f32::max)
}

/// `model` (or a fresh one) configured with `settings`, `begin` called on a small `shapes`
/// set, then `steps` real training steps (loss, backward, AdamW with weight decay,
/// `after_step`), as the training loop does.
fn train<M: Method<Cpu> + BuildModule<Cpu, f32>>(settings: &M::Config, steps: usize, model: Option<M>) -> (M, Cpu) {
    let dev = Cpu::seed_from_u64(7);
    let mut model = model.unwrap_or_else(|| M::build(&dev));
    model.configure(settings);
    let data = shapes::generate(&ShapesConfig { n_train: 64, n_test: 8, ..ShapesConfig::default() }).train;
    model.begin(&dev, &data);
    let views = model.views(32);
    let mut opt = Optimizer::new(&model, OptimizerKind::AdamW, 1e-2, 1e-2);
    let mut grads = model.alloc_grads();
    for step in 0..steps {
        let images: Vec<_> = (16 * step..16 * step + 16).map(|i| data.image(i % data.len())).collect();
        let batch = Batch { views: views.views_batch(&images, step as u64).unwrap(), indices: (0..16).collect() };
        let loss = model.loss(&batch, &dev, std::mem::replace(&mut grads, Gradients::leaky()));
        grads = loss.backward();
        opt.step(&mut model, &grads).unwrap();
        model.zero_grads(&mut grads);
        model.after_step((step + 1) as f32 / steps as f32);
    }
    (model, dev)
}

/// The gradients of one loss of `model` on 16 `shapes` images (no optimizer step).
fn one_backward<M: Method<Cpu>>(model: &mut M, dev: &Cpu) -> Gradients<f32, Cpu> {
    let data = shapes::generate(&ShapesConfig { n_train: 16, n_test: 8, ..ShapesConfig::default() }).train;
    let images: Vec<_> = (0..16).map(|i| data.image(i)).collect();
    let batch = Batch { views: model.views(32).views_batch(&images, 0).unwrap(), indices: (0..16).collect() };
    model.loss(&batch, dev, Gradients::leaky()).backward()
}

/// Whether the backward pass reached `t` (`Gradients::get` panics on a tensor it never reached).
fn reached<S: Shape>(grads: &Gradients<f32, Cpu>, t: &Tensor<S, f32, Cpu>) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grads.get(t))).is_ok()
}

/// A MoCo with a 32-key queue trained for `steps` steps at momentum `m`.
fn train_moco(m: f64, steps: usize, model: Option<Moco>) -> (Moco, Cpu) {
    train(&moco::Config { momentum: m, queue_size: 32, ..moco::Config::default() }, steps, model)
}

#[test]
fn target_has_its_own_tensor_ids() {
    let (model, _) = train_moco(0.99, 0, None);
    let (q, k) = (ids(&model.query), ids(model.key.net()));
    assert_eq!(q.len(), k.len());
    for (a, b) in q.iter().zip(&k) {
        assert_ne!(a, b, "the key encoder shares a tensor id with the query encoder");
    }
    // …but holds the query encoder's values after `begin`.
    assert_eq!(values(&model.query), values(model.key.net()));
}

#[test]
fn momentum_one_freezes_the_key_encoder_under_a_real_optimizer() {
    let (before, _) = train_moco(1.0, 0, None);
    let (after, _) = train_moco(1.0, 3, None);
    let moved_query = max_abs_diff(&params(&before.query), &params(&after.query));
    // BatchNorm's running statistics do move in the key encoder's own forward passes, and the
    // update with m = 1 keeps them: compare the weights.
    let moved_key = max_abs_diff(&params(before.key.net()), &params(after.key.net()));
    assert!(moved_query > 1e-3, "the query encoder should train (moved {moved_query})");
    assert_eq!(moved_key, 0.0, "m = 1: θk ← 1·θk + 0·θq must not move the key encoder (moved {moved_key})");
}

#[test]
fn momentum_zero_makes_the_key_encoder_the_query_encoder() {
    let (model, _) = train_moco(0.0, 2, None);
    assert_eq!(values(&model.query), values(model.key.net()), "m = 0: θk ← θq after every step");
}

#[test]
fn no_optimizer_touches_the_target_even_with_a_gradient() {
    let dev = Cpu::seed_from_u64(1);
    let online = Net::build(&dev);
    let mut target = Target::<Net>::build(&dev);
    target.start_from(&online);
    assert_eq!(target.num_trainable_params(), 0, "a target has no trainable parameters");
    // Put a gradient on the target's own tensors by tracing a forward pass through it.
    let x: Tensor<(usize, usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(4, 3, 32, 32));
    let z = target.net_mut().forward_train(x.traced(Gradients::leaky()));
    let grads = z.square().mean().backward();
    let before = values(target.net());
    for kind in [OptimizerKind::AdamW, OptimizerKind::Sgd] {
        let mut opt = Optimizer::new(&target, kind, 0.1, 0.1);
        opt.step(&mut target, &grads).unwrap();
    }
    assert_eq!(values(target.net()), before, "an optimizer step moved the target network");
}

#[test]
fn start_from_copies_once_and_a_restored_target_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moco.safetensors");
    // Train with m = 0.5 so that the key encoder differs from the query encoder.
    let (trained, dev) = train_moco(0.5, 2, None);
    assert!(max_abs_diff(&values(&trained.query), &values(trained.key.net())) > 0.0);
    save_model(&trained, &path).unwrap();
    // Resume: a fresh model, the checkpoint loaded, then `begin` as the training loop does.
    let mut resumed = Moco::build(&dev);
    load_model(&mut resumed, &path).unwrap();
    let (resumed, _) = train_moco(0.5, 0, Some(resumed));
    assert!(resumed.key.is_initialised());
    assert_eq!(values(resumed.key.net()), values(trained.key.net()), "a resumed run must keep the trained key encoder");
    assert_ne!(values(resumed.key.net()), values(&resumed.query));
}

#[test]
fn byol_target_gets_no_gradient_and_tau_one_freezes_it() {
    let frozen = byol::Config { tau_base: 1.0, ..byol::Config::default() };
    let (before, _) = train::<Byol_>(&frozen, 0, None);
    assert_eq!(values(&before.online), values(before.target.net()), "the target starts as the online network's values");
    let (after, dev) = train::<Byol_>(&frozen, 3, None);
    let moved_online = max_abs_diff(&params(&before.online), &params(&after.online));
    let moved_target = max_abs_diff(&params(before.target.net()), &params(after.target.net()));
    assert!(moved_online > 1e-3, "the online network should train (moved {moved_online})");
    assert_eq!(moved_target, 0.0, "τ = 1 must freeze the target (moved {moved_target})");
    // No gradient reaches the target: the loss's tape holds none of its tensors.
    let mut model = after;
    assert_eq!(model.target.num_trainable_params(), 0);
    let grads = one_backward(&mut model, &dev);
    let has_gradient = |t: &Tensor<Rank2<16, 32>, f32, Cpu>| reached(&grads, t);
    assert!(!has_gradient(&model.target.net().projector.fc2.weight), "the target's projector received a gradient");
    assert!(has_gradient(&model.online.projector.fc2.weight), "the online projector gets one");
}

#[test]
fn byol_target_follows_the_online_network_with_the_cosine_rate() {
    // τ_base = 0: the first update uses τ = 0 (a copy), later ones the schedule's τ > 0.
    let (model, _) = train::<Byol_>(&byol::Config { tau_base: 0.0, ..byol::Config::default() }, 1, None);
    assert_eq!(values(&model.online), values(model.target.net()), "τ = 0: ξ ← θ");
    assert_eq!(model.tau, 1.0, "at the end of training the schedule reaches τ = 1");
}

/// The `byol-collapse` ablations change exactly what they name, under real optimizer steps.
#[test]
fn byol_ablations_remove_what_they_name() {
    use byol::Ablation;
    let with = |ablation| byol::Config { ablation, ..byol::Config::default() };
    // No EMA: after every step the target holds the online network's values (τ stays 0).
    let (model, _) = train::<Byol_>(&with(Ablation::NoEma), 3, None);
    assert_eq!(model.tau, 0.0);
    assert_eq!(values(&model.online), values(model.target.net()), "no EMA: ξ ← θ after every step");
    let (full, _) = train::<Byol_>(&with(Ablation::Full), 3, None);
    assert_ne!(values(&full.online), values(full.target.net()), "with the EMA the target lags behind");

    let one_backward = |ablation| {
        // Fresh, identical models (no step): the ablations' gradients differ only by the loss.
        let (mut model, dev) = train::<Byol_>(&with(ablation), 0, None);
        let data = shapes::generate(&ShapesConfig { n_train: 16, n_test: 8, ..ShapesConfig::default() }).train;
        let images: Vec<_> = (0..16).map(|i| data.image(i)).collect();
        let batch = Batch { views: model.views(32).views_batch(&images, 0).unwrap(), indices: (0..16).collect() };
        let loss = model.loss(&batch, &dev, Gradients::leaky());
        let value = loss.array();
        (model, loss.backward(), value)
    };
    let reached = |grads: &Gradients<f32, Cpu>, t: &Tensor<Rank2<16, 32>, f32, Cpu>| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grads.get(t).as_vec().iter().any(|g| *g != 0.0))).unwrap_or(false);
    // No predictor: the predictor is not on the loss's tape.
    let (model, grads, _) = one_backward(Ablation::NoPredictor);
    assert!(!reached(&grads, &model.predictor.fc2.weight), "no predictor: the predictor received a gradient");
    assert!(reached(&grads, &model.online.projector.fc2.weight));
    let (model, grads, _) = one_backward(Ablation::Full);
    assert!(reached(&grads, &model.predictor.fc2.weight), "BYOL trains its predictor");
    // No stop-gradient: from identical weights the loss is the same, but the online
    // projector's gradient changes (it now also flows through the target side), and the
    // target network is not used at all.
    let (full_model, full_grads, full_loss) = one_backward(Ablation::Full);
    let (model, grads, loss) = one_backward(Ablation::NoStopGradient);
    assert!((loss - full_loss).abs() < 1e-4, "same weights, same views: same loss ({full_loss} vs {loss})");
    assert!(!reached(&grads, &model.target.net().projector.fc2.weight));
    let g_full = full_grads.get(&full_model.online.projector.fc2.weight).as_vec();
    let g_both = grads.get(&model.online.projector.fc2.weight).as_vec();
    let diff = g_full.iter().zip(&g_both).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(diff > 1e-6, "the gradient through the target side should change the online gradient (max diff {diff}; losses {full_loss} / {loss})");
}

/// DINO's teacher under real AdamW steps: no gradient reaches it, `m = 1` freezes it while the
/// student trains, and it starts as the student's values.
#[test]
fn dino_teacher_gets_no_gradient_and_momentum_one_freezes_it() {
    let frozen = dino::Config { momentum_base: 1.0, outputs: 64, freeze_last_layer_steps: 0, ..dino::Config::default() };
    let (before, _) = train::<Dino_>(&frozen, 0, None);
    assert_eq!(values(&before.student), values(before.teacher.net()), "the teacher starts as the student's values");
    let (after, dev) = train::<Dino_>(&frozen, 3, None);
    let moved_student = max_abs_diff(&params(&before.student), &params(&after.student));
    let moved_teacher = max_abs_diff(&params(before.teacher.net()), &params(after.teacher.net()));
    assert!(moved_student > 1e-3, "the student should train (moved {moved_student})");
    assert_eq!(moved_teacher, 0.0, "m = 1 must freeze the teacher (moved {moved_teacher})");
    let mut model = after;
    assert_eq!(model.teacher.num_trainable_params(), 0);
    let grads = one_backward(&mut model, &dev);
    let has_gradient = |t: &Tensor<Rank2<16, 32>, f32, Cpu>| reached(&grads, t);
    assert!(!has_gradient(&model.teacher.net().branch.projector.fc2.weight), "the teacher's head received a gradient");
    assert!(has_gradient(&model.student.branch.projector.fc2.weight), "the student's head gets one");
}

/// The student's last layer stays exactly where it started for the first
/// `freeze_last_layer_steps` steps (no gradient, weight decay or Adam moment moves it), then
/// trains; the centre is no parameter and moves only by its own average.
#[test]
fn dino_last_layer_freezes_then_trains_and_the_centre_is_no_parameter() {
    let settings = dino::Config { outputs: 64, freeze_last_layer_steps: 2, ..dino::Config::default() };
    let (start, _) = train::<Dino_>(&settings, 0, None);
    let (two, _) = train::<Dino_>(&settings, 2, None);
    let (four, _) = train::<Dino_>(&settings, 4, None);
    assert_eq!(start.student.last_layer.as_vec(), two.student.last_layer.as_vec(), "frozen for the first two steps");
    assert_ne!(two.student.last_layer.as_vec(), four.student.last_layer.as_vec(), "trained after them");
    assert_ne!(params(&start.student.branch), params(&two.student.branch), "the rest of the student trains meanwhile");
    assert!(tensors(&four).iter().any(|t| !t.trainable && t.values.len() == dino::MAX_OUTPUTS), "the centre is held as a non-trainable tensor");
    let centre = four.centre_values();
    assert!(centre.iter().any(|&c| c != 0.0), "m_c = 0.9: the centre follows the teacher");
    // m_c = 1: the centre never leaves 0 (DINO without centring).
    let (uncentred, _) = train::<Dino_>(&dino::Config { centre_momentum: 1.0, ..settings }, 3, None);
    assert!(uncentred.centre_values().iter().all(|&c| c == 0.0));
}

/// DINO with local crops (`--local-crops 2`): four crops per image (two global of 32 px, two
/// local of 16 px); the student sees them all, one forward pass per size, and the teacher only
/// the global ones. The method's loss and its centre update are recomputed here from the two
/// networks' outputs, crop size by crop size: the loss is [`dino::dino_loss`] with the local
/// crops as a second tensor, and the centre moves by the teacher's *global* outputs only.
#[test]
fn dino_local_crops_go_to_the_student_only() {
    use selfsup::augment::LocalCrops;
    use selfsup::methods::dino::{dino_loss, update_centre};
    use selfsup::methods::swav::prototype_scores;
    let settings = dino::Config { outputs: 64, freeze_last_layer_steps: 0, local: LocalCrops { local_crops: 2, ..LocalCrops::default() }, ..dino::Config::default() };
    let (mut model, dev) = train::<Dino_>(&settings, 2, None);
    let data = shapes::generate(&ShapesConfig { n_train: 8, n_test: 8, ..ShapesConfig::default() }).train;
    let images: Vec<_> = (0..8).map(|i| data.image(i)).collect();
    let views = model.views(32);
    assert_eq!(views.num_views(), 4);
    let batch = Batch { views: views.views_batch(&images, 5).unwrap(), indices: (0..8).collect() };
    assert_eq!(batch.views.iter().map(|v| v.shape()[2]).collect::<Vec<_>>(), [32, 32, 16, 16]);

    let (n, k) = (8, 64);
    let stacked = |views: &[selfsup::augment::ViewBatch]| selfsup::methods::stack_views(&dev, views);
    let (global, local) = (stacked(&batch.views[..2]), stacked(&batch.views[2..]));
    let mut student = model.student.clone();
    let v = dev.tensor_from_vec(model.student.last_layer_values(k), (k, 16));
    let s_global = prototype_scores(student.branch.forward_train(global.clone()), v.clone());
    let s_local = prototype_scores(student.branch.forward_train(local), v);
    let mut teacher = model.teacher.net().clone();
    let v_t = dev.tensor_from_vec(model.teacher.net().last_layer_values(k), (k, 16));
    let t = prototype_scores(teacher.branch.forward_train(global), v_t).as_vec();
    let centre = model.centre_values();
    let (tau_s, tau_t) = (settings.student_tau as f32, model.teacher_tau() as f32);
    let want = dino_loss(vec![s_global, s_local], &t, n, &centre, tau_s, tau_t).array();
    let mut want_centre = centre.clone();
    update_centre(&mut want_centre, &t, settings.centre_momentum as f32);

    let got = model.loss(&batch, &dev, Gradients::leaky());
    assert!((got.array() - want).abs() < 1e-5, "loss {} vs {want} recomputed crop size by crop size", got.array());
    let moved: f32 = model.centre_values().iter().zip(&want_centre).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(moved < 1e-6, "the centre must move by the teacher's global crops only (off by {moved})");
    let grads = got.backward();
    assert!(reached(&grads, &model.student.last_layer), "the student's last layer gets a gradient");
    assert!(!reached(&grads, &model.teacher.net().last_layer), "the teacher gets none");
}

/// The ViT as DINO's backbone with 16-px local crops: its position embeddings are resampled,
/// the step trains, and the gradient reaches the learnt position embeddings. A local size that
/// is not whole 4×4 patches is refused before training, naming the flag.
#[test]
fn dino_on_the_vit_takes_local_crops() {
    use selfsup::augment::LocalCrops;
    use selfsup::methods::Settings;
    use selfsup::nn::SmallVit;
    type VitDino = Dino<SmallVit<Cpu>, 128, 32, 16, f32, Cpu>;
    let local = LocalCrops { local_crops: 2, ..LocalCrops::default() };
    let settings = dino::Config { outputs: 32, freeze_last_layer_steps: 0, local, ..dino::Config::default() };
    assert!(settings.check_encoder("vit").is_ok());
    let (mut model, dev) = train::<VitDino>(&settings, 1, None);
    let grads = one_backward(&mut model, &dev);
    assert!(reached(&grads, &model.student.branch.encoder.pos_embed), "the position embeddings get a gradient");
    let g = grads.get(&model.student.branch.encoder.pos_embed).as_vec();
    assert!(g.iter().all(|x| x.is_finite()) && g.iter().any(|&x| x != 0.0));
    let odd = dino::Config { local: LocalCrops { local_size: 10, ..local }, ..settings.clone() };
    assert!(odd.check_encoder("tiny-convnet").is_ok());
    let err = odd.check_encoder("vit").unwrap_err().to_string();
    assert!(err.contains("--local-size 10") && err.contains("multiple of 4"), "{err}");
}
