//! Part 4's figures (`src/figures/vit.rs`): the patches of an image as the ViT's tokens, the
//! class token's attention at random initialisation, DINO's centring and sharpening on a
//! made-up teacher output (entropies checked against values computed by hand, with NumPy), the
//! copy of the `dino-backbone` attention picture, and the `dino-collapse` figures drawn from
//! the JSON in `results/experiments/`.

use dfdx::nn::BuildModule;
use dfdx::prelude::*;
use selfsup::augment::mosaic;
use selfsup::figures::attention::{attention_figure_labelled, class_attention};
use selfsup::figures::vit::{
    centring_batch, copy_backbone_attention, dino_centring_sharpening, patches_panel, vit_attention_random, vit_patches, CENTRING_BATCH, CENTRING_K, CENTRING_PANEL,
    DINO_ATTENTION, PATCH_SCALE, SIDE,
};
use selfsup::figures::{Experiment, REQUIRED_EXPERIMENTS};
use selfsup::image::Image;
use selfsup::nn::vit::{HEADS, IMAGE, PATCH, PATCHES, TOKENS};
use selfsup::nn::SmallVit;
use selfsup::plot::Figure;

type Dev = Cpu;

#[path = "common/pixels.rs"]
mod pixels;
use pixels::bounding_box;


fn pixel(fig: &Figure, x: usize, y: usize) -> [u8; 3] {
    let i = 3 * (y * fig.width as usize + x);
    [fig.rgb[i], fig.rgb[i + 1], fig.rgb[i + 2]]
}

/// The RGB8 value the figures draw for `img`'s pixel `(y, x)`.
fn rgb8(img: &Image, y: usize, x: usize) -> [u8; 3] {
    let bytes = img.to_rgb8();
    let i = 3 * (y * img.width + x);
    [bytes[i], bytes[i + 1], bytes[i + 2]]
}

#[test]
fn the_patches_figure_shows_the_image_and_its_64_patches_in_token_order() {
    let f = vit_patches(0).unwrap();
    assert_eq!((f.image.channels, f.image.height, f.image.width), (3, IMAGE, IMAGE));
    assert_eq!(f.patches.len(), PATCHES);
    assert!(f.patches.iter().all(|p| (p.channels, p.height, p.width) == (3, PATCH, PATCH)));
    // Patch (r, c), token 1 + 8r + c, is the image's block at (4r, 4c); tiled back, the image.
    for (k, p) in f.patches.iter().enumerate() {
        let (r, c) = (k / SIDE, k % SIDE);
        for (ch, y, x) in [(0, 0, 0), (1, 1, 2), (2, 3, 3)] {
            assert_eq!(p.get(ch, y, x), f.image.get(ch, PATCH * r + y, PATCH * c + x), "patch {k}");
        }
    }
    assert_eq!(mosaic(&f.patches, SIDE).data, f.image.data);

    // The same grid with each patch a solid marker colour locates every patch in the figure:
    // the patches panel is the right one of the two, top-aligned.
    let marker = |k: usize| [5u8, 240 - k as u8, 9];
    let markers: Vec<Image> = (0..PATCHES).map(|k| Image::from_vec(3, PATCH, PATCH, marker(k).iter().flat_map(|&v| vec![v as f32 / 255.0; PATCH * PATCH]).collect())).collect();
    let layout = patches_panel(&markers).unwrap();
    assert!(f.figure.width > layout.width + (IMAGE * PATCH_SCALE) as u32, "the image (320 px) left of the patches");
    assert!(f.figure.height >= layout.height);
    let dx = (f.figure.width - layout.width) as usize;
    let side = PATCH * PATCH_SCALE;
    for (k, p) in f.patches.iter().enumerate() {
        let (x0, y0, x1, y1) = bounding_box(&layout, marker(k)).unwrap_or_else(|| panic!("patch {k} is drawn"));
        assert_eq!((x1 - x0, y1 - y0), (side, side), "patch {k}: {PATCH} px at ×{PATCH_SCALE}");
        for (y, x) in [(0, 0), (side - 1, side - 1), (side / 2, 3)] {
            assert_eq!(pixel(&f.figure, dx + x0 + x, y0 + y), rgb8(p, y / PATCH_SCALE, x / PATCH_SCALE), "patch {k}, pixel ({y}, {x})");
        }
    }
    // Row r of the grid holds tokens 8r + 1 … 8r + 8, left to right.
    let first = bounding_box(&layout, marker(0)).unwrap();
    let second = bounding_box(&layout, marker(1)).unwrap();
    let below = bounding_box(&layout, marker(SIDE)).unwrap();
    assert!(second.0 > first.0 && second.1 == first.1 && below.1 > first.1 && below.0 == first.0);

    assert!(patches_panel(&markers[1..]).is_err(), "63 tiles are no 8x8 grid");
}

#[test]
fn the_random_init_attention_figure_is_the_class_token_attention_of_a_seeded_vit() {
    let rows = 4;
    let f = vit_attention_random(0, rows).unwrap();
    assert_eq!(f.images.len(), rows);
    assert_eq!(f.names.len(), rows);
    assert!(f.names.iter().enumerate().all(|(i, n)| !f.names[..i].contains(n)), "one image per class: {:?}", f.names);
    assert_eq!(f.attention.len(), rows * HEADS * PATCHES);

    // The ViT `--encoder vit` builds from seed 0, drawn by the attention figure.
    let vit = SmallVit::<Dev>::build(&Dev::seed_from_u64(0));
    assert_eq!(f.attention, class_attention(&vit, &f.images).unwrap());
    let direct = attention_figure_labelled(&f.images, &f.names, &vit, "[CLS] attention per head, last block, random init").unwrap();
    assert_eq!(f.figure, direct);
    // Rows of the image and one map per head, 32-px tiles at ×3.
    assert!(f.figure.width as usize >= (1 + HEADS) * 3 * IMAGE && f.figure.height as usize >= rows * 3 * IMAGE);

    // Untrained, the class token spreads its attention nearly evenly: every patch gets between
    // half and twice 1/65, and the patches get most of it (the rest is on itself).
    let even = 1.0 / TOKENS as f32;
    for (m, map) in f.attention.chunks_exact(PATCHES).enumerate() {
        let (lo, hi) = map.iter().fold((f32::MAX, 0.0f32), |(lo, hi), &a| (lo.min(a), hi.max(a)));
        assert!(lo > 0.5 * even && hi < 2.0 * even, "image {}, head {}: weights {lo}..{hi}", m / HEADS, m % HEADS);
        let total: f32 = map.iter().sum();
        assert!(total > 0.9 && total < 1.0, "map {m}: the patches get {total}");
    }

    assert!(vit_attention_random(0, 0).is_err());
    assert!(vit_attention_random(0, 11).is_err());
}

/// Entropy in nats, in f64, of softmax((x − c) / τ), written out independently of the library.
fn softmax(x: &[f32], c: &[f32], tau: f32) -> Vec<f64> {
    let l: Vec<f64> = x.iter().zip(c).map(|(&a, &b)| (a as f64 - b as f64) / tau as f64).collect();
    let m = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = l.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn entropy(p: &[f64]) -> f64 {
    p.iter().filter(|&&v| v > 0.0).map(|v| -v * v.ln()).sum()
}

#[test]
fn centring_and_sharpening_entropies_match_hand_computed_values() {
    let (k, n) = (CENTRING_K, CENTRING_BATCH);
    let f = dino_centring_sharpening().unwrap();
    assert_eq!(f.batch, centring_batch());
    assert_eq!(f.batch.len(), n * k);
    // The shown vector t (row 0) and the centre (the batch mean), by hand.
    let t = [0.30f32, 0.17, 0.04, -0.04, -0.02, 0.0, 0.02, 0.04];
    for (j, (&got, want)) in f.batch[..k].iter().zip(t).enumerate() {
        assert!((got - want).abs() < 1e-6, "t[{j}] = {got}, expected {want}");
    }
    let centre = [0.3f32, 0.029375, 0.030625, -0.02125, 0.0175, 0.01875, 0.02, 0.02125];
    for (j, (&got, want)) in f.centre.iter().zip(centre).enumerate() {
        assert!((got - want).abs() < 1e-6, "c[{j}] = {got}, expected {want}");
    }

    // Entropies of row 0 and means over the batch, from NumPy on the same numbers (f64).
    let expected = [
        ("softmax(t/τ_s)", 0.1f32, false, 1.285712, 1.210648, (0, 16)),
        ("softmax(t/τ_t): sharpened", 0.04, false, 0.196626, 0.165213, (0, 16)),
        ("softmax((t − c)/τ_s): centred", 0.1, true, 1.860634, 1.821501, (1, 3)),
        ("softmax((t − c)/τ_t): both", 0.04, true, 0.744252, 0.708661, (1, 3)),
    ];
    assert_eq!(f.panels.len(), expected.len());
    let zero = [0.0f32; 8];
    for (p, (formula, tau, centred, h, batch_h, peak)) in f.panels.iter().zip(expected) {
        assert_eq!((p.formula.as_str(), p.tau, p.centred, p.peak), (formula, tau, centred, peak));
        assert!((p.entropy - h).abs() < 1e-4, "{formula}: H = {}, expected {h}", p.entropy);
        assert!((p.batch_entropy - batch_h).abs() < 1e-4, "{formula}: batch H = {}, expected {batch_h}", p.batch_entropy);
        let by_hand = softmax(&t, if centred { &centre } else { &zero }, tau);
        for (j, (&got, want)) in p.probs.iter().zip(&by_hand).enumerate() {
            assert!((got as f64 - want).abs() < 1e-5, "{formula}: P_{j} = {got}, by hand {want}");
        }
        assert!((entropy(&by_hand) - h).abs() < 1e-4, "{formula}: the hand softmax's entropy");
    }
    // The story the figure tells: sharpening alone peaks every image at output 0 (the one high
    // for all), centring alone flattens towards uniform (ln 8), both peak each image on its own.
    let h: Vec<f64> = f.panels.iter().map(|p| p.entropy).collect();
    assert!(h[1] < h[0] && h[0] < h[2] && h[2] < (k as f64).ln() && h[3] < h[2]);
    assert!((f.panels[3].probs[1] - 0.8379).abs() < 1e-4, "DINO's target on t's own output: {}", f.panels[3].probs[1]);

    // Two rows of two bar panels.
    assert_eq!((f.figure.width, f.figure.height), (2 * CENTRING_PANEL.0 + 20, 2 * CENTRING_PANEL.1));
}

#[test]
fn the_backbone_attention_picture_is_copied_or_named_missing_with_its_command() {
    let dir = tempfile::tempdir().unwrap();
    let (experiments, out) = (dir.path().join("experiments"), dir.path().join("figures"));
    std::fs::create_dir_all(&experiments).unwrap();
    let err = copy_backbone_attention(&experiments, &out).unwrap_err().to_string();
    assert!(err.contains("dino-backbone-attention.png: not found") && err.contains("selfsup experiment dino-backbone"), "{err}");
    assert!(!out.join(DINO_ATTENTION).exists());

    let src = experiments.join("dino-backbone-attention.png");
    std::fs::write(&src, b"not a png").unwrap();
    let err = copy_backbone_attention(&experiments, &out).unwrap_err().to_string();
    assert!(err.contains("not a readable image"), "{err}");

    Figure::from_rgb(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap().save_png(&src).unwrap();
    let written = copy_backbone_attention(&experiments, &out).unwrap();
    assert_eq!(written, out.join(DINO_ATTENTION));
    assert_eq!(std::fs::read(&written).unwrap(), std::fs::read(&src).unwrap());
}

#[test]
fn the_dino_collapse_figures_come_from_its_json_and_part_4_experiments_are_required() {
    for name in ["dino-collapse", "dino-backbone"] {
        assert!(REQUIRED_EXPERIMENTS.contains(&name), "{name} is shown by the part-4 deck");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/experiments/dino-collapse.json");
    let e = Experiment::load(&path).unwrap();
    assert_eq!(e.rows.len(), 4, "DINO, no centring, no sharpening, neither");
    let k = selfsup::experiments::dino_outputs(&e);
    assert_eq!(k, 1024);
    let diagnostics = e.distillation_chart((k as f64).ln()).unwrap().expect("its rows carry the teacher's entropy and KL");
    assert!(diagnostics.width > 1200 && diagnostics.height > 400, "two panels: {}x{}", diagnostics.width, diagnostics.height);
    let chart = e.chart().unwrap();
    let table = e.table().unwrap();
    assert!(chart.width > 100 && table.width > 100);
}
