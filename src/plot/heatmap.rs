//! Heatmaps: a matrix as coloured cells (e.g. the cosine similarities between embeddings),
//! with a colour bar.

use plotters::prelude::*;

use super::{check_finite, label_font, render, tick, title_font, Chart, Figure};
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
    const WHAT: &str = "heatmap";
    if rows == 0 || cols == 0 {
        return Err(Error::config(format!("{WHAT}: the matrix is empty ({rows}x{cols})")));
    }
    if values.len() != rows * cols {
        return Err(Error::config(format!("{WHAT}: {} values for a {rows}x{cols} matrix (expected {})", values.len(), rows * cols)));
    }
    let as_f64: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    check_finite(WHAT, "values", &as_f64)?;
    let (lo, hi) = match range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo < hi => (lo, hi),
        Some((lo, hi)) => return Err(Error::config(format!("{WHAT}: the range ({lo}, {hi}) must be finite with lo < hi"))),
        None => {
            let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if lo < hi { (lo, hi) } else { (lo - 0.5, hi + 0.5) }
        }
    };
    let shade = move |v: f32| colormap((v - lo) / (hi - lo));
    render(WHAT, chart, |root| {
        let root = if chart.title.is_empty() { root.clone() } else { root.titled(&chart.title, title_font())? };
        let (width, _) = root.dim_in_pixel();
        let (cells_area, bar_area) = root.split_horizontally(width.saturating_sub(BAR_AREA));
        let mut cells = ChartBuilder::on(&cells_area)
            .margin(10)
            .x_label_area_size(if chart.x_label.is_empty() { 10 } else { 30 })
            .y_label_area_size(if chart.y_label.is_empty() { 10 } else { 30 })
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
        let steps = 100;
        let mut bar = ChartBuilder::on(&bar_area)
            .margin_top(10)
            .margin_bottom(if chart.x_label.is_empty() { 20 } else { 40 })
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
