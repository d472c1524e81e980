//! Tables as pictures: a header row and rows of text in columns, for the numbers a slide
//! quotes (an experiment's results), so the slide shows exactly what was measured.

use plotters::prelude::*;

use super::{label_font, register_embedded_font, render, title_font, Chart, Figure, FONT};
use crate::error::{Error, Result};

/// Height of one table row, in pixels.
const ROW_PX: u32 = 34;

/// Font size of the header and the cells, and the space kept between two columns, in pixels.
const CELL_FONT_PX: u32 = 18;
const COLUMN_GAP_PX: u32 = 24;
/// Left and right margin of the table.
const MARGIN_PX: u32 = 16;

/// Average width of a footer character (16 px DejaVu Sans), for wrapping, and a footer line's height.
const FOOTER_CHAR_PX: u32 = 9;
const FOOTER_LINE_PX: u32 = 22;

/// `text` split into lines of at most `max_chars` characters at spaces (a longer word gets a
/// line of its own). Empty text gives no lines.
fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= max_chars.max(1) => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draws a table: `header` in bold-ish dark type on a grey band, then one line per row, text
/// left-aligned in columns as wide as their widest text; the chart's title above and `footer`
/// (e.g. an experiment's verdict; may be empty) below in smaller type, wrapped to the width.
/// Only `chart.width` is used, as a minimum: the table widens when its columns need more (so
/// that no cell runs into the next), the space left over is shared evenly between the
/// columns, and the height follows from the number of rows.
///
/// Errors ([`Error::Config`]): no header, or a row without exactly one cell per header column.
pub fn table<S: AsRef<str>>(header: &[S], rows: &[Vec<String>], footer: &str, chart: &Chart) -> Result<Figure> {
    const WHAT: &str = "table";
    if header.is_empty() {
        return Err(Error::config(format!("{WHAT}: no columns")));
    }
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != header.len()) {
        return Err(Error::config(format!("{WHAT}: row {i} has {} cells for {} columns", r.len(), header.len())));
    }
    // Each column is as wide as its widest text (header included) plus a gap.
    register_embedded_font();
    let measure = (FONT, CELL_FONT_PX).into_font();
    let text_px = |text: &str| measure.box_size(text).map(|(w, _)| w).unwrap_or(CELL_FONT_PX * text.chars().count() as u32);
    let natural: Vec<u32> = (0..header.len())
        .map(|c| std::iter::once(header[c].as_ref()).chain(rows.iter().map(|r| r[c].as_str())).map(text_px).max().unwrap_or(0) + COLUMN_GAP_PX)
        .collect();
    let needed = natural.iter().sum::<u32>() + 2 * MARGIN_PX;
    let width = chart.width.max(needed);
    let extra = (width - needed) / header.len() as u32;
    let column_x: Vec<i32> = natural.iter().scan(MARGIN_PX + 8, |x, w| Some(std::mem::replace(x, *x + w + extra) as i32)).collect();
    let title_px = if chart.title.is_empty() { 10 } else { 50 };
    let footer_lines = wrap(footer, (width.saturating_sub(32) / FOOTER_CHAR_PX) as usize);
    let footer_px = 10 + FOOTER_LINE_PX * footer_lines.len() as u32;
    let height = title_px + ROW_PX * (rows.len() as u32 + 1) + footer_px;
    let sized = Chart { width, height, ..chart.clone() };
    render(WHAT, &sized, |root| {
        let margin = MARGIN_PX as i32;
        if !chart.title.is_empty() {
            root.draw(&Text::new(chart.title.as_str(), (margin, 14), title_font()))?;
        }
        let top = title_px as i32;
        let width = width as i32;
        root.draw(&Rectangle::new([(margin, top), (width - margin, top + ROW_PX as i32)], RGBColor(225, 228, 235).filled()))?;
        let header_font = (FONT, CELL_FONT_PX).into_font().color(&RGBColor(20, 30, 60));
        let cell_font: TextStyle = (FONT, CELL_FONT_PX).into_font().into();
        let lines = std::iter::once((header.iter().map(|h| h.as_ref()).collect::<Vec<_>>(), &header_font))
            .chain(rows.iter().map(|r| (r.iter().map(String::as_str).collect(), &cell_font)));
        for (i, (cells, font)) in lines.enumerate() {
            let y = top + i as i32 * ROW_PX as i32 + 8;
            for (c, cell) in cells.iter().enumerate() {
                root.draw(&Text::new(*cell, (column_x[c], y), font.clone()))?;
            }
            if i > 0 {
                let line_y = top + (i as i32 + 1) * ROW_PX as i32;
                root.draw(&PathElement::new(vec![(margin, line_y), (width - margin, line_y)], RGBColor(210, 210, 210)))?;
            }
        }
        let footer_top = top + (rows.len() as i32 + 1) * ROW_PX as i32 + 12;
        for (i, line) in footer_lines.iter().enumerate() {
            root.draw(&Text::new(line.as_str(), (margin, footer_top + i as i32 * FOOTER_LINE_PX as i32), label_font()))?;
        }
        Ok(())
    })
}
