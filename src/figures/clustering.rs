//! The figures of part 3 (clustering): SwAV's codes with and without equipartition, multi-crop
//! views, and k-means on learned features.

use crate::augment::{MultiCrop, ViewGenerator};
use crate::data::procedural::{ProceduralConfig, Split};
use crate::data::textures::{self, NUM_CLASSES};
use crate::error::Result;
use crate::eval::kmeans::{kmeans, KMeansConfig};
use crate::eval::{l2_normalize_rows, nmi, pca_2d};
use crate::image::Image;
use crate::methods::swav::{sinkhorn, SinkhornConfig};
use crate::plot::{first_per_class, heatmap, scatter_by_class, side_by_side, Chart, Figure, ImageGrid};
use rand::{Rng, SeedableRng};

/// Images (rows) and prototypes (columns) of the codes illustration.
pub const CODES_IMAGES: usize = 16;
pub const CODES_PROTOTYPES: usize = 4;

/// The three matrices of [`swav_codes`], each `CODES_IMAGES × CODES_PROTOTYPES`, row-major.
#[derive(Debug, Clone)]
pub struct CodesFigure {
    /// Cosine scores `z·c` of a network that has not learned yet: prototype 0 scores highest
    /// for most images.
    pub scores: Vec<f32>,
    /// `softmax(scores / ε)` per image: no constraint across the batch.
    pub softmax: Vec<f32>,
    /// SwAV's codes, [`sinkhorn`] with ε = 0.05 and 3 iterations.
    pub codes: Vec<f32>,
    pub figure: Figure,
}

/// Each prototype's share of the batch: the column sums of a row-major `rows × cols` matrix.
pub fn column_totals(m: &[f32], cols: usize) -> Vec<f32> {
    (0..cols).map(|k| m.iter().skip(k).step_by(cols).sum()).collect()
}

/// SwAV's codes against the plain softmax on one batch of scores, the situation at the start
/// of training: the scores are close for every image, and prototype 0 is slightly ahead for
/// most of them. The softmax (at the same ε) hands nearly the whole batch to prototype 0 — the
/// start of collapse, each image's target is the same prototype. Sinkhorn-Knopp, with the
/// same ε, gives each prototype about `B / K` of the batch and so assigns images to different
/// prototypes by their *relative* scores. Scores drawn from `seed`; the column totals are in
/// the titles.
pub fn swav_codes(seed: u64) -> Result<CodesFigure> {
    let (b, k) = (CODES_IMAGES, CODES_PROTOTYPES);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Prototype 0 gets a bonus of 0.15 in cosine; every score varies by ±0.1 around 0.2.
    let scores: Vec<f32> = (0..b * k).map(|i| 0.2 + rng.gen_range(-0.1..0.1) + if i % k == 0 { 0.15 } else { 0.0 }).collect();
    let cfg = SinkhornConfig::default();
    let softmax: Vec<f32> = scores
        .chunks(k)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = row.iter().map(|s| ((s - m) / cfg.epsilon).exp()).collect();
            let total: f32 = e.iter().sum();
            e.into_iter().map(move |v| v / total)
        })
        .collect();
    let codes = sinkhorn(&scores, b, k, &cfg)?;
    let totals = |m: &[f32]| column_totals(m, k).iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(", ");
    let size = (380, 560);
    let panel = |values: &[f32], range: (f32, f32), title: String| {
        heatmap(values, b, k, Some(range), &Chart::new(title).axes("prototype k", format!("image b ({b} in the batch)")).size(size.0, size.1))
    };
    let figure = side_by_side(
        &[
            panel(&scores, (0.0, 0.5), "scores z·c (init: prototype 0 ahead)".to_string())?,
            panel(&softmax, (0.0, 1.0), format!("softmax(s/ε): totals {}", totals(&softmax)))?,
            panel(&codes, (0.0, 1.0), format!("Sinkhorn codes: totals {}", totals(&codes)))?,
        ],
        20,
    )?;
    Ok(CodesFigure { scores, softmax, codes, figure })
}

/// Nearest-neighbour upscaling by an integer factor (for showing small crops at the size of
/// the large ones; no interpolation, so the pixels stay as the network sees them).
pub fn upscale_nearest(img: &Image, factor: usize) -> Image {
    let (c, h, w) = (img.channels, img.height, img.width);
    let mut out = Image::zeros(c, h * factor, w * factor);
    for ch in 0..c {
        for y in 0..h * factor {
            for x in 0..w * factor {
                out.set(ch, y, x, img.get(ch, y / factor, x / factor));
            }
        }
    }
    out
}

/// Multi-crop as SwAV (and later DINO) trains on it: for `rows` test images, the image, its 2
/// global crops (32 px, 40–100% of the area) and 6 local crops (16 px, 8–40%), each with the
/// colour distortion. Local crops are drawn at twice their size, pixel for pixel.
pub fn multicrop_views(seed: u64, rows: usize) -> Result<Figure> {
    let test = textures::generate_split(&ProceduralConfig { n_train: 0, n_test: 200, seed, ..ProceduralConfig::default() }, Split::Test);
    let config = MultiCrop::for_image_size(test.height, 6);
    let generator = ViewGenerator::multi_crop(&config);
    let picks: Vec<usize> = first_per_class(&test.labels, NUM_CLASSES, 1).into_iter().take(rows).collect();
    let mut tiles = Vec::new();
    for &i in &picks {
        let image = test.image(i);
        let views = generator.views_for(&image, seed, i);
        tiles.push(image);
        for (v, view) in views.into_iter().enumerate() {
            let factor = test.height / view.height;
            tiles.push(if v < config.n_global || factor <= 1 { view } else { upscale_nearest(&view, factor) });
        }
    }
    let mut cols = vec!["image".to_string()];
    cols.extend((1..=config.n_global).map(|g| format!("global {g}")));
    cols.extend((1..=config.n_local).map(|l| format!("local {l}")));
    let names: Vec<&str> = picks.iter().map(|&i| test.class_names[test.labels[i]].as_str()).collect();
    ImageGrid::new(&tiles, 1 + config.num_views())
        .scale(3)
        .title(format!(
            "Multi-crop: {} global crops of {} px and {} local crops of {} px (shown ×2)",
            config.n_global, config.global_size, config.n_local, config.local_size
        ))
        .row_labels(&names)
        .col_labels(&cols)
        .draw()
}

/// k-means on a representation, shown twice on the same 2-D PCA map of the features: coloured
/// by true class and by k-means cluster.
#[derive(Debug, Clone)]
pub struct ClusterMap {
    pub figure: Figure,
    /// NMI between the clusters and the classes (0: unrelated, 1: the same partition).
    pub nmi: f64,
    pub assignments: Vec<usize>,
}

/// k-means with `k` = the number of classes on the L2-normalised `n × dim` features (as
/// DeepCluster clusters), seeded with `seed`; both panels show the features' first two
/// principal components. `what` names the representation in the titles.
pub fn cluster_map<S: AsRef<str>>(features: &[f32], dim: usize, labels: &[usize], class_names: &[S], what: &str, seed: u64) -> Result<ClusterMap> {
    let mut x = features.to_vec();
    l2_normalize_rows(&mut x, dim);
    let k = class_names.len();
    let clusters = kmeans(&x, dim, &KMeansConfig::new(k).with_seed(seed))?;
    let score = nmi(&clusters.assignments, labels)?;
    let points = pca_2d(&x, dim);
    let size = (600, 560);
    let by_class = scatter_by_class(&points, labels, class_names, &Chart::new(format!("{what}: true classes")).axes("PC 1", "PC 2").size(size.0, size.1))?;
    let cluster_names: Vec<String> = (0..k).map(|j| format!("cluster {j}")).collect();
    let by_cluster = scatter_by_class(
        &points,
        &clusters.assignments,
        &cluster_names,
        &Chart::new(format!("k-means, k = {k}: NMI with the classes {score:.2}")).axes("PC 1", "PC 2").size(size.0, size.1),
    )?;
    Ok(ClusterMap { figure: side_by_side(&[by_class, by_cluster], 20)?, nmi: score, assignments: clusters.assignments })
}
