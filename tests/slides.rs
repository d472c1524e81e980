//! The rendered slides look like slides: every deck in `slides/` has one headless-Chromium
//! screenshot per slide (Marp's `--images png`, made by `slides/build.sh`), each 1280 × 720
//! and not blank, nothing runs past the bottom of the slide into the footer, and slides that
//! show a figure contain a picture, not an empty frame.
//!
//! It needs the rendered slides, so it is ignored by a plain `cargo test`; `.ci/slides.sh`
//! renders them and runs it with `cargo test --release --test slides -- --ignored`.

use std::path::{Path, PathBuf};

const SLIDES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/slides");

/// The decks (`slides/[0-9]*.md`) and, for each, its slides' Markdown (front matter removed).
fn decks() -> Vec<(String, Vec<String>)> {
    let mut decks: Vec<_> = std::fs::read_dir(SLIDES)
        .expect("slides/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && p.file_name().unwrap().to_string_lossy().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    decks.sort();
    decks
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            // Marp: front matter between the first two `---` lines, then slides separated by `---`.
            let mut parts: Vec<String> = vec![String::new()];
            for line in text.lines() {
                if line.trim_end() == "---" {
                    parts.push(String::new());
                } else {
                    parts.last_mut().unwrap().push_str(line);
                    parts.last_mut().unwrap().push('\n');
                }
            }
            let slides = parts.into_iter().skip(2).collect();
            (path.file_stem().unwrap().to_string_lossy().into_owned(), slides)
        })
        .collect()
}

fn screenshot(deck: &str, slide: usize) -> PathBuf {
    Path::new(SLIDES).join("build/screenshots").join(format!("{deck}.{slide:03}.png"))
}

/// The share of pixels that have the most common colour, and how many distinct colours there are.
fn colour_stats(img: &image::RgbImage) -> (f64, usize) {
    let mut counts = std::collections::HashMap::new();
    for p in img.pixels() {
        *counts.entry(p.0).or_insert(0usize) += 1;
    }
    let top = counts.values().copied().max().unwrap_or(0);
    (top as f64 / (img.width() * img.height()) as f64, counts.len())
}

/// The text colours of the theme (`slides/theme/selfsup.css`): body, `h1`, `h2` and links,
/// `strong`, footer, code background; and black, which the figures' own text uses.
const THEME_TEXT: [[u8; 3]; 7] = [[29, 35, 48], [31, 59, 115], [44, 90, 160], [179, 64, 26], [122, 133, 153], [238, 241, 246], [0, 0, 0]];

/// Distance from colour `p` to the segment between colours `a` and `b` (their blends).
fn blend_distance(p: [u8; 3], a: [u8; 3], b: [u8; 3]) -> f64 {
    let (p, a, b) = (p.map(f64::from), a.map(f64::from), b.map(f64::from));
    let ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
    let len2: f64 = ab.iter().map(|x| x * x).sum();
    let t = if len2 == 0.0 { 0.0 } else { (ap.iter().zip(&ab).map(|(x, y)| x * y).sum::<f64>() / len2).clamp(0.0, 1.0) };
    (0..3).map(|i| (ap[i] - t * ab[i]).powi(2)).sum::<f64>().sqrt()
}

/// Pixels whose colour is no blend of a theme text colour with the slide's background (or
/// white): what a chart, a heatmap or an image adds. Anti-aliased text, math and the theme's
/// tables are such blends, so a text slide counts (almost) none; a bar chart or a heatmap
/// counts tens of thousands.
fn picture_pixels(img: &image::RgbImage, background: [u8; 3]) -> usize {
    let mut counts = std::collections::HashMap::new();
    for p in img.pixels() {
        *counts.entry(p.0).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .filter(|(c, _)| THEME_TEXT.iter().all(|&t| [background, [255, 255, 255]].iter().all(|&b| blend_distance(*c, t, b) > 14.0)))
        .map(|(_, n)| n)
        .sum()
}

/// The most common colour of the slide.
fn background(img: &image::RgbImage) -> [u8; 3] {
    let mut counts = std::collections::HashMap::new();
    for p in img.pixels() {
        *counts.entry(p.0).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c).unwrap_or([255, 255, 255])
}

/// Pixels below the content box that are not background: the theme pads the bottom by 56 px
/// (content ends at row 664; descenders reach a few rows further), and rows 672 and below
/// hold only the footer text (left) and the page number (right). Anything else there is
/// content that ran off the slide, drawn over the footer.
fn overflow_pixels(img: &image::RgbImage, background: [u8; 3]) -> usize {
    (672..img.height())
        .flat_map(|y| (340..1215).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().zip(background).any(|(&p, b)| p.abs_diff(b) > 24))
        .count()
}

#[test]
#[ignore = "needs the rendered slides: run slides/build.sh (CI: .ci/slides.sh) first"]
fn every_slide_has_a_non_blank_screenshot_and_figure_slides_show_pictures() {
    let decks = decks();
    assert!(decks.len() >= 2, "expected the introduction and contrastive decks, found {}", decks.len());
    for (deck, slides) in &decks {
        assert!(slides.len() >= 5, "{deck}: only {} slides", slides.len());
        let mut text_colours = Vec::new();
        let mut figure_colours = Vec::new();
        for (i, markdown) in slides.iter().enumerate() {
            let path = screenshot(deck, i + 1);
            let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e} (run slides/build.sh)", path.display())).to_rgb8();
            assert_eq!(img.dimensions(), (1280, 720), "{}", path.display());
            let (background_share, colours) = colour_stats(&img);
            // Text covers a few percent of a slide; an empty or failed render is one colour.
            assert!(background_share < 0.985, "{}: {:.1}% of the pixels are one colour: is the slide blank?", path.display(), 100.0 * background_share);
            let bg = background(&img);
            let overflow = overflow_pixels(&img, bg);
            assert!(overflow == 0, "{}: {overflow} pixels of content below the slide's content box, over the footer: the slide overflows", path.display());
            if markdown.contains("](figures/") {
                figure_colours.push((path, colours, picture_pixels(&img, bg)));
            } else {
                text_colours.push(colours);
            }
        }
        // A figure slide whose picture failed to show looks like a text slide. A picture shows
        // as colours the theme's text never makes (bars, heatmaps, images: thousands of such
        // pixels), or, for a table drawn as an image (text only), as many more distinct colours
        // than this deck's typical (median) text slide: anti-aliased text and math give a slide
        // about a thousand, a scaled picture of text adds its own blends.
        text_colours.sort_unstable();
        let typical_text = text_colours[text_colours.len() / 2];
        for (path, colours, picture) in figure_colours {
            assert!(
                picture >= 1000 || colours as f64 > 1.5 * typical_text as f64,
                "{}: shows a figure but has {picture} picture pixels and {colours} colours, like a text slide ({typical_text}): is the image missing?",
                path.display()
            );
        }
        assert!(!screenshot(deck, slides.len() + 1).exists(), "{deck}: more screenshots than slides: is the slide count wrong?");
    }
}
