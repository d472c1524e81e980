//! DeepCluster: the uniform sampler on hand cases, the feature preprocessing and the loss
//! against `tests/golden/deepcluster.py` (NumPy, float64, written from the paper and the
//! reference code, not from this code), the classifier's re-initialisation under a real
//! optimizer step, the epoch hook of the shared loop, and a small end-to-end run.

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use selfsup::data::dataset::ImageDataset;
use selfsup::data::shapes::{self, ShapesConfig};
use selfsup::eval::Pca;
use selfsup::methods::deepcluster::{self, preprocess_features, pseudo_label_loss, sobel, uniform_label_sampler, ClusterReport, MAX_CLUSTERS};
use selfsup::methods::{Batch, DeepCluster, Method, MethodConfig, SimClr};
use selfsup::nn::TinyConvNet;
use selfsup::train::{fit, read_epoch_reports, Optimizer, OptimizerKind, RunConfig, RunDir, TrainConfig, TrainState};

type Model = DeepCluster<TinyConvNet<Cpu>, 128, 512, 128, f32, Cpu>;

// ---------------------------------------------------------------- the uniform sampler

fn counts(order: &[usize], labels: &[usize], k: usize) -> Vec<usize> {
    let mut c = vec![0; k];
    order.iter().for_each(|&i| c[labels[i]] += 1);
    c
}

/// 10 images in clusters of 6, 3, 0 and 1: three non-empty clusters, quota ⌊10/3⌋ + 1 = 4
/// each, 12 draws cut to 10.
#[test]
fn uniform_sampler_gives_each_non_empty_cluster_the_same_quota() {
    let labels = [0, 0, 1, 0, 3, 0, 1, 0, 1, 0];
    for seed in 0..20 {
        let order = uniform_label_sampler(&labels, 4, 10, &mut StdRng::seed_from_u64(seed));
        assert_eq!(order.len(), 10, "N = |dataset| indices");
        let c = counts(&order, &labels, 4);
        assert_eq!(c[2], 0, "an empty cluster gets no draw");
        // 4 draws per cluster before the cut, which removes 2 of the 12.
        assert!(c.iter().enumerate().filter(|&(j, _)| j != 2).all(|(_, &n)| (2..=4).contains(&n)), "seed {seed}: {c:?}");
        // The one-image cluster is drawn with replacement: its image appears 2 to 4 times,
        // where uniform sampling over images would give it a tenth of the epoch.
        assert!(order.iter().filter(|&&i| i == 4).count() >= 2, "seed {seed}");
        // The 6-image cluster is larger than its quota: drawn without replacement.
        let mut big: Vec<usize> = order.iter().copied().filter(|&i| labels[i] == 0).collect();
        let drawn = big.len();
        big.sort();
        big.dedup();
        assert_eq!(big.len(), drawn, "seed {seed}: a cluster larger than its quota is drawn without replacement");
    }
}

/// A cluster exactly as large as its quota is drawn *with* replacement (the reference code's
/// `replace = len <= quota`): 6 images in clusters of 4 and 2, quota ⌊6/2⌋ + 1 = 4.
#[test]
fn uniform_sampler_draws_a_cluster_the_size_of_its_quota_with_replacement() {
    let labels = [1, 0, 0, 1, 0, 0];
    let repeats = (0..20).filter(|&seed| {
        let order = uniform_label_sampler(&labels, 2, 6, &mut StdRng::seed_from_u64(seed));
        let mut of_zero: Vec<usize> = order.iter().copied().filter(|&i| labels[i] == 0).collect();
        let drawn = of_zero.len();
        of_zero.sort();
        of_zero.dedup();
        of_zero.len() < drawn
    });
    // Without replacement no seed could repeat an image; with it, 4 draws of 4 repeat one
    // with probability 1 − 4!/4⁴ ≈ 0.91 (fewer after the cut).
    assert!(repeats.count() >= 10, "a cluster of quota size must be drawn with replacement");
}

#[test]
fn uniform_sampler_is_deterministic_in_its_seed_and_has_length_n() {
    let labels: Vec<usize> = (0..103).map(|i| (i * 7 + i / 5) % 9).collect();
    let draw = |seed: u64, n: usize| uniform_label_sampler(&labels, 12, n, &mut StdRng::seed_from_u64(seed));
    assert_eq!(draw(3, 103), draw(3, 103));
    assert_ne!(draw(3, 103), draw(4, 103));
    for n in [1, 50, 103] {
        let order = draw(0, n);
        assert_eq!(order.len(), n);
        assert!(order.iter().all(|&i| i < labels.len()));
    }
    assert!(uniform_label_sampler(&[], 3, 5, &mut StdRng::seed_from_u64(0)).is_empty(), "no image, no order");
}

// ---------------------------------------------------------------- preprocessing

/// The 8 × 4 matrix of `tests/golden/deepcluster.py`.
const X: [f32; 32] = [
    0.5, -1.2, 2.0, 0.3, 1.5, 0.2, -0.7, 1.1, -0.3, 0.8, 0.4, -1.6, 2.2, -0.5, 1.3, 0.9, 0.0, 1.7, -1.1, 0.4, -1.4, -0.9, 0.6, 2.1, 0.9, 0.3,
    -2.2, -0.8, -0.6, 1.1, 1.8, 0.2,
];

fn assert_close(got: &[f32], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((*g as f64 - e).abs() < tol, "{what}[{i}]: got {g}, numpy says {e}");
    }
}

#[test]
fn pca_whitening_matches_numpy_and_has_identity_covariance() {
    let pca = Pca::fit(&X, 4, 3);
    assert_close(&pca.variances, &[2.715697114, 1.505642333, 1.169891511], 1e-5, "eigenvalues");
    let white = pca.whiten(&X);
    #[rustfmt::skip]
    let expected = [1.192499857, 0.238005571, -0.696714061, -0.406821645, 1.154672887, 0.424835895, -0.456988148, -1.206689206, -1.147707540, 0.667712028, 1.440380289, -0.801716365, -1.006809457, -0.464000730, 0.653730793, 0.971143636, -0.368315292, 1.950226906, -1.561909486, 0.443527730, -0.004052080, 0.601173214, -1.237581250, -0.378603550];
    assert_close(&white, &expected, 1e-4, "whitened");
    // Covariance of the whitened coordinates (n − 1 denominator): the identity, up to ε.
    for a in 0..3 {
        for b in 0..3 {
            let c: f64 = (0..8).map(|i| white[i * 3 + a] as f64 * white[i * 3 + b] as f64).sum::<f64>() / 7.0;
            let want = if a == b { 1.0 } else { 0.0 };
            assert!((c - want).abs() < 1e-4, "cov[{a}][{b}] = {c}");
        }
    }
}

#[test]
fn preprocessed_features_are_whitened_unit_rows_as_in_numpy() {
    let (y, d) = preprocess_features(&X, 4, 3);
    assert_eq!(d, 3);
    #[rustfmt::skip]
    let expected = [0.850893284, 0.169825883, -0.497131561, -0.313938968, 0.891046038, 0.327840331, -0.264629811, -0.698761966, -0.664607235, 0.375422344, 0.809856527, -0.450766534, -0.782301906, -0.360533617, 0.507955942, 0.439518759, -0.166691593, 0.882630825, -0.961964178, 0.273164221, -0.002495635, 0.421281743, -0.867254850, -0.265312491];
    assert_close(&y, &expected, 1e-4, "preprocessed");
    for row in y.chunks_exact(3) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit rows: {norm}");
    }
    // Whitening makes the result independent of the features' scale and offset.
    let scaled: Vec<f32> = X.iter().map(|v| 100.0 * v + 3.0).collect();
    assert_close(&preprocess_features(&scaled, 4, 3).0, &expected, 1e-3, "scaled");
    // A PCA dimension above the features' is capped at theirs.
    assert_eq!(preprocess_features(&X, 4, 32).1, 4);
}

// ---------------------------------------------------------------- Sobel

/// A vertical step edge (left half 0, right half 1) in a 4 × 4 image: G_x is −(1 + 2 + 1) = −4
/// in the two columns beside the step and 0 elsewhere (repeated borders are no edge), G_y is 0.
#[test]
fn sobel_finds_a_step_edge_and_ignores_colour_and_brightness() {
    let step: Vec<f32> = (0..16).map(|p| if p % 4 >= 2 { 1.0 } else { 0.0 }).collect();
    let grey: Vec<f32> = step.iter().chain(&step).chain(&step).copied().collect();
    let out = sobel(&grey, 1, 3, 4, 4);
    let gx: Vec<f32> = (0..16).map(|p| if p % 4 == 1 || p % 4 == 2 { -4.0 } else { 0.0 }).collect();
    assert_eq!(&out[..16], &gx[..], "G_x");
    assert!(out[16..].iter().all(|&v| v == 0.0), "G_y and the third channel are 0");
    // Only the mean of the channels counts: other colours with the same grey level, or a
    // constant added to the brightness, give the same edges.
    let coloured: Vec<f32> = step.iter().map(|v| 1.5 * v).chain(step.iter().map(|v| 0.5 * v)).chain(step.iter().map(|v| 1.0 * v)).collect();
    assert_eq!(sobel(&coloured, 1, 3, 4, 4), out);
    let brighter: Vec<f32> = grey.iter().map(|v| v + 0.25).collect();
    assert_eq!(sobel(&brighter, 1, 3, 4, 4), out);
}

// ---------------------------------------------------------------- the loss

#[test]
fn pseudo_label_loss_is_the_cross_entropy_numpy_computes() {
    let dev = Cpu::default();
    let logits = [2.0f32, -1.0, 0.5, 0.0, 0.1, 0.2, 0.3, 0.4, -3.0, 4.0, 1.0, -0.5];
    let targets = [0, 3, 2];
    let x: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(logits.to_vec(), (3, 4));
    let loss = pseudo_label_loss(x.leaky_trace(), &targets);
    let value = loss.as_vec()[0];
    assert!((value - 1.548286059).abs() < 1e-5, "got {value}, numpy says 1.548286059");
    // Its gradient is (softmax − one-hot) / B.
    let g = loss.backward().get(&x).as_vec();
    for (b, row) in logits.chunks_exact(4).enumerate() {
        let total: f64 = row.iter().map(|&l| (l as f64).exp()).sum();
        for j in 0..4 {
            let want = ((row[j] as f64).exp() / total - if j == targets[b] { 1.0 } else { 0.0 }) / 3.0;
            assert!((g[b * 4 + j] as f64 - want).abs() < 1e-6, "grad[{b}][{j}] = {}, want {want}", g[b * 4 + j]);
        }
    }
}

// ---------------------------------------------------------------- the classifier

fn tiny_data(n: usize) -> ImageDataset {
    shapes::generate(&ShapesConfig { n_train: n, n_test: 8, size: 16, seed: 1 }).train
}

fn tiny_model(dev: &Cpu, clusters: usize) -> Model {
    let mut model = Model::build(dev);
    model.configure(&deepcluster::Config { clusters, pca_dim: 8, ..Default::default() });
    model
}

fn batch_of(model: &Model, data: &ImageDataset, indices: Vec<usize>, seed: u64) -> Batch {
    let images: Vec<_> = indices.iter().map(|&i| data.image(i)).collect();
    Batch { views: model.views(data.height).views_batch(&images, seed).unwrap(), indices }
}

/// One step of `opt` on `batch`; returns the classifier weights' gradient.
fn step(model: &mut Model, opt: &mut Optimizer<Model, Cpu>, dev: &Cpu, batch: &Batch) -> Vec<f32> {
    let grads = model.alloc_grads();
    let loss = model.loss(batch, dev, grads);
    let grads = loss.backward();
    let g = grads.get(&model.weight).as_vec();
    opt.step(model, &grads).unwrap();
    g
}

#[test]
fn each_epoch_gets_a_fresh_classifier_with_new_tensor_ids() {
    let dev = Cpu::seed_from_u64(0);
    let data = tiny_data(48);
    let mut model = tiny_model(&dev, 6);
    let mut weights = Vec::new();
    for epoch in 0..3 {
        model.begin_epoch(&dev, &data, epoch, 100 + epoch as u64).unwrap();
        // Gradients are keyed by tensor id: those of a step of this epoch's classifier...
        let batch = batch_of(&model, &data, (0..16).collect(), epoch as u64);
        let grads = model.loss(&batch, &dev, model.alloc_grads()).backward();
        let _ = (grads.get(&model.weight), grads.get(&model.bias));
        let w = model.weight.as_vec();
        let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
        assert!((std - 0.01).abs() < 0.001, "W ~ N(0, 0.01²): std {std}");
        assert!(model.bias.as_vec().iter().all(|&b| b == 0.0), "b = 0");
        weights.push(w);
        // ...know nothing of the next epoch's: it has new ids (dfdx's `get` panics on an
        // unknown id).
        model.begin_epoch(&dev, &data, epoch, 200 + epoch as u64).unwrap();
        let unknown = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
        assert!(unknown(&|| drop(grads.get(&model.weight))), "epoch {epoch}: the new W has a new id");
        assert!(unknown(&|| drop(grads.get(&model.bias))), "epoch {epoch}: the new b has a new id");
    }
    assert_ne!(weights[0], weights[1], "new values every epoch");
}

/// The optimizer's state for the classifier (SGD's momentum, Adam's moments) does not carry
/// over to the next epoch's classifier: after three steps on epoch 0, the first step of
/// epoch 1 moves the new weights exactly as a first step from empty state does.
#[test]
fn the_optimizer_state_of_the_old_classifier_does_not_reach_the_new_one() {
    let data = tiny_data(48);
    for kind in [OptimizerKind::Sgd, OptimizerKind::AdamW] {
        let dev = Cpu::seed_from_u64(0);
        let mut model = tiny_model(&dev, 6);
        let (lr, wd) = (0.05, 0.01);
        let mut opt = Optimizer::new(&model, kind, lr, wd);
        model.begin_epoch(&dev, &data, 0, 7).unwrap();
        for s in 0..3 {
            let batch = batch_of(&model, &data, (s * 16..s * 16 + 16).collect(), s as u64);
            step(&mut model, &mut opt, &dev, &batch);
        }
        model.begin_epoch(&dev, &data, 1, 8).unwrap();
        let before = model.weight.as_vec();
        let batch = batch_of(&model, &data, (0..16).collect(), 9);
        let g = step(&mut model, &mut opt, &dev, &batch);
        let after = model.weight.as_vec();
        assert!(g.iter().take(6 * 128).any(|&v| v != 0.0), "the used rows get a gradient");
        assert!(g.iter().skip(6 * 128).all(|&v| v == 0.0), "rows beyond k = 6 get none");
        let (lr, wd) = (lr as f32, wd as f32);
        for i in 0..6 * 128 {
            let (w, g) = (before[i], g[i]);
            let expected = match kind {
                // v ← 0.9·0 + (g + λw);  w ← w − lr·v
                OptimizerKind::Sgd => w - lr * (g + wd * w),
                // step t = 4 of the optimizer, moments from zero: m = 0.1 g, v = 0.001 g².
                OptimizerKind::AdamW => {
                    let m_hat = 0.1 * g / (1.0 - 0.9f32.powi(4));
                    let v_hat = 0.001 * g * g / (1.0 - 0.999f32.powi(4));
                    w - (lr * m_hat / (v_hat.sqrt() + 1e-8) + wd * lr * w)
                }
            };
            assert!((after[i] - expected).abs() <= 1e-6 * (1.0 + expected.abs()), "{kind:?} weight {i}: {} vs fresh-state {expected}", after[i]);
        }
    }
}

// ---------------------------------------------------------------- the epoch hook

#[test]
fn the_epoch_reports_are_written_by_the_loop_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let data = tiny_data(64);
    let dev = Cpu::seed_from_u64(0);
    let mut model = tiny_model(&dev, 8);
    let cfg = TrainConfig { epochs: 2, batch_size: 32, ..TrainConfig::default() };
    let state = fit(&mut model, &dev, &data, &cfg, &run, TrainState::default(), true).unwrap();
    assert_eq!((state.epoch, state.step), (2, 4), "the loop takes len(data) / batch steps per epoch");
    let lines = read_epoch_reports(&run).unwrap();
    assert_eq!(lines.len(), 2, "one line per epoch");
    let reports: Vec<ClusterReport> = lines.into_iter().map(|v| serde_json::from_value(v).unwrap()).collect();
    assert_eq!(reports, model.reports, "the file holds what the model reported");
    assert_eq!(selfsup::methods::deepcluster::read_reports(dir.path()).unwrap(), reports, "read_reports reads the same file");
    for (epoch, r) in reports.iter().enumerate() {
        assert_eq!((r.epoch, r.k, r.sizes.len()), (epoch, 8, 8));
        assert_eq!(r.sizes.iter().sum::<usize>(), 64);
        assert_eq!(r.empty_clusters, r.sizes.iter().filter(|&&s| s == 0).count());
        assert!(r.kmeans_objective.is_finite() && r.kmeans_objective >= 0.0);
        assert!((0.0..=1.0).contains(&r.nmi_labels.unwrap()));
    }
    assert_eq!(reports[0].nmi_previous, None, "epoch 0 has no previous clustering");
    assert!((0.0..=1.0).contains(&reports[1].nmi_previous.unwrap()));
}

/// Methods without an epoch hook are unaffected: the default hook leaves the order to the
/// loop's shuffle and reports nothing, so no `epochs.jsonl` appears.
#[test]
fn the_default_epoch_hook_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    let data = tiny_data(64);
    let dev = Cpu::seed_from_u64(0);
    let mut model = SimClr::<TinyConvNet<Cpu>, 128, 64, 32, f32, Cpu>::build(&dev);
    let plan = model.begin_epoch(&dev, &data, 0, 1).unwrap();
    assert_eq!((plan.order, plan.report), (None, None));
    let cfg = TrainConfig { epochs: 1, batch_size: 32, ..TrainConfig::default() };
    fit(&mut model, &dev, &data, &cfg, &run, TrainState::default(), true).unwrap();
    assert!(!run.epochs().exists());
    assert!(read_epoch_reports(&run).unwrap().is_empty());
}

#[test]
fn the_naive_settings_shuffle_and_keep_empty_clusters() {
    let dev = Cpu::seed_from_u64(0);
    let data = tiny_data(48);
    let naive = deepcluster::Config { clusters: 6, pca_dim: 8, uniform_sampling: false, empty_cluster_fix: false, ..Default::default() };
    assert_eq!(naive.empty_clusters(), selfsup::eval::EmptyClusters::Keep);
    assert_eq!(deepcluster::Config::default().empty_clusters(), selfsup::eval::EmptyClusters::Split);
    let mut model = Model::build(&dev);
    model.configure(&naive);
    assert_eq!(model.begin_epoch(&dev, &data, 0, 3).unwrap().order, None, "no uniform sampling: the loop's shuffle");
    let order = tiny_model(&dev, 6).begin_epoch(&dev, &data, 0, 3).unwrap().order.unwrap();
    assert_eq!(order.len(), 48, "uniform sampling: N = |dataset| indices");
}

/// `--whiten false` clusters the L2-normalised features themselves (all 128 dimensions, no PCA):
/// the same clustering as k-means on them; the default clusters the `pca_dim` whitened ones.
#[test]
fn without_whitening_k_means_sees_the_normalised_features() {
    let dev = Cpu::seed_from_u64(0);
    let data = tiny_data(48);
    let whitened = tiny_model(&dev, 6).cluster(&dev, &data, 5).unwrap();
    assert_eq!(whitened.d, 8);
    let mut model = Model::build(&dev);
    model.configure(&deepcluster::Config { clusters: 6, pca_dim: 8, whiten: false, ..Default::default() });
    let raw = model.cluster(&dev, &data, 5).unwrap();
    assert_eq!(raw.d, 128);
    let (mut features, d) = selfsup::eval::embed_dataset(&model, &dev, &data, 16);
    selfsup::eval::l2_normalize_rows(&mut features, d);
    let by_hand = selfsup::eval::kmeans(&features, d, &selfsup::eval::KMeansConfig::new(6).with_seed(5)).unwrap();
    assert_eq!(raw.assignments, by_hand.assignments);
}

// ---------------------------------------------------------------- end to end

#[test]
fn a_small_run_trains_evaluates_and_reports_its_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = RunConfig::new(MethodConfig::DeepCluster(deepcluster::Config { clusters: 20, ..Default::default() }));
    run.train = TrainConfig { epochs: 2, train_images: 300, test_images: 100, ..run.train };
    let summary = selfsup::run::train(&run, dir.path(), false, true).unwrap();
    assert_eq!(summary.method, "deepcluster");
    assert!(summary.knn_top1.is_finite() && summary.final_loss.unwrap().is_finite());
    let reports = read_epoch_reports(&RunDir::create(dir.path()).unwrap()).unwrap();
    assert_eq!(reports.len(), 2);
    for r in &reports {
        let r: ClusterReport = serde_json::from_value(r.clone()).unwrap();
        assert_eq!(r.sizes.iter().sum::<usize>(), 300);
        for v in [r.nmi_labels, r.nmi_previous].into_iter().flatten() {
            assert!((0.0..=1.0).contains(&v), "NMI {v}");
        }
    }
}

#[test]
fn settings_are_checked() {
    let ok = deepcluster::Config::default();
    assert!(selfsup::methods::Settings::validate(&ok).is_ok());
    for bad in [
        deepcluster::Config { clusters: 1, ..ok.clone() },
        deepcluster::Config { clusters: MAX_CLUSTERS + 1, ..ok.clone() },
        deepcluster::Config { pca_dim: 0, ..ok.clone() },
    ] {
        assert!(selfsup::methods::Settings::validate(&bad).is_err(), "{bad:?}");
    }
}
