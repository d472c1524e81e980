//! Tests of the built-in `textures` dataset (what both procedural datasets share is in
//! tests/shapes.rs).

use std::time::Instant;

use selfsup::data::procedural::{ProceduralConfig, Split};
use selfsup::data::textures::{generate, generate_split, CLASS_NAMES, NUM_CLASSES};

fn small(seed: u64) -> ProceduralConfig {
    ProceduralConfig { n_train: 300, n_test: 100, size: 32, seed }
}

#[test]
fn deterministic_balanced_in_range_and_different_per_seed_and_split() {
    let a = generate(&small(1));
    let b = generate(&small(1));
    assert_eq!(a.train.pixels, b.train.pixels);
    assert_eq!(a.test.labels, b.test.labels);
    assert_ne!(generate(&small(2)).train.pixels, a.train.pixels);
    assert_ne!(a.train.pixels[..3 * 32 * 32], a.test.pixels[..3 * 32 * 32]);
    assert_eq!((a.train.name.as_str(), a.train.len(), a.test.len()), ("textures/train", 300, 100));
    for c in 0..NUM_CLASSES {
        assert_eq!(a.train.labels.iter().filter(|&&l| l == c).count(), 30, "class {c}");
    }
    assert!(a.train.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    // The same images whatever the number of threads.
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(one.install(|| generate_split(&small(1), Split::Train)).pixels, a.train.pixels);
}

#[test]
fn generation_of_the_default_split_is_fast() {
    let t = Instant::now();
    let s = generate(&ProceduralConfig::default());
    let secs = t.elapsed().as_secs_f64();
    println!("generated {} + {} images in {secs:.3} s", s.train.len(), s.test.len());
    assert_eq!((s.train.len(), s.test.len()), (10_000, 2_000));
    // Generous bound (about 0.3 s on two idle cores); shared CI machines can be much slower.
    assert!(secs < 5.0, "generating the default splits took {secs:.2} s");
}

/// Writes one row per class (10 samples each, upscaled ×4) to `target/textures_grid.png`, for
/// looking at.
#[test]
fn sample_grid_png() {
    let s = generate(&ProceduralConfig { n_train: 400, n_test: 0, ..ProceduralConfig::default() });
    let (size, up, cols, gap) = (32usize, 4usize, 10usize, 4usize);
    let cell = size * up + gap;
    let mut grid = image::RgbImage::from_pixel((cols * cell) as u32, (NUM_CLASSES * cell) as u32, image::Rgb([255, 255, 255]));
    for c in 0..NUM_CLASSES {
        let picks: Vec<usize> = (0..s.train.len()).filter(|&i| s.train.labels[i] == c).take(cols).collect();
        for (col, &i) in picks.iter().enumerate() {
            let rgb = s.train.image(i).to_rgb8();
            for y in 0..size * up {
                for x in 0..size * up {
                    let o = ((y / up) * size + x / up) * 3;
                    grid.put_pixel((col * cell + gap / 2 + x) as u32, (c * cell + gap / 2 + y) as u32, image::Rgb([rgb[o], rgb[o + 1], rgb[o + 2]]));
                }
            }
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/textures_grid.png");
    grid.save(&path).unwrap();
    println!("rows, top to bottom: {CLASS_NAMES:?}; written to {}", path.display());
}
