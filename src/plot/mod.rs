//! Figures: what the notebooks show inline and what the slides embed.
//!
//! Every chart function returns a [`Figure`], an RGB picture in memory. A figure can be saved
//! as a PNG (atomically) or encoded to PNG bytes; the notebook layer displays those bytes
//! inline in Jupyter. Charts are drawn with plotters' bitmap backend and its pure-Rust font
//! path (`ab_glyph`) with an embedded DejaVu Sans (`fonts/`, Bitstream Vera licence), so
//! nothing depends on the system's fonts.
//!
//! The charts, each "data in, `Result<Figure>` out", with bad input (empty, mismatched
//! lengths, NaN) refused by a [`Error::Config`] that names the chart:
//!
//! - [`line_chart`]: curves (losses, sweeps), one [`Series`] per line;
//!   [`line_chart_with_reference`] adds a dashed reference level (e.g. `1/√d`);
//! - [`bar_chart`]: grouped bars over named categories (an experiment's rows), with an
//!   optional reference line (a baseline);
//! - [`scatter_by_class`]: a 2-D embedding (e.g. [`crate::eval::pca_2d`]) coloured by class;
//! - [`heatmap`]: a matrix (e.g. cosine similarities) through the [`colormap`];
//! - [`table`]: rows of text, for numbers a slide quotes.
//!
//! And the pictures of what a representation learned (features in, figure and numbers out):
//!
//! - [`ImageGrid`]: images in rows and columns, every row and column named, optional column
//!   groups and coloured frames; [`augmentation_grid`] shows an image and its views;
//! - [`retrieval_grid`]: test queries and their nearest training images in several
//!   representations (raw pixels, random init, trained), framed green / red by class, with
//!   the matching rates;
//! - [`tsne_map`]: a t-SNE map coloured by class, with how well the classes separate on it;
//! - [`class_similarity`]: cosine similarities of mean-centred features, sorted by class,
//!   with the class boundaries drawn.
//!
//! [`Chart`] holds what they share: title, axis labels and size in pixels.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::image::Image;

pub mod bar;
pub mod grid;
pub mod heatmap;
pub mod line;
pub mod retrieval;
pub mod scatter;
pub mod table;

pub use bar::{bar_chart, BarGroup};
pub use grid::{augmentation_grid, ImageGrid, MATCH, MISMATCH};
pub use heatmap::{class_similarity, colormap, heatmap, mean_similarity_within_between, ClassSimilarity};
pub use line::{line_chart, line_chart_with_reference, Series};
pub use retrieval::{retrieval_grid, FeatureSpace, MatchRate, Retrieval};
pub use scatter::{scatter_by_class, tsne_map, EmbeddingMap};
pub use table::table;

/// The font family every chart uses; it is registered from the embedded DejaVu Sans.
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// The ten colours used for classes and series, in order (Tableau 10: distinct, colour-blind
/// friendlier than pure hues). Class `i` gets `PALETTE[i % 10]`.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of class (or series) `i`.
pub fn class_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Title, axis labels and size shared by every chart. Build it with [`Chart::new`] and the
/// `axes` / `size` / `y_range` setters; the default is an untitled 800 × 500 chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub width: u32,
    pub height: u32,
    /// The y axis of a [`line_chart`], `(bottom, top)`, instead of one fitted to the data: to
    /// start it at 0, or to leave room above the curves for the legend.
    pub y_range: Option<(f64, f64)>,
}

impl Default for Chart {
    fn default() -> Self {
        Self { title: String::new(), x_label: String::new(), y_label: String::new(), width: 800, height: 500, y_range: None }
    }
}

impl Chart {
    /// A default-sized chart with this title.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    /// Sets the axis labels.
    pub fn axes(mut self, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        self.x_label = x_label.into();
        self.y_label = y_label.into();
        self
    }

    /// Sets the size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Fixes the y axis of a line chart to `bottom..top`.
    pub fn y_range(mut self, bottom: f64, top: f64) -> Self {
        self.y_range = Some((bottom, top));
        self
    }
}

/// Smallest chart side accepted, in pixels: below it the labels cannot fit.
pub const MIN_CHART_SIDE: u32 = 120;

/// What a chart's drawing code returns: plotters' errors are boxed, then turned into
/// [`Error::Config`] naming the chart by [`render`].
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Registers the embedded font once per process.
pub(crate) fn register_embedded_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid TrueType font"));
    });
}

/// Draws a chart of `chart.width × chart.height` on a white RGB canvas and returns it as a
/// [`Figure`]. `what` names the chart in error messages; `draw` gets the whole canvas.
pub(crate) fn render(what: &str, chart: &Chart, draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> DrawResult) -> Result<Figure> {
    if chart.width < MIN_CHART_SIDE || chart.height < MIN_CHART_SIDE {
        return Err(Error::config(format!(
            "{what}: a chart needs at least {MIN_CHART_SIDE}x{MIN_CHART_SIDE} pixels, got {}x{}",
            chart.width, chart.height
        )));
    }
    register_embedded_font();
    let (w, h) = (chart.width, chart.height);
    let mut rgb = vec![255u8; 3 * w as usize * h as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(|e| e.into()).and_then(|()| draw(&root)).and_then(|()| root.present().map_err(|e| e.into()));
        drawn.map_err(|e| Error::config(format!("{what}: drawing failed: {e}")))?;
    }
    Figure::from_rgb(w, h, rgb)
}

/// Errors unless every value is finite; `what` names the chart and `field` the input.
pub(crate) fn check_finite<'a>(what: &str, field: &str, values: impl IntoIterator<Item = &'a f64>) -> Result<()> {
    match values.into_iter().find(|v| !v.is_finite()) {
        Some(v) => Err(Error::config(format!("{what}: {field} contains {v}; every value must be finite"))),
        None => Ok(()),
    }
}

/// `[min, max]` of `values` widened by `pad` of its span on each side (or by ±0.5 around a
/// single value), so that points do not sit on the frame. `values` must be non-empty.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values.into_iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = hi - lo;
    if span > 0.0 {
        (lo - pad * span)..(hi + pad * span)
    } else {
        (lo - 0.5)..(hi + 0.5)
    }
}

/// An axis tick label: integers without a decimal point, other values with up to 3
/// significant decimals and no trailing zeros (`2`, `0.25`, `-1.5`).
pub(crate) fn tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Indices of the first `per_class` rows of each class `0..num_classes`, class by class (a
/// class with fewer rows gives what it has): the images a figure shows per class.
pub fn first_per_class(labels: &[usize], num_classes: usize, per_class: usize) -> Vec<usize> {
    (0..num_classes).flat_map(|class| labels.iter().enumerate().filter(move |(_, &l)| l == class).map(|(i, _)| i).take(per_class)).collect()
}

/// The figures side by side, top-aligned, `gap` white pixels apart: several pictures shown as
/// one (a notebook cell shows one picture). Errors if there is no figure.
pub fn side_by_side(figures: &[Figure], gap: u32) -> Result<Figure> {
    let height = figures.iter().map(|f| f.height).max().ok_or_else(|| Error::config("side_by_side: no figures"))?;
    let width = figures.iter().map(|f| f.width).sum::<u32>() + gap * (figures.len() as u32 - 1);
    let mut rgb = vec![255u8; 3 * (width * height) as usize];
    let mut x0 = 0;
    for f in figures {
        for (y, row) in f.rgb.chunks_exact(3 * f.width as usize).enumerate() {
            let start = 3 * (y * width as usize + x0 as usize);
            rgb[start..start + row.len()].copy_from_slice(row);
        }
        x0 += f.width + gap;
    }
    Figure::from_rgb(width, height, rgb)
}

/// The figures one above the other, left-aligned on a white background. Errors if there is
/// no figure.
pub fn stack(figures: &[Figure]) -> Result<Figure> {
    let width = figures.iter().map(|f| f.width).max().ok_or_else(|| Error::config("stack: no figures"))?;
    let mut rgb = Vec::new();
    for f in figures {
        for row in f.rgb.chunks_exact(3 * f.width as usize) {
            rgb.extend_from_slice(row);
            rgb.resize(rgb.len() + 3 * (width - f.width) as usize, 255);
        }
    }
    Figure::from_rgb(width, figures.iter().map(|f| f.height).sum(), rgb)
}

/// The title font (22 px) and the label font (16 px) of every chart.
pub(crate) fn title_font() -> TextStyle<'static> {
    (FONT, 22).into_font().into()
}

pub(crate) fn label_font() -> TextStyle<'static> {
    (FONT, 16).into_font().into()
}

/// An RGB picture of `width × height` pixels (interleaved RGB8, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Figure {
    /// A figure from interleaved RGB8 bytes. Errors if the length is not `3 · width · height`.
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Self> {
        if rgb.len() != 3 * width as usize * height as usize {
            return Err(Error::config(format!(
                "Figure::from_rgb: {} bytes for {width}x{height} pixels (expected {})",
                rgb.len(),
                3 * width as usize * height as usize
            )));
        }
        Ok(Self { width, height, rgb })
    }

    /// A grid of images, `cols` per row, each scaled up `scale` times (see
    /// [`crate::augment::image_grid_rgb8`] for the layout).
    pub fn image_grid(images: &[Image], cols: usize, scale: usize) -> Result<Self> {
        if images.is_empty() || cols == 0 || scale == 0 {
            return Err(Error::config("Figure::image_grid: needs at least one image, cols >= 1 and scale >= 1"));
        }
        let (rgb, w, h) = crate::augment::image_grid_rgb8(images, cols, scale);
        Self::from_rgb(w, h, rgb)
    }

    /// The figure encoded as a PNG file's bytes.
    pub fn png_bytes(&self) -> Vec<u8> {
        use image::codecs::png::PngEncoder;
        use image::{ColorType, ImageEncoder};
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(&self.rgb, self.width, self.height, ColorType::Rgb8)
            .expect("encoding a PNG into memory cannot fail for a well-sized buffer");
        out
    }

    /// Saves the figure as a PNG at `path`, atomically (temporary file, then rename); creates
    /// missing parent folders. Errors name the file.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, self.png_bytes()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }
}

/// A chart builder on `root` with the chart's title (if any), margins and label areas set.
pub(crate) fn chart_builder<'a, 'b>(root: &'a DrawingArea<BitMapBackend<'b>, Shift>, chart: &Chart) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    if !chart.title.is_empty() {
        builder.caption(&chart.title, title_font());
    }
    builder.margin(14).x_label_area_size(if chart.x_label.is_empty() { 30 } else { 50 }).y_label_area_size(if chart.y_label.is_empty() { 50 } else { 70 });
    builder
}

/// Draws `reference` (`(label, y)`: a baseline, a healthy level) as a dashed black horizontal
/// line across `x`, its label in the legend.
pub(crate) fn draw_reference<'a, DB: DrawingBackend + 'a>(
    ctx: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    (label, y): (&str, f64),
    x: std::ops::Range<f64>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let line = DashedLineSeries::new([(x.start, y), (x.end, y)], 10, 6, BLACK.stroke_width(2));
    ctx.draw_series(line)?.label(label).legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2)));
    Ok(())
}

/// Draws the legend of a chart whose series have labels: top right, on a translucent box.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(ctx: &mut ChartContext<'a, DB, CT>) -> DrawResult
where
    DB::ErrorType: 'static,
{
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(label_font())
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_keeps_pixels() {
        let fig = Figure::from_rgb(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap();
        let img = image::load_from_memory(&fig.png_bytes()).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (2, 1));
        assert_eq!(img.into_raw(), fig.rgb);
        assert!(Figure::from_rgb(2, 2, vec![0; 3]).is_err());
    }
}
