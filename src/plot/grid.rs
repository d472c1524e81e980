//! Labelled image grids: every row and every column says what it holds.
//!
//! An [`ImageGrid`] lays images out in rows and columns, scaled up by nearest-neighbour, with
//! a name for every row (left) and every column (top), optionally column groups with a
//! heading each (e.g. "raw pixels", "trained encoder"), a coloured frame per image (e.g. green
//! or red for "same class as the query or not"), a title and note lines under the grid. Text
//! is drawn with the charts' embedded font, so a grid looks the same everywhere.
//!
//! The grids of the course built on it: [`augmentation_grid`] (an image and its views, one row
//! per image) and the retrieval grid of [`super::retrieval`].

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{label_font, register_embedded_font, title_font, DrawResult, Figure, FONT};
use crate::augment::{augmentation_tiles, tile_scale, Transform};
use crate::error::{Error, Result};
use crate::image::Image;

/// Outer margin, in pixels.
const PAD: u32 = 10;
/// Space between two tiles; a frame takes [`FRAME`] pixels of it on each side.
const GAP: u32 = 8;
/// Width of a tile's frame.
const FRAME: u32 = 3;
/// Extra space between two column groups.
const GROUP_GAP: u32 = 18;
/// Height of the title line, of a group heading line, of the column-label line and of a note.
const TITLE_H: u32 = 34;
const GROUP_H: u32 = 26;
const COL_H: u32 = 24;
const NOTE_H: u32 = 22;
/// Space between the row labels and the first column.
const ROW_LABEL_GAP: u32 = 10;

/// Green frame: a neighbour of the query's class. Red frame: another class.
pub const MATCH: RGBColor = RGBColor(44, 160, 44);
pub const MISMATCH: RGBColor = RGBColor(214, 39, 40);

/// A grid of images with named rows and columns; build it with [`ImageGrid::new`] and the
/// setters, then [`ImageGrid::draw`] it.
#[derive(Debug, Clone)]
pub struct ImageGrid<'a> {
    tiles: &'a [Image],
    cols: usize,
    title: String,
    row_labels: Vec<String>,
    col_labels: Vec<String>,
    groups: Vec<(String, usize)>,
    frames: Vec<Option<RGBColor>>,
    notes: Vec<String>,
    scale: Option<usize>,
}

impl<'a> ImageGrid<'a> {
    /// `tiles` row by row, `cols` per row (the last row may be shorter).
    pub fn new(tiles: &'a [Image], cols: usize) -> Self {
        Self { tiles, cols, title: String::new(), row_labels: Vec::new(), col_labels: Vec::new(), groups: Vec::new(), frames: Vec::new(), notes: Vec::new(), scale: None }
    }

    /// A title above the grid.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// One name per row, written left of it.
    pub fn row_labels<S: ToString>(mut self, labels: &[S]) -> Self {
        self.row_labels = labels.iter().map(|s| s.to_string()).collect();
        self
    }

    /// One name per column, written above it (shortened with "…" if wider than a tile).
    pub fn col_labels<S: ToString>(mut self, labels: &[S]) -> Self {
        self.col_labels = labels.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Consecutive groups of columns, `(heading, number of columns)`, left to right; they must
    /// cover every column. Groups are set apart by a wider gap.
    pub fn groups<S: ToString>(mut self, groups: &[(S, usize)]) -> Self {
        self.groups = groups.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        self
    }

    /// A frame colour per tile (`None`: no frame), in tile order.
    pub fn frames(mut self, frames: Vec<Option<RGBColor>>) -> Self {
        self.frames = frames;
        self
    }

    /// Lines of text under the grid (a legend, the numbers the picture shows).
    pub fn notes<S: ToString>(mut self, notes: &[S]) -> Self {
        self.notes = notes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Integer up-scaling of the tiles; by default about 96 pixels per tile ([`tile_scale`]).
    pub fn scale(mut self, scale: usize) -> Self {
        self.scale = Some(scale);
        self
    }

    fn rows(&self) -> usize {
        self.tiles.len().div_ceil(self.cols.max(1))
    }

    /// Errors unless the grid can be drawn with a name on every row and column.
    fn check(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::config(format!("image grid: {msg}")));
        if self.tiles.is_empty() || self.cols == 0 || self.scale == Some(0) {
            return fail(format!("needs at least one image, cols >= 1 and scale >= 1 (got {} images, cols {}, scale {:?})", self.tiles.len(), self.cols, self.scale));
        }
        if let Some(i) = self.tiles.iter().position(|im| im.channels != 1 && im.channels != 3) {
            return fail(format!("image {i} has {} channels; only 1 (gray) or 3 (RGB) can be drawn", self.tiles[i].channels));
        }
        let cols = self.cols.min(self.tiles.len());
        if self.row_labels.len() != self.rows() {
            return fail(format!("{} row labels for {} rows: every row needs a name", self.row_labels.len(), self.rows()));
        }
        if self.col_labels.len() != cols {
            return fail(format!("{} column labels for {cols} columns: every column needs a name", self.col_labels.len()));
        }
        if !self.groups.is_empty() && self.groups.iter().map(|g| g.1).sum::<usize>() != cols {
            return fail(format!("the column groups cover {} columns, the grid has {cols}", self.groups.iter().map(|g| g.1).sum::<usize>()));
        }
        if !self.frames.is_empty() && self.frames.len() != self.tiles.len() {
            return fail(format!("{} frame colours for {} images", self.frames.len(), self.tiles.len()));
        }
        Ok(())
    }

    /// Draws the grid. Errors ([`Error::Config`]) when there is no image, `cols` or the scale
    /// is 0, an image has other than 1 or 3 channels, the row or column labels are not one per
    /// row or column, the groups do not cover the columns, or the frames are not one per image.
    pub fn draw(&self) -> Result<Figure> {
        self.check()?;
        register_embedded_font();
        let scale = self.scale.unwrap_or_else(|| tile_scale(self.tiles));
        let cols = self.cols.min(self.tiles.len()) as u32;
        let rows = self.rows() as u32;
        let cell_w = (self.tiles.iter().map(|im| im.width).max().unwrap_or(0) * scale) as u32;
        let cell_h = (self.tiles.iter().map(|im| im.height).max().unwrap_or(0) * scale) as u32;
        // Group index of every column (all 0 without groups).
        let group_of: Vec<u32> = if self.groups.is_empty() {
            vec![0; cols as usize]
        } else {
            self.groups.iter().enumerate().flat_map(|(g, &(_, n))| std::iter::repeat(g as u32).take(n)).collect()
        };
        let label_w = self.row_labels.iter().map(|l| text_width(l, &label_font())).max().unwrap_or(0);
        let x0 = PAD + label_w + ROW_LABEL_GAP;
        let y0 = PAD + if self.title.is_empty() { 0 } else { TITLE_H } + if self.groups.is_empty() { 0 } else { GROUP_H } + COL_H;
        let col_x = |c: u32| x0 + c * (cell_w + GAP) + group_of[c as usize] * GROUP_GAP;
        let row_y = |r: u32| y0 + r * (cell_h + GAP);
        let grid_right = col_x(cols - 1) + cell_w;
        let text_right = self
            .notes
            .iter()
            .map(|n| text_width(n, &label_font()))
            .chain([text_width(&self.title, &title_font())])
            .map(|w| PAD + w)
            .max()
            .unwrap_or(0);
        let width = grid_right.max(text_right) + PAD;
        let height = row_y(rows - 1) + cell_h + self.notes.len() as u32 * NOTE_H + PAD + if self.notes.is_empty() { 0 } else { 6 };

        let mut rgb = vec![255u8; 3 * width as usize * height as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            let drawn: DrawResult = (|| {
                let at = |h, v| Pos::new(h, v);
                if !self.title.is_empty() {
                    root.draw_text(&self.title, &title_font().pos(at(HPos::Left, VPos::Center)), (PAD as i32, (PAD + TITLE_H / 2) as i32))?;
                }
                let heading_y = PAD + if self.title.is_empty() { 0 } else { TITLE_H };
                let mut first = 0u32;
                for (name, n) in &self.groups {
                    let (left, right) = (col_x(first), col_x(first + *n as u32 - 1) + cell_w);
                    let style = label_font().pos(at(HPos::Center, VPos::Center));
                    let name = fit(name, right - left, &style);
                    root.draw_text(&name, &style, (((left + right) / 2) as i32, (heading_y + GROUP_H / 2 - 2) as i32))?;
                    root.draw(&PathElement::new(vec![(left as i32, (heading_y + GROUP_H - 3) as i32), (right as i32, (heading_y + GROUP_H - 3) as i32)], RGBColor(120, 120, 120)))?;
                    first += *n as u32;
                }
                let col_label_y = y0 - COL_H / 2;
                let small: TextStyle = (FONT, 14).into_font().color(&RGBColor(60, 60, 60)).pos(at(HPos::Center, VPos::Center));
                for (c, name) in self.col_labels.iter().enumerate() {
                    let x = col_x(c as u32) + cell_w / 2;
                    root.draw_text(&fit(name, cell_w + GAP - 2, &small), &small, (x as i32, col_label_y as i32))?;
                }
                let right = label_font().pos(at(HPos::Right, VPos::Center));
                for (r, name) in self.row_labels.iter().enumerate() {
                    root.draw_text(name, &right, ((x0 - ROW_LABEL_GAP) as i32, (row_y(r as u32) + cell_h / 2) as i32))?;
                }
                let note_top = row_y(rows - 1) + cell_h + 6;
                for (i, note) in self.notes.iter().enumerate() {
                    root.draw_text(note, &label_font().pos(at(HPos::Left, VPos::Center)), (PAD as i32, (note_top + i as u32 * NOTE_H + NOTE_H / 2) as i32))?;
                }
                root.present()?;
                Ok(())
            })();
            drawn.map_err(|e| Error::config(format!("image grid: drawing failed: {e}")))?;
        }
        let mut figure = Figure::from_rgb(width, height, rgb)?;
        for (k, img) in self.tiles.iter().enumerate() {
            let (r, c) = ((k / cols as usize) as u32, (k % cols as usize) as u32);
            let (x, y) = (col_x(c), row_y(r));
            if let Some(colour) = self.frames.get(k).copied().flatten() {
                figure.fill_rect(x - FRAME, y - FRAME, cell_w + 2 * FRAME, cell_h + 2 * FRAME, [colour.0, colour.1, colour.2]);
            }
            let (tile_w, tile_h) = ((img.width * scale) as u32, (img.height * scale) as u32);
            figure.blit(img, scale, x + (cell_w - tile_w) / 2, y + (cell_h - tile_h) / 2);
        }
        Ok(figure)
    }
}

impl Figure {
    /// Paints the `w × h` rectangle at `(x, y)` (clipped to the figure) in `colour`.
    fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, colour: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                let i = 3 * (yy * self.width + xx) as usize;
                self.rgb[i..i + 3].copy_from_slice(&colour);
            }
        }
    }

    /// Copies `img`, scaled up `scale` times by nearest-neighbour, with its top-left corner at
    /// `(x, y)` (clipped to the figure).
    fn blit(&mut self, img: &Image, scale: usize, x: u32, y: u32) {
        let src = img.to_rgb8();
        for ty in 0..(img.height * scale) as u32 {
            for tx in 0..(img.width * scale) as u32 {
                let (fx, fy) = (x + tx, y + ty);
                if fx < self.width && fy < self.height {
                    let s = 3 * ((ty as usize / scale) * img.width + tx as usize / scale);
                    let d = 3 * (fy * self.width + fx) as usize;
                    self.rgb[d..d + 3].copy_from_slice(&src[s..s + 3]);
                }
            }
        }
    }
}

/// Width in pixels of `text` in `style` (0 for empty text).
fn text_width(text: &str, style: &TextStyle) -> u32 {
    if text.is_empty() {
        return 0;
    }
    style.font.box_size(text).map(|(w, _)| w).unwrap_or(0)
}

/// `text`, shortened with "…" until it is at most `max` pixels wide.
pub(super) fn fit(text: &str, max: u32, style: &TextStyle) -> String {
    if text_width(text, style) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let short = format!("{}…", chars.iter().collect::<String>().trim_end());
        if text_width(&short, style) <= max {
            return short;
        }
    }
    String::new()
}

/// What `pipeline` does to each of `images`: one row per image ("image 1", "image 2", …), the
/// original in the first column ("original"), then `views` augmented views ("view 1", …)
/// drawn from [`image_rng`](crate::augment::image_rng)`(seed, i)`, so the same seed gives the
/// same picture. `title` goes above the grid (e.g. the pipeline's name; may be empty).
pub fn augmentation_grid(images: &[Image], pipeline: &dyn Transform, views: usize, seed: u64, title: &str) -> Result<Figure> {
    let tiles = augmentation_tiles(images, pipeline, views, seed);
    let rows: Vec<String> = (1..=images.len()).map(|i| format!("image {i}")).collect();
    let cols: Vec<String> = std::iter::once("original".to_string()).chain((1..=views).map(|v| format!("view {v}"))).collect();
    ImageGrid::new(&tiles, 1 + views).title(title).row_labels(&rows).col_labels(&cols).draw()
}
