//! Heatmaps: a matrix as coloured cells (e.g. the cosine similarities between embeddings),
//! with a colour bar.

use plotters::prelude::*;

use super::{check_finite, label_font, render, tick, title_font, Chart, DrawResult, Figure};
use crate::error::{Error, Result};

/// Anchor colours of the colour map, evenly spaced over `[0, 1]`: an approximation of
/// matplotlib's *viridis* (dark purple → blue → green → yellow), whose lightness increases
/// monotonically, so that darker always means smaller, also in grayscale.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The colour of `t ∈ [0, 1]` (clamped; NaN counts as 0), linearly interpolated between the
/// anchors of a viridis-like map: dark purple at 0, yellow at 1.
pub fn colormap(t: f32) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f32 + f * (q as f32 - p as f32)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Width in pixels reserved at the right for the colour bar and its labels.
const BAR_AREA: u32 = 100;

/// Draws the `rows × cols` matrix `values` (row-major; row 0 at the top) as cells coloured by
/// [`colormap`]`((v − lo) / (hi − lo))`, with a colour bar. `range` fixes `(lo, hi)` (e.g.
/// `(-1, 1)` for cosine similarities); `None` takes the data's minimum and maximum.
///
/// Errors ([`Error::Config`]): `values.len() != rows · cols`, an empty matrix, a non-finite
/// value, `lo >= hi` for a given range, or a too-small chart.
pub fn heatmap(values: &[f32], rows: usize, cols: usize, range: Option<(f32, f32)>, chart: &Chart) -> Result<Figure> {
    draw_heatmap("heatmap", values, rows, cols, range, None, chart)
}

/// Named blocks of consecutive rows and columns of a square heatmap (e.g. the images of each
/// class): `(name, size)` in order, the sizes adding up to the side.
type Blocks<'a> = &'a [(String, usize)];

/// [`heatmap`], with lines between the `blocks` and their names along both axes when given.
fn draw_heatmap(what: &str, values: &[f32], rows: usize, cols: usize, range: Option<(f32, f32)>, blocks: Option<Blocks>, chart: &Chart) -> Result<Figure> {
    if rows == 0 || cols == 0 {
        return Err(Error::config(format!("{what}: the matrix is empty ({rows}x{cols})")));
    }
    if values.len() != rows * cols {
        return Err(Error::config(format!("{what}: {} values for a {rows}x{cols} matrix (expected {})", values.len(), rows * cols)));
    }
    let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    check_finite(what, "values", &as_f64)?;
    let (lo, hi) = match range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => (lo, hi),
        Some((lo, hi)) => return Err(Error::config(format!("{what}: the range ({lo}, {hi}) must be finite with lo < hi"))),
        None => {
            let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if lo < hi { (lo, hi) } else { (lo - 0.5, hi + 0.5) }
        }
    };
    if let Some(blocks) = blocks {
        if rows != cols || blocks.iter().map(|b| b.1).sum::<usize>() != rows || blocks.iter().any(|b| b.1 == 0) {
            return Err(Error::config(format!("{what}: blocks of sizes {:?} do not tile a {rows}x{cols} matrix", blocks.iter().map(|b| b.1).collect::<Vec<_>>())));
        }
    }
    let shade = move |v: f32| colormap((v - lo) / (hi - lo));
    let name_area = if blocks.is_some() { BLOCK_NAME_AREA } else { 0 };
    render(what, chart, |full| {
        let root = if chart.title.is_empty() { full.clone() } else { full.titled(&chart.title, title_font())? };
        let (width, _) = root.dim_in_pixel();
        let (cells_area, bar_area) = root.split_horizontally(width.saturating_sub(BAR_AREA));
        let mut cells = ChartBuilder::on(&cells_area)
            .margin(10)
            .x_label_area_size(if chart.x_label.is_empty() { 10 } else { 30 } + name_area / 3)
            .y_label_area_size(if chart.y_label.is_empty() { 10 } else { 30 } + name_area)
            .build_cartesian_2d(0..cols, 0..rows)?;
        cells
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .disable_y_axis()
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .axis_desc_style(label_font())
            .draw()?;
        cells.draw_series((0..rows).flat_map(|r| (0..cols).map(move |c| (r, c))).map(|(r, c)| {
            // Row 0 at the top: the y axis grows upwards.
            let top = rows - r;
            Rectangle::new([(c, top), (c + 1, top - 1)], shade(values[r * cols + c]).filled())
        }))?;
        if let Some(blocks) = blocks {
            draw_blocks(full, &mut cells, blocks, rows)?;
        }
        let steps = 100;
        let mut bar = ChartBuilder::on(&bar_area)
            .margin_top(10)
            .margin_bottom(if chart.x_label.is_empty() { 20 } else { 40 } + name_area / 3)
            .margin_left(6)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f32..1f32, lo..hi)?;
        bar.configure_mesh().disable_mesh().disable_x_axis().y_labels(5).y_label_formatter(&|v| tick(*v as f64)).label_style(label_font()).draw()?;
        let step = (hi - lo) / steps as f32;
        bar.draw_series((0..steps).map(|k| {
            let v = lo + k as f32 * step;
            Rectangle::new([(0.0, v), (1.0, v + step)], shade(v + 0.5 * step).filled())
        }))?;
        Ok(())
    })
}

/// Room, in pixels, for the block names left of a blocked heatmap (a third of it below).
const BLOCK_NAME_AREA: u32 = 90;

/// White lines between the blocks of a square heatmap of side `n`, and each block's name left
/// of its rows and below its columns (shortened with "…" to the block's width there).
fn draw_blocks<'a, DB: DrawingBackend + 'a>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    cells: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordusize, plotters::coord::types::RangedCoordusize>>,
    blocks: Blocks,
    n: usize,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let line = WHITE.stroke_width(2);
    let mut start = 0;
    for (i, (name, size)) in blocks.iter().enumerate() {
        if i > 0 {
            cells.draw_series([PathElement::new(vec![(start, 0), (start, n)], line), PathElement::new(vec![(0, n - start), (n, n - start)], line)])?;
        }
        let (left, top) = cells.backend_coord(&(start, n - start));
        let (right, bottom) = cells.backend_coord(&(start + size, n - start - size));
        let style = label_font().pos(Pos::new(HPos::Right, VPos::Center));
        root.draw_text(name, &style, (left.min(cells.backend_coord(&(0, 0)).0) - 6, (top + bottom) / 2))?;
        let below = label_font().pos(Pos::new(HPos::Center, VPos::Top));
        let short = super::grid::fit(name, (right - left).max(0) as u32, &below);
        root.draw_text(&short, &below, ((left + right) / 2, cells.backend_coord(&(0, 0)).1 + 4))?;
        start += size;
    }
    Ok(())
}

/// Colour scale of [`class_similarity`]: centred features of two different images rarely have
/// a cosine beyond ±0.5, so this range shows their differences; larger values (the diagonal,
/// 1) take the top colour.
pub const SIMILARITY_SCALE: (f32, f32) = (-0.5, 0.5);

/// A class-sorted similarity heatmap and its two summary numbers.
#[derive(Debug, Clone)]
pub struct ClassSimilarity {
    pub figure: Figure,
    /// Mean cosine similarity between two different images of the same class, and between
    /// images of different classes, over all the images given (not only the shown ones).
    pub within: f32,
    pub between: f32,
}

/// Cosine similarities between `per_class` images of every class (the first ones of each, in
/// class order; all of a class that has fewer), after mean-centring the features over all `n`
/// rows and L2-normalising them ([`crate::eval::centred_unit_rows`]), on the fixed scale
/// [`SIMILARITY_SCALE`] so that two heatmaps can be compared. Lines separate the classes,
/// named along both axes. Without centring, post-ReLU features are all positive and every
/// similarity is near 1; centred, a representation that groups a class shows bright squares on
/// the diagonal. The title gets the within-class and between-class means over all `n` images.
///
/// Errors ([`Error::Config`]): a shape mismatch, a label without a name, `per_class` = 0, or a
/// non-finite feature.
pub fn class_similarity<S: AsRef<str>>(features: &[f32], dim: usize, labels: &[usize], class_names: &[S], per_class: usize, chart: &Chart) -> Result<ClassSimilarity> {
    const WHAT: &str = "class similarity heatmap";
    if dim == 0 || features.len() != labels.len() * dim {
        return Err(Error::config(format!("{WHAT}: {} feature values for {} labels of dimension {dim}", features.len(), labels.len())));
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= class_names.len()) {
        return Err(Error::config(format!("{WHAT}: label {l} has no name ({} class names given)", class_names.len())));
    }
    if per_class == 0 {
        return Err(Error::config(format!("{WHAT}: per_class must be at least 1")));
    }
    let picked = super::first_per_class(labels, class_names.len(), per_class);
    // One block per class present, of up to `per_class` images.
    let blocks: Vec<(String, usize)> = class_names
        .iter()
        .enumerate()
        .map(|(class, name)| (name.as_ref().to_string(), picked.iter().filter(|&&i| labels[i] == class).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let unit = crate::eval::centred_unit_rows(&[features], dim)?.remove(0);
    let row = |i: usize| &unit[i * dim..(i + 1) * dim];
    let n = picked.len();
    let sims: Vec<f32> = picked.iter().flat_map(|&i| picked.iter().map(move |&j| (i, j))).map(|(i, j)| row(i).iter().zip(row(j)).map(|(a, b)| a * b).sum()).collect();
    // The means over every pair of the n images, not only the shown ones.
    let all = labels.len();
    let all_sims: Vec<f32> = (0..all).flat_map(|i| (0..all).map(move |j| (i, j))).map(|(i, j)| crate::eval::dot(row(i), row(j))).collect();
    let (within, between) = mean_similarity_within_between(&all_sims, labels);
    let chart = Chart { title: format!("{}: same class {within:.2}, other {between:.2}", chart.title), ..chart.clone() };
    let figure = draw_heatmap(WHAT, &sims, n, n, Some(SIMILARITY_SCALE), Some(&blocks), &chart)?;
    Ok(ClassSimilarity { figure, within, between })
}

/// Mean of the off-diagonal similarities between images of the same class, and between images
/// of different classes, for an `n × n` matrix whose row `i` is an image of class `labels[i]`
/// (NaN for a kind of pair that does not occur).
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
