//! The slides' figures, regenerated from the library: `selfsup figures [--out DIR]`.
//!
//! Every picture the decks in `slides/` show is computed here, never drawn by hand or taken
//! from elsewhere:
//!
//! | file | what | from |
//! |---|---|---|
//! | `shapes-samples.png` | two images of each class of the built-in dataset | [`crate::data::shapes`] |
//! | `augmentation-grid.png` | an image and five SimCLR views of it (the training defaults) | [`crate::augment::render_augmentation_grid`] |
//! | `augmentation-grid-strong.png` | the same with the paper's crops (area ≥ 8%) | same |
//! | `infonce-temperature.png` | softmax over `[q·k⁺, q·k⁻…]/τ` for several τ, with the InfoNCE loss | [`crate::methods::contrastive_logits`], [`crate::methods::info_nce`] |
//! | `simclr-pca.png`, `random-init-pca.png` | PCA of the test features `f(x)`, by class | a short SimCLR run (or `--checkpoint`), [`crate::eval::pca_2d`] |
//! | `simclr-similarity.png`, `random-init-similarity.png` | cosine similarities of 5 test images per class | same |
//! | `simclr-loss.png` | the short run's NT-Xent loss per step | its `metrics.jsonl` |
//! | `<experiment>.png`, `<experiment>-table.png` | an experiment's kNN / linear top-1 per setting, and its table | `results/experiments/<experiment>.json` |
//!
//! The MoCo momentum experiment is required (a deck shows it): if its JSON is absent,
//! [`FiguresReport::check`] fails with a message that says so. The other experiments are drawn
//! when their JSON is there.

use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::augment::{render_augmentation_grid, Pipeline};
use crate::data::dataset::ImageDataset;
use crate::data::shapes::{self, ShapesConfig, Split, NUM_CLASSES};
use crate::error::{Error, Result};
use crate::eval::{l2_normalize_rows, pca_2d};
use crate::methods::{contrastive_logits, info_nce};
use crate::plot::{bar_chart, heatmap, line_chart, scatter_by_class, table, BarGroup, Chart, Figure, Series};
use crate::run::{self, Summary};
use crate::train::checkpoint::read_json;
use crate::methods::MethodConfig;
use crate::train::{RunConfig, TrainConfig};

/// Experiments a deck shows: their figures are required.
pub const REQUIRED_EXPERIMENTS: &[&str] = &["moco-momentum"];
/// Experiments drawn when their JSON exists.
pub const OPTIONAL_EXPERIMENTS: &[&str] = &["negatives", "temperature", "augmentations", "mochi"];

/// Temperatures of the InfoNCE illustration.
pub const ILLUSTRATION_TAUS: [f32; 5] = [0.05, 0.1, 0.2, 0.5, 1.0];

/// Slide-sized charts: 16:9 decks are 1280 × 720, figures take most of a slide.
const WIDE: (u32, u32) = (1000, 560);
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
                method: MethodConfig::SimClr(Default::default()),
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
    for (names, required) in [(REQUIRED_EXPERIMENTS, true), (OPTIONAL_EXPERIMENTS, false)] {
        for name in names {
            let path = cfg.experiments.join(format!("{name}.json"));
            if !path.exists() {
                let note = format!("{}: not found, so {name}.png and {name}-table.png were not made", path.display());
                if required {
                    report.missing.push(format!("{note} (run the `{name}` experiment first, or merge the branch that has its results)"));
                } else {
                    report.skipped.push(note);
                }
                continue;
            }
            let experiment = Experiment::load(&path)?;
            report.save(&experiment.chart()?, out, &format!("{name}.png"))?;
            report.save(&experiment.table()?, out, &format!("{name}-table.png"))?;
        }
    }
    Ok(report)
}

/// The dataset samples and the augmentation grids.
fn dataset_figures(cfg: &FiguresConfig, report: &mut FiguresReport) -> Result<()> {
    let data = shapes::generate_split(&ShapesConfig { n_train: 200, seed: cfg.run.train.seed, ..ShapesConfig::default() }, Split::Train);
    // Two rows: the first image of every class, then the second.
    let pairs = first_per_class(&data, 2);
    let ordered: Vec<_> = (0..2).flat_map(|row| pairs.chunks(2).map(move |pair| pair[row])).map(|i| data.image(i)).collect();
    report.save(&Figure::image_grid(&ordered, NUM_CLASSES, 3)?, &cfg.out, "shapes-samples.png")?;

    let originals: Vec<_> = first_per_class(&data, 1).into_iter().take(4).map(|i| data.image(i)).collect();
    let size = data.height;
    let grids = [
        ("augmentation-grid.png", cfg.run.settings::<crate::methods::simclr::Config>().views.simclr(size)),
        ("augmentation-grid-strong.png", Pipeline::simclr(size)),
    ];
    for (name, pipeline) in grids {
        let path = cfg.out.join(name);
        render_augmentation_grid(&originals, &pipeline, 5, cfg.run.train.seed, &path)?;
        report.written.push(path);
    }
    Ok(())
}

/// Indices of the first `k` images of each class, class by class.
fn first_per_class(data: &ImageDataset, k: usize) -> Vec<usize> {
    (0..data.num_classes())
        .flat_map(|class| data.labels.iter().enumerate().filter(move |(_, &l)| l == class).map(|(i, _)| i).take(k))
        .collect()
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

/// The short SimCLR run (or the given checkpoint), its PCA and similarity figures next to
/// the same encoder at random initialisation, and its loss curve.
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
    let test = run::load_dataset(&data_cfg)?.test;
    let names = test.class_names.clone();
    // The trained features, and those of the same network at its random initialisation
    // (built from the run's seed, as the run's own baseline is).
    let trained = run::embed(&train_cfg, Some(&checkpoint), &test)?;
    let random = run::embed(&train_cfg, None, &test)?;

    let what = match &summary {
        Some(s) => format!("SimCLR, {} epochs on {} images (kNN {:.1}%)", s.epochs, s.train_images, 100.0 * s.knn_top1),
        None => "SimCLR".to_string(),
    };
    let random_what = match &summary {
        Some(s) => format!("Random init (kNN {:.1}%)", 100.0 * s.baseline_knn_top1),
        None => "Random init".to_string(),
    };
    // Both heatmaps share one colour range, from the smallest similarity of either to 1.
    let picked = first_per_class(&test, SIMILARITY_PER_CLASS);
    let sims = [&trained, &random].map(|(features, dim)| cosine_similarities(features, *dim, &picked));
    let lowest = sims.iter().flat_map(|s| s.iter().copied()).fold(1.0f32, f32::min).min(0.99);
    let n = picked.len();
    for (((features, dim), sims), (title, stem)) in [&trained, &random].into_iter().zip(&sims).zip([(&what, "simclr"), (&random_what, "random-init")]) {
        let chart = Chart::new(format!("{title}: PCA of f(x), {} test images", test.len())).axes("PC 1", "PC 2").size(SQUARE.0, SQUARE.1);
        report.save(&scatter_by_class(&pca_2d(features, *dim), &test.labels, &names, &chart)?, &cfg.out, &format!("{stem}-pca.png"))?;
        let labels: Vec<usize> = picked.iter().map(|&i| test.labels[i]).collect();
        let (within, between) = mean_similarity_within_between(sims, &labels);
        let axis = format!("{SIMILARITY_PER_CLASS} test images per class, by class; mean cos: same class {within:.2}, other classes {between:.2}");
        let chart = Chart::new(format!("{title}: cosine similarity")).axes(axis, "").size(SQUARE.0, SQUARE.1);
        report.save(&heatmap(sims, n, n, Some((lowest, 1.0)), &chart)?, &cfg.out, &format!("{stem}-similarity.png"))?;
    }
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

/// Cosine similarities `n × n` (row-major) between the rows `picked` of `features`.
fn cosine_similarities(features: &[f32], dim: usize, picked: &[usize]) -> Vec<f32> {
    let mut rows: Vec<f32> = picked.iter().flat_map(|&i| features[i * dim..(i + 1) * dim].iter().copied()).collect();
    l2_normalize_rows(&mut rows, dim);
    let n = picked.len();
    let row = |i: usize| &rows[i * dim..(i + 1) * dim];
    (0..n).flat_map(|i| (0..n).map(move |j| (i, j))).map(|(i, j)| row(i).iter().zip(row(j)).map(|(a, b)| a * b).sum()).collect()
}

/// Mean of the off-diagonal similarities between images of the same class, and between images
/// of different classes, for an `n × n` matrix whose row `i` is an image of class `labels[i]`.
pub fn mean_similarity_within_between(sims: &[f32], labels: &[usize]) -> (f32, f32) {
    let n = labels.len();
    let (mut within, mut between) = ((0.0f64, 0usize), (0.0f64, 0usize));
    for i in 0..n {
        for j in (0..n).filter(|&j| j != i) {
            let bucket = if labels[i] == labels[j] { &mut within } else { &mut between };
            bucket.0 += sims[i * n + j] as f64;
            bucket.1 += 1;
        }
    }
    let mean = |(sum, count): (f64, usize)| if count > 0 { (sum / count as f64) as f32 } else { f32::NAN };
    (mean(within), mean(between))
}

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
}

impl ExperimentRow {
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
        let groups = [BarGroup::new("kNN top-1", percent(|r| r.knn_top1)), BarGroup::new("linear top-1", percent(|r| r.linear_top1))];
        let chart = Chart::new(format!("{}: top-1 by {}", self.experiment, self.parameter)).axes(self.parameter.as_str(), "test top-1 (%)").size(WIDE.0, WIDE.1);
        bar_chart(&labels, &groups, Some(("random-init kNN", 100.0 * self.baseline_knn_top1)), &chart)
    }

    /// The rows as a table, the verdict below.
    pub fn table(&self) -> Result<Figure> {
        let header = [self.parameter.as_str(), "kNN top-1", "linear top-1", "final loss", "wall time"];
        let mut rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    match r.knn_std() {
                        Some(sd) => format!("{:.1}% ± {:.1} ({} seeds)", 100.0 * r.knn_top1, 100.0 * sd, r.knn_runs.len()),
                        None => format!("{:.1}%", 100.0 * r.knn_top1),
                    },
                    format!("{:.1}%", 100.0 * r.linear_top1),
                    r.final_loss.map_or("—".into(), |l| format!("{l:.3}")),
                    format!("{:.0} s", r.wall_seconds),
                ]
            })
            .collect();
        rows.push(vec!["random init".into(), format!("{:.1}%", 100.0 * self.baseline_knn_top1), "".into(), "".into(), "".into()]);
        table(&header, &rows, &self.verdict, &Chart::new(format!("{} (measured)", self.experiment)).size(720, 200))
    }
}
