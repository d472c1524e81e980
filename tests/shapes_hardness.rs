//! The expensive dataset test, in its own binary so that it does not compete for the CPU with
//! the other tests: raw pixels must do poorly on both built-in datasets, `shapes` and `textures`.

use std::time::Instant;

use selfsup::data::dataset::ImageDataset;
use selfsup::data::dataset::Splits;
use selfsup::data::procedural::ProceduralConfig;
use selfsup::data::{shapes, textures};

const NUM_CLASSES: usize = 10;
use selfsup::eval::{self, KnnConfig, LinearProbeConfig};

/// Subtracts the train mean image from both sets (the "mean-centred" raw-pixel features).
fn centred_pixels(train: &ImageDataset, test: &ImageDataset) -> (Vec<f32>, Vec<f32>) {
    let d = train.image_len();
    let (mean, _) = eval::column_mean_std(&train.pixels, d);
    let centre = |x: &[f32]| {
        let mut out = x.to_vec();
        for row in out.chunks_exact_mut(d) {
            row.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m);
        }
        out
    };
    (centre(&train.pixels), centre(&test.pixels))
}

/// The dataset must defeat raw pixels: weighted kNN (k = 20, T = 0.1, cosine on the
/// mean-centred pixel vectors) with the 10k training images as memory, scored on the 2k test
/// images, is far from what the same classifier gets on a separable toy problem.
#[test]
fn raw_pixel_knn_is_hard() {
    assert_eq!((shapes::NUM_CLASSES, textures::NUM_CLASSES), (NUM_CLASSES, NUM_CLASSES));
    let generators: [(&str, fn(&ProceduralConfig) -> Splits); 2] = [("shapes", shapes::generate), ("textures", textures::generate)];
    for (name, generate) in generators {
        println!("{name}:");
        raw_pixels_are_a_poor_representation(&generate(&ProceduralConfig::default()));
    }
}

fn raw_pixels_are_a_poor_representation(s: &Splits) {
    let d = s.train.image_len();
    let (train, test) = centred_pixels(&s.train, &s.test);

    let t = Instant::now();
    let knn = eval::knn_accuracy(&train, &s.train.labels, &test, &s.test.labels, d, NUM_CLASSES, &KnnConfig::default());
    println!("raw-pixel weighted kNN (k=20, T=0.1): {:.1}% in {:.2} s (chance {:.0}%)", 100.0 * knn, t.elapsed().as_secs_f64(), 100.0 / NUM_CLASSES as f32);

    // Informational: a linear probe on raw pixels (few epochs to keep the test short).
    let cfg = LinearProbeConfig { epochs: 5, ..LinearProbeConfig::default() };
    let t = Instant::now();
    let linear = eval::linear_probe_accuracy(&s.train.pixels, &s.train.labels, &s.test.pixels, &s.test.labels, d, NUM_CLASSES, &cfg);
    println!("raw-pixel linear probe ({} epochs): {:.1}% in {:.2} s", cfg.epochs, 100.0 * linear, t.elapsed().as_secs_f64());

    // The same kNN on a trivially separable set of the same shape: class = which block of
    // pixels is bright.
    let (toy_train, toy_train_labels) = separable_toy(1_000, d);
    let (toy_test, toy_test_labels) = separable_toy(200, d);
    let toy = eval::knn_accuracy(&toy_train, &toy_train_labels, &toy_test, &toy_test_labels, d, NUM_CLASSES, &KnnConfig::default());
    println!("same kNN on a separable toy: {:.1}%", 100.0 * toy);

    assert!(knn <= 0.40, "raw pixels are too informative: kNN accuracy {knn}");
    assert!(toy >= 0.95 && knn < toy - 0.5, "kNN {knn} is not well below the separable toy {toy}");
}

/// `n` vectors of length `d` whose class `c` lights up the `c`-th of `NUM_CLASSES` blocks.
fn separable_toy(n: usize, d: usize) -> (Vec<f32>, Vec<usize>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
    let block = d / NUM_CLASSES;
    let labels: Vec<usize> = (0..n).map(|i| i % NUM_CLASSES).collect();
    let mut x = vec![0.0f32; n * d];
    for (row, &c) in x.chunks_exact_mut(d).zip(&labels) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = rng.gen_range(0.0..0.5) + if j / block == c { 1.0 } else { 0.0 };
        }
    }
    (x, labels)
}

