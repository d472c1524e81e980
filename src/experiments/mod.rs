//! The lecture's claims as runnable experiments: `selfsup experiment NAME`.
//!
//! Each experiment trains one method several times on the built-in dataset, changing one
//! setting, and writes `results/experiments/NAME.json` (an [`Experiment`]: one row per
//! setting with kNN and linear top-1, the final loss and the wall time, plus the random-init
//! baseline and a verdict sentence computed from the numbers) and `NAME.png` (the chart).
//! The JSON is rewritten after every run, so an interrupted sweep keeps what it measured.
//!
//! The experiments about collapse (`barlow-lambda`, `byol-collapse`) also watch each setting
//! while it trains ([`COLLAPSE_TRACE`], [`crate::train::trace`]): every row keeps the collapse
//! std and effective rank of its features and projections over optimizer steps
//! (`collapse_trace` in the JSON), drawn in `NAME-trace.png` ([`Experiment::trace_chart`]), so
//! the page shows *which* settings collapse and *when*, next to their kNN.
//!
//! Defaults fit the 2-core machine: every run trains its method with that method's own
//! settings and number of epochs ([`RunConfig::for_method`]); a sweep changes one typed
//! setting of it. The SimCLR-only sweeps
//! (`temperature`, `augmentations`) train on 5 000 images, half of a default `selfsup train`
//! run; the sweeps that train MoCo (`moco-momentum`, `negatives`, `mochi`) on all 10 000,
//! because MoCo only takes off after about a thousand steps (26.5% kNN at 5 000 images, 47.1%
//! at 10 000, measured with the kit's earlier kernels; at 5 000 images every momentum gave
//! 25–30% and the sweep could not show a shape). Each experiment takes 2 to 15 minutes.
//! `--epochs` and `--train-images` change the budget of every run.
//!
//! One run per setting cannot separate a gain of a few points from run-to-run variation.
//! `--seeds N` trains every setting with seeds `S, S + 1, …, S + N − 1`: each row then reports
//! the mean (and keeps each run's kNN top-1), and the `mochi` verdict compares MoCo and MoCHi
//! seed by seed, calling the gain reproduced only when its mean exceeds twice its standard error.
//!
//! | name | what changes | the lecture's claim |
//! |---|---|---|
//! | `moco-momentum` | MoCo's `m` ∈ {0, 0.9, 0.99, 0.999, 0.9999} | `m = 0` fails; 0.99–0.999 is best |
//! | `negatives` | SimCLR's batch (2B − 2 negatives, equal steps) and MoCo's queue size K | more negatives help |
//! | `temperature` | SimCLR's τ ∈ {0.05, 0.1, 0.2, 0.5, 1.0} | τ matters; too high a τ is worse |
//! | `augmentations` | SimCLR with/without colour jitter and crop | colour jitter and crop are essential |
//! | `mochi` | MoCo vs MoCo + MoCHi, same budget | synthetic hard negatives help |
//! | `barlow-lambda` | Barlow Twins' λ ∈ {0, 1/128, 1/32 (default), 1/8}; effective ranks, collapse std over training | λ = 0 collapses to few dimensions |
//! | `byol-collapse` | BYOL, without predictor / moving average / stop-gradient; SimCLR at the same budget; kNN, and the collapse std of `z` over training (collapsed: below [`COLLAPSED_BELOW`]` · 1/√d` at the end) | the asymmetry prevents collapse |
//! | `kd-temperature` | a student's loss: labels only, or distilled at T ∈ {1, 2, 4, 8} ([`kd`]) | T > 1 beats labels alone |
//! | `deepcluster-collapse` | DeepCluster with/without uniform sampling over pseudo-labels and the empty-cluster fix (and the naive version without PCA whitening); cluster sizes every epoch | a naive DeepCluster ends with one cluster |
//! | `swav-equipartition` | SwAV's codes from Sinkhorn-Knopp or a plain softmax of the scores; collapse std over training | without the equipartition the codes collapse |
//! | `multi-crop` | SwAV with 2 global crops, or 2 global + 4 local (small or large) crops; 2 global for 1.5× the epochs (about the compute of the local crops); two controls with crops as large as global ones as the extra views, at 16 and 32 px (content or resolution?) | multi-crop helps at about the same compute |
//! | `dino-collapse` | DINO with/without centring (m_c = 1) and sharpening (τ_t = τ_s); the teacher's entropy and the teacher–student KL over training | centring and sharpening are both needed: without centring one output dominates, without sharpening the output goes uniform |
//! | `dino-backbone` | DINO on the tiny convnet, on the ViT for the same training time, and on the ViT for 3× that time; each against its own random-init encoder; the trained ViT's attention maps (`dino-backbone-attention.png`) | DINO works with a ViT backbone, at least as well as with a convnet (the paper: ViT-S/16 beats ResNet-50 in kNN) |

pub mod kd;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::eval::kmeans::ClusterBalance;
use crate::figures::{Experiment, ExperimentRow, Space};

use crate::run::{train, train_traced, Summary};
use crate::train::trace::{self, TraceConfig};
use crate::methods::{barlow, byol, deepcluster, dino, moco, simclr, swav};
use crate::train::checkpoint::write_json_atomic;
use crate::train::{RunConfig, TrainConfig};

/// The experiments `selfsup experiment` knows, in the lecture's order.
pub const EXPERIMENTS: &[&str] =
    &["moco-momentum", "negatives", "temperature", "augmentations", "mochi", "barlow-lambda", kd::NAME, "byol-collapse", "deepcluster-collapse", "swav-equipartition", "multi-crop", "dino-collapse", "dino-backbone"];

/// One run of a sweep: how it is labelled and the config it trains with.
#[derive(Debug, Clone)]
pub struct Setting {
    pub label: String,
    /// The swept value, as a number (for the JSON and the chart's order).
    pub value: f64,
    pub config: RunConfig,
}

/// A sweep: the settings to train and the claim they test.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub name: &'static str,
    pub parameter: &'static str,
    pub claim: &'static str,
    pub settings: Vec<Setting>,
    /// Runs per setting, with seeds `seed, seed + 1, …` (1 by default; `--seeds N`). With
    /// several, a row reports the mean and keeps each run's kNN top-1 in `knn_runs`.
    pub seeds: usize,
    /// Whether the claim is about collapse: rows then also report the effective rank of the
    /// features ([`crate::eval::effective_rank`]) and of the projections, and each setting's
    /// first-seed run is traced ([`COLLAPSE_TRACE`]): the row keeps its collapse metrics over
    /// training (`ExperimentRow::collapse_trace`) and the sweep draws `<name>-trace.png`.
    pub collapse: bool,
}

/// One run: `base` with `change` applied.
fn setting(base: &RunConfig, label: impl Into<String>, value: f64, change: impl FnOnce(&mut RunConfig)) -> Setting {
    let mut config = base.clone();
    change(&mut config);
    Setting { label: label.into(), value, config }
}

/// Training images of an experiment's runs when `--train-images` is not given.
pub fn default_train_images(name: &str) -> usize {
    match name {
        // Barlow Twins, like MoCo, needs the whole set: at 5 000 images for 4 epochs its
        // default run stayed at the random-init level (19.6% kNN vs 19.5%), at 10 000 it gets
        // 49.1% (docs/results.md).
        "moco-momentum" | "negatives" | "mochi" | "barlow-lambda" => 10_000,
        // SimCLR with the papers' crop range on `textures` needs the whole set: at 5 000 images
        // for 8 epochs the augmentation claim did not reproduce (docs/results.md).
        "temperature" | "augmentations" => 10_000,
        // The part-3 methods' defaults were measured on all 10 000 images (docs/results.md).
        "deepcluster-collapse" | "swav-equipartition" | "multi-crop" => 10_000,
        // DINO's default run was measured on all 10 000 images (docs/results.md).
        "dino-collapse" | "dino-backbone" => 10_000,
        _ => 5_000,
    }
}

/// The runs of experiment `name`, each derived from `base` (its budget: epochs, images,
/// encoder, seed). `base.epochs == 0` means each method's own number of epochs,
/// `base.train_images == 0` the experiment's [`default_train_images`].
pub fn sweep(name: &str, base: &TrainConfig) -> Result<Sweep> {
    base.dataset.parse::<crate::data::spec::DatasetSpec>()?;
    let base = &TrainConfig {
        train_images: if base.train_images == 0 { default_train_images(name) } else { base.train_images },
        ..base.clone()
    };
    // Each method's whole recipe (`RunConfig::for_method`: its settings, optimiser and
    // epochs), with the experiment's budget (dataset, images, encoder, seed, and epochs if set)
    // from `base`.
    // The dataset's recipe (crop range, ...) is applied before the experiment changes its one
    // setting.
    let with = |method: &str| {
        let mut run = RunConfig::for_method(method).expect("the experiments train registered methods");
        run.train.dataset = base.dataset.clone();
        run.apply_recipe(&[]).expect("the dataset is checked before the sweep is built");
        let train = &mut run.train;
        train.epochs = if base.epochs == 0 { train.epochs } else { base.epochs };
        train.encoder = base.encoder.clone();
        train.seed = base.seed;
        train.train_images = base.train_images;
        train.test_images = base.test_images;
        run
    };
    let sweep = match name {
        "moco-momentum" => Sweep {
            seeds: 1,
            collapse: false,
            name: "moco-momentum",
            parameter: "momentum m",
            claim: "m = 0 fails; 0.99-0.999 works best",
            settings: [0.0, 0.9, 0.99, 0.999, 0.9999]
                .into_iter()
                .map(|m| setting(&with("moco"), format!("m = {m}"), m, |c| c.settings_mut::<moco::Config>().momentum = m))
                .collect(),
        },
        "negatives" => Sweep {
            seeds: 1,
            collapse: false,
            name: "negatives",
            parameter: "negatives per query",
            claim: "more negatives help",
            // SimCLR's batch sizes at the same number of optimizer steps as its default run
            // (B = 64 for E epochs): B = 16 for E/4 epochs, B = 256 for 4E, so the sweep
            // changes the number of negatives, not the number of updates.
            settings: [16usize, 64, 256]
                .into_iter()
                .map(|b| {
                    setting(&with("simclr"), format!("SimCLR B = {b}"), (2 * b - 2) as f64, |c| {
                        let default_batch = c.train.batch_size;
                        c.train.epochs = (c.train.epochs * b / default_batch).max(1);
                        c.train.batch_size = b;
                    })
                })
                .chain([256usize, 1024, 4096, 16384].into_iter().map(|k| setting(&with("moco"), format!("MoCo K = {k}"), k as f64, |c| c.settings_mut::<moco::Config>().queue_size = k)))
                .collect(),
        },
        "temperature" => Sweep {
            seeds: 1,
            collapse: false,
            name: "temperature",
            parameter: "temperature tau",
            claim: "the temperature matters: too high a tau is worse",
            settings: [0.05, 0.1, 0.2, 0.5, 1.0].into_iter().map(|t| setting(&with("simclr"), format!("tau = {t}"), t, |c| c.settings_mut::<simclr::Config>().tau = t)).collect(),
        },
        "augmentations" => Sweep {
            seeds: 1,
            collapse: false,
            name: "augmentations",
            parameter: "augmentations",
            claim: "colour jitter and cropping are both essential",
            settings: vec![
                setting(&with("simclr"), "crop + colour", 0.0, |_| {}),
                setting(&with("simclr"), "no colour jitter", 1.0, |c| c.settings_mut::<simclr::Config>().views.color_strength = 0.0),
                setting(&with("simclr"), "no crop", 2.0, |c| c.settings_mut::<simclr::Config>().views.crop_min_scale = 1.0),
                setting(&with("simclr"), "neither", 3.0, |c| {
                    let views = &mut c.settings_mut::<simclr::Config>().views;
                    views.color_strength = 0.0;
                    views.crop_min_scale = 1.0;
                }),
            ],
        },
        "mochi" => Sweep {
            seeds: 1,
            collapse: false,
            name: "mochi",
            parameter: "method",
            claim: "MoCHi's synthetic hard negatives help MoCo at the same budget",
            settings: vec![setting(&with("moco"), "MoCo", 0.0, |_| {}), setting(&with("mochi"), "MoCo + MoCHi", 1.0, |_| {})],
        },
        "barlow-lambda" => {
            let mut barlow_run = with("barlow");
            if base.epochs == 0 {
                barlow_run.train.epochs = BARLOW_LAMBDA_EPOCHS;
            }
            Sweep {
                seeds: 1,
                collapse: true,
                name: "barlow-lambda",
                parameter: "lambda",
                claim: "Barlow Twins needs its redundancy-reduction term: with lambda = 0 only the invariance term is left and the representation collapses to a few dimensions",
                settings: [(0.0, "0"), (1.0 / 128.0, "1/128"), (1.0 / 32.0, "1/32 (default)"), (1.0 / 8.0, "1/8")]
                    .into_iter()
                    .map(|(l, name)| setting(&barlow_run, format!("lambda = {name}"), l, |c| c.settings_mut::<barlow::Config>().lambda = l))
                    .collect(),
            }
        }
        "byol-collapse" => {
            use byol::Ablation;
            let mut byol_run = with("byol");
            if base.epochs == 0 {
                byol_run.train.epochs = BYOL_COLLAPSE_EPOCHS;
            }
            let ablate = |label: &str, value: f64, a: Ablation| setting(&byol_run, label, value, move |c| c.settings_mut::<byol::Config>().ablation = a);
            Sweep {
                seeds: 1,
                collapse: true,
                name: "byol-collapse",
                parameter: "variant",
                claim: "BYOL learns without negatives thanks to its asymmetry: without the predictor or the stop-gradient it collapses; the slow moving-average target stabilises it",
                settings: vec![
                    ablate("BYOL", 0.0, Ablation::Full),
                    ablate("no predictor", 1.0, Ablation::NoPredictor),
                    ablate("no EMA (tau = 0)", 2.0, Ablation::NoEma),
                    ablate("no stop-gradient", 3.0, Ablation::NoStopGradient),
                    // The lecture: BYOL improves on SimCLR. Same images, epochs and batch.
                    setting(&with("simclr"), "SimCLR", 4.0, |c| {
                        c.train.epochs = byol_run.train.epochs;
                        c.train.batch_size = byol_run.train.batch_size;
                    }),
                ],
            }
        }
        "deepcluster-collapse" => {
            let dc = with("deepcluster");
            let variant = |label: &str, value: f64, uniform: bool, fix: bool, whiten: bool| {
                setting(&dc, label, value, move |c| {
                    let cfg = c.settings_mut::<deepcluster::Config>();
                    cfg.uniform_sampling = uniform;
                    cfg.empty_cluster_fix = fix;
                    cfg.whiten = whiten;
                })
            };
            Sweep {
                seeds: 1,
                collapse: false,
                name: "deepcluster-collapse",
                parameter: "variant",
                claim: "a naive DeepCluster (no empty-cluster fix, no uniform sampling over the pseudo-labels) ends with most images in one cluster and learns little; the paper's two tricks prevent it",
                settings: vec![
                    variant(TRICKS, 0.0, true, true, true),
                    variant("no uniform sampling", 1.0, false, true, true),
                    variant("no empty-cluster fix", 2.0, true, false, true),
                    variant(NAIVE, 3.0, false, false, true),
                    // Whitening spreads the features over all their directions before k-means,
                    // which may itself keep the clusters balanced: the naive version without it.
                    variant("naive, no PCA whitening", 4.0, false, false, false),
                ],
            }
        }
        "swav-equipartition" => {
            let codes = |label: &str, value: f64, codes: swav::Codes| setting(&with("swav"), label, value, move |c| c.settings_mut::<swav::Config>().codes = codes);
            Sweep {
                seeds: 1,
                collapse: true,
                name: "swav-equipartition",
                parameter: "codes",
                claim: "SwAV's codes need the equipartition constraint: computed by Sinkhorn-Knopp they spread the batch over the prototypes; a plain softmax of the scores lets every image take the same prototype and the representation collapses",
                settings: vec![codes(SINKHORN, 0.0, swav::Codes::Sinkhorn), codes(SOFTMAX, 1.0, swav::Codes::Softmax)],
            }
        }
        "multi-crop" => {
            let two = with("swav");
            let epochs = two.train.epochs;
            // Four 16-px local crops cost about one 32-px crop (a quarter of the pixels each):
            // three crops' work per image instead of two, so 1.5× the epochs of two global
            // crops is about the same compute.
            // `size` 0: the kit's local size, half the image's side.
            let local = |label: &str, value: f64, scale: (f64, f64), size: usize| {
                setting(&two, label, value, move |c| {
                    let cfg = c.settings_mut::<swav::Config>();
                    cfg.local_crops = MULTI_CROP_LOCAL;
                    (cfg.local_min_scale, cfg.local_max_scale) = scale;
                    cfg.local_size = size;
                })
            };
            let longer = (3 * epochs).div_ceil(2);
            Sweep {
                seeds: 1,
                collapse: false,
                name: "multi-crop",
                parameter: "crops",
                claim: "multi-crop (two global crops and several small local ones, each local crop predicting the global crops' codes) helps SwAV at about the same compute",
                settings: vec![
                    setting(&two, TWO_GLOBAL, 0.0, |_| {}),
                    setting(&two, format!("2 global, {longer} epochs (same compute)"), 1.0, move |c| c.train.epochs = longer),
                    local(LOCAL_SMALL, 2.0, (0.08, 0.4), 0),
                    local(LOCAL_LARGE, 3.0, (0.4, 0.8), 0),
                    // Two controls that tell the crop's content from its resolution: "local"
                    // crops showing as much of the image as a global one (80-100%), at 16 px
                    // and at the full 32 px (the latter costs 3x the two-crop run: it is a
                    // diagnosis, not a same-compute comparison).
                    local(LOCAL_WHOLE_16, 4.0, (0.8, 1.0), 0),
                    local(LOCAL_WHOLE_32, 5.0, (0.8, 1.0), 32),
                ],
            }
        }
        "dino-collapse" => {
            let full = with("dino");
            let tau_s = full.settings::<dino::Config>().student_tau;
            let variant = |label: &str, value: f64, centring: bool, sharpening: bool| {
                setting(&full, label, value, move |c| {
                    let cfg = c.settings_mut::<dino::Config>();
                    if !centring {
                        cfg.centre_momentum = 1.0;
                    }
                    if !sharpening {
                        (cfg.teacher_tau, cfg.teacher_tau_start) = (tau_s, tau_s);
                    }
                })
            };
            Sweep {
                seeds: 1,
                collapse: false,
                name: "dino-collapse",
                parameter: "variant",
                claim: "DINO needs both centring and sharpening: without centring one output dimension dominates (the teacher's entropy falls to 0), without sharpening the output goes uniform (its entropy rises to ln K); in either collapse the teacher-student KL falls to 0 and nothing is learnt",
                settings: vec![
                    variant(DINO_FULL, 0.0, true, true),
                    variant(NO_CENTRING, 1.0, false, true),
                    variant(NO_SHARPENING, 2.0, true, false),
                    variant(NO_CENTRING_NO_SHARPENING, 3.0, false, false),
                ],
            }
        }
        "dino-backbone" => {
            // The convnet row is the tiny convnet unless the experiment is given another
            // convnet (`--encoder convnet`); the ViT rows are the ViT.
            let mut conv = with("dino");
            if conv.train.encoder == "vit" {
                conv.train.encoder = "tiny-convnet".into();
            }
            let epochs = conv.train.epochs;
            let same = epochs.div_ceil(VIT_EPOCH_COST).max(1);
            let vit = |label: String, value: f64, vit_epochs: usize| {
                setting(&conv, label, value, move |c| {
                    c.train.encoder = "vit".into();
                    c.train.epochs = vit_epochs;
                    // The head's last layer stays frozen for the same share of the run (an
                    // eighth of the 8 default epochs), not for a whole one-epoch run.
                    let cfg = c.settings_mut::<dino::Config>();
                    cfg.freeze_last_layer_steps = cfg.freeze_last_layer_steps * vit_epochs / epochs.max(1);
                })
            };
            Sweep {
                seeds: 1,
                collapse: false,
                name: "dino-backbone",
                parameter: "backbone",
                claim: "DINO trains a ViT as well as a convnet: at about the same compute its kNN gain over its own random-init encoder is at least the convnet's (the paper, on ImageNet: ViT-S/16 74.5% kNN against ResNet-50's 67.5%)",
                settings: vec![
                    setting(&conv, format!("{}, {epochs} epochs", conv.train.encoder), 0.0, |_| {}),
                    vit(format!("ViT, {same} epoch{} (same time)", if same == 1 { "" } else { "s" }), 1.0, same),
                    vit(format!("ViT, {} epochs (3x the time)", 3 * same), 2.0, 3 * same),
                ],
            }
        }
        other => {
            return Err(Error::config(format!("unknown experiment `{other}`; expected one of: {}", EXPERIMENTS.join(", "))));
        }
    };
    Ok(sweep)
}

/// Row labels the verdicts look up.
const TRICKS: &str = "paper's tricks";
const NAIVE: &str = "naive (neither)";
const SINKHORN: &str = "Sinkhorn codes";
const SOFTMAX: &str = "softmax codes";
const TWO_GLOBAL: &str = "2 global";
const LOCAL_SMALL: &str = "2 global + 4 local (8-40%)";
const LOCAL_LARGE: &str = "2 global + 4 local (40-80%)";
const LOCAL_WHOLE_16: &str = "2 global + 4 local (80-100%)";
const LOCAL_WHOLE_32: &str = "2 global + 4 at 32 px (80-100%)";
const DINO_FULL: &str = "DINO (centring + sharpening)";
const NO_CENTRING: &str = "no centring (m_c = 1)";
const NO_SHARPENING: &str = "no sharpening (tau_t = tau_s)";
const NO_CENTRING_NO_SHARPENING: &str = "neither";
/// Steps per point of DINO's diagnostics over training (means over windows of this many
/// steps; one batch's values are noisy).
pub const DIAGNOSTICS_WINDOW: usize = 10;
/// DINO's teacher has collapsed (the paper's Figure 7) when, at the end of training, the student
/// has nothing left to learn from it, a teacher–student KL below [`COLLAPSED_KL`] nats, and its
/// entropy is at an extreme: below this fraction of `ln K` (one-hot), or above `1 −` it
/// (uniform). A broad teacher that still differs from its student is not collapsed.
pub const ENTROPY_COLLAPSE: f64 = 0.1;
/// See [`ENTROPY_COLLAPSE`].
pub const COLLAPSED_KL: f64 = 0.01;

/// How many tiny-convnet DINO epochs one ViT DINO epoch costs on this machine: its default run
/// (8 epochs, 10 000 images) trained in 1 127 s on the ViT and 130 s on the tiny convnet, idle
/// (docs/results.md), a ratio of 8.7. `dino-backbone` gives the ViT `epochs / 8` epochs for
/// "the same time".
pub const VIT_EPOCH_COST: usize = 8;

/// Epochs of every `byol-collapse` run (unless the experiment is given `--epochs`): the budget
/// its runs were measured at (5 000 images, 8 epochs), half of BYOL's default run since
/// 2026-12-03, so that the five runs stay within the 15 minutes an experiment may take.
pub const BYOL_COLLAPSE_EPOCHS: usize = 8;

/// Epochs of every `barlow-lambda` run (unless the experiment is given `--epochs`): the budget
/// its runs were measured at (10 000 images, 4 epochs), half of Barlow Twins' default run since
/// 2026-12-04, so that the four runs stay within the 15 minutes an experiment may take.
pub const BARLOW_LAMBDA_EPOCHS: usize = 4;

/// Local crops per image in the `multi-crop` experiment.
pub const MULTI_CROP_LOCAL: usize = 4;

/// A clustering in which one cluster holds at least this share of the images is the trivial
/// solution the lecture warns about ("most images in one cluster").
pub const DOMINANT_CLUSTER: f64 = 0.5;

/// The default budget of an experiment run: each method's own epochs (`epochs: 0`) on the
/// experiment's default number of images (`train_images: 0`, see [`default_train_images`]).
pub fn default_base() -> TrainConfig {
    TrainConfig { epochs: 0, train_images: 0, ..TrainConfig::default() }
}

/// How the collapse experiments trace their runs ([`crate::run::train_traced`]): the collapse
/// std and effective rank of features and projections every 50 optimizer steps on the first
/// 256 test images: 14 points over the 624 steps (8 epochs of 78 batches) of a `byol-collapse`
/// run.
///
/// Coarser than [`TraceConfig::default`] (every 20 steps on 512 images) to keep the cost small.
/// A point embeds and projects the probe images (two forward passes of the encoder) and takes
/// two eigendecompositions. Measured on the 2-core machine, on a `byol-collapse` BYOL run with
/// each observation timed apart from the training: 0.30 s per optimizer step; 0.77 s per point
/// on 512 images, 0.41 s on 256. The default would add about 13% to the run's training time;
/// these settings add about 3% (6 s of about 190 s). 256 images are enough for these metrics
/// in `d = 128` (the effective rank needs more images than dimensions); the row's final
/// effective ranks are still measured on the whole test split.
pub const COLLAPSE_TRACE: TraceConfig = TraceConfig { every: 50, images: 256 };

/// Runs every setting of `sweep` (run folders under `runs_dir/<name>/<i>`), writing
/// `out_dir/<name>.json` after each run and `out_dir/<name>.png` at the end, and, for the
/// experiments about collapse, `out_dir/<name>-trace.png` (the collapse std over training,
/// [`Experiment::trace_chart`]).
pub fn run(sweep: &Sweep, runs_dir: &Path, out_dir: &Path, quiet: bool) -> Result<Experiment> {
    let mut experiment = Experiment {
        experiment: sweep.name.into(),
        parameter: sweep.parameter.into(),
        baseline_knn_top1: 0.0,
        rows: Vec::new(),
        verdict: String::new(),
        settings: serde_json::json!({
            "claim": sweep.claim,
            "seeds": sweep.seeds.max(1),
            "runs": sweep.settings.iter().map(|s| serde_json::json!({"label": s.label, "config": s.config})).collect::<Vec<_>>(),
        }),
    };
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let json = out_dir.join(format!("{}.json", sweep.name));
    let seeds = sweep.seeds.max(1);
    let runs = sweep.settings.len() * seeds;
    let mut last_vit = None;
    for (i, s) in sweep.settings.iter().enumerate() {
        let mut summaries: Vec<Summary> = Vec::with_capacity(seeds);
        let mut collapse_trace = Vec::new();
        let mut cluster_balance = Vec::new();
        let mut distillation_trace = Vec::new();
        for j in 0..seeds {
            let mut config = s.config.clone();
            config.train.seed += j as u64;
            let dir = runs_dir.join(sweep.name).join(i.to_string());
            let dir = if seeds == 1 { dir } else { dir.join(format!("seed-{}", config.train.seed)) };
            if !quiet {
                let seed = if seeds == 1 { String::new() } else { format!(" (seed {})", config.train.seed) };
                println!("[{}/{runs}] {}: {}{seed}", i * seeds + j + 1, sweep.name, s.label);
            }
            // Only the first seed's run is traced: the row keeps one run's curve.
            let summary = if sweep.collapse && j == 0 {
                let summary = train_traced(&config, &dir, &COLLAPSE_TRACE, true)?;
                collapse_trace = trace::read(&dir)?;
                summary
            } else {
                train(&config, &dir, false, true)?
            };
            // DeepCluster writes its clustering of every epoch: the row keeps how balanced they
            // were (the first seed's run).
            if j == 0 && config.name() == "deepcluster" {
                cluster_balance = deepcluster::read_reports(&dir)?.iter().map(|r| r.balance()).collect();
            }
            // DINO's runs log the teacher's entropy and the teacher-student KL every step.
            if j == 0 && config.name() == "dino" {
                distillation_trace = dino::read_diagnostics(&dir.join("metrics.jsonl"), DIAGNOSTICS_WINDOW)?;
            }
            // The last ViT trained (its first seed) is drawn in `<name>-attention.png`.
            if j == 0 && config.train.encoder == "vit" {
                last_vit = Some((dir.join("checkpoint.safetensors"), s.label.clone(), config.train.seed));
            }
            if !quiet {
                println!("    {}", summary.line());
            }
            summaries.push(summary);
        }
        let mean = |f: &dyn Fn(&Summary) -> f64| summaries.iter().map(f).sum::<f64>() / seeds as f64;
        // Every run evaluates its own random-init encoder (same encoder, its own seed). The
        // experiment reports the mean over all runs.
        let done = (i * seeds) as f64;
        experiment.baseline_knn_top1 = (experiment.baseline_knn_top1 * done + mean(&|r| r.baseline_knn_top1 as f64) * seeds as f64) / (done + seeds as f64);
        let losses: Vec<f64> = summaries.iter().filter_map(|r| r.final_loss.map(f64::from)).collect();
        experiment.rows.push(ExperimentRow {
            value: s.value,
            label: s.label.clone(),
            knn_top1: mean(&|r| r.knn_top1 as f64),
            linear_top1: mean(&|r| r.linear_top1 as f64),
            final_loss: (!losses.is_empty()).then(|| losses.iter().sum::<f64>() / losses.len() as f64),
            wall_seconds: mean(&|r| r.wall_seconds),
            knn_runs: if seeds == 1 { Vec::new() } else { summaries.iter().map(|r| r.knn_top1 as f64).collect() },
            effective_rank: sweep.collapse.then(|| mean(&|r| r.effective_rank as f64)),
            projection_effective_rank: match summaries.iter().map(|r| r.projection_effective_rank).collect::<Option<Vec<f32>>>() {
                Some(ranks) if sweep.collapse && !ranks.is_empty() => Some(ranks.iter().map(|&r| r as f64).sum::<f64>() / ranks.len() as f64),
                _ => None,
            },
            collapse_trace,
            cluster_balance,
            distillation_trace,
            baseline_knn_top1: Some(mean(&|r| r.baseline_knn_top1 as f64)),
        });
        experiment.verdict = verdict(sweep.name, &experiment);
        write_json_atomic(&json, &experiment)?;
    }
    experiment.chart()?.save_png(out_dir.join(format!("{}.png", sweep.name)))?;
    if let Some(trace) = experiment.trace_chart()? {
        trace.save_png(out_dir.join(format!("{}-trace.png", sweep.name)))?;
    }
    if let Some(clusters) = experiment.cluster_chart()? {
        clusters.save_png(out_dir.join(format!("{}-clusters.png", sweep.name)))?;
    }
    if let Some(chart) = experiment.distillation_chart((dino_outputs(&experiment) as f64).ln())? {
        chart.save_png(out_dir.join(format!("{}-diagnostics.png", sweep.name)))?;
    }
    if let Some((checkpoint, label, seed)) = last_vit {
        let vit = crate::figures::attention::trained_vit(&checkpoint)?;
        let what = format!("{} ({label})", sweep.settings[0].config.name());
        crate::figures::attention::attention_random_vs_trained(&vit, &what, seed, ATTENTION_ROWS)?.save_png(out_dir.join(format!("{}-attention.png", sweep.name)))?;
    }
    Ok(experiment)
}

/// `dino-backbone`: the ViT trains "as well as" the convnet when its kNN gain over its own
/// random init is at most this far below the convnet's (one point of top-1: about the spread
/// of a run over seeds is larger, see docs/results.md).
pub const BACKBONE_TOLERANCE: f64 = 0.01;

/// Test images (one per class) in an experiment's attention figure.
pub const ATTENTION_ROWS: usize = 5;

/// K, the outputs of the DINO runs of `e` (from the first run's saved settings; the default
/// when they do not say).
pub fn dino_outputs(e: &Experiment) -> usize {
    let saved = e.settings.get("runs").and_then(|r| r.get(0)).and_then(|r| r.get("config")).and_then(|c| c.get("method")).and_then(|m| m.get("outputs")).and_then(|k| k.as_u64());
    saved.map_or(dino::Config::default().outputs, |k| k as usize)
}

/// Recomputes the verdict of a saved experiment (`path`, an [`Experiment`] JSON) from its rows
/// with the current rules of [`verdict`], and rewrites the file. No training.
pub fn rejudge(name: &str, path: &Path) -> Result<Experiment> {
    if !EXPERIMENTS.contains(&name) {
        return Err(Error::config(format!("unknown experiment `{name}`; expected one of: {}", EXPERIMENTS.join(", "))));
    }
    let mut e = Experiment::load(path)?;
    if e.experiment != name {
        return Err(Error::config(format!("{}: holds experiment `{}`, not `{name}`", path.display(), e.experiment)));
    }
    e.verdict = verdict(name, &e);
    write_json_atomic(path, &e)?;
    Ok(e)
}

/// A setting's trace has collapsed in a space when its collapse std ends below this fraction of
/// `1/√d`, the level of vectors spread evenly over the sphere of `R^d` (0: every image gives
/// one vector). Vectors spread evenly in a `k`-dimensional subspace give about `√(k/d)/√d`, so
/// a quarter means they occupy fewer than `d/16` directions (8 of `d = 128`), or lie close to
/// one point.
pub const COLLAPSED_BELOW: f64 = 0.25;

/// What a setting's collapse trace says about one [`Space`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceCollapse {
    pub space: Space,
    /// The collapse std at the last traced step (the end of training).
    pub final_std: f64,
    /// `1/√d` of the space.
    pub healthy: f64,
    /// The first traced step from which the collapse std stayed below
    /// [`COLLAPSED_BELOW`]` · 1/√d` until the end; `None` when it ends above (not collapsed).
    pub since: Option<usize>,
}

/// The collapse of `row`'s trace in `space`; `None` without a trace in that space.
pub fn trace_collapse(row: &ExperimentRow, space: Space) -> Option<TraceCollapse> {
    let (curve, d) = row.collapse_curve(space)?;
    let healthy = 1.0 / (d as f64).sqrt();
    let &(_, final_std) = curve.last()?;
    // Walking back from the end while the std stays below the threshold.
    let below = curve.iter().rev().take_while(|(_, std)| *std < COLLAPSED_BELOW * healthy).last();
    Some(TraceCollapse { space, final_std, healthy, since: below.map(|&(step, _)| step as usize) })
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// One honest sentence on whether the measured rows reproduce the lecture's claim, computed
/// from the numbers (so it changes when they do).
pub fn verdict(name: &str, e: &Experiment) -> String {
    let rows = &e.rows;
    let best = rows.iter().max_by(|a, b| a.knn_top1.total_cmp(&b.knn_top1)).expect("at least one row");
    let base = e.baseline_knn_top1;
    let learns = |r: &ExperimentRow| r.knn_top1 >= base + 0.05;
    let row = |label: &str| rows.iter().find(|r| r.label == label);
    match name {
        "moco-momentum" => {
            let m0 = rows.iter().find(|r| r.value == 0.0).map_or(f64::NAN, |r| r.knn_top1);
            if !rows.iter().any(learns) {
                format!(
                    "Not reproduced at this budget: no momentum gets MoCo 5 points above the random-init encoder (best {} at {}, random init {}), so the run cannot show the lecture's shape.",
                    pct(best.knn_top1), best.label, pct(base)
                )
            } else {
                // The claim has two parts: the best m lies in 0.99–0.999, and m = 0 fails
                // (gets nowhere near 5 points above the random-init encoder).
                let best_in_range = (0.99..=0.999).contains(&best.value);
                let m0_fails = m0 < base + 0.05;
                let opening = match (best_in_range, m0_fails) {
                    (true, true) => "Reproduces the lecture's shape",
                    (true, false) => "Partly reproduces: the best m is in 0.99-0.999, but m = 0 does not fail",
                    (false, true) => "Partly reproduces: m = 0 fails, but the best m is outside 0.99-0.999",
                    (false, false) => "Does not reproduce the lecture's shape",
                };
                format!(
                    "{opening}: best kNN {} at {}, m = 0 gives {}, {:.1} points below it (random init {}).",
                    pct(best.knn_top1), best.label, pct(m0), 100.0 * (best.knn_top1 - m0), pct(base)
                )
            }
        }
        "negatives" => {
            let increasing = |prefix: &str| {
                let v: Vec<f64> = rows.iter().filter(|r| r.label.starts_with(prefix)).map(|r| r.knn_top1).collect();
                v.windows(2).all(|w| w[1] >= w[0] - 0.01)
            };
            let (s, m) = (increasing("SimCLR"), increasing("MoCo"));
            format!(
                "More negatives {} for SimCLR (batch sizes, at equal optimizer steps) and {} for MoCo (queue sizes); best {} with {}.",
                if s { "help or do not hurt" } else { "do not help" },
                if m { "help or do not hurt" } else { "do not help" },
                pct(best.knn_top1), best.label
            )
        }
        "temperature" => {
            let worst = rows.iter().min_by(|a, b| a.knn_top1.total_cmp(&b.knn_top1)).expect("rows");
            let high = rows.iter().max_by(|a, b| a.value.total_cmp(&b.value)).expect("rows");
            format!(
                "The temperature matters: kNN ranges from {} ({}) to {} ({}); the highest τ gives {}, {} the best.",
                pct(worst.knn_top1), worst.label, pct(best.knn_top1), best.label, pct(high.knn_top1),
                if high.knn_top1 < best.knn_top1 - 0.02 { "clearly below" } else { "close to" }
            )
        }
        "augmentations" => match (row("crop + colour"), row("no colour jitter")) {
            (Some(full), Some(no_colour)) => {
                // An ablation "costs" when it is at least 5 points below crop + colour: at every
                // seed when the rows were run with several seeds (paired by seed), else in the
                // single run.
                let costs = |ablation: &ExperimentRow| -> bool {
                    if full.knn_runs.len() >= 2 && full.knn_runs.len() == ablation.knn_runs.len() {
                        full.knn_runs.iter().zip(&ablation.knn_runs).all(|(f, a)| f - a >= 0.05)
                    } else {
                        full.knn_top1 - ablation.knn_top1 >= 0.05
                    }
                };
                let no_crop = row("no crop");
                let opening = match (costs(no_colour), no_crop.map(costs)) {
                    (true, None) => "Reproduces the claim for colour jitter (no run without crop)",
                    (true, Some(true)) => "Reproduces the claim: colour jitter and cropping are both needed",
                    (true, Some(false)) => "Reproduces the claim for colour jitter only, not for cropping",
                    (false, Some(true)) => "Reproduces the claim for cropping only, not for colour jitter",
                    (false, _) => "Does not reproduce the claim",
                };
                let seeds = if full.knn_runs.len() >= 2 { format!(" (mean of {} seeds; each ablation must cost 5 points at every seed)", full.knn_runs.len()) } else { String::new() };
                let crop = no_crop.map_or(String::new(), |c| format!("; without crop {} ({:+.1} points)", pct(c.knn_top1), 100.0 * (c.knn_top1 - full.knn_top1)));
                format!(
                    "{opening}: full augmentations {}, without colour jitter {} ({:+.1} points){crop}{seeds}.",
                    pct(full.knn_top1), pct(no_colour.knn_top1), 100.0 * (no_colour.knn_top1 - full.knn_top1)
                )
            }
            _ => "Incomplete: the full-augmentation and no-colour runs are both needed.".into(),
        },
        "mochi" => match (row("MoCo"), row("MoCo + MoCHi")) {
            (Some(moco), Some(mochi)) if moco.knn_runs.len() >= 2 && moco.knn_runs.len() == mochi.knn_runs.len() => {
                // Paired by seed: the same seed gives both runs the same initial encoder and
                // data order, so the per-seed difference removes most of the seed's effect.
                let d: Vec<f64> = mochi.knn_runs.iter().zip(&moco.knn_runs).map(|(b, a)| b - a).collect();
                let n = d.len() as f64;
                let gain = d.iter().sum::<f64>() / n;
                let se = (d.iter().map(|x| (x - gain).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt();
                let opening = if gain > 0.01 && gain > 2.0 * se && learns(best) {
                    "Reproduces"
                } else if gain > 0.0 {
                    "Not shown"
                } else {
                    "Does not reproduce"
                };
                let per_seed: Vec<String> = d.iter().map(|x| format!("{:+.1}", 100.0 * x)).collect();
                format!(
                    "{opening}: over {} seeds, MoCo {}, MoCo + MoCHi {} (mean gain {:+.1} points, standard error {:.1}; per seed {}; random init {}).",
                    d.len(), pct(moco.knn_top1), pct(mochi.knn_top1), 100.0 * gain, 100.0 * se, per_seed.join(", "), pct(base)
                )
            }
            (Some(moco), Some(mochi)) => format!(
                "{}: MoCo {}, MoCo + MoCHi {} ({:+.1} points; random init {}; one seed).",
                if mochi.knn_top1 > moco.knn_top1 + 0.01 && learns(best) { "Reproduces" } else { "Does not reproduce" },
                pct(moco.knn_top1), pct(mochi.knn_top1), 100.0 * (mochi.knn_top1 - moco.knn_top1), pct(base)
            ),
            _ => "Incomplete: both runs are needed.".into(),
        },
        "barlow-lambda" => {
            let zero = rows.iter().find(|r| r.value == 0.0);
            let default = rows.iter().find(|r| (r.value - barlow::Config::default().lambda).abs() < 1e-12);
            match (zero, default) {
                (Some(z), Some(d)) => {
                    // Collapse is judged where the loss acts, the projections, when they were
                    // measured; otherwise on the encoder's features.
                    let (space, rz, rd) = match (z.projection_effective_rank, d.projection_effective_rank) {
                        (Some(a), Some(b)) => ("projections", a, b),
                        _ => ("features", z.effective_rank.unwrap_or(f64::NAN), d.effective_rank.unwrap_or(f64::NAN)),
                    };
                    // Collapse to "a few dimensions": at most half the default's effective rank.
                    let collapses = rz <= 0.5 * rd;
                    let worse = z.knn_top1 < d.knn_top1 - 0.05;
                    let opening = match (collapses, worse) {
                        (true, true) => "Reproduces".to_string(),
                        (true, false) => "Partly reproduces (fewer dimensions, but kNN within 5 points)".to_string(),
                        (false, true) => format!("Partly reproduces (kNN drops, but the {space} keep more than half the default's effective rank)"),
                        (false, false) => "Does not reproduce".to_string(),
                    };
                    format!(
                        "{opening}: with lambda = 0 the {space} use {rz:.1} effective dimensions and reach {} kNN; with the default {}, {rd:.1} dimensions and {} (random init {}).",
                        pct(z.knn_top1), d.label.trim_start_matches("lambda = ").trim_end_matches(" (default)"), pct(d.knn_top1), pct(base)
                    )
                }
                _ => "Incomplete: the lambda = 0 and default runs are both needed.".into(),
            }
        }
        "byol-collapse" => {
            let Some(full) = row("BYOL") else { return "Incomplete: the full BYOL run is needed.".into() };
            // Judged on the projections where they were measured, else on the features.
            let rank = |r: &ExperimentRow| r.projection_effective_rank.or(r.effective_rank).unwrap_or(f64::NAN);
            // A row with a collapse trace (JSONs since the runs are traced) is judged on it: on
            // the projections' collapse std (the features' for a method without projections) at
            // the end of training. Without one, on the effective rank: collapsed at most a quarter
            // of full BYOL's effective dimensions, or fewer than two.
            let traced = |r: &ExperimentRow| Space::ALL.into_iter().find_map(|space| trace_collapse(r, space));
            let collapsed = |r: &ExperimentRow| match traced(r) {
                Some(t) => t.since.is_some(),
                None => rank(r) < 2.0 || rank(r) <= 0.25 * rank(full),
            };
            let describe = |label: &str| {
                row(label).map(|r| match traced(r) {
                    Some(t) => format!(
                        "{label} {} kNN, final collapse std {:.3}{}",
                        pct(r.knn_top1),
                        t.final_std,
                        t.since.map_or(String::new(), |s| format!(" (below {COLLAPSED_BELOW} × 1/√d from step {s} on: collapsed)"))
                    ),
                    None => format!("{label} {} kNN, effective rank {:.1}{}", pct(r.knn_top1), rank(r), if collapsed(r) { " (collapsed)" } else { "" }),
                })
            };
            let ablations: Vec<String> = ["no predictor", "no EMA (tau = 0)", "no stop-gradient"].into_iter().filter_map(describe).collect();
            let guards = ["no predictor", "no stop-gradient"].into_iter().filter_map(row).all(collapsed);
            let opening = match (learns(full), guards) {
                (true, true) => "Reproduces",
                (false, true) => "Partly reproduces (the ablations collapse, but full BYOL does not beat random init by 5 points here)",
                (true, false) => "Partly reproduces (BYOL learns, but removing the predictor or the stop-gradient does not collapse it here)",
                (false, false) => "Does not reproduce",
            };
            let simclr = row("SimCLR").map_or(String::new(), |s| {
                format!(
                    " SimCLR at the same budget: {} ({} than BYOL).",
                    pct(s.knn_top1),
                    if s.knn_top1 > full.knn_top1 + 0.01 { "better" } else if s.knn_top1 < full.knn_top1 - 0.01 { "worse" } else { "about the same" }
                )
            });
            let byol = match traced(full) {
                Some(t) => format!(
                    "BYOL {} kNN, final collapse std of the {} {:.3} against 1/√d = {:.3}{}",
                    pct(full.knn_top1),
                    t.space.name(),
                    t.final_std,
                    t.healthy,
                    if full.knn_runs.len() >= 2 { ", traces of the first seed" } else { "" }
                ),
                None => format!("BYOL {} kNN, effective rank {:.1}", pct(full.knn_top1), rank(full)),
            };
            format!("{opening}: {byol} (random init {}); {}.{simclr}", pct(base), ablations.join("; "))
        }
        "deepcluster-collapse" => {
            let (Some(tricks), Some(naive)) = (row(TRICKS), row(NAIVE)) else { return "Incomplete: the runs with both tricks and with neither are needed.".into() };
            let last = |r: &ExperimentRow| r.cluster_balance.last().cloned();
            let (Some(t), Some(n)) = (last(tricks), last(naive)) else { return "Incomplete: the runs' clusterings (epochs.jsonl) were not recorded.".into() };
            let dominated = |b: &ClusterBalance| b.largest_share >= DOMINANT_CLUSTER;
            let worse = naive.knn_top1 < tricks.knn_top1 - 0.05;
            let opening = match (dominated(&n) && !dominated(&t), worse) {
                (true, true) => "Reproduces",
                (true, false) => "Partly reproduces (the naive clusters collapse, but its kNN is within 5 points)",
                (false, true) => "Does not reproduce the collapse (no cluster holds half the images), though the naive version learns less",
                (false, false) => "Does not reproduce",
            };
            let describe = |r: &ExperimentRow| {
                last(r).map(|b| {
                    format!(
                        "{} {} kNN, largest cluster {:.0}% of the images, {:.1} effective clusters of {} ({} non-empty) at the last epoch",
                        r.label,
                        pct(r.knn_top1),
                        100.0 * b.largest_share,
                        b.effective_clusters,
                        b.sorted_sizes.len(),
                        b.non_empty
                    )
                })
            };
            let all: Vec<String> = rows.iter().filter_map(describe).collect();
            format!("{opening}: {} (random init {}).", all.join("; "), pct(base))
        }
        "swav-equipartition" => {
            let (Some(sk), Some(sm)) = (row(SINKHORN), row(SOFTMAX)) else { return "Incomplete: both runs are needed.".into() };
            let collapse = |r: &ExperimentRow| trace_collapse(r, Space::Projections);
            let collapsed = |r: &ExperimentRow| collapse(r).map(|t| t.since.is_some());
            let describe = |r: &ExperimentRow| match collapse(r) {
                Some(t) => format!(
                    "{} {} kNN, final collapse std of the projections {:.3} against 1/√d = {:.3}{}",
                    r.label,
                    pct(r.knn_top1),
                    t.final_std,
                    t.healthy,
                    t.since.map_or(String::new(), |s| format!(" (collapsed from step {s} on)"))
                ),
                None => format!("{} {} kNN", r.label, pct(r.knn_top1)),
            };
            // The softmax "fails" when it collapses or learns nothing (within 5 points of the
            // random init); Sinkhorn must learn and not collapse.
            let softmax_fails = collapsed(sm).unwrap_or(false) || !learns(sm);
            let sinkhorn_works = learns(sk) && collapsed(sk) != Some(true);
            let opening = match (sinkhorn_works, softmax_fails) {
                (true, true) => "Reproduces",
                (true, false) => "Does not reproduce (the softmax codes learn too)",
                (false, true) => "Partly reproduces (the softmax codes fail, but so do Sinkhorn's here)",
                (false, false) => "Does not reproduce",
            };
            format!("{opening}: {}; {} (random init {}).", describe(sk), describe(sm), pct(base))
        }
        "multi-crop" => {
            let (Some(two), Some(small)) = (row(TWO_GLOBAL), row(LOCAL_SMALL)) else { return "Incomplete: the two-crop and small-local-crop runs are both needed.".into() };
            let same_compute = rows.iter().find(|r| r.value == 1.0);
            // The claim is at equal compute: against the two-crop run given the local crops'
            // extra work as epochs, when it was run.
            let reference = same_compute.unwrap_or(two);
            let gain = small.knn_top1 - reference.knn_top1;
            let opening = if gain >= 0.02 {
                "Reproduces"
            } else if gain > -0.02 {
                "Not shown (within 2 points)"
            } else {
                "Does not reproduce: the local crops hurt"
            };
            let large = row(LOCAL_LARGE).map_or(String::new(), |r| format!("; with larger local crops (40-80% of the image) {} ({:+.1} points against {})", pct(r.knn_top1), 100.0 * (r.knn_top1 - reference.knn_top1), reference.label));
            // The controls: crops as large as global ones, at the local size and at full size.
            // Against the two-crop run at the same epochs, each either hurts (below it by more
            // than 5 points) or does not.
            let diagnosis = match (row(LOCAL_WHOLE_16), row(LOCAL_WHOLE_32)) {
                (Some(low), Some(full)) => {
                    let hurts = |r: &ExperimentRow| r.knn_top1 < two.knn_top1 - 0.05;
                    let cause = match (hurts(low), hurts(full)) {
                        (true, false) => "the local crops' low resolution, not their content, is what hurts",
                        (true, true) => "extra predicting views hurt even at full size: suspect the loss over many views",
                        (false, false) => "crops as large as the global ones do not hurt at either size: the small crops' content is what hurts",
                        (false, true) => "the controls disagree (only full-size extra crops hurt)",
                    };
                    format!(
                        ". Controls (crops of 80-100% of the image as extra views): at the local size {}, at full size {}: {cause}",
                        pct(low.knn_top1),
                        pct(full.knn_top1)
                    )
                }
                _ => String::new(),
            };
            format!(
                "{opening}: {} {} against {} {} ({:+.1} points), two crops at the same epochs {}{large}{diagnosis} (random init {}).",
                small.label, pct(small.knn_top1), reference.label, pct(reference.knn_top1), 100.0 * gain, pct(two.knn_top1), pct(base)
            )
        }
        "dino-collapse" => {
            let Some(full) = row(DINO_FULL) else { return "Incomplete: the full DINO run is needed.".into() };
            let ln_k = (dino_outputs(e) as f64).ln();
            let last = |r: &ExperimentRow| r.distillation_trace.last().copied();
            if last(full).is_none() {
                return "Incomplete: the runs' diagnostics (metrics.jsonl) were not recorded.".into();
            }
            let flat = |p: &dino::DiagnosticsPoint| (p.teacher_student_kl as f64) < COLLAPSED_KL;
            let one_hot = |r: &ExperimentRow| last(r).is_some_and(|p| flat(&p) && (p.teacher_entropy as f64) < ENTROPY_COLLAPSE * ln_k);
            let uniform = |r: &ExperimentRow| last(r).is_some_and(|p| flat(&p) && p.teacher_entropy as f64 > (1.0 - ENTROPY_COLLAPSE) * ln_k);
            let describe = |r: &ExperimentRow| {
                last(r).map(|p| {
                    let state = if one_hot(r) {
                        " (one-hot collapse)"
                    } else if uniform(r) {
                        " (uniform collapse)"
                    } else {
                        ""
                    };
                    format!("{} {} kNN, final teacher entropy {:.2} nats{state}, KL {:.3}", r.label, pct(r.knn_top1), p.teacher_entropy, p.teacher_student_kl)
                })
            };
            let centring_needed = row(NO_CENTRING).is_some_and(one_hot);
            let sharpening_needed = row(NO_SHARPENING).is_some_and(uniform);
            let healthy = learns(full) && !one_hot(full) && !uniform(full);
            let opening = match (healthy, centring_needed, sharpening_needed) {
                (true, true, true) => "Reproduces".to_string(),
                (h, c, s) => {
                    let mut missing = Vec::new();
                    if !h {
                        missing.push(if learns(full) { "full DINO's teacher collapses too" } else { "full DINO does not beat random init by 5 points" });
                    }
                    if !c {
                        missing.push("without centring the teacher does not end one-hot");
                    }
                    if !s {
                        missing.push("without sharpening it does not end uniform");
                    }
                    let some = [h, c, s].iter().any(|&x| x);
                    format!("{} ({})", if some { "Partly reproduces" } else { "Does not reproduce" }, missing.join("; "))
                }
            };
            let all: Vec<String> = rows.iter().filter_map(describe).collect();
            format!("{opening}: {} (ln K = {ln_k:.2}; random init {}).", all.join("; "), pct(base))
        }
        "dino-backbone" => {
            let by_value = |v: f64| rows.iter().find(|r| r.value == v);
            let (Some(conv), Some(same)) = (by_value(0.0), by_value(1.0)) else {
                return "Incomplete: the convnet run and the ViT run at the same time are needed.".into();
            };
            let gain = |r: &ExperimentRow| e.knn_gain(r);
            let as_well = |r: &ExperimentRow| gain(r) >= gain(conv) - BACKBONE_TOLERANCE;
            let longer = by_value(2.0);
            let opening = if as_well(same) {
                "Reproduces: at the same training time the ViT gains at least as much over its random init as the convnet"
            } else if longer.is_some_and(as_well) {
                "Partly reproduces: the ViT matches the convnet's gain only with 3x the training time"
            } else if rows.iter().filter(|r| r.value > 0.0).any(|r| gain(r) >= 0.05) {
                "Does not reproduce at this scale: DINO's ViT learns, but gains less over its random init than the convnet, even with 3x the time"
            } else {
                "Does not reproduce at this scale: DINO's ViT does not get 5 kNN points above its random init"
            };
            let describe = |r: &ExperimentRow| format!("{} {} kNN against {} at random init ({:+.1} points)", r.label, pct(r.knn_top1), pct(r.baseline_knn_top1.unwrap_or(base)), 100.0 * gain(r));
            let all: Vec<String> = rows.iter().map(describe).collect();
            format!("{opening}: {}.", all.join("; "))
        }
        _ => String::new(),
    }
}

/// Where `selfsup experiment` writes by default.
pub fn default_dirs() -> (PathBuf, PathBuf) {
    (PathBuf::from("runs/experiments"), PathBuf::from("results/experiments"))
}

/// Where the experiments page lives: `docs/experiments.md`, rewritten from the saved JSON by
/// every `selfsup experiment` run (and `--rejudge`), so it always shows what was measured last.
pub fn default_page() -> PathBuf {
    PathBuf::from("docs/experiments.md")
}

/// The command that trains `e`'s runs again: `--seeds`, `--dataset` when it is not the default,
/// and `--epochs` / `--train-images` when today's defaults would give the saved runs another
/// budget (e.g. a method's epochs changed since). When no such flags give every saved run its
/// budget back, the second value is `false`.
fn reproduce_command(e: &Experiment, seeds: u64) -> (String, bool) {
    let mut command = format!("selfsup experiment {}", e.experiment);
    if seeds > 1 {
        command += &format!(" --seeds {seeds}");
    }
    let dataset = e.dataset().unwrap_or(crate::train::DEFAULT_DATASET).to_string();
    if dataset != crate::train::DEFAULT_DATASET {
        command += &format!(" --dataset {dataset}");
    }
    // (epochs, training images) of each saved run, and of each run a sweep from `base` trains.
    let runs = e.settings.get("runs").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    let saved: Vec<(u64, u64)> = runs
        .iter()
        .filter_map(|r| {
            let config = r.get("config")?;
            let train = config.get("train").unwrap_or(config);
            Some((train.get("epochs")?.as_u64()?, train.get("train_images")?.as_u64()?))
        })
        .collect();
    if saved.is_empty() || saved.len() != runs.len() {
        return (command, true);
    }
    let budgets = |base: &TrainConfig| -> Option<Vec<(u64, u64)>> {
        let sweep = sweep(&e.experiment, base).ok()?;
        Some(sweep.settings.iter().map(|s| (s.config.train.epochs as u64, s.config.train.train_images as u64)).collect())
    };
    let base = TrainConfig { dataset: dataset.clone(), ..default_base() };
    if budgets(&base).as_ref() == Some(&saved) {
        return (command, true);
    }
    let (epochs, images) = (saved[0].0, saved[0].1);
    let mut flagged = base.clone();
    let mut flags = String::new();
    if saved.iter().all(|&(e, _)| e == epochs) {
        flagged.epochs = epochs as usize;
        flags += &format!(" --epochs {epochs}");
    }
    if saved.iter().all(|&(_, i)| i == images) {
        flagged.train_images = images as usize;
        flags += &format!(" --train-images {images}");
    }
    if budgets(&flagged).as_ref() == Some(&saved) {
        (command + &flags, true)
    } else {
        (command, false)
    }
}

/// One experiment as a section of the experiments page: claim, chart, table, verdict, and the
/// command that reproduces it. `image_dir` is the charts' folder relative to the page.
pub fn markdown_section(e: &Experiment, image_dir: &str) -> String {
    let claim = e.settings.get("claim").and_then(|c| c.as_str()).unwrap_or("");
    let seeds = e.settings.get("seeds").and_then(|c| c.as_u64()).unwrap_or(1);
    let total: f64 = e.rows.iter().map(|r| r.wall_seconds * r.knn_runs.len().max(1) as f64).sum();
    let (command, exact) = reproduce_command(e, seeds);
    let mut s = format!("## `{}`\n\nThe lecture's claim: {claim}. Reproduce: `{command}` ({:.1} min here).", e.experiment, total / 60.0);
    if !exact {
        s += " The saved runs had the budgets of their day (each run's epochs and images are in its JSON); today's defaults give some of them others.";
    }
    s += "\n\n";
    if let Some(dataset) = e.dataset() {
        s += &format!("Measured on `{dataset}`.\n\n");
    }
    s += &format!("![{0}]({image_dir}/{0}.png)\n\n", e.experiment);
    if e.rows.iter().any(|r| !r.collapse_trace.is_empty()) {
        s += &format!("The collapse std over training (`1/√d` dashed):\n\n![{0} over training]({image_dir}/{0}-trace.png)\n\n", e.experiment);
    }
    if e.rows.iter().any(|r| !r.distillation_trace.is_empty()) {
        s += &format!(
            "The teacher's entropy (`ln K` dashed: uniform) and the teacher–student KL over training, means over {DIAGNOSTICS_WINDOW} steps:\n\n![{0} diagnostics]({image_dir}/{0}-diagnostics.png)\n\n",
            e.experiment
        );
    }
    if e.rows.iter().any(|r| !r.cluster_balance.is_empty()) {
        s += &format!(
            "The clusterings over training (largest cluster's share, effective number of clusters, last epoch's sizes):\n\n![{0} clusters]({image_dir}/{0}-clusters.png)\n\n",
            e.experiment
        );
    }
    let per_seed = e.rows.iter().any(|r| !r.knn_runs.is_empty());
    let rank = e.rows.iter().any(|r| r.effective_rank.is_some());
    let zrank = e.rows.iter().any(|r| r.projection_effective_rank.is_some());
    let own = e.per_row_baselines();
    if e.encoders().iter().any(|enc| enc == "vit") {
        s += &format!("The class token's attention per head in the last block of the last ViT trained, next to a random-init ViT:\n\n![{0} attention]({image_dir}/{0}-attention.png)\n\n", e.experiment);
    }
    s += &format!(
        "| {} | kNN top-1 | {}{}linear top-1 | {}{}final loss | wall per run |\n|---|---|{}{}---|{}{}---|---|\n",
        e.parameter,
        if own { "random init kNN | " } else { "" },
        if per_seed { "per seed | " } else { "" },
        if rank { "effective rank | " } else { "" },
        if zrank { "projection rank | " } else { "" },
        if own { "---|" } else { "" },
        if per_seed { "---|" } else { "" },
        if rank { "---|" } else { "" },
        if zrank { "---|" } else { "" }
    );
    for r in &e.rows {
        let runs = r.knn_runs.iter().map(|x| pct(*x)).collect::<Vec<_>>().join(" / ");
        let knn = match r.knn_std() {
            Some(sd) => format!("{} ± {:.1}", pct(r.knn_top1), 100.0 * sd),
            None => pct(r.knn_top1),
        };
        let loss = r.final_loss.map_or("—".into(), |l| format!("{l:.3}"));
        let runs = if per_seed { format!("{runs} | ") } else { String::new() };
        let one = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.1}"));
        let eff = if rank { format!("{} | ", one(r.effective_rank)) } else { String::new() };
        let eff = if zrank { format!("{eff}{} | ", one(r.projection_effective_rank)) } else { eff };
        let base = if own { format!("{} | ", pct(r.baseline_knn_top1.unwrap_or(e.baseline_knn_top1))) } else { String::new() };
        s += &format!("| {} | {knn} | {base}{runs}{} | {eff}{loss} | {:.0} s |\n", r.label, pct(r.linear_top1), r.wall_seconds);
    }
    if own {
        s += "\n";
    } else {
        s += &format!("| random init | {} | {}| {}{}| |\n\n", pct(e.baseline_knn_top1), if per_seed { "| " } else { "" }, if rank { "| " } else { "" }, if zrank { "| " } else { "" });
    }
    s += &format!("Verdict (computed from the numbers by `experiments::verdict`): {}\n\n", e.verdict);
    s
}

/// Rewrites `page` from every experiment JSON found in `results_dir`, in the lecture's order.
pub fn write_page(results_dir: &Path, page: &Path) -> Result<()> {
    let mut s = String::from(
        "# Experiments: the lecture's claims, measured\n\n\
         *This page is written by `selfsup experiment NAME` from `results/experiments/*.json`; do not edit it by hand.*\n\n\
         Each experiment trains one method several times on the built-in dataset (`--dataset` \
         picks another, with its recipe), changing one setting, and evaluates every run on the \
         2 000 test images (weighted kNN, k = 20, T = 0.1; linear probe) against the same encoder \
         at random initialisation. Every run uses its method's own defaults (its `Config` and \
         budget); runs are deterministic for a seed and a thread count. `--seeds N` repeats every \
         setting with N seeds; `--rejudge` recomputes a saved verdict. Wall times depend on the machine and its load (2-core CPU here).\n\n",
    );
    let relative = pathdiff(page, results_dir);
    for name in EXPERIMENTS {
        let path = results_dir.join(format!("{name}.json"));
        if path.exists() && *name == kd::NAME {
            s += &kd::KdExperiment::load(&path)?.markdown_section(&relative);
        } else if path.exists() {
            s += &markdown_section(&Experiment::load(&path)?, &relative);
        }
    }
    if let Some(dir) = page.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    crate::train::checkpoint::write_atomic(page, s.as_bytes())
}

/// `results_dir` as seen from the folder of `page` (both relative to the working directory,
/// as the defaults are): `docs/experiments.md` and `results/experiments` give
/// `../results/experiments`.
fn pathdiff(page: &Path, results_dir: &Path) -> String {
    let depth = page.parent().map_or(0, |p| p.components().count());
    let up = "../".repeat(depth);
    format!("{up}{}", results_dir.display())
}
