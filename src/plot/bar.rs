//! Grouped bar charts: a few measures (kNN and linear top-1, say) for each of a few named
//! settings (an experiment's rows), optionally against a reference line (the random-init
//! baseline).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{chart_builder, check_finite, class_colour, draw_legend, draw_reference, label_font, render, tick, Chart, Figure};
use crate::error::{Error, Result};

/// One measure across every category: `values[c]` is its bar in category `c`.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub label: String,
    pub values: Vec<f64>,
}

impl BarGroup {
    pub fn new(label: impl Into<String>, values: Vec<f64>) -> Self {
        Self { label: label.into(), values }
    }
}

/// Draws, for each category (x axis, labelled by `categories`), one bar per group side by side
/// (group `g` in [`super::class_colour`]`(g)`), the y axis from 0 (or the smallest negative
/// value) to a little above the largest value. `reference`, if given, is drawn as a dashed
/// horizontal line with its label in the legend.
///
/// Errors ([`Error::Config`]): no categories or no groups, a group without exactly one value
/// per category, a non-finite value, or a too-small chart.
pub fn bar_chart<S: AsRef<str>>(categories: &[S], groups: &[BarGroup], reference: Option<(&str, f64)>, chart: &Chart) -> Result<Figure> {
    const WHAT: &str = "bar chart";
    if categories.is_empty() || groups.is_empty() {
        return Err(Error::config(format!("{WHAT}: needs at least one category and one group")));
    }
    if let Some(g) = groups.iter().find(|g| g.values.len() != categories.len()) {
        return Err(Error::config(format!("{WHAT}: group `{}` has {} values for {} categories", g.label, g.values.len(), categories.len())));
    }
    for g in groups {
        check_finite(WHAT, &format!("group `{}`", g.label), &g.values)?;
    }
    if let Some((name, v)) = reference {
        check_finite(WHAT, &format!("reference `{name}`"), [&v])?;
    }
    let values = || groups.iter().flat_map(|g| g.values.iter().copied()).chain(reference.map(|r| r.1));
    let top = values().fold(0.0f64, f64::max);
    let bottom = values().fold(0.0f64, f64::min);
    let span = (top - bottom).max(1e-9);
    let y_range = bottom..top + 0.35 * span; // headroom for the legend
    let n = categories.len();
    // Category names wider than their category wrap onto more lines, and the area under the
    // axis grows by a line for each extra one (the y-label area and margins take ~100 px).
    let per_category = (chart.width as f64 - 100.0) / n as f64;
    let names: Vec<Vec<String>> = categories.iter().map(|c| wrap_words(c.as_ref(), 0.95 * per_category)).collect();
    let extra_lines = names.iter().map(Vec::len).max().unwrap_or(1) - 1;
    render(WHAT, chart, |root| {
        // Category c spans [c − 0.5, c + 0.5]; its bars share the middle 70%.
        let x_range = -0.5..n as f64 - 0.5;
        let mut builder = chart_builder(root, chart);
        if extra_lines > 0 {
            builder.x_label_area_size(if chart.x_label.is_empty() { 30 } else { 50 } + LINE * extra_lines as u32);
        }
        let mut ctx = builder.build_cartesian_2d(x_range, y_range.clone())?;
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_label_formatter(&|v| tick(*v))
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .label_style(label_font())
            .axis_desc_style(label_font())
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        let width = 0.7 / groups.len() as f64;
        for (g, group) in groups.iter().enumerate() {
            let colour = class_colour(g);
            let left = |c: usize| c as f64 - 0.35 + g as f64 * width;
            ctx.draw_series(group.values.iter().enumerate().map(|(c, &v)| Rectangle::new([(left(c), 0.0), (left(c) + width, v)], colour.filled())))?
                .label(group.label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        }
        if let Some(reference) = reference {
            draw_reference(&mut ctx, reference, -0.5..n as f64 - 0.5)?;
        }
        draw_legend(&mut ctx)?;
        // Category names under the axis, centred on their bars.
        let label = label_font().pos(Pos::new(HPos::Center, VPos::Top));
        for (c, lines) in names.iter().enumerate() {
            let (x, y) = ctx.backend_coord(&(c as f64, y_range.start));
            for (i, line) in lines.iter().enumerate() {
                root.draw(&Text::new(line.as_str(), (x, y + 8 + (LINE as usize * i) as i32), label.clone()))?;
            }
        }
        Ok(())
    })
}

/// Height of one line of category names, in pixels (the label font is 16 px).
const LINE: u32 = 18;

/// `text` split at spaces into lines at most `width` pixels wide in the label font (a single
/// word wider than that keeps a line of its own).
fn wrap_words(text: &str, width: f64) -> Vec<String> {
    super::register_embedded_font(); // measuring needs the font before the first render
    let font = label_font();
    let fits = |s: &str| font.font.box_size(s).map_or(true, |(w, _)| w as f64 <= width);
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if fits(&format!("{line} {word}")) => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_wrap_at_spaces_within_the_width() {
        let name = "2 global + 4 local (8-40%)";
        let lines = wrap_words(name, 120.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(lines.join(" "), name, "nothing lost or reordered");
        let width = |s: &str| label_font().font.box_size(s).unwrap().0 as f64;
        assert!(lines.iter().all(|l| width(l) <= 120.0), "{lines:?}");
        assert_eq!(wrap_words("2 global", 120.0), ["2 global"]);
        // A word wider than the width keeps a line of its own.
        assert_eq!(wrap_words("a verylongwordindeed b", 40.0), ["a", "verylongwordindeed", "b"]);
    }
}
