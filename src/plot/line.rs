//! Line charts: training curves, sweeps, a quantity against a parameter.

use plotters::prelude::*;

use super::{chart_builder, check_finite, class_colour, draw_legend, draw_reference, label_font, padded_range, render, tick, Chart, Figure};
use crate::error::{Error, Result};

/// One named curve: `(x, y)` points, drawn in order with a marker at each point.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend; the legend is drawn when any series has a label.
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { label: label.into(), points }
    }

    /// A curve of `ys` against `0, 1, 2, …` (e.g. a loss per step).
    pub fn from_values(label: impl Into<String>, ys: &[f64]) -> Self {
        Self::new(label, ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect())
    }
}

/// Draws every series as a line (series `i` in [`super::class_colour`]`(i)`), with point
/// markers when a series has at most 60 points, axes fitted to the data (the y axis as
/// the chart's `y_range` says, if set).
///
/// Errors ([`Error::Config`]): no series, a series without points, a non-finite coordinate,
/// an empty or non-finite y range, or a chart smaller than [`super::MIN_CHART_SIDE`].
pub fn line_chart(series: &[Series], chart: &Chart) -> Result<Figure> {
    line_chart_with_reference(series, None, chart)
}

/// [`line_chart`], with `reference` (`(label, y)`), if given, drawn as a dashed horizontal line
/// across the chart and named in the legend: a level the curves are read against, such as
/// `1/√d`, the collapse std of vectors spread evenly over the sphere. The y axis includes it.
///
/// Errors: as [`line_chart`], and a non-finite reference.
pub fn line_chart_with_reference(series: &[Series], reference: Option<(&str, f64)>, chart: &Chart) -> Result<Figure> {
    const WHAT: &str = "line chart";
    if series.is_empty() {
        return Err(Error::config(format!("{WHAT}: no series to draw")));
    }
    if let Some(s) = series.iter().find(|s| s.points.is_empty()) {
        return Err(Error::config(format!("{WHAT}: series `{}` has no points", s.label)));
    }
    for s in series {
        check_finite(WHAT, &format!("series `{}`", s.label), s.points.iter().flat_map(|(x, y)| [x, y]))?;
    }
    if let Some((name, v)) = reference {
        check_finite(WHAT, &format!("reference `{name}`"), [&v])?;
    }
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_range = padded_range(all().map(|p| p.0), 0.02);
    let y_range = match chart.y_range {
        Some((bottom, top)) if bottom.is_finite() && top.is_finite() && bottom < top => bottom..top,
        Some((bottom, top)) => return Err(Error::config(format!("{WHAT}: y range {bottom}..{top} is not an interval of finite values"))),
        None => padded_range(all().map(|p| p.1).chain(reference.map(|r| r.1)), 0.08),
    };
    render(WHAT, chart, |root| {
        let mut ctx = chart_builder(root, chart).build_cartesian_2d(x_range.clone(), y_range)?;
        ctx.configure_mesh()
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .label_style(label_font())
            .axis_desc_style(label_font())
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        // The reference first, so that a curve lying on it stays visible.
        if let Some(reference) = reference {
            draw_reference(&mut ctx, reference, x_range.clone())?;
        }
        for (i, s) in series.iter().enumerate() {
            let colour = class_colour(i);
            let line = ctx.draw_series(LineSeries::new(s.points.iter().copied(), colour.stroke_width(3)))?;
            if !s.label.is_empty() {
                line.label(s.label.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3)));
            }
            if s.points.len() <= 60 {
                ctx.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
            }
        }
        if reference.is_some() || series.iter().any(|s| !s.label.is_empty()) {
            draw_legend(&mut ctx)?;
        }
        Ok(())
    })
}
