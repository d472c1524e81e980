//! The figures of part 4 (ViT and DINO): an image as a sequence of patch tokens, the class
//! token's attention in a ViT at random initialisation, DINO's centring and sharpening on one
//! made-up teacher output, and the `dino-backbone` experiment's attention picture.
//!
//! | file | what | from |
//! |---|---|---|
//! | `vit-patches.png` | a test image next to its 64 patches of 4×4 px, laid out as the 8×8 grid they come from, each row 8 consecutive tokens | [`vit_patches`], [`PatchGrid`] |
//! | `vit-attention-random.png` | the class token's attention in each head of the last block of a ViT at random initialisation, on one test image per class | [`vit_attention_random`], [`attention_figure_labelled`] |
//! | `dino-centring-sharpening.png` | one teacher output `t` (`K = 8`) through `softmax(t/τ_s)`, `softmax(t/τ_t)`, `softmax((t − c)/τ_s)` and `softmax((t − c)/τ_t)`, with their entropies and where the batch's peaks fall | [`dino_centring_sharpening`], [`dino::teacher_targets`], [`dino::mean_entropy`] |
//! | `dino-attention.png` | a copy of `results/experiments/dino-backbone-attention.png` (the DINO-trained ViT's class-token attention next to a random-init one's, drawn by `selfsup experiment dino-backbone`) | [`copy_backbone_attention`] |
//!
//! The `dino-collapse` and `dino-backbone` charts and tables come from their JSON through
//! [`super::Experiment`] like every other sweep's.

use std::path::{Path, PathBuf};

use crate::augment::PatchGrid;
use crate::data::procedural::{ProceduralConfig, Split};
use crate::data::textures::{self, NUM_CLASSES};
use crate::error::{Error, Result};
use crate::figures::attention::{attention_figure_labelled, class_attention};
use crate::figures::{FiguresConfig, FiguresReport};
use crate::image::Image;
use crate::methods::dino;
use crate::nn::vit::{Vit, IMAGE, PATCH, PATCHES};
use crate::plot::{bar_chart, first_per_class, side_by_side, stack, BarGroup, Chart, Figure, ImageGrid};
use crate::run;

/// Patches per side of the ViT's grid, `32 / 4 = 8`.
pub const SIDE: usize = IMAGE / PATCH;
/// Up-scaling of the patches figure: 4-pixel patches drawn at 40 pixels, the image at 320.
pub const PATCH_SCALE: usize = 10;
/// Gap between the panels of the part-4 figures, in pixels.
const PANEL_GAP: u32 = 30;

/// Test images (one per class, from the first class on) of the attention figure.
pub const ATTENTION_ROWS: usize = 4;

/// What [`generate`](super::generate) makes for part 4 besides the experiments' charts: the
/// three figures of this module, and the copy of the `dino-backbone` attention picture (a
/// missing one is reported in `report.missing`, naming the file and the command that makes it).
pub(crate) fn part4_figures(cfg: &FiguresConfig, report: &mut FiguresReport) -> Result<()> {
    let seed = cfg.run.train.seed;
    let out = cfg.out.as_path();
    report.save(&vit_patches(seed)?.figure, out, "vit-patches.png")?;
    report.save(&vit_attention_random(seed, ATTENTION_ROWS)?.figure, out, "vit-attention-random.png")?;
    report.save(&dino_centring_sharpening()?.figure, out, "dino-centring-sharpening.png")?;
    if cfg.experiments.join(BACKBONE_ATTENTION).exists() {
        report.written.push(copy_backbone_attention(&cfg.experiments, out)?);
    } else {
        report.missing.push(missing_attention(&cfg.experiments));
    }
    Ok(())
}

/// [`vit_patches`]: the image, its patches and the picture.
#[derive(Debug, Clone)]
pub struct PatchesFigure {
    /// The test image (3 × 32 × 32).
    pub image: Image,
    /// Its 64 patches (3 × 4 × 4 each) in token order: patch `(r, c)` of the grid is token
    /// `1 + 8·r + c` (token 0 is the class token).
    pub patches: Vec<Image>,
    /// The image (left) and [`patches_panel`] of the patches (right).
    pub figure: Figure,
}

/// The ViT's first step on one image: the first test image of `textures` (test split of
/// `seed`) cut by [`PatchGrid::tiles`]`(4)` into its 64 patches, shown next to it as the grid
/// they come from, pulled apart ([`patches_panel`]).
pub fn vit_patches(seed: u64) -> Result<PatchesFigure> {
    let test = textures::generate_split(&ProceduralConfig { n_train: 0, n_test: 20, seed, ..ProceduralConfig::default() }, Split::Test);
    let image = test.image(0).to_rgb();
    let patches = PatchGrid::tiles(PATCH).extract(&image);
    let name = &test.class_names[test.labels[0]];
    let left = ImageGrid::new(std::slice::from_ref(&image), 1)
        .scale(PATCH_SCALE)
        .title(format!("a test image, {IMAGE}×{IMAGE} px"))
        .row_labels(&[name])
        .col_labels(&["image"])
        .draw()?;
    let figure = side_by_side(&[left, patches_panel(&patches)?], PANEL_GAP)?;
    Ok(PatchesFigure { image, patches, figure })
}

/// 64 patches (or any 64 tiles of one size) as the `8 × 8` grid they were cut from, a gap
/// between them, each row labelled with its tokens ("tokens 1–8" …) and each column with its
/// place in the row, at [`PATCH_SCALE`]; the notes under it say what a patch becomes.
/// Public so that a test can draw the same layout with marker tiles and find each patch.
///
/// Errors ([`Error::Config`]) unless there are exactly 64 tiles.
pub fn patches_panel(patches: &[Image]) -> Result<Figure> {
    if patches.len() != PATCHES {
        return Err(Error::config(format!("patches panel: {} tiles for a grid of {SIDE}x{SIDE} = {PATCHES} patches", patches.len())));
    }
    let rows: Vec<String> = (0..SIDE).map(|r| format!("tokens {}–{}", SIDE * r + 1, SIDE * (r + 1))).collect();
    let cols: Vec<String> = (1..=SIDE).map(|c| c.to_string()).collect();
    ImageGrid::new(patches, SIDE)
        .scale(PATCH_SCALE)
        .title(format!("its {PATCHES} patches of {PATCH}×{PATCH} px: tokens 1–{PATCHES}"))
        .row_labels(&rows)
        .col_labels(&cols)
        .notes(&[
            format!("a patch: {PATCH}·{PATCH}·3 = {} values → W_e → one token of 128", 3 * PATCH * PATCH),
            format!("+ [CLS] as token 0, + a position embedding each: {} tokens", PATCHES + 1),
        ])
        .draw()
}

/// [`vit_attention_random`]: the class token's attention values and the picture.
#[derive(Debug, Clone)]
pub struct AttentionFigure {
    /// The images, one per row.
    pub images: Vec<Image>,
    /// Their class names (the row labels).
    pub names: Vec<String>,
    /// [`class_attention`] of the random-init ViT: `(rows, 4, 8, 8)` row-major, the weights the
    /// class token gives each patch in each head of the last block.
    pub attention: Vec<f32>,
    pub figure: Figure,
}

/// The class token's attention over the patches in each head of the last block of a ViT at
/// random initialisation (built from `seed`, as `--encoder vit` builds it), on the first test
/// image of each of the first `rows` classes of `textures` ([`attention_figure_labelled`]: each
/// map scaled to its own maximum). Untrained, the maps are nearly uniform: every patch gets
/// about `1/65` of the attention, and the scaling shows small differences as texture.
///
/// Errors ([`Error::Config`]) unless `1 ≤ rows ≤ 10`.
pub fn vit_attention_random(seed: u64, rows: usize) -> Result<AttentionFigure> {
    use dfdx::nn::BuildModule;
    if !(1..=NUM_CLASSES).contains(&rows) {
        return Err(Error::config(format!("attention figure: rows must be between 1 and {NUM_CLASSES} (one test image per class), not {rows}")));
    }
    let test = textures::generate_split(&ProceduralConfig { n_train: 0, n_test: 200, seed, ..ProceduralConfig::default() }, Split::Test);
    let picks: Vec<usize> = first_per_class(&test.labels, NUM_CLASSES, 1).into_iter().take(rows).collect();
    let images: Vec<Image> = picks.iter().map(|&i| test.image(i)).collect();
    let names: Vec<String> = picks.iter().map(|&i| test.class_names[test.labels[i]].clone()).collect();
    let vit = Vit::<f32, run::Dev>::build(&run::Dev::seed_from_u64(seed));
    let attention = class_attention(&vit, &images)?;
    let figure = attention_figure_labelled(&images, &names, &vit, "[CLS] attention per head, last block, random init")?;
    Ok(AttentionFigure { images, names, attention, figure })
}

/// Outputs `K` and batch size of the centring and sharpening illustration.
pub const CENTRING_K: usize = 8;
pub const CENTRING_BATCH: usize = 16;

/// The made-up teacher outputs of [`dino_centring_sharpening`], `CENTRING_BATCH × CENTRING_K`
/// row-major: output 0 is 0.3 higher for every image (the dimension that would take over), and
/// image `b` has its own output `1 + b mod 7` 0.15 higher, on top of a small pattern
/// `0.02·((b + 1)(k + 2) mod 5 − 2)`. Values of the size of DINO's logits (cosines: the head
/// ends in a weight-normalised layer on an L2-normalised bottleneck).
pub fn centring_batch() -> Vec<f32> {
    let mut t = Vec::with_capacity(CENTRING_BATCH * CENTRING_K);
    for b in 0..CENTRING_BATCH {
        for k in 0..CENTRING_K {
            let pattern = 0.02 * (((b + 1) * (k + 2)) % 5) as f32 - 0.04;
            let dominant = if k == 0 { 0.3 } else { 0.0 };
            let own = if k == 1 + b % (CENTRING_K - 1) { 0.15 } else { 0.0 };
            t.push(pattern + dominant + own);
        }
    }
    t
}

/// One panel of [`dino_centring_sharpening`].
#[derive(Debug, Clone)]
pub struct CentringPanel {
    /// The formula shown, e.g. `softmax((t − c)/τ_t)`.
    pub formula: String,
    pub tau: f32,
    /// Whether the centre is subtracted.
    pub centred: bool,
    /// The distribution of the shown vector `t` (row 0 of the batch), `K` values.
    pub probs: Vec<f32>,
    /// Its entropy, in nats ([`dino::mean_entropy`] of the one row).
    pub entropy: f64,
    /// The mean entropy over the batch's rows.
    pub batch_entropy: f64,
    /// The output most of the batch's rows peak at (their argmax), and how many rows do.
    pub peak: (usize, usize),
}

/// [`dino_centring_sharpening`]: the inputs, each panel's numbers, and the picture.
#[derive(Debug, Clone)]
pub struct CentringFigure {
    /// The batch of teacher outputs ([`centring_batch`]); the shown vector `t` is its row 0.
    pub batch: Vec<f32>,
    /// The centre `c`: [`dino::update_centre`] with `m_c = 0` from zero, i.e. the batch mean
    /// (where `c ← m_c·c + (1 − m_c)·mean` settles on batches like this one).
    pub centre: Vec<f32>,
    /// In order: plain (`τ_s`), sharpened (`τ_t`), centred (`τ_s`), centred and sharpened
    /// (`τ_t`: DINO's teacher).
    pub panels: Vec<CentringPanel>,
    pub figure: Figure,
}

/// DINO's two forces against collapse on one made-up teacher output `t` ([`centring_batch`],
/// row 0; `K = 8`), at DINO's default temperatures (τ_s = 0.1, τ_t = 0.04): four bar panels,
/// `softmax(t/τ_s)`, `softmax(t/τ_t)` (sharpened), `softmax((t − c)/τ_s)` (centred) and
/// `softmax((t − c)/τ_t)` (both: the teacher's target), each computed by
/// [`dino::teacher_targets`] (a zero centre for the uncentred ones), titled with its entropy
/// ([`dino::mean_entropy`]; uniform is `ln 8 = 2.08` nats), the x axis saying how many of the
/// batch's 16 images peak at the same output. Sharpening alone sends every image to output 1
/// (the one high for all: one-hot collapse); centring alone flattens the distribution (towards
/// uniform collapse); together each image gets a peaked target on its own output.
pub fn dino_centring_sharpening() -> Result<CentringFigure> {
    let (k, n) = (CENTRING_K, CENTRING_BATCH);
    let batch = centring_batch();
    let mut centre = vec![0.0f32; k];
    dino::update_centre(&mut centre, &batch, 0.0);
    let defaults = dino::Config::default();
    let (tau_s, tau_t) = (defaults.student_tau as f32, defaults.teacher_tau as f32);
    let zero = vec![0.0f32; k];
    let mut panels = Vec::new();
    for (formula, tau, centred) in [
        ("softmax(t/τ_s)", tau_s, false),
        ("softmax(t/τ_t): sharpened", tau_t, false),
        ("softmax((t − c)/τ_s): centred", tau_s, true),
        ("softmax((t − c)/τ_t): both", tau_t, true),
    ] {
        let all = dino::teacher_targets(&batch, if centred { &centre } else { &zero }, tau);
        let probs = all[..k].to_vec();
        let mut counts = vec![0usize; k];
        for row in all.chunks(k) {
            counts[argmax(row)] += 1;
        }
        let top = argmax_usize(&counts);
        panels.push(CentringPanel {
            formula: formula.to_string(),
            tau,
            centred,
            entropy: dino::mean_entropy(&probs, k),
            batch_entropy: dino::mean_entropy(&all, k),
            probs,
            peak: (top, counts[top]),
        });
    }
    let categories: Vec<String> = (1..=k).map(|j| j.to_string()).collect();
    let charts = panels
        .iter()
        .map(|p| {
            let title = format!("{}: H = {:.2} nats", p.formula, p.entropy);
            let x = format!("output k (batch: {} of {n} images peak at k = {})", p.peak.1, p.peak.0 + 1);
            let values = p.probs.iter().map(|&v| v as f64).collect();
            let chart = Chart::new(title).axes(x, format!("P_k (τ = {})", p.tau)).size(CENTRING_PANEL.0, CENTRING_PANEL.1);
            bar_chart(&categories, &[BarGroup::new("probability", values)], Some(("uniform 1/K", 1.0 / k as f64)), &chart)
        })
        .collect::<Result<Vec<Figure>>>()?;
    let figure = stack(&[side_by_side(&charts[..2], 20)?, side_by_side(&charts[2..], 20)?])?;
    Ok(CentringFigure { batch, centre, panels, figure })
}

/// One panel of [`dino_centring_sharpening`]; the four fill a 16:9 slide two by two.
pub const CENTRING_PANEL: (u32, u32) = (560, 290);

/// Index of the largest value (the first one on ties).
fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (j, &v)| if v > row[best] { j } else { best })
}

fn argmax_usize(row: &[usize]) -> usize {
    row.iter().enumerate().fold(0, |best, (j, &v)| if v > row[best] { j } else { best })
}

/// The `dino-backbone` experiment's attention picture, in the experiments folder.
pub const BACKBONE_ATTENTION: &str = "dino-backbone-attention.png";
/// Its name among the slide figures.
pub const DINO_ATTENTION: &str = "dino-attention.png";

/// The message for a missing [`BACKBONE_ATTENTION`] in `experiments`: the file, what was not
/// made, and the command that makes it.
fn missing_attention(experiments: &Path) -> String {
    format!(
        "{}: not found, so {DINO_ATTENTION} was not made (make it with `selfsup experiment dino-backbone`, or merge the branch that has its results)",
        experiments.join(BACKBONE_ATTENTION).display()
    )
}

/// Copies `experiments/dino-backbone-attention.png` (the DINO-trained ViT's class-token
/// attention next to a random-init one's, drawn by `selfsup experiment dino-backbone`) to
/// `out/dino-attention.png`, after checking that it decodes as an image. Returns the written
/// path.
///
/// Errors: [`Error::Config`] naming the file and the command that makes it when it is missing;
/// [`Error::Format`] when it is not a readable image.
pub fn copy_backbone_attention(experiments: &Path, out: &Path) -> Result<PathBuf> {
    let src = experiments.join(BACKBONE_ATTENTION);
    if !src.exists() {
        return Err(Error::config(missing_attention(experiments)));
    }
    image::open(&src).map_err(|e| Error::format(&src, format!("not a readable image: {e}")))?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let dst = out.join(DINO_ATTENTION);
    std::fs::copy(&src, &dst).map_err(|e| Error::io(&dst, e))?;
    Ok(dst)
}
