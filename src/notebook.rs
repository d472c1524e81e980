//! The notebook layer: show figures, image grids and tables inline in Jupyter (evcxr kernel),
//! and guard against the one trap of running dfdx in a notebook.
//!
//! # How evcxr displays a value
//!
//! When a cell's last expression has a method `evcxr_display(&self)`, evcxr calls it; the
//! method prints a block
//!
//! ```text
//! EVCXR_BEGIN_CONTENT image/png
//! <the PNG file, base64-encoded>
//! EVCXR_END_CONTENT
//! ```
//!
//! and the kernel turns it into the cell's rich output. [`Figure`], [`Table`] and
//! [`crate::run::Summary`] have such a method, so a cell ending in `figure` shows the picture;
//! [`show`] prints the same block from anywhere in a cell. A cell keeps **one output per
//! content type** (a second image in the same cell replaces the first), and when a cell shows
//! both an HTML table and an image, Jupyter shows only the HTML: one picture per cell.
//!
//! # One copy of dfdx for all cells
//!
//! dfdx tells tensors apart, when it collects gradients, by an id taken from a process-wide
//! counter. evcxr compiles every cell into its own shared library; by default each library
//! links its own copy of every dependency, so each cell has its own counter starting from 0.
//! A model built in one cell and trained in another then has parameter ids that collide with
//! the ids of the new cell's tensors, and the gradients are silently wrong (or dfdx panics).
//!
//! The fix: the notebooks load the kit through `notebooks/kit`, a crate that re-exports this
//! library from **one shared library** (`crate-type = ["dylib"]`), with
//! `:dep selfsup = { path = "kit", package = "selfsup-kit" }`. Every cell then links that one
//! library, so all cells share one dfdx and one counter. (evcxr's own switch for this,
//! `:allow_static_linking 0`, fails to build with Rust 1.95's standard library, whose shared
//! object no longer embeds its metadata.) [`setup`] (run in the setup cell) and every display
//! or training helper here check that the cells share one copy, and return an error that says
//! what to do when they do not (see [`check_one_library_copy`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::augment::{augmentation_tiles, tile_scale, Transform};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::plot::Figure;
use crate::run::Summary;
use crate::train::RunConfig;

/// Prints a content block that evcxr turns into the cell's output of type `mime`.
fn emit(mime: &str, payload: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{payload}\nEVCXR_END_CONTENT");
}

/// Standard base64 (RFC 4648, with `=` padding), how Jupyter carries binary outputs.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Figure {
    /// Shows the figure as the cell's output when it is the cell's last expression.
    pub fn evcxr_display(&self) {
        emit("image/png", &base64(&self.png_bytes()));
    }
}

/// Shows `figure` inline (one picture per cell: a second one in the same cell replaces it).
pub fn show(figure: &Figure) {
    figure.evcxr_display();
}

/// Shows `images` as a grid of `cols` columns, scaled up so that each tile is about 96 pixels
/// ([`tile_scale`]).
pub fn show_images(images: &[Image], cols: usize) -> Result<()> {
    check_one_library_copy()?;
    show(&Figure::image_grid(images, cols, tile_scale(images))?);
    Ok(())
}

/// What `pipeline` does to each of `images`: one row per image, the original first, then
/// `views` augmented views drawn from [`image_rng`](crate::augment::image_rng)`(seed, i)`, so
/// the same seed gives the same picture.
pub fn augmentation_figure(images: &[Image], pipeline: &dyn Transform, views: usize, seed: u64) -> Result<Figure> {
    let tiles = augmentation_tiles(images, pipeline, views, seed);
    Figure::image_grid(&tiles, 1 + views, tile_scale(&tiles))
}

/// The figures one above the other, left-aligned on a white background: several pictures
/// shown as one (a cell shows only one picture).
pub fn stack(figures: &[Figure]) -> Result<Figure> {
    let width = figures.iter().map(|f| f.width).max().ok_or_else(|| Error::config("notebook::stack: no figures"))?;
    let mut rgb = Vec::new();
    for f in figures {
        for row in f.rgb.chunks_exact(3 * f.width as usize) {
            rgb.extend_from_slice(row);
            rgb.resize(rgb.len() + 3 * (width - f.width) as usize, 255);
        }
    }
    Figure::from_rgb(width, figures.iter().map(|f| f.height).sum(), rgb)
}

/// A table shown as HTML in a notebook (and as aligned text by `Display`).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and no rows yet.
    pub fn new(caption: impl Into<String>, headers: &[&str]) -> Self {
        Self { caption: caption.into(), headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Appends a row; panics if it does not have one cell per column.
    pub fn row<S: ToString>(mut self, cells: &[S]) -> Self {
        assert_eq!(cells.len(), self.headers.len(), "Table::row: {} cells for {} columns", cells.len(), self.headers.len());
        self.rows.push(cells.iter().map(|c| c.to_string()).collect());
        self
    }

    /// The table as an HTML `<table>`, text escaped.
    pub fn to_html(&self) -> String {
        let mut html = String::from("<table>");
        if !self.caption.is_empty() {
            let _ = write!(html, "<caption>{}</caption>", escape_html(&self.caption));
        }
        html.push_str("<thead><tr>");
        for h in &self.headers {
            let _ = write!(html, "<th>{}</th>", escape_html(h));
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            html.push_str("<tr>");
            for c in row {
                let _ = write!(html, "<td>{}</td>", escape_html(c));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        html
    }

    /// Shows the table as the cell's output when it is the cell's last expression.
    pub fn evcxr_display(&self) {
        emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|j| self.rows.iter().map(|r| r[j].chars().count()).chain([self.headers[j].chars().count()]).max().unwrap_or(0))
            .collect();
        if !self.caption.is_empty() {
            writeln!(f, "{}", self.caption)?;
        }
        let line = |cells: &[String]| -> String {
            cells.iter().zip(&widths).map(|(c, &w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
        };
        writeln!(f, "{}", line(&self.headers))?;
        for row in &self.rows {
            writeln!(f, "{}", line(row))?;
        }
        Ok(())
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Summary {
    /// The run's results as a table: trained vs random-init encoder.
    pub fn table(&self) -> Table {
        let pct = |x: f32| format!("{:.1}%", 100.0 * x);
        Table::new(
            format!("{} ({} encoder) on {}, {} epochs, {:.0} s", self.method, self.encoder, self.dataset, self.epochs, self.wall_seconds),
            &["", "kNN top-1", "linear top-1", "collapse std"],
        )
        .row(&["trained".to_string(), pct(self.knn_top1), pct(self.linear_top1), format!("{:.3}", self.collapse_std)])
        .row(&["random init".to_string(), pct(self.baseline_knn_top1), pct(self.baseline_linear_top1), format!("{:.3}", self.baseline_collapse_std)])
    }

    /// Shows [`Summary::table`] when the summary is a cell's last expression.
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

/// Trains as `selfsup train` does, in one library call (so every gradient is computed inside
/// it), printing progress lines and the one-line summary; the run directory `out` keeps
/// `metrics.jsonl` (see [`loss_curve`]) and the checkpoint.
pub fn train(cfg: &RunConfig, out: impl AsRef<Path>) -> Result<Summary> {
    check_one_library_copy()?;
    let summary = crate::run::train(cfg, out.as_ref(), false, false)?;
    println!("{}", summary.line());
    Ok(summary)
}

/// The loss of every optimizer step of a run, from its `metrics.jsonl`: `(step, loss)` pairs.
pub fn loss_curve(run_dir: impl AsRef<Path>) -> Result<Vec<(usize, f32)>> {
    let path: PathBuf = run_dir.as_ref().join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| Error::format(&path, format!("line {}: {e}", i + 1)))?;
            match (v["step"].as_u64(), v["loss"].as_f64()) {
                (Some(step), Some(loss)) => Ok((step as usize, loss as f32)),
                _ => Err(Error::format(&path, format!("line {}: needs numeric `step` and `loss`", i + 1))),
            }
        })
        .collect()
}

/// Name of the environment variable in which the first check records which copy of this
/// library it ran in. The environment is one per process, whatever the linking, so every
/// cell sees what the first one wrote.
pub const LIBRARY_COPY_ENV: &str = "SELFSUP_NOTEBOOK_LIBRARY_COPY";

/// A static whose address identifies the copy of this library (and of dfdx, linked the same
/// way) that the calling code runs in.
static COPY_MARKER: u8 = 0;

/// The address of [`COPY_MARKER`] in the copy of the library running this code.
fn library_copy() -> String {
    format!("{:p}", &COPY_MARKER as *const u8)
}

/// Checks that the calling cell runs the same copy of this library, and so of dfdx, as the
/// first cell that called a checked function. The first call records its copy; a later call
/// from a cell linked to another copy returns an error that explains the fix.
pub fn check_one_library_copy() -> Result<()> {
    let mine = library_copy();
    match std::env::var(LIBRARY_COPY_ENV) {
        Ok(first) if first == mine => Ok(()),
        Ok(_) => Err(Error::config(
            "this cell runs its own copy of selfsup and dfdx, not the one of the earlier cells: \
             dfdx's tensor ids restart in every copy, so a model made in one cell and trained in \
             another would get wrong gradients. Load the kit as the notebooks' setup cell does, \
             `:dep selfsup = { path = \"kit\", package = \"selfsup-kit\" }` (one shared library for \
             all cells), then restart the kernel and run all cells.",
        )),
        Err(_) => {
            std::env::set_var(LIBRARY_COPY_ENV, &mine);
            Ok(())
        }
    }
}

/// The setup cell's call: checks (and records) the library copy, and prints what runs.
pub fn setup() -> Result<()> {
    check_one_library_copy()?;
    println!(
        "selfsup {} ready: dfdx on the CPU, {} threads, one shared copy of the library",
        env!("CARGO_PKG_VERSION"),
        rayon::current_num_threads()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "base64({plain:?})");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn table_escapes_html_and_aligns_text() {
        let t = Table::new("a < b", &["m", "kNN"]).row(&["0.99", "61%"]).row(&["0.9", "<b>"]);
        assert_eq!(
            t.to_html(),
            "<table><caption>a &lt; b</caption><thead><tr><th>m</th><th>kNN</th></tr></thead><tbody>\
             <tr><td>0.99</td><td>61%</td></tr><tr><td>0.9</td><td>&lt;b&gt;</td></tr></tbody></table>"
        );
        assert_eq!(t.to_string(), "a < b\nm     kNN\n0.99  61%\n0.9   <b>\n");
    }

    #[test]
    fn augmentation_figure_has_one_row_per_image() {
        let images = vec![Image::zeros(3, 32, 32), Image::zeros(3, 32, 32)];
        let fig = augmentation_figure(&images, &crate::augment::Pipeline::simclr(32), 3, 0).unwrap();
        // 4 tiles of 96 px (32 px × 3) per row, 2 rows, 2-px borders.
        assert_eq!((fig.width, fig.height), (4 * 96 + 5 * 2, 2 * 96 + 3 * 2));
    }

    #[test]
    fn loss_curve_reads_metrics_and_names_the_file_on_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(&path, "{\"epoch\":0,\"step\":1,\"loss\":4.5,\"lr\":0.1}\n{\"epoch\":0,\"step\":2,\"loss\":4.0}\n").unwrap();
        assert_eq!(loss_curve(dir.path()).unwrap(), vec![(1, 4.5), (2, 4.0)]);
        std::fs::write(&path, "{\"step\":1}\n").unwrap();
        let err = loss_curve(dir.path()).unwrap_err().to_string();
        assert!(err.contains("metrics.jsonl") && err.contains("line 1"), "{err}");
    }

    /// Within one process and one copy of the library the check passes; a record left by
    /// another copy (simulated by a different address) is refused with the fix in the message.
    #[test]
    fn library_copy_check_accepts_its_own_copy_and_refuses_another() {
        std::env::remove_var(LIBRARY_COPY_ENV);
        check_one_library_copy().unwrap();
        check_one_library_copy().unwrap();
        std::env::set_var(LIBRARY_COPY_ENV, "0x1");
        let err = check_one_library_copy().unwrap_err().to_string();
        assert!(err.contains("package = \"selfsup-kit\""), "{err}");
        std::env::remove_var(LIBRARY_COPY_ENV);
    }

    #[test]
    fn stack_pads_narrower_figures_with_white() {
        let wide = Figure::from_rgb(2, 1, vec![0; 6]).unwrap();
        let narrow = Figure::from_rgb(1, 1, vec![9; 3]).unwrap();
        let both = stack(&[wide, narrow]).unwrap();
        assert_eq!((both.width, both.height), (2, 2));
        assert_eq!(both.rgb, vec![0, 0, 0, 0, 0, 0, 9, 9, 9, 255, 255, 255]);
        assert!(stack(&[]).is_err());
    }
}
