//! Scatter plots of a 2-D embedding, one colour per class: does the representation group the
//! classes it never saw labels for?

use plotters::prelude::*;

use super::{chart_builder, check_finite, class_colour, draw_legend, label_font, padded_range, render, tick, Chart, Figure};
use crate::error::{Error, Result};

/// Draws `points[i]` in the colour of class `labels[i]` ([`super::class_colour`]), with a
/// legend naming each class present by `class_names[label]`. Typical input: the test
/// features projected by [`crate::eval::pca_2d`] and the test labels.
///
/// Errors ([`Error::Config`]): no points, `labels` not as long as `points`, a label without a
/// name in `class_names`, a non-finite coordinate, or a too-small chart.
pub fn scatter_by_class<S: AsRef<str>>(points: &[[f32; 2]], labels: &[usize], class_names: &[S], chart: &Chart) -> Result<Figure> {
    const WHAT: &str = "scatter plot";
    if points.is_empty() {
        return Err(Error::config(format!("{WHAT}: no points to draw")));
    }
    if labels.len() != points.len() {
        return Err(Error::config(format!("{WHAT}: {} points but {} labels", points.len(), labels.len())));
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= class_names.len()) {
        return Err(Error::config(format!("{WHAT}: label {l} has no name ({} class names given)", class_names.len())));
    }
    let coords: Vec<(f64, f64)> = points.iter().map(|p| (p[0] as f64, p[1] as f64)).collect();
    check_finite(WHAT, "points", coords.iter().flat_map(|(x, y)| [x, y]))?;
    let x_range = padded_range(coords.iter().map(|p| p.0), 0.04);
    let y_range = padded_range(coords.iter().map(|p| p.1), 0.04);
    render(WHAT, chart, |root| {
        let mut ctx = chart_builder(root, chart).build_cartesian_2d(x_range, y_range)?;
        ctx.configure_mesh()
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .label_style(label_font())
            .axis_desc_style(label_font())
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for (class, name) in class_names.iter().enumerate() {
            let colour = class_colour(class);
            let mine = coords.iter().zip(labels).filter(|(_, &l)| l == class).map(|(&p, _)| p);
            let mut mine = mine.peekable();
            if mine.peek().is_none() {
                continue;
            }
            ctx.draw_series(mine.map(|p| Circle::new(p, 3, colour.mix(0.75).filled())))?
                .label(name.as_ref())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
        }
        draw_legend(&mut ctx)
    })
}
