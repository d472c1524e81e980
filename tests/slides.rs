//! The rendered slides look like slides: every deck in `slides/` has one headless-Chromium
//! screenshot per slide (Marp's `--images png`, made by `slides/build.sh`), each 1280 × 720
//! and not blank, and slides that show a figure contain a picture, not an empty frame.
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
            let (background, colours) = colour_stats(&img);
            // Text covers a few percent of a slide; an empty or failed render is one colour.
            assert!(background < 0.985, "{}: {:.1}% of the pixels are one colour: is the slide blank?", path.display(), 100.0 * background);
            if markdown.contains("](figures/") {
                figure_colours.push((path, colours));
            } else {
                text_colours.push(colours);
            }
        }
        // Anti-aliased text and math give a slide about a thousand distinct colours; a chart or
        // an image adds many more. A figure slide whose picture failed to show looks like a
        // text slide, so it must clearly out-colour this deck's typical (median) text slide.
        text_colours.sort_unstable();
        let typical_text = text_colours[text_colours.len() / 2];
        for (path, colours) in figure_colours {
            assert!(
                colours as f64 > 1.5 * typical_text as f64,
                "{}: shows a figure but has {colours} colours, like a text slide ({typical_text}): is the image missing?",
                path.display()
            );
        }
        assert!(!screenshot(deck, slides.len() + 1).exists(), "{deck}: more screenshots than slides: is the slide count wrong?");
    }
}
