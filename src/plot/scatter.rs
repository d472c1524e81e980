//! Scatter plots of a 2-D embedding, one colour per class: does the representation group the
//! classes it never saw labels for?

use plotters::prelude::*;

use super::{chart_builder, check_finite, class_colour, draw_legend, label_font, padded_range, render, tick, Chart, Figure};
use crate::error::{Error, Result};
use crate::eval::tsne::{knn_accuracy_2d, tsne_2d, TsneConfig, MAP_KNN_K};

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

/// A 2-D map of a representation and how well it separates the classes.
#[derive(Debug, Clone)]
pub struct EmbeddingMap {
    pub figure: Figure,
    /// The map's points, one per feature row.
    pub points: Vec<[f32; 2]>,
    /// Leave-one-out 10-NN accuracy on the map ([`knn_accuracy_2d`]): 1 when every point sits
    /// among its own class, about `1 / classes` when the classes are mixed.
    pub separation: f32,
}

/// The t-SNE map ([`tsne_2d`]) of the `n × dim` features, coloured by class, with its
/// separation number ([`knn_accuracy_2d`], `k` = [`MAP_KNN_K`]) written in the title after
/// `chart.title`: where neighbours in feature space stay neighbours, classes the encoder tells apart
/// form islands. Deterministic for `cfg.seed`.
///
/// Errors as [`tsne_2d`] and [`scatter_by_class`].
pub fn tsne_map<S: AsRef<str>>(features: &[f32], dim: usize, labels: &[usize], class_names: &[S], cfg: &TsneConfig, chart: &Chart) -> Result<EmbeddingMap> {
    if dim == 0 || features.len() != labels.len() * dim {
        return Err(Error::config(format!("t-SNE map: {} feature values for {} labels of dimension {dim}", features.len(), labels.len())));
    }
    let points = tsne_2d(features, dim, cfg)?;
    let separation = knn_accuracy_2d(&points, labels, MAP_KNN_K)?;
    let chart = Chart { title: format!("{}: 2-D kNN {:.1}%", chart.title, 100.0 * separation), ..chart.clone() };
    let figure = scatter_by_class(&points, labels, class_names, &chart)?;
    Ok(EmbeddingMap { figure, points, separation })
}
