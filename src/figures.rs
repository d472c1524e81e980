//! The slides' figures, regenerated from the library: `selfsup figures [--out DIR]`.
//!
//! Every picture the decks in `slides/` show is computed here, never drawn by hand or taken
//! from elsewhere:
//!
//! | file | what | from |
//! |---|---|---|
//! | `textures-samples.png`, `shapes-samples.png` | two images of each class of each built-in dataset (`textures` is the default), columns named by class | [`crate::data::textures`], [`crate::data::shapes`], [`crate::plot::ImageGrid`] |
//! | `augmentation-grid.png` | four `textures` images and five SimCLR views of each (the default recipe: crops of 20–100%), rows and columns named | [`crate::plot::augmentation_grid`] |
//! | `augmentation-grid-strong.png` | the same with the ImageNet paper's crops (area ≥ 8%) | same |
//! | `infonce-temperature.png` | softmax over `[q·k⁺, q·k⁻…]/τ` for several τ, with the InfoNCE loss | [`crate::methods::contrastive_logits`], [`crate::methods::info_nce`] |
//! | `simclr-retrieval.png` | 6 test images and their 5 nearest training images in raw pixels, at random init and after SimCLR, framed by class match | a short SimCLR run (or `--checkpoint`), [`crate::plot::retrieval_grid`] |
//! | `simclr-tsne.png`, `random-init-tsne.png` | t-SNE map of the test features `f(x)`, by class, with its 2-D kNN accuracy | same, [`crate::plot::tsne_map`] |
//! | `simclr-similarity.png`, `random-init-similarity.png` | cosine similarities of mean-centred features, 5 test images per class, class boundaries drawn | same, [`crate::plot::class_similarity`] |
//! | `simclr-loss.png` | the short run's NT-Xent loss per step | its `metrics.jsonl` |
//! | `barlow-cross-correlation.png` | Barlow Twins' cross-correlation matrix `C` at random initialisation, next to its target `I` | [`barlow_cross_correlation`], [`crate::methods::barlow::cross_correlation`] |
//! | `byol-tau-schedule.png` | BYOL's target schedule over training (`1 − τ`, the share of the online weights taken per step), the kit's `τ_base` and the paper's | [`byol_tau_schedule`], [`crate::methods::byol::cosine_tau`] |
//! | `<experiment>.png`, `<experiment>-table.png` | an experiment's kNN / linear top-1 per setting, and its table (with effective ranks for the collapse experiments) | `results/experiments/<experiment>.json` |
//! | `<experiment>-rank.png` | effective rank of the projections and features per setting (`barlow-lambda`, `byol-collapse`) | same, [`Experiment::rank_chart`] |
//! | `<experiment>-trace.png` | the collapse std (std of the L2-normalised outputs) of the projections and features over optimizer steps, one line per setting, against `1/√d` (collapse experiments whose JSON carries traces; older JSONs have none and get no such figure) | same, [`Experiment::trace_chart`] |
//! | `<experiment>-clusters.png` | DeepCluster's clusterings over epochs: the largest cluster's share, the effective number of clusters, the last epoch's sizes (`deepcluster-collapse`) | same, [`Experiment::cluster_chart`] |
//! | `kd-temperature.png`, `-table.png`, `-soft-targets.png` | teacher and students' test top-1, their table, the teacher's softened outputs at each `T` | `results/experiments/kd-temperature.json`, [`crate::experiments::kd::KdExperiment`] |
//! | `swav-codes.png` | one batch's scores at the start of training, their softmax (one prototype takes the batch) and SwAV's Sinkhorn codes (each prototype gets about `B / K`), with each prototype's total | [`clustering::swav_codes`], [`crate::methods::swav::sinkhorn`] |
//! | `multicrop-views.png` | test images with their 2 global and 6 local crops | [`clustering::multicrop_views`], [`crate::augment::MultiCrop`] |
//! | `simclr-kmeans.png`, `random-init-kmeans.png` | k-means (k = 10) on the test features, on their PCA map, coloured by class and by cluster, with the clusters' NMI with the classes | the short SimCLR run, [`clustering::cluster_map`], [`crate::eval::kmeans`] |
//! | `vit-patches.png` | a test image next to its 64 patches of 4×4 px, the ViT's tokens 1–64 | [`vit::vit_patches`], [`crate::augment::PatchGrid`] |
//! | `vit-attention-random.png` | the class token's attention per head of the last block of a random-init ViT, one test image per class | [`vit::vit_attention_random`], [`attention::attention_figure_labelled`] |
//! | `dino-centring-sharpening.png` | one made-up teacher output through DINO's softmax plain, sharpened (τ_t), centred (− c) and both, with entropies | [`vit::dino_centring_sharpening`], [`crate::methods::dino::teacher_targets`] |
//! | `<experiment>-diagnostics.png` | DINO's teacher entropy and teacher–student KL over training, one line per setting (`dino-collapse`) | same JSON, [`Experiment::distillation_chart`] |
//! | `dino-attention.png` | the DINO-trained ViT's class-token attention next to a random-init one's: a copy of `results/experiments/dino-backbone-attention.png` | `selfsup experiment dino-backbone`, [`vit::copy_backbone_attention`] |
//!
//! The experiments the decks show ([`REQUIRED_EXPERIMENTS`]: MoCo's momentum, the augmentations, part 2's
//! `barlow-lambda`, `kd-temperature`, `byol-collapse`, part 3's `deepcluster-collapse`,
//! `swav-equipartition`, `multi-crop`, and part 4's `dino-collapse`, `dino-backbone`) are
//! required: if a JSON is absent, [`FiguresReport::check`] fails with a message that names it
//! and the command that makes it; so does a missing `dino-backbone-attention.png`. The other
//! experiments are drawn when their JSON is there.

pub mod attention;
pub mod clustering;
pub mod vit;

use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::augment::{Pipeline, Transform};
use crate::data::procedural::{ProceduralConfig, Split};
use crate::data::shapes::{self, NUM_CLASSES};
use crate::data::textures;
use crate::error::{Error, Result};
use crate::eval::kmeans::ClusterBalance;
use crate::eval::TsneConfig;
use crate::methods::{contrastive_logits, info_nce};
pub use crate::plot::mean_similarity_within_between;
use crate::plot::{
    augmentation_grid, bar_chart, class_similarity, first_per_class, heatmap, line_chart, line_chart_with_reference, retrieval_grid, side_by_side, table, tsne_map,
    BarGroup, Chart, FeatureSpace, Figure, ImageGrid, Series,
};
use crate::run::{self, Summary};
use crate::train::checkpoint::read_json;
use crate::methods::dino::DiagnosticsPoint;
use crate::train::trace::TracePoint;
use crate::methods::MethodConfig;
use crate::train::{RunConfig, TrainConfig};

/// Experiments a deck shows: their figures are required (`moco-momentum` in the contrastive
/// deck, the part-2 experiments in the deck on learning without negatives, the part-3 ones in
/// the clustering deck, the part-4 ones in the ViT and DINO deck).
pub const REQUIRED_EXPERIMENTS: &[&str] =
    &["moco-momentum", "augmentations", "barlow-lambda", crate::experiments::kd::NAME, "byol-collapse", "deepcluster-collapse", "swav-equipartition", "multi-crop", "dino-collapse", "dino-backbone"];
/// Experiments drawn when their JSON exists.
pub const OPTIONAL_EXPERIMENTS: &[&str] = &["negatives", "temperature", "augmentations", "mochi"];

/// Temperatures of the InfoNCE illustration.
pub const ILLUSTRATION_TAUS: [f32; 5] = [0.05, 0.1, 0.2, 0.5, 1.0];

/// Slide-sized charts: 16:9 decks are 1280 × 720, figures take most of a slide.
pub(crate) const WIDE: (u32, u32) = (1000, 560);
const SQUARE: (u32, u32) = (760, 640);

/// What `selfsup figures` does.
#[derive(Debug, Clone)]
pub struct FiguresConfig {
    /// Folder the PNGs are written to (created if missing).
    pub out: PathBuf,
    /// Folder holding the experiments' JSON files.
    pub experiments: PathBuf,
    /// A SimCLR checkpoint (with `config.json` beside it) to embed instead of training one.
    pub checkpoint: Option<PathBuf>,
    /// Run directory of the short SimCLR run trained when no checkpoint is given.
    pub run_dir: PathBuf,
    /// The short SimCLR run (its `test_images` also limits the images embedded for the plots).
    pub run: RunConfig,
    pub quiet: bool,
}

impl Default for FiguresConfig {
    /// Writes to `slides/figures`, reads `results/experiments`, and trains SimCLR for 2 epochs
    /// on 5 000 images (about a minute on 2 cores), embedding 1 000 test images.
    fn default() -> Self {
        Self {
            out: PathBuf::from("slides/figures"),
            experiments: PathBuf::from("results/experiments"),
            checkpoint: None,
            run_dir: PathBuf::from("runs/figures-simclr"),
            run: RunConfig {
                train: TrainConfig { epochs: 2, train_images: 5000, test_images: 1000, ..TrainConfig::default() },
                ..RunConfig::new(MethodConfig::SimClr(Default::default()))
            },
            quiet: false,
        }
    }
}

/// What was written, and what could not be.
#[derive(Debug, Default)]
pub struct FiguresReport {
    pub written: Vec<PathBuf>,
    /// One message per required input that is missing (its figures were not made).
    pub missing: Vec<String>,
    /// Optional inputs that were absent (nothing was drawn for them).
    pub skipped: Vec<String>,
    /// The SimCLR numbers the embedding figures' titles quote, when known.
    pub simclr: Option<Summary>,
}

impl FiguresReport {
    /// Errors, listing every missing required input, unless all figures were made.
    pub fn check(&self) -> Result<()> {
        if self.missing.is_empty() {
            Ok(())
        } else {
            Err(Error::config(format!("some slide figures were not made:\n  {}", self.missing.join("\n  "))))
        }
    }

    fn save(&mut self, figure: &Figure, out: &Path, name: &str) -> Result<()> {
        let path = out.join(name);
        figure.save_png(&path)?;
        self.written.push(path);
        Ok(())
    }
}

/// Regenerates every slide figure into `cfg.out` (see the module docs). Returns what was
/// written; call [`FiguresReport::check`] to fail on missing required inputs.
pub fn generate(cfg: &FiguresConfig) -> Result<FiguresReport> {
    let mut report = FiguresReport::default();
    let out = cfg.out.as_path();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;

    dataset_figures(cfg, &mut report)?;
    report.save(&infonce_temperature()?, out, "infonce-temperature.png")?;
    embedding_figures(cfg, &mut report)?;
    report.save(&barlow_cross_correlation(cfg.run.train.seed)?.figure, out, "barlow-cross-correlation.png")?;
    report.save(&byol_tau_schedule()?, out, "byol-tau-schedule.png")?;
    report.save(&clustering::swav_codes(cfg.run.train.seed)?.figure, out, "swav-codes.png")?;
    report.save(&clustering::multicrop_views(cfg.run.train.seed, 3)?, out, "multicrop-views.png")?;
    vit::part4_figures(cfg, &mut report)?;
    for (names, required) in [(REQUIRED_EXPERIMENTS, true), (OPTIONAL_EXPERIMENTS, false)] {
        for name in names {
            let path = cfg.experiments.join(format!("{name}.json"));
            if !path.exists() {
                let note = format!("{}: not found, so {name}.png and {name}-table.png were not made", path.display());
                if required {
                    report.missing.push(format!("{note} (make it with `selfsup experiment {name}`, or merge the branch that has its results)"));
                } else {
                    report.skipped.push(note);
                }
                continue;
            }
            if *name == crate::experiments::kd::NAME {
                // Its own format: classifiers instead of settings, and the teacher's soft targets.
                let kd = crate::experiments::kd::KdExperiment::load(&path)?;
                report.save(&kd.chart()?, out, &format!("{name}.png"))?;
                report.save(&kd.table()?, out, &format!("{name}-table.png"))?;
                report.save(&kd.soft_targets_chart()?, out, &format!("{name}-soft-targets.png"))?;
                continue;
            }
            let experiment = Experiment::load(&path)?;
            report.save(&experiment.chart()?, out, &format!("{name}.png"))?;
            report.save(&experiment.table()?, out, &format!("{name}-table.png"))?;
            if let Some(ranks) = experiment.rank_chart()? {
                report.save(&ranks, out, &format!("{name}-rank.png"))?;
            }
            // Only JSONs written since the collapse experiments trace their runs have one.
            if let Some(trace) = experiment.trace_chart()? {
                report.save(&trace, out, &format!("{name}-trace.png"))?;
            }
            if let Some(clusters) = experiment.cluster_chart()? {
                report.save(&clusters, out, &format!("{name}-clusters.png"))?;
            }
            // DINO's runs: the teacher's entropy against ln K, and the teacher-student KL.
            if let Some(diagnostics) = experiment.distillation_chart((crate::experiments::dino_outputs(&experiment) as f64).ln())? {
                report.save(&diagnostics, out, &format!("{name}-diagnostics.png"))?;
            }
        }
    }
    Ok(report)
}

/// Images (two views each) over which the Barlow Twins heatmap computes `C`.
pub const CROSS_CORRELATION_IMAGES: usize = 256;

/// Barlow Twins' cross-correlation matrix of a real network, next to the identity it is
/// trained towards.
#[derive(Debug, Clone)]
pub struct CrossCorrelationFigure {
    /// `C` (`dim × dim`, row-major) of the tiny-convnet Barlow Twins at its random
    /// initialisation, on two views of [`CROSS_CORRELATION_IMAGES`] test images.
    pub c: Vec<f32>,
    pub dim: usize,
    /// The loss's two terms for this `C`: `Σ_i (1 − C_ii)²` and `Σ_{i≠j} C_ij²` (before λ).
    pub invariance: f32,
    pub redundancy: f32,
    /// `C` and `I` side by side, on one colour scale from −1 to 1.
    pub figure: Figure,
}

/// `C` of Barlow Twins (the kit's default: tiny convnet, projector to `D = 128`) built from
/// `seed` as `selfsup train --method barlow --seed SEED` builds it, before any training: two
/// views (the method's own augmentations) of the first test images go through encoder and
/// projector in training mode, as in the loss, and [`crate::methods::barlow::cross_correlation`]
/// gives `C`. A second panel shows the target, the identity. About a second on two cores.
///
/// Not a trained `C`: a short run (50 steps, 8 CPU-seconds) raised the diagonal but also the
/// off-diagonal correlations; getting close to `I` takes the full run (over a minute), too
/// long for a command CI runs on every change.
pub fn barlow_cross_correlation(seed: u64) -> Result<CrossCorrelationFigure> {
    use crate::methods::{barlow, stack_views, BarlowTwins, Method};
    use dfdx::nn::BuildModule;
    type Net = BarlowTwins<crate::nn::TinyConvNet<run::Dev>, 128, 512, 128, f32, run::Dev>;
    let dev = run::Dev::seed_from_u64(seed);
    let mut model = Net::build(&dev);
    // The default run's settings on the default dataset (`textures`, its recipe applied).
    model.configure(RunConfig::for_method("barlow")?.settings::<barlow::Config>());
    let test = textures::generate_split(&ProceduralConfig { n_train: 0, n_test: CROSS_CORRELATION_IMAGES, seed, ..ProceduralConfig::default() }, Split::Test);
    let images: Vec<_> = (0..test.len()).map(|i| test.image(i)).collect();
    let views = model.views(test.height).views_batch(&images, seed)?;
    let z = model.branch.forward_train(stack_views(&dev, &views)).as_vec();
    let (n, dim) = (images.len(), z.len() / (2 * images.len()));
    let c = barlow::cross_correlation(&z[..n * dim], &z[n * dim..], n, dim);
    let invariance: f32 = (0..dim).map(|i| (1.0 - c[i * dim + i]).powi(2)).sum();
    let redundancy: f32 = (0..dim * dim).filter(|k| k % (dim + 1) != 0).map(|k| c[k] * c[k]).sum();
    let identity: Vec<f32> = (0..dim * dim).map(|k| if k % (dim + 1) == 0 { 1.0 } else { 0.0 }).collect();
    let side = (560, 540);
    let left = heatmap(
        &c,
        dim,
        dim,
        Some((-1.0, 1.0)),
        &Chart::new(format!("C at random init: Σ(1 − C_ii)² = {invariance:.0}, Σ C_ij² = {redundancy:.0}"))
            .axes(format!("dimension j of z (view B), D = {dim}"), format!("dimension i of z (view A), {n} images"))
            .size(side.0, side.1),
    )?;
    let right = heatmap(
        &identity,
        dim,
        dim,
        Some((-1.0, 1.0)),
        &Chart::new("The target: the identity I").axes(format!("dimension j (D = {dim})"), "dimension i").size(side.0, side.1),
    )?;
    Ok(CrossCorrelationFigure { figure: side_by_side(&[left, right], 24)?, c, dim, invariance, redundancy })
}

/// BYOL's target schedule from [`crate::methods::byol::cosine_tau`], for the kit's `τ_base`
/// (its default) and the paper's 0.996: `1 − τ`, the share of the online weights `θ` that
/// enters the target `ξ` at each step, over training (it falls to 0, so the curves leave the
/// legend's corner free). Each curve's label gives the target's half-life at the start,
/// `ln ½ / ln τ_base` steps.
pub fn byol_tau_schedule() -> Result<Figure> {
    use crate::methods::byol::{cosine_tau, Config};
    let steps = 200;
    let curve = |base: f64, who: &str| {
        let half_life = 0.5f64.ln() / base.ln();
        Series::new(
            format!("τ_base = {base} ({who}): half-life {half_life:.0} steps at the start"),
            (0..=steps).map(|k| k as f64 / steps as f64).map(|p| (p, 1.0 - cosine_tau(base, p))).collect(),
        )
    };
    let series = [curve(Config::default().tau_base, "the kit"), curve(0.996, "the paper")];
    let chart = Chart::new("BYOL's target, ξ ← τ·ξ + (1 − τ)·θ: how much of θ enters ξ per step")
        .axes("fraction of training k / K", "1 − τ")
        .size(900, 480);
    line_chart(&series, &chart)
}

/// The dataset samples (both built-in datasets) and the augmentation grids (on `textures`, the
/// default).
fn dataset_figures(cfg: &FiguresConfig, report: &mut FiguresReport) -> Result<()> {
    let small = ProceduralConfig { n_train: 200, seed: cfg.run.train.seed, ..ProceduralConfig::default() };
    let textures = textures::generate_split(&small, Split::Train);
    for (data, name) in [(&textures, "textures-samples.png"), (&shapes::generate_split(&small, Split::Train), "shapes-samples.png")] {
        // Two rows: the first image of every class, then the second.
        let pairs = first_per_class(&data.labels, NUM_CLASSES, 2);
        let ordered: Vec<_> = (0..2).flat_map(|row| pairs.chunks(2).map(move |pair| pair[row])).map(|i| data.image(i)).collect();
        let samples = ImageGrid::new(&ordered, NUM_CLASSES).scale(3).row_labels(&["1st image", "2nd image"]).col_labels(&data.class_names).draw()?;
        report.save(&samples, &cfg.out, name)?;
    }

    let originals: Vec<_> = first_per_class(&textures.labels, NUM_CLASSES, 1).into_iter().take(4).map(|i| textures.image(i)).collect();
    let size = textures.height;
    let simclr = RunConfig::for_method("simclr")?;
    let grids = [
        ("augmentation-grid.png", "training defaults (crops of 20-100%)", simclr.settings::<crate::methods::simclr::Config>().views.simclr(size)),
        ("augmentation-grid-strong.png", "the ImageNet paper's crops (area >= 8%)", Pipeline::simclr_with(size, 1.0, 0.08)),
    ];
    for (name, what, pipeline) in grids {
        let grid = augmentation_grid(&originals, &pipeline as &dyn Transform, 5, cfg.run.train.seed, &format!("SimCLR views, {what}"))?;
        report.save(&grid, &cfg.out, name)?;
    }
    Ok(())
}

/// Cosine similarities of the toy InfoNCE illustration: the positive key, then the negatives
/// from the hardest down.
fn illustration_similarities() -> Vec<f32> {
    let negatives = (0..15).map(|j| 0.5 - 0.05 * j as f32);
    std::iter::once(0.6).chain(negatives).collect()
}

/// One curve of the InfoNCE illustration.
#[derive(Debug, Clone, PartialEq)]
pub struct TemperatureCurve {
    pub tau: f32,
    /// Softmax over the keys: `probs[0]` for the positive, then the negatives.
    pub probs: Vec<f32>,
    /// The InfoNCE loss `−log probs[0]`, as [`info_nce`] computes it.
    pub loss: f32,
}

/// Softmax over the InfoNCE logits `[q·k⁺, q·k⁻₁, …] / τ` for each τ of
/// [`ILLUSTRATION_TAUS`], computed by the library's loss on unit vectors with the cosine
/// similarities of [`illustration_similarities`].
pub fn infonce_temperature_curves() -> Vec<TemperatureCurve> {
    let sims = illustration_similarities();
    let dim = sims.len() + 1;
    // q = e₀; key j = s_j e₀ + √(1 − s_j²) e_{j+1}: unit vectors with q·k_j = s_j.
    let key = |j: usize, s: f32| {
        let mut k = vec![0.0f32; dim];
        k[0] = s;
        k[j + 1] = (1.0 - s * s).sqrt();
        k
    };
    let dev = Cpu::default();
    let q = dev.tensor_from_vec(key(0, 1.0), (1, dim)); // e₀
    let k_pos = dev.tensor_from_vec(key(0, sims[0]), (1, dim));
    let negatives: Vec<f32> = sims.iter().enumerate().skip(1).flat_map(|(j, &s)| key(j, s)).collect();
    let negatives = dev.tensor_from_vec(negatives, (sims.len() - 1, dim));
    ILLUSTRATION_TAUS
        .iter()
        .map(|&tau| TemperatureCurve {
            tau,
            probs: contrastive_logits(q.clone(), k_pos.clone(), negatives.clone(), tau).softmax::<Axis<1>>().as_vec(),
            loss: info_nce(q.clone(), k_pos.clone(), negatives.clone(), tau).array(),
        })
        .collect()
}

/// The curves of [`infonce_temperature_curves`] on one chart, each labelled with its loss.
pub fn infonce_temperature() -> Result<Figure> {
    let series: Vec<Series> = infonce_temperature_curves()
        .iter()
        .map(|c| Series::from_values(format!("τ = {}: loss {:.2}", c.tau, c.loss), &c.probs.iter().map(|&p| p as f64).collect::<Vec<_>>()))
        .collect();
    let chart = Chart::new("InfoNCE: softmax over keys, q·k⁺ = 0.6, q·k⁻ from 0.5 down to −0.2")
        .axes("key (0 = positive k⁺, then negatives from hardest to easiest)", "probability")
        .size(WIDE.0, WIDE.1);
    line_chart(&series, &chart)
}

/// The short SimCLR run (or the given checkpoint): its retrieval grid (against raw pixels and
/// the same encoder at random initialisation), its t-SNE map and similarity heatmap next to
/// the random-init encoder's, and its loss curve.
fn embedding_figures(cfg: &FiguresConfig, report: &mut FiguresReport) -> Result<()> {
    let (checkpoint, train_cfg, summary) = match &cfg.checkpoint {
        Some(ckpt) => {
            let saved = RunConfig::load(&ckpt.with_file_name("config.json"))?;
            let summary: Option<Summary> = read_json(&ckpt.with_file_name("summary.json")).ok();
            (ckpt.clone(), saved, summary)
        }
        None => {
            if !cfg.quiet {
                println!("training a short SimCLR run for the embedding figures ({} epochs on {} images)", cfg.run.train.epochs, cfg.run.train.train_images);
            }
            let summary = run::train(&cfg.run, &cfg.run_dir, false, cfg.quiet)?;
            (cfg.run_dir.join("checkpoint.safetensors"), cfg.run.clone(), Some(summary))
        }
    };
    if train_cfg.name() != "simclr" {
        return Err(Error::config(format!("{}: a {} checkpoint; the slide figures embed a SimCLR one", checkpoint.display(), train_cfg.name())));
    }
    let data_cfg = TrainConfig { test_images: cfg.run.train.test_images, ..train_cfg.train.clone() };
    let splits = run::load_dataset(&data_cfg)?;
    let (train, test) = (&splits.train, &splits.test);
    let names = test.class_names.clone();
    // The trained features, and those of the same network at its random initialisation
    // (built from the run's seed, as the run's own baseline is).
    let trained = run::embed(&train_cfg, Some(&checkpoint), test)?;
    let random = run::embed(&train_cfg, None, test)?;

    let what = match &summary {
        Some(s) => format!("SimCLR, {} epochs on {} images (kNN {:.1}%)", s.epochs, s.train_images, 100.0 * s.knn_top1),
        None => "SimCLR".to_string(),
    };
    let random_what = match &summary {
        Some(s) => format!("Random init (kNN {:.1}%)", 100.0 * s.baseline_knn_top1),
        None => "Random init".to_string(),
    };
    let short = match &summary {
        Some(s) => format!("SimCLR (kNN {:.1}%)", 100.0 * s.knn_top1),
        None => "SimCLR".to_string(),
    };
    for ((features, dim), (title, stem)) in [&trained, &random].into_iter().zip([(&short, "simclr"), (&random_what, "random-init")]) {
        let chart = Chart::new(format!("{title}, t-SNE")).axes("t-SNE 1 (f(x) of the test images)", "t-SNE 2").size(SQUARE.0, SQUARE.1);
        let map = tsne_map(features, *dim, &test.labels, &names, &TsneConfig { seed: train_cfg.train.seed, ..TsneConfig::default() }, &chart)?;
        report.save(&map.figure, &cfg.out, &format!("{stem}-tsne.png"))?;
        let chart = Chart::new(format!("{title}, cosine")).axes(format!("{SIMILARITY_PER_CLASS} test images per class, features mean-centred"), "").size(SQUARE.0, SQUARE.1);
        let similarity = class_similarity(features, *dim, &test.labels, &names, SIMILARITY_PER_CLASS, &chart)?;
        report.save(&similarity.figure, &cfg.out, &format!("{stem}-similarity.png"))?;
        let clusters = clustering::cluster_map(features, *dim, &test.labels, &names, title, train_cfg.train.seed)?;
        report.save(&clusters.figure, &cfg.out, &format!("{stem}-kmeans.png"))?;
    }
    // Retrieval: the training images as memory, embedded by both networks.
    let trained_train = run::embed(&train_cfg, Some(&checkpoint), train)?;
    let random_train = run::embed(&train_cfg, None, train)?;
    let spaces = [
        FeatureSpace::pixels("raw pixels", train, test),
        FeatureSpace::new("random init", &random_train.0, &random.0, random.1),
        FeatureSpace::new("SimCLR", &trained_train.0, &trained.0, trained.1),
    ];
    let queries: Vec<usize> = first_per_class(&test.labels, test.num_classes(), 1).into_iter().take(RETRIEVAL_QUERIES).collect();
    let retrieval = retrieval_grid(train, test, &spaces, &queries, RETRIEVAL_K)?;
    if !cfg.quiet {
        print!("{retrieval}");
    }
    report.save(&retrieval.figure, &cfg.out, "simclr-retrieval.png")?;
    let metrics = checkpoint.with_file_name("metrics.jsonl");
    if metrics.exists() {
        let losses = read_losses(&metrics)?;
        let chart = Chart::new(format!("{what}: NT-Xent loss")).axes("optimizer step", "loss").size(800, 450);
        report.save(&line_chart(&[Series::from_values("", &losses)], &chart)?, &cfg.out, "simclr-loss.png")?;
    } else {
        report.skipped.push(format!("{}: not found, so simclr-loss.png was not made", metrics.display()));
    }
    report.simclr = summary;
    Ok(())
}

/// Test images per class in the similarity heatmaps.
const SIMILARITY_PER_CLASS: usize = 5;
/// Queries (the first test image of the first classes) and neighbours per query of the
/// retrieval figure.
const RETRIEVAL_QUERIES: usize = 6;
const RETRIEVAL_K: usize = 5;

/// The `loss` of every line of a run's `metrics.jsonl`.
fn read_losses(path: &Path) -> Result<Vec<f64>> {
    #[derive(Deserialize)]
    struct Line {
        loss: f64,
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str::<Line>(l).map(|x| x.loss).map_err(|e| Error::format(path, format!("line {}: {e}", i + 1))))
        .collect()
}

/// An experiment's results: `results/experiments/<name>.json`, one row per setting of the
/// swept parameter, accuracies as fractions in `[0, 1]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Experiment {
    pub experiment: String,
    pub parameter: String,
    pub baseline_knn_top1: f64,
    pub rows: Vec<ExperimentRow>,
    pub verdict: String,
    #[serde(default)]
    pub settings: serde_json::Value,
}

/// One setting of an [`Experiment`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentRow {
    pub value: f64,
    pub label: String,
    pub knn_top1: f64,
    pub linear_top1: f64,
    #[serde(default)]
    pub final_loss: Option<f64>,
    /// Wall time of one run (the mean over seeds when there are several).
    pub wall_seconds: f64,
    /// kNN top-1 of each seed's run, in seed order, when the setting was trained with several
    /// seeds (`selfsup experiment NAME --seeds N`); `knn_top1` is then their mean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub knn_runs: Vec<f64>,
    /// Effective rank of the test features (RankMe; the mean over seeds), where the
    /// experiment is about collapse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_rank: Option<f64>,
    /// Effective rank of the projections `z` (mean over seeds), for methods that expose them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_effective_rank: Option<f64>,
    /// The collapse metrics over training ([`crate::train::trace`]: collapse std and effective
    /// rank of the features, and of the projections where the method has them, at step 0, every
    /// `every` optimizer steps and at the last step), for the experiments about collapse. With
    /// several seeds, the first seed's run: one run's curve, not a mean over runs that may
    /// collapse at different steps. Empty (and absent from the JSON) for the other experiments
    /// and in JSONs saved before runs were traced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collapse_trace: Vec<TracePoint>,
    /// DeepCluster's clusterings, one per epoch (from the run's `epochs.jsonl`; the first seed's
    /// run): how evenly the pseudo-labels spread the images. Empty for the other methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_balance: Vec<ClusterBalance>,
    /// DINO's collapse diagnostics over training (teacher entropy, teacher–student KL; from the
    /// first seed's `metrics.jsonl`, [`crate::methods::dino::read_diagnostics`]). Empty for the
    /// other methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distillation_trace: Vec<DiagnosticsPoint>,
    /// kNN top-1 of this row's own encoder at random initialisation (the mean over its
    /// seeds). The experiment's `baseline_knn_top1` is the mean over every run; rows differ when
    /// the sweep changes the encoder (`dino-backbone`). Absent from JSONs saved before rows
    /// kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_knn_top1: Option<f64>,
}

/// Where a collapse metric is measured: the projections `z = g(f(x))`, where the loss acts, or
/// the encoder's features `h = f(x)`, what the kNN and linear probes evaluate. A projector can
/// collapse while the features below it keep more of their spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Projections,
    Features,
}

impl Space {
    /// Both, in the order the figures show them.
    pub const ALL: [Space; 2] = [Space::Projections, Space::Features];

    /// How the figures name the space.
    pub fn label(self) -> &'static str {
        match self {
            Space::Projections => "projections z (where the loss acts)",
            Space::Features => "features f(x) (what is evaluated)",
        }
    }

    /// The space's short name, for titles.
    pub fn name(self) -> &'static str {
        match self {
            Space::Projections => "projections z",
            Space::Features => "features f(x)",
        }
    }

    /// The collapse std of the space at a traced step and the space's dimension `d`, when it was
    /// measured there (methods without a projection have no `z`).
    pub fn collapse_std(self, p: &TracePoint) -> Option<(f64, usize)> {
        match self {
            Space::Projections => p.projection_collapse_std.zip(p.projection_dim),
            Space::Features => Some((p.collapse_std, p.dim)),
        }
        .map(|(std, d)| (std as f64, d))
    }
}

impl ExperimentRow {
    /// The collapse std of `space` over training, `(step, std)` per traced point, and the
    /// space's dimension `d` (vectors spread evenly over the sphere give about `1/√d`, vectors
    /// collapsed to one point 0). `None` without a trace, or if some point lacks the space.
    pub fn collapse_curve(&self, space: Space) -> Option<(Vec<(f64, f64)>, usize)> {
        let measured: Vec<(f64, usize)> = self.collapse_trace.iter().map(|p| space.collapse_std(p)).collect::<Option<_>>()?;
        let d = measured.first()?.1;
        Some((self.collapse_trace.iter().zip(&measured).map(|(p, (std, _))| (p.step as f64, *std)).collect(), d))
    }

    /// Sample standard deviation of the per-seed kNN top-1, when there are at least two seeds.
    pub fn knn_std(&self) -> Option<f64> {
        let n = self.knn_runs.len();
        (n >= 2).then(|| {
            let mean = self.knn_runs.iter().sum::<f64>() / n as f64;
            (self.knn_runs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        })
    }
}

impl Experiment {
    /// Whether the rows have random-init baselines of their own that differ (a sweep over
    /// encoders): the figures then show each row's baseline instead of one line.
    pub fn per_row_baselines(&self) -> bool {
        let mut baselines = self.rows.iter().filter_map(|r| r.baseline_knn_top1);
        let Some(first) = baselines.next() else { return false };
        baselines.any(|b| (b - first).abs() > 1e-9)
    }

    /// A row's kNN points above its own random-init encoder (the experiment's baseline for
    /// rows saved without one).
    pub fn knn_gain(&self, r: &ExperimentRow) -> f64 {
        r.knn_top1 - r.baseline_knn_top1.unwrap_or(self.baseline_knn_top1)
    }

    /// The encoder of each saved run, in order (from the saved settings; empty when they do
    /// not say).
    pub fn encoders(&self) -> Vec<String> {
        let runs = self.settings.get("runs").and_then(|r| r.as_array()).cloned().unwrap_or_default();
        runs.iter()
            .filter_map(|r| {
                let config = r.get("config")?;
                config.get("train").unwrap_or(config).get("encoder")?.as_str().map(String::from)
            })
            .collect()
    }

    /// The dataset its runs trained on, from the first run's saved settings.
    pub fn dataset(&self) -> Option<&str> {
        let config = self.settings.get("runs")?.get(0)?.get("config")?;
        // Runs saved since methods have their own settings nest the loop's under "train".
        config.get("train").unwrap_or(config).get("dataset")?.as_str()
    }

    /// Reads and checks an experiment file: at least one row, accuracies in `[0, 1]`. Errors
    /// name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let experiment: Experiment = read_json(path)?;
        if experiment.rows.is_empty() {
            return Err(Error::format(path, "the experiment has no rows"));
        }
        let accuracies = std::iter::once(("baseline_knn_top1", experiment.baseline_knn_top1))
            .chain(experiment.rows.iter().flat_map(|r| [("knn_top1", r.knn_top1), ("linear_top1", r.linear_top1)]));
        for (field, v) in accuracies {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::format(path, format!("{field} = {v}: accuracies are fractions in [0, 1]")));
            }
        }
        Ok(experiment)
    }

    /// kNN and linear top-1 (in %) per setting, against the random-init kNN.
    pub fn chart(&self) -> Result<Figure> {
        let labels: Vec<&str> = self.rows.iter().map(|r| r.label.as_str()).collect();
        let percent = |f: fn(&ExperimentRow) -> f64| self.rows.iter().map(|r| 100.0 * f(r)).collect();
        let mut groups = vec![BarGroup::new("kNN top-1", percent(|r| r.knn_top1)), BarGroup::new("linear top-1", percent(|r| r.linear_top1))];
        let chart = Chart::new(format!("{}: top-1 by {}", self.experiment, self.parameter)).axes(self.parameter.as_str(), "test top-1 (%)").size(WIDE.0, WIDE.1);
        if self.per_row_baselines() {
            let base = self.baseline_knn_top1;
            groups.push(BarGroup::new("random-init kNN (same encoder)", self.rows.iter().map(|r| 100.0 * r.baseline_knn_top1.unwrap_or(base)).collect()));
            return bar_chart(&labels, &groups, None, &chart);
        }
        bar_chart(&labels, &groups, Some(("random-init kNN", 100.0 * self.baseline_knn_top1)), &chart)
    }

    /// The rows as a table, the verdict below. Experiments about collapse (rows with an
    /// effective rank) get a column per measured space: the features `f(x)` and the
    /// projections `z`.
    pub fn table(&self) -> Result<Figure> {
        let features = self.rows.iter().any(|r| r.effective_rank.is_some());
        let projections = self.rows.iter().any(|r| r.projection_effective_rank.is_some());
        let own = self.per_row_baselines();
        let mut header = vec![self.parameter.as_str(), "kNN top-1"];
        header.extend(own.then_some("random init kNN"));
        header.push("linear top-1");
        header.extend(features.then_some("eff. rank f(x)"));
        header.extend(projections.then_some("eff. rank z"));
        header.extend(["final loss", "wall time"]);
        let rank = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.1}"));
        let mut rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.label.clone(),
                    match r.knn_std() {
                        Some(sd) => format!("{:.1}% ± {:.1} ({} seeds)", 100.0 * r.knn_top1, 100.0 * sd, r.knn_runs.len()),
                        None => format!("{:.1}%", 100.0 * r.knn_top1),
                    },
                ];
                row.extend(own.then(|| format!("{:.1}%", 100.0 * r.baseline_knn_top1.unwrap_or(self.baseline_knn_top1))));
                row.push(format!("{:.1}%", 100.0 * r.linear_top1));
                row.extend(features.then(|| rank(r.effective_rank)));
                row.extend(projections.then(|| rank(r.projection_effective_rank)));
                row.extend([r.final_loss.map_or("—".into(), |l| format!("{l:.3}")), format!("{:.0} s", r.wall_seconds)]);
                row
            })
            .collect();
        if !own {
            let mut baseline = vec![String::new(); header.len()];
            baseline[0] = "random init".into();
            baseline[1] = format!("{:.1}%", 100.0 * self.baseline_knn_top1);
            rows.push(baseline);
        }
        table(&header, &rows, &self.verdict, &Chart::new(format!("{} (measured)", self.experiment)).size(720, 200))
    }

    /// The effective rank (RankMe: from 1, every point on one line, to the dimension) of the
    /// projections `z` and of the features `f(x)` per setting, for the experiments about
    /// collapse; `None` when no row measured one. A space is drawn when every row has it.
    pub fn rank_chart(&self) -> Result<Option<Figure>> {
        let all = |f: fn(&ExperimentRow) -> Option<f64>| self.rows.iter().map(f).collect::<Option<Vec<f64>>>();
        let groups: Vec<BarGroup> = [
            (Space::Projections.label(), all(|r| r.projection_effective_rank)),
            (Space::Features.label(), all(|r| r.effective_rank)),
        ]
        .into_iter()
        .filter_map(|(label, values)| values.map(|v| BarGroup::new(label, v)))
        .collect();
        if groups.is_empty() {
            return Ok(None);
        }
        let labels: Vec<&str> = self.rows.iter().map(|r| r.label.as_str()).collect();
        let chart = Chart::new(format!("{}: effective rank by {}", self.experiment, self.parameter))
            .axes(self.parameter.as_str(), "effective rank (RankMe)")
            .size(WIDE.0, WIDE.1);
        bar_chart(&labels, &groups, None, &chart).map(Some)
    }

    /// The collapse metric over training: the collapse std (per-dimension std of the
    /// L2-normalised outputs, `≈ 1/√d` when spread over the sphere, 0 when every image gives
    /// the same vector) against optimizer steps, one line per setting with a trace, one panel
    /// per space measured ([`Space`]: projections, then features), each with its `1/√d` as a
    /// dashed line when its settings share `d`. `None` when no row has a trace (the other
    /// experiments, and JSONs saved before runs were traced).
    pub fn trace_chart(&self) -> Result<Option<Figure>> {
        let mut panels = Vec::new();
        for space in Space::ALL {
            let curves: Vec<(&str, Vec<(f64, f64)>, usize)> = self.rows.iter().filter_map(|r| r.collapse_curve(space).map(|(points, d)| (r.label.as_str(), points, d))).collect();
            let Some(&(_, _, d)) = curves.first() else { continue };
            let shared_d = curves.iter().all(|c| c.2 == d);
            let level = format!("1/√d = {:.3} (spread over the sphere)", 1.0 / (d as f64).sqrt());
            let reference = shared_d.then(|| (level.as_str(), 1.0 / (d as f64).sqrt()));
            // From 0 (collapsed) up, with room above the curves for the legend: about 22 px per
            // entry of a plot about 400 px high.
            let top = curves.iter().flat_map(|c| c.1.iter().map(|p| p.1)).chain(reference.map(|r| r.1)).fold(0.0f64, f64::max).max(1e-6);
            let legend = (22.0 * (curves.len() + 1) as f64 + 20.0) / 400.0;
            let top = top / (1.0 - legend).max(0.3);
            let series: Vec<Series> = curves.into_iter().map(|(label, points, _)| Series::new(label, points)).collect();
            let dims = if shared_d { format!("d = {d}") } else { "d differs by setting".to_string() };
            let chart = Chart::new(format!("{}: collapse std of the {}", self.experiment, space.name()))
                .axes("optimizer step", format!("collapse std ({dims})"))
                .size(TRACE_PANEL.0, TRACE_PANEL.1)
                .y_range(-0.02 * top, top);
            panels.push(line_chart_with_reference(&series, reference, &chart)?);
        }
        match panels.len() {
            0 => Ok(None),
            1 => Ok(panels.pop()),
            _ => side_by_side(&panels, 24).map(Some),
        }
    }
}

impl Experiment {
    /// The clusterings over training, for the experiments on DeepCluster (rows with a
    /// [`ExperimentRow::cluster_balance`]): per setting, the share of the images in the largest
    /// cluster and the effective number of clusters `exp(H)` against the epoch, and the sizes of
    /// the last epoch's clusters from largest to smallest (the size profile). `None` when no row
    /// has clusterings.
    pub fn cluster_chart(&self) -> Result<Option<Figure>> {
        let rows: Vec<&ExperimentRow> = self.rows.iter().filter(|r| !r.cluster_balance.is_empty()).collect();
        if rows.is_empty() {
            return Ok(None);
        }
        let over_epochs = |f: fn(&ClusterBalance) -> f64| -> Vec<Series> {
            rows.iter().map(|r| Series::new(r.label.as_str(), r.cluster_balance.iter().map(|b| ((b.epoch + 1) as f64, f(b))).collect())).collect()
        };
        // Room above the curves for the legend (about 22 px per entry of a 400-px plot).
        let headroom = |top: f64| top / (1.0 - (22.0 * (rows.len() + 1) as f64 + 20.0) / 400.0).max(0.3);
        let largest = Chart::new("largest cluster's share of the images").axes("epoch", "share").size(CLUSTER_PANEL.0, CLUSTER_PANEL.1).y_range(0.0, headroom(1.0));
        let k = rows.iter().flat_map(|r| r.cluster_balance.iter().map(|b| b.sorted_sizes.len())).max().unwrap_or(1) as f64;
        let effective = Chart::new("effective number of clusters exp(H)").axes("epoch", "clusters").size(CLUSTER_PANEL.0, CLUSTER_PANEL.1).y_range(0.0, headroom(k));
        let profile: Vec<Series> = rows
            .iter()
            .map(|r| {
                let last = r.cluster_balance.last().expect("non-empty");
                Series::new(r.label.as_str(), last.sorted_sizes.iter().enumerate().map(|(i, &n)| ((i + 1) as f64, n as f64)).collect())
            })
            .collect();
        let top = profile.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(1.0f64, f64::max);
        let sizes = Chart::new("last epoch: cluster sizes, largest first").axes("cluster (by size)", "images").size(CLUSTER_PANEL.0, CLUSTER_PANEL.1).y_range(0.0, headroom(top));
        let panels = [
            line_chart(&over_epochs(|b| b.largest_share), &largest)?,
            line_chart(&over_epochs(|b| b.effective_clusters), &effective)?,
            line_chart(&profile, &sizes)?,
        ];
        side_by_side(&panels, 16).map(Some)
    }
}

impl Experiment {
    /// DINO's two diagnostics over training, one line per setting with a
    /// [`ExperimentRow::distillation_trace`]: the entropy of the teacher's distribution (left,
    /// `ln K` dashed: uniform; 0: one-hot) and the KL between teacher and student (right; 0 in
    /// either collapse). `None` when no row has them. `ln_k` is the natural log of the outputs.
    pub fn distillation_chart(&self, ln_k: f64) -> Result<Option<Figure>> {
        let rows: Vec<&ExperimentRow> = self.rows.iter().filter(|r| !r.distillation_trace.is_empty()).collect();
        if rows.is_empty() {
            return Ok(None);
        }
        let series = |f: fn(&DiagnosticsPoint) -> f32| -> Vec<Series> {
            rows.iter().map(|r| Series::new(r.label.as_str(), r.distillation_trace.iter().map(|p| (p.step as f64, f(p) as f64)).collect())).collect()
        };
        // Room above the curves for the legend (about 22 px per entry of a 400-px plot).
        let headroom = |top: f64| top / (1.0 - (22.0 * (rows.len() + 1) as f64 + 20.0) / 400.0).max(0.3);
        let kl_top = rows.iter().flat_map(|r| r.distillation_trace.iter().map(|p| p.teacher_student_kl as f64)).fold(1e-6f64, f64::max);
        let entropy = Chart::new(format!("{}: entropy of the teacher's output", self.experiment)).axes("optimizer step", "entropy (nats)").size(TRACE_PANEL.0, TRACE_PANEL.1).y_range(0.0, headroom(ln_k));
        let kl = Chart::new(format!("{}: KL(teacher ‖ student)", self.experiment)).axes("optimizer step", "KL (nats)").size(TRACE_PANEL.0, TRACE_PANEL.1).y_range(0.0, headroom(kl_top));
        let level = format!("ln K = {ln_k:.2} (uniform)");
        let panels = [
            line_chart_with_reference(&series(|p| p.teacher_entropy), Some((level.as_str(), ln_k)), &entropy)?,
            line_chart(&series(|p| p.teacher_student_kl), &kl)?,
        ];
        side_by_side(&panels, 24).map(Some)
    }
}

/// One panel of [`Experiment::cluster_chart`]: three side by side.
const CLUSTER_PANEL: (u32, u32) = (560, 440);

/// One panel of [`Experiment::trace_chart`]: two side by side fit a 16:9 slide.
const TRACE_PANEL: (u32, u32) = (620, 520);
