//! `kd-temperature`: knowledge distillation's claim, measured (Hinton, Vinyals and Dean, 2015).
//!
//! A **teacher** (the larger convnet, 32-64-128-256 channels) is trained with labels on every
//! training image. Then **students** (the tiny convnet, 16-32-64-128) are trained on a small
//! labelled subset, the *label budget*, all with the same seed (same initial weights, same
//! order of images, same flips), so that they differ only in their loss:
//!
//! - labels alone (cross-entropy);
//! - labels and the teacher's outputs softened at `T ∈ {1, 2, 4, 8}`, weight `α` on the soft
//!   targets ([`crate::methods::distill::distillation_loss`]).
//!
//! Every classifier is scored by its own test top-1 (the 2 000 test images). The claim holds
//! when a student distilled at some `T > 1` beats the label-only student at every seed. The
//! teacher's softened distribution over the classes for one test image, at each `T`, is the
//! second figure: the "dark knowledge" that `T > 1` makes visible.

use std::path::Path;

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::methods::distill::Distillation;
use crate::nn::encoders::{SmallConvNet, TinyConvNet};
use dfdx::nn::BuildModule;
use crate::nn::ops::Img;
use crate::plot::{bar_chart, table, BarGroup, Chart, Figure};
use crate::supervised::Classifier;
use crate::train::checkpoint::write_json_atomic;
use crate::train::TrainConfig;

/// The temperatures the students are distilled at.
pub const TEMPERATURES: [f32; 4] = [1.0, 2.0, 4.0, 8.0];

/// The budget of the experiment (its defaults fit ≤ 15 minutes on two cores).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KdBudget {
    /// Training images the teacher learns from, with their labels.
    pub teacher_images: usize,
    pub teacher_epochs: usize,
    /// The students' label budget: the first images of the (shuffled) training split.
    pub labelled_images: usize,
    pub student_epochs: usize,
    /// Weight α of the soft targets.
    pub alpha: f32,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    pub seeds: usize,
    pub dataset: String,
}

impl KdBudget {
    /// The default budget, with `base`'s dataset and seed (and its images / epochs when set).
    pub fn from_base(base: &TrainConfig, seeds: usize) -> Self {
        Self {
            teacher_images: if base.train_images == 0 { 10_000 } else { base.train_images },
            teacher_epochs: if base.epochs == 0 { 6 } else { base.epochs },
            labelled_images: 1_000,
            student_epochs: 15,
            // Hinton et al. put most of the weight on the soft targets.
            alpha: 0.9,
            batch_size: 64,
            lr: 2e-3,
            seed: base.seed,
            seeds: seeds.max(1),
            dataset: base.dataset.clone(),
        }
    }
}

/// One classifier of the experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KdRow {
    pub label: String,
    /// The distillation temperature; `None` for the teacher and the label-only student.
    pub temperature: Option<f64>,
    /// Test top-1, the mean over seeds.
    pub accuracy: f64,
    /// Test top-1 of each seed, in seed order.
    pub runs: Vec<f64>,
    /// Wall time of one run (mean over seeds).
    pub wall_seconds: f64,
}

/// `results/experiments/kd-temperature.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KdExperiment {
    pub experiment: String,
    pub budget: KdBudget,
    /// The teacher, the label-only student, then one row per temperature.
    pub rows: Vec<KdRow>,
    /// The teacher's softened distribution over the classes for the first test image, one
    /// row per temperature of [`TEMPERATURES`] (seed `budget.seed`).
    pub soft_targets: Vec<Vec<f64>>,
    pub class_names: Vec<String>,
    pub verdict: String,
}

pub const NAME: &str = "kd-temperature";
const CLAIM: &str = "a student distilled from a larger teacher at T > 1 beats the same student trained on the labels alone";

type Teacher = Classifier<SmallConvNet<crate::run::Dev>, 256, 10, f32, crate::run::Dev>;
type Student = Classifier<TinyConvNet<crate::run::Dev>, 128, 10, f32, crate::run::Dev>;

fn row(label: &str, temperature: Option<f64>, runs: Vec<f64>, seconds: &[f64]) -> KdRow {
    let n = runs.len().max(1) as f64;
    KdRow { label: label.into(), temperature, accuracy: runs.iter().sum::<f64>() / n, runs, wall_seconds: seconds.iter().sum::<f64>() / n }
}

/// Trains the teacher and the students of every seed, writing `out_dir/kd-temperature.json`
/// after each seed and the two charts at the end.
pub fn run(budget: &KdBudget, out_dir: &Path, quiet: bool) -> Result<KdExperiment> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let labels_of = |k: usize| format!("T = {}", TEMPERATURES[k]);
    let mut teacher_runs = Vec::new();
    let mut teacher_secs = Vec::new();
    let mut plain_runs = Vec::new();
    let mut plain_secs = Vec::new();
    let mut kd_runs = vec![Vec::new(); TEMPERATURES.len()];
    let mut kd_secs = vec![Vec::new(); TEMPERATURES.len()];
    let mut soft_targets = Vec::new();
    let mut experiment = None;
    for j in 0..budget.seeds {
        let seed = budget.seed + j as u64;
        let cfg = TrainConfig { dataset: budget.dataset.clone(), seed, train_images: budget.teacher_images, ..TrainConfig::default() };
        let splits = crate::run::load_dataset(&cfg)?;
        if splits.train.num_classes() > 10 {
            return Err(Error::config(format!("{}: kd-temperature's classifiers have 10 outputs, the dataset has {} classes", budget.dataset, splits.train.num_classes())));
        }
        let class_names = splits.train.class_names.clone();
        let labelled = crate::data::dataset::Splits { train: splits.train.truncated(budget.labelled_images), test: splits.test.clone() };

        let clock = std::time::Instant::now();
        let dev = crate::run::Dev::seed_from_u64(seed);
        let mut teacher = Teacher::build(&dev);
        teacher.fit_with(&dev, &splits.train, budget.teacher_epochs, budget.batch_size, budget.lr, seed, None);
        teacher_runs.push(teacher.test_accuracy(&dev, &splits) as f64);
        teacher_secs.push(clock.elapsed().as_secs_f64());
        if !quiet {
            println!("[seed {seed}] teacher (convnet, {} labelled images): test top-1 {:.1}%", splits.train.len(), 100.0 * teacher_runs[j]);
        }
        if j == 0 {
            let x: Img<crate::run::Dev> = dev.tensor_from_vec(splits.test.pixels_of(0).to_vec(), (1, splits.test.channels, splits.test.height, splits.test.width));
            let logits = teacher.logits_eval(x).as_vec();
            soft_targets = TEMPERATURES.iter().map(|&t| softmax(&logits, t as f64)).collect();
        }

        // Every student starts from the same weights (the same device seed) and sees the same
        // images in the same order: only the loss differs.
        let student = |kd: Option<Distillation>| -> (f64, f64) {
            let clock = std::time::Instant::now();
            let dev = crate::run::Dev::seed_from_u64(seed + 1_000);
            let mut s = Student::build(&dev);
            let soft = |x: Img<crate::run::Dev>| teacher.logits_eval(x);
            s.fit_with(&dev, &labelled.train, budget.student_epochs, budget.batch_size, budget.lr, seed, kd.map(|kd| (&soft as &dyn Fn(_) -> _, kd)));
            (s.test_accuracy(&dev, &labelled) as f64, clock.elapsed().as_secs_f64())
        };
        let (acc, secs) = student(None);
        plain_runs.push(acc);
        plain_secs.push(secs);
        if !quiet {
            println!("[seed {seed}] student, labels only ({} labelled images): {:.1}%", labelled.train.len(), 100.0 * acc);
        }
        for (k, &temperature) in TEMPERATURES.iter().enumerate() {
            let (acc, secs) = student(Some(Distillation { temperature, alpha: budget.alpha }));
            kd_runs[k].push(acc);
            kd_secs[k].push(secs);
            if !quiet {
                println!("[seed {seed}] student, distilled at T = {temperature}: {:.1}%", 100.0 * acc);
            }
        }

        let mut rows = vec![row("teacher (convnet, all labels)", None, teacher_runs.clone(), &teacher_secs), row("student, labels only", None, plain_runs.clone(), &plain_secs)];
        rows.extend((0..TEMPERATURES.len()).map(|k| row(&format!("student, KD {}", labels_of(k)), Some(TEMPERATURES[k] as f64), kd_runs[k].clone(), &kd_secs[k])));
        let mut e = KdExperiment { experiment: NAME.into(), budget: budget.clone(), rows, soft_targets: soft_targets.clone(), class_names: class_names.clone(), verdict: String::new() };
        e.verdict = verdict(&e);
        write_json_atomic(&out_dir.join(format!("{NAME}.json")), &e)?;
        experiment = Some(e);
    }
    let e = experiment.expect("at least one seed");
    e.chart()?.save_png(out_dir.join(format!("{NAME}.png")))?;
    e.soft_targets_chart()?.save_png(out_dir.join(format!("{NAME}-soft-targets.png")))?;
    Ok(e)
}

/// `softmax(logits / T)`.
pub fn softmax(logits: &[f32], temperature: f64) -> Vec<f64> {
    let scaled: Vec<f64> = logits.iter().map(|&l| l as f64 / temperature).collect();
    let max = scaled.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = scaled.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    exp.iter().map(|e| e / total).collect()
}

/// Reproduced when some `T > 1` beats the label-only student at every seed (paired by seed:
/// same initial weights and data order), by at least one point on average.
pub fn verdict(e: &KdExperiment) -> String {
    let plain = match e.rows.iter().find(|r| r.label.starts_with("student, labels only")) {
        Some(r) => r,
        None => return "Incomplete: the label-only student is missing.".into(),
    };
    let teacher = e.rows.first().map_or(f64::NAN, |r| r.accuracy);
    let distilled: Vec<&KdRow> = e.rows.iter().filter(|r| r.temperature.is_some()).collect();
    let best = distilled.iter().max_by(|a, b| a.accuracy.total_cmp(&b.accuracy));
    let Some(best) = best else { return "Incomplete: no distilled student.".into() };
    let wins = |r: &KdRow| r.runs.iter().zip(&plain.runs).all(|(k, p)| k > p);
    let hot: Vec<&&KdRow> = distilled.iter().filter(|r| r.temperature.unwrap_or(0.0) > 1.0 && wins(r) && r.accuracy >= plain.accuracy + 0.01).collect();
    let seeds = plain.runs.len();
    let opening = if !hot.is_empty() {
        let ts: Vec<String> = hot.iter().map(|r| format!("{}", r.temperature.unwrap_or(0.0))).collect();
        format!("Reproduces: distilled at T = {} the student beats the label-only student at every one of {seeds} seed(s)", ts.join(", "))
    } else if best.accuracy > plain.accuracy {
        format!("Not shown: the best distilled student ({}) is ahead on average but not at every one of {seeds} seed(s) by a clear margin", best.label)
    } else {
        "Does not reproduce: no distilled student beats the label-only student".to_string()
    };
    format!(
        "{opening}. Teacher {:.1}%, label-only student {:.1}%, best distilled student {:.1}% ({}).",
        100.0 * teacher, 100.0 * plain.accuracy, 100.0 * best.accuracy, best.label
    )
}

impl KdExperiment {
    pub fn load(path: &Path) -> Result<Self> {
        crate::train::checkpoint::read_json(path)
    }

    /// Test top-1 (%) of every classifier.
    pub fn chart(&self) -> Result<Figure> {
        let labels: Vec<&str> = self.rows.iter().map(|r| r.label.as_str()).collect();
        let values = self.rows.iter().map(|r| 100.0 * r.accuracy).collect();
        let chart = Chart::new(format!("{NAME}: test top-1 of teacher and students")).axes("classifier", "test top-1 (%)").size(crate::figures::WIDE.0, crate::figures::WIDE.1);
        bar_chart(&labels, &[BarGroup::new("test top-1", values)], None, &chart)
    }

    /// Every classifier's mean test top-1 and per-seed values as a table, the verdict below.
    pub fn table(&self) -> Result<Figure> {
        let header = ["classifier", "test top-1", "per seed", "wall per run"];
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let runs: Vec<String> = r.runs.iter().map(|x| format!("{:.1}", 100.0 * x)).collect();
                vec![r.label.clone(), format!("{:.1}%", 100.0 * r.accuracy), format!("{} %", runs.join(" / ")), format!("{:.0} s", r.wall_seconds)]
            })
            .collect();
        table(&header, &rows, &self.verdict, &Chart::new(format!("{NAME} (measured)")).size(720, 200))
    }

    /// The teacher's distribution over the classes for one test image at each temperature.
    pub fn soft_targets_chart(&self) -> Result<Figure> {
        let groups: Vec<BarGroup> = self.soft_targets.iter().zip(TEMPERATURES).map(|(p, t)| BarGroup::new(format!("T = {t}"), p.clone())).collect();
        let chart = Chart::new("The teacher's softened outputs for one test image").axes("class", "softmax(t / T)").size(crate::figures::WIDE.0, crate::figures::WIDE.1);
        bar_chart(&self.class_names, &groups, None, &chart)
    }

    /// A section of `docs/experiments.md`.
    pub fn markdown_section(&self, image_dir: &str) -> String {
        let b = &self.budget;
        let total: f64 = self.rows.iter().map(|r| r.wall_seconds * r.runs.len() as f64).sum();
        let mut flags = if b.seeds > 1 { format!(" --seeds {}", b.seeds) } else { String::new() };
        if b.dataset != crate::train::DEFAULT_DATASET {
            flags += &format!(" --dataset {}", b.dataset);
        }
        let mut s = format!("## `{NAME}`\n\nThe lecture's claim: {CLAIM}. Reproduce: `selfsup experiment {NAME}{flags}` ({:.1} min here).\n\n", total / 60.0);
        s += &format!("Measured on `{}`.\n\n", b.dataset);
        s += &format!(
            "The teacher learns from {} labelled images for {} epochs; every student has the same {} labelled images for {} epochs, the same initial weights and data order (per seed); α = {}.\n\n",
            b.teacher_images, b.teacher_epochs, b.labelled_images, b.student_epochs, b.alpha
        );
        s += &format!("![{NAME}]({image_dir}/{NAME}.png)\n\n![{NAME} soft targets]({image_dir}/{NAME}-soft-targets.png)\n\n");
        s += "| classifier | test top-1 | per seed | wall per run |\n|---|---|---|---|\n";
        for r in &self.rows {
            let runs: Vec<String> = r.runs.iter().map(|x| format!("{:.1}%", 100.0 * x)).collect();
            s += &format!("| {} | {:.1}% | {} | {:.0} s |\n", r.label, 100.0 * r.accuracy, runs.join(" / "), r.wall_seconds);
        }
        s += &format!("\nVerdict (computed from the numbers by `experiments::kd::verdict`): {}\n\n", self.verdict);
        s
    }
}
