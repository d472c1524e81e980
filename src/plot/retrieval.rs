//! Nearest-neighbour retrieval: for a few test images, the training images a representation
//! finds most similar, side by side for several representations.
//!
//! The most direct picture of what a representation learned: if the trained encoder's nearest
//! neighbours of a star are stars (whatever their colour, size or background) while the
//! neighbours in raw pixels share only the colours, the encoder learned the shape. Each
//! representation is a [`FeatureSpace`] (raw pixels, the encoder at random initialisation,
//! the trained encoder, …); neighbours are the training images of largest cosine similarity
//! after mean-centring ([`crate::eval::neighbours`]). Labels are used only to colour the
//! frames and to count.

use std::fmt;

use super::grid::{ImageGrid, MATCH, MISMATCH};
use super::Figure;
use crate::data::dataset::ImageDataset;
use crate::error::{Error, Result};
use crate::eval::{centred_unit_rows, nearest_neighbours, neighbour_match_rate};

/// Tile side, in pixels, the images of a retrieval grid are scaled up to (about): smaller
/// than elsewhere, as a row holds `1 + spaces · k` images.
const RETRIEVAL_TILE: usize = 64;

/// One representation of the same train and test images: row-major `n × dim` features, in the
/// datasets' order.
#[derive(Debug, Clone, Copy)]
pub struct FeatureSpace<'a> {
    pub name: &'a str,
    pub train: &'a [f32],
    pub test: &'a [f32],
    pub dim: usize,
}

impl<'a> FeatureSpace<'a> {
    pub fn new(name: &'a str, train: &'a [f32], test: &'a [f32], dim: usize) -> Self {
        Self { name, train, test, dim }
    }

    /// The raw pixels of the images as features (`C·H·W` values per image).
    pub fn pixels(name: &'a str, train: &'a ImageDataset, test: &'a ImageDataset) -> Self {
        Self { name, train: &train.pixels, test: &test.pixels, dim: train.image_len() }
    }
}

/// How often one representation's neighbours share the query's class.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRate {
    pub name: String,
    /// Over the queries shown in the figure.
    pub shown: f32,
    /// Over every test image (each one a query).
    pub all: f32,
}

/// A retrieval figure and its numbers.
#[derive(Debug, Clone)]
pub struct Retrieval {
    pub figure: Figure,
    /// One per [`FeatureSpace`], in order.
    pub rates: Vec<MatchRate>,
    /// Neighbours per query.
    pub k: usize,
    /// Queries shown, and test images counted in [`MatchRate::all`].
    pub shown: usize,
    pub all: usize,
}

impl fmt::Display for Retrieval {
    /// One line per representation: the share of the top-k training neighbours of the query's
    /// class, over every test image and over the shown queries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "share of the top-{} training neighbours in the query's class (chance ≈ 1 / classes):", self.k)?;
        for r in &self.rates {
            writeln!(f, "  {:<16} {:5.1}% over {} test images ({:.0}% of the {} shown)", r.name, 100.0 * r.all, self.all, 100.0 * r.shown, self.shown)?;
        }
        Ok(())
    }
}

/// The retrieval grid: one row per test image of `queries` (named by its class), the query
/// first, then, for each representation of `spaces`, its `k` nearest training images by
/// cosine similarity, framed green when of the query's class and red otherwise. Each block's
/// heading gives its matching rate on the shown queries; the note under the grid, and
/// [`Retrieval::rates`], the rate over every test image of `test`.
///
/// Errors ([`Error::Config`]): no space or no query, `k` = 0, a query index out of range, a
/// space whose features are not one row of `dim` values per image of `train` / `test`, or
/// datasets whose labels have no class name.
pub fn retrieval_grid(train: &ImageDataset, test: &ImageDataset, spaces: &[FeatureSpace], queries: &[usize], k: usize) -> Result<Retrieval> {
    const WHAT: &str = "retrieval grid";
    if spaces.is_empty() || queries.is_empty() || k == 0 {
        return Err(Error::config(format!("{WHAT}: needs at least one feature space, one query and k >= 1")));
    }
    if let Some(&q) = queries.iter().find(|&&q| q >= test.len()) {
        return Err(Error::config(format!("{WHAT}: query {q} is not an index of the {} test images", test.len())));
    }
    for data in [train, test] {
        if let Some(&l) = data.labels.iter().find(|&&l| l >= data.class_names.len()) {
            return Err(Error::config(format!("{WHAT}: {} has label {l} but {} class names", data.name, data.class_names.len())));
        }
    }
    for s in spaces {
        if s.dim == 0 || s.train.len() != train.len() * s.dim || s.test.len() != test.len() * s.dim {
            return Err(Error::config(format!(
                "{WHAT}: `{}` has {} train and {} test values, expected {} and {} ({} × {} and {} × {0})",
                s.name,
                s.train.len(),
                s.test.len(),
                train.len() * s.dim,
                test.len() * s.dim,
                s.dim,
                train.len(),
                test.len()
            )));
        }
    }
    let k = k.min(train.len());
    let query_labels: Vec<usize> = queries.iter().map(|&q| test.labels[q]).collect();
    let mut rates = Vec::new();
    let mut neighbours_shown = Vec::new();
    for s in spaces {
        let unit = centred_unit_rows(&[s.train, s.test], s.dim)?;
        let (memory, tests) = (&unit[0], &unit[1]);
        let all = nearest_neighbours(tests, memory, s.dim, k)?;
        let shown: Vec<_> = queries.iter().map(|&q| all[q].clone()).collect();
        rates.push(MatchRate {
            name: s.name.to_string(),
            shown: neighbour_match_rate(&shown, &query_labels, &train.labels),
            all: neighbour_match_rate(&all, &test.labels, &train.labels),
        });
        neighbours_shown.push(shown);
    }

    let cols = 1 + spaces.len() * k;
    let mut tiles = Vec::with_capacity(queries.len() * cols);
    let mut frames = Vec::with_capacity(queries.len() * cols);
    for (row, &q) in queries.iter().enumerate() {
        tiles.push(test.image(q));
        frames.push(None);
        for nb in &neighbours_shown {
            for &(_, j) in &nb[row] {
                tiles.push(train.image(j));
                frames.push(Some(if train.labels[j] == test.labels[q] { MATCH } else { MISMATCH }));
            }
        }
    }
    let row_labels: Vec<&str> = query_labels.iter().map(|&l| test.class_names[l].as_str()).collect();
    let col_labels: Vec<String> = std::iter::once("query".to_string()).chain((0..spaces.len()).flat_map(|_| (1..=k).map(|i| format!("#{i}")))).collect();
    let mut groups = vec![("test".to_string(), 1)];
    groups.extend(rates.iter().map(|r| (format!("{}: {:.0}% match", r.name, 100.0 * r.shown), k)));
    let overall: Vec<String> = rates.iter().map(|r| format!("{} {:.1}%", r.name, 100.0 * r.all)).collect();
    let notes = [
        format!("Top-{k} training images by cosine similarity; frame green = same class as the query, red = another class."),
        format!("Matching rate over all {} test images as queries: {}.", test.len(), overall.join(", ")),
    ];
    let figure = ImageGrid::new(&tiles, cols)
        .title(format!("Nearest training neighbours of {} test images", queries.len()))
        .row_labels(&row_labels)
        .col_labels(&col_labels)
        .groups(&groups)
        .frames(frames)
        .notes(&notes)
        .scale(((RETRIEVAL_TILE as f32 / train.height.max(train.width) as f32).round() as usize).max(1))
        .draw()?;
    Ok(Retrieval { figure, rates, k, shown: queries.len(), all: test.len() })
}
