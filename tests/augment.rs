//! Invariants of the augmentation module (`selfsup::augment`).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use selfsup::augment::*;
use selfsup::image::Image;
use selfsup::Error;

// ---------------------------------------------------------------- helpers

fn noise(channels: usize, height: usize, width: usize, seed: u64) -> Image {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = (0..channels * height * width).map(|_| rng.gen::<f32>()).collect();
    Image::from_vec(channels, height, width, data)
}

fn constant(channels: usize, height: usize, width: usize, v: f32) -> Image {
    Image::from_vec(channels, height, width, vec![v; channels * height * width])
}

fn solid_rgb(height: usize, width: usize, rgb: [f32; 3]) -> Image {
    let mut img = Image::zeros(3, height, width);
    for (plane, v) in img.data.chunks_exact_mut(height * width).zip(rgb) {
        plane.fill(v);
    }
    img
}

/// Horizontal ramp: value `x / (width - 1)` in every channel.
fn ramp(channels: usize, height: usize, width: usize) -> Image {
    let mut img = Image::zeros(channels, height, width);
    for c in 0..channels {
        for y in 0..height {
            for x in 0..width {
                img.set(c, y, x, x as f32 / (width - 1) as f32);
            }
        }
    }
    img
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn max_abs_diff(a: &Image, b: &Image) -> f32 {
    assert_eq!((a.channels, a.height, a.width), (b.channels, b.height, b.width));
    a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len() as f32
}

fn variance(v: &[f32]) -> f32 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len() as f32
}

fn assert_in_unit_range(img: &Image, what: &str) {
    for &v in &img.data {
        assert!((0.0..=1.0).contains(&v) && v.is_finite(), "{what}: value {v} outside [0, 1]");
    }
}

fn shape(img: &Image) -> (usize, usize, usize) {
    (img.channels, img.height, img.width)
}

// ---------------------------------------------------------------- crop and resize

#[test]
fn random_resized_crop_output_size_is_exact() {
    let crop = RandomResizedCrop::new((24, 20), (0.08, 1.0));
    let img = noise(3, 32, 40, 1);
    for s in 0..50 {
        let out = crop.apply(&img, &mut rng(s));
        assert_eq!(shape(&out), (3, 24, 20));
        assert_in_unit_range(&out, "crop");
    }
}

#[test]
fn random_resized_crop_boxes_fit_and_follow_scale_and_ratio() {
    let crop = RandomResizedCrop::new((32, 32), (0.2, 0.6));
    let mut r = rng(7);
    let mut distinct = std::collections::HashSet::new();
    for _ in 0..500 {
        let b = crop.sample_box(64, 64, &mut r);
        assert!(b.height > 0 && b.width > 0);
        assert!(b.top + b.height <= 64 && b.left + b.width <= 64, "box {b:?} leaves the image");
        let frac = (b.height * b.width) as f32 / (64.0 * 64.0);
        // Rounding the sides moves the area a little.
        assert!((0.17..=0.66).contains(&frac), "area fraction {frac} outside scale for {b:?}");
        let aspect = b.width as f32 / b.height as f32;
        assert!((0.68..=1.47).contains(&aspect), "aspect {aspect} outside ratio for {b:?}");
        distinct.insert((b.top, b.left, b.height, b.width));
    }
    assert!(distinct.len() > 100, "crop boxes are not random enough: {} distinct", distinct.len());
}

#[test]
fn random_resized_crop_falls_back_to_centre_crop() {
    // A very wide image with ratio forced to 1: a square covering 90%+ of the area never fits,
    // so the fallback must return the centred square of side = height.
    let crop = RandomResizedCrop::with_ratio((8, 8), (0.9, 1.0), (1.0, 1.0));
    let b = crop.sample_box(10, 100, &mut rng(3));
    assert_eq!(b, CropBox { top: 0, left: 45, height: 10, width: 10 });
}

#[test]
fn crop_with_full_scale_and_square_ratio_reproduces_the_image() {
    let img = noise(3, 16, 16, 2);
    let crop = RandomResizedCrop::with_ratio((16, 16), (1.0, 1.0), (1.0, 1.0));
    for s in 0..5 {
        assert_eq!(crop.apply(&img, &mut rng(s)), img);
    }
}

#[test]
fn resize_to_same_size_is_identity() {
    let img = noise(3, 13, 17, 3);
    assert_eq!(resize_bilinear(&img, 13, 17), img);
}

#[test]
fn bilinear_downsample_of_a_ramp_is_a_ramp() {
    let img = ramp(1, 4, 16);
    let out = resize_bilinear(&img, 4, 8);
    assert_eq!(shape(&out), (1, 4, 8));
    for y in 0..4 {
        for x in 0..8 {
            // Output pixel x samples source position 2x + 0.5 (half-pixel centres).
            let expected = (2.0 * x as f32 + 0.5) / 15.0;
            assert!(
                (out.get(0, y, x) - expected).abs() < 1e-5,
                "({y},{x}): {} vs {expected}",
                out.get(0, y, x)
            );
        }
    }
}

#[test]
fn bilinear_upsample_of_a_ramp_is_a_ramp_away_from_the_edges() {
    let img = ramp(1, 2, 8);
    let out = resize_bilinear(&img, 2, 32);
    // Source position of output x is (x + 0.5) / 4 - 0.5; inside [0, 7] for x in 2..=29.
    let step = out.get(0, 0, 3) - out.get(0, 0, 2);
    assert!((step - 1.0 / 28.0).abs() < 1e-5, "slope {step}");
    for x in 2..29 {
        let d = out.get(0, 0, x + 1) - out.get(0, 0, x);
        assert!((d - step).abs() < 1e-5, "not linear at {x}: {d} vs {step}");
    }
    // Monotone everywhere, clamped (flat) at the borders.
    for x in 0..31 {
        assert!(out.get(0, 0, x + 1) >= out.get(0, 0, x) - 1e-6);
    }
    assert_eq!(out.get(0, 0, 0), 0.0);
    assert_eq!(out.get(0, 0, 31), 1.0);
}

#[test]
fn resized_crop_reads_only_the_region() {
    // Left half black, right half white; cropping the right half gives all white.
    let mut img = Image::zeros(1, 8, 8);
    for y in 0..8 {
        for x in 4..8 {
            img.set(0, y, x, 1.0);
        }
    }
    let out = resized_crop(&img, CropBox { top: 0, left: 4, height: 8, width: 4 }, 16, 16);
    assert!(out.data.iter().all(|&v| v == 1.0));
}

#[test]
fn center_crop_and_resize() {
    let img = ramp(3, 10, 10);
    let out = CenterCrop::new((4, 6)).apply(&img, &mut rng(0));
    assert_eq!(shape(&out), (3, 4, 6));
    // Columns 2..8 of the source.
    assert_eq!(out.get(1, 0, 0), img.get(1, 3, 2));
    assert_eq!(out.get(2, 3, 5), img.get(2, 6, 7));
    // Larger than the image: zero padding around the centred original.
    let padded = CenterCrop::new((12, 12)).apply(&constant(1, 10, 10, 0.5), &mut rng(0));
    assert_eq!(padded.get(0, 0, 0), 0.0);
    assert_eq!(padded.get(0, 1, 1), 0.5);
    assert_eq!(padded.get(0, 11, 11), 0.0);
    let resized = Resize::new((5, 7)).apply(&img, &mut rng(0));
    assert_eq!(shape(&resized), (3, 5, 7));
}

// ---------------------------------------------------------------- flip

#[test]
fn flip_mirrors_a_known_pixel() {
    let mut img = Image::zeros(3, 4, 5);
    img.set(1, 2, 0, 0.7);
    let out = RandomHorizontalFlip::new(1.0).apply(&img, &mut rng(0));
    assert_eq!(out.get(1, 2, 4), 0.7);
    assert_eq!(out.get(1, 2, 0), 0.0);
    assert_eq!(out.data.iter().filter(|&&v| v != 0.0).count(), 1);
}

#[test]
fn flip_twice_is_identity_and_p0_never_flips() {
    let img = noise(3, 6, 7, 4);
    let flip = RandomHorizontalFlip::new(1.0);
    let once = flip.apply(&img, &mut rng(0));
    assert_ne!(once, img);
    assert_eq!(flip.apply(&once, &mut rng(1)), img);
    let never = RandomHorizontalFlip::new(0.0);
    for s in 0..100 {
        assert_eq!(never.apply(&img, &mut rng(s)), img);
    }
}

#[test]
fn flip_half_the_time_at_p_half() {
    let img = noise(1, 4, 4, 5);
    let flip = RandomHorizontalFlip::default();
    let mut r = rng(9);
    let flipped = (0..1000).filter(|_| flip.apply(&img, &mut r) != img).count();
    assert!((400..=600).contains(&flipped), "flipped {flipped} of 1000");
}

// ---------------------------------------------------------------- colour

#[test]
fn brightness_scales_a_constant_image() {
    let img = constant(3, 4, 4, 0.5);
    let out = adjust_brightness(&img, 1.5);
    assert!(out.data.iter().all(|&v| (v - 0.75).abs() < 1e-6));
    // Clamped at 1.
    assert!(adjust_brightness(&img, 3.0).data.iter().all(|&v| v == 1.0));
    // Jitter with brightness only: factor in [0.6, 1.4], image stays constant.
    let jitter = ColorJitter::new(0.4, 0.0, 0.0, 0.0);
    let mut seen = Vec::new();
    for s in 0..200 {
        let out = jitter.apply(&img, &mut rng(s));
        let v = out.data[0];
        assert!(out.data.iter().all(|&x| (x - v).abs() < 1e-6), "not constant");
        assert!((0.3 - 1e-6..=0.7 + 1e-6).contains(&v), "brightness value {v} out of range");
        seen.push(v);
    }
    let lo = seen.iter().cloned().fold(1.0, f32::min);
    let hi = seen.iter().cloned().fold(0.0, f32::max);
    assert!(lo < 0.35 && hi > 0.65, "factors do not cover the range: [{lo}, {hi}]");
}

#[test]
fn zero_jitter_and_unit_factors_are_identity() {
    let img = noise(3, 8, 8, 6);
    for s in 0..10 {
        assert_eq!(ColorJitter::new(0.0, 0.0, 0.0, 0.0).apply(&img, &mut rng(s)), img);
    }
    assert!(max_abs_diff(&adjust_contrast(&img, 1.0), &img) < 1e-6);
    assert!(max_abs_diff(&adjust_saturation(&img, 1.0), &img) < 1e-6);
    assert!(max_abs_diff(&adjust_hue(&img, 0.0), &img) < 1e-5);
    // p = 0 never jitters even with strong settings.
    let never = ColorJitter::new(0.8, 0.8, 0.8, 0.5).with_p(0.0);
    assert_eq!(never.apply(&img, &mut rng(1)), img);
    // ... but the strong jitter at p = 1 does change it.
    assert_ne!(ColorJitter::new(0.8, 0.8, 0.8, 0.5).apply(&img, &mut rng(1)), img);
}

#[test]
fn contrast_blends_with_the_mean_gray_level() {
    let img = noise(3, 8, 8, 7);
    let n = img.plane();
    let gray_mean = (0..n)
        .map(|i| 0.299 * img.data[i] + 0.587 * img.data[n + i] + 0.114 * img.data[2 * n + i])
        .sum::<f32>()
        / n as f32;
    let flat = adjust_contrast(&img, 0.0);
    assert!(flat.data.iter().all(|&v| (v - gray_mean).abs() < 1e-5));
    let half = adjust_contrast(&img, 0.5);
    for (o, i) in half.data.iter().zip(&img.data) {
        assert!((o - (0.5 * i + 0.5 * gray_mean)).abs() < 1e-5);
    }
}

#[test]
fn grayscale_uses_bt601_weights_and_keeps_three_channels() {
    for (rgb, expected) in
        [([1.0, 0.0, 0.0], 0.299), ([0.0, 1.0, 0.0], 0.587), ([0.0, 0.0, 1.0], 0.114)]
    {
        let out = grayscale(&solid_rgb(2, 3, rgb));
        assert_eq!(shape(&out), (3, 2, 3));
        assert!(
            out.data.iter().all(|&v| (v - expected).abs() < 1e-6),
            "{rgb:?} -> {}",
            out.data[0]
        );
    }
    let img = noise(3, 5, 5, 8);
    let out = RandomGrayscale::new(1.0).apply(&img, &mut rng(0));
    let n = out.plane();
    for i in 0..n {
        assert_eq!(out.data[i], out.data[n + i]);
        assert_eq!(out.data[i], out.data[2 * n + i]);
    }
    assert_eq!(RandomGrayscale::new(0.0).apply(&img, &mut rng(0)), img);
}

#[test]
fn saturation_zero_gives_grayscale() {
    let img = noise(3, 6, 6, 9);
    assert!(max_abs_diff(&adjust_saturation(&img, 0.0), &grayscale(&img)) < 1e-6);
}

#[test]
fn hue_shift_rotates_colours_and_a_full_turn_is_identity() {
    let img = noise(3, 8, 8, 10);
    assert!(max_abs_diff(&adjust_hue(&img, 1.0), &img) < 1e-4);
    assert!(max_abs_diff(&adjust_hue(&img, -1.0), &img) < 1e-4);
    // A third of a turn maps red -> green -> blue.
    let red = solid_rgb(2, 2, [1.0, 0.0, 0.0]);
    let green = adjust_hue(&red, 1.0 / 3.0);
    assert!(max_abs_diff(&green, &solid_rgb(2, 2, [0.0, 1.0, 0.0])) < 1e-5);
    let blue = adjust_hue(&red, 2.0 / 3.0);
    assert!(max_abs_diff(&blue, &solid_rgb(2, 2, [0.0, 0.0, 1.0])) < 1e-5);
    // Half a turn changes a colourful image.
    assert!(max_abs_diff(&adjust_hue(&img, 0.5), &img) > 0.1);
}

#[test]
fn hsv_round_trip() {
    let mut r = rng(11);
    for _ in 0..1000 {
        let (red, g, b) = (r.gen::<f32>(), r.gen::<f32>(), r.gen::<f32>());
        let (h, s, v) = rgb_to_hsv(red, g, b);
        assert!((0.0..1.0).contains(&h) && (0.0..=1.0).contains(&s) && (0.0..=1.0).contains(&v));
        let (r2, g2, b2) = hsv_to_rgb(h, s, v);
        assert!((red - r2).abs() < 1e-5 && (g - g2).abs() < 1e-5 && (b - b2).abs() < 1e-5);
    }
    assert_eq!(rgb_to_hsv(0.0, 0.0, 1.0), (2.0 / 3.0, 1.0, 1.0));
}

#[test]
fn hue_jitter_stays_within_its_range() {
    let red = solid_rgb(1, 1, [1.0, 0.0, 0.0]);
    let jitter = ColorJitter::new(0.0, 0.0, 0.0, 0.1);
    let mut max_shift: f32 = 0.0;
    for s in 0..300 {
        let out = jitter.apply(&red, &mut rng(s));
        let (h, sat, v) = rgb_to_hsv(out.data[0], out.data[1], out.data[2]);
        let shift = if h > 0.5 { h - 1.0 } else { h };
        assert!(shift.abs() <= 0.1 + 1e-5, "hue moved by {shift}");
        assert!((sat - 1.0).abs() < 1e-5 && (v - 1.0).abs() < 1e-5);
        max_shift = max_shift.max(shift.abs());
    }
    assert!(max_shift > 0.08, "hue jitter hardly moves: {max_shift}");
}

#[test]
fn colour_ops_on_grayscale_images() {
    let img = noise(1, 8, 8, 12);
    assert_eq!(adjust_saturation(&img, 0.0), img);
    assert_eq!(adjust_hue(&img, 0.3), img);
    assert_eq!(grayscale(&img), img);
    assert!(
        max_abs_diff(
            &adjust_brightness(&img, 0.5),
            &Image::from_vec(1, 8, 8, img.data.iter().map(|v| v * 0.5).collect())
        ) < 1e-6
    );
    let jittered = ColorJitter::new(0.4, 0.4, 0.4, 0.1).apply(&img, &mut rng(3));
    assert_eq!(shape(&jittered), (1, 8, 8));
    assert_ne!(jittered, img);
    assert_in_unit_range(&jittered, "jitter on gray");
}

// ---------------------------------------------------------------- blur

#[test]
fn gaussian_kernel_is_normalised_and_symmetric() {
    let k = gaussian_kernel(1.5, 4);
    assert_eq!(k.len(), 9);
    assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    for i in 0..4 {
        assert!((k[i] - k[8 - i]).abs() < 1e-7);
        assert!(k[i] < k[i + 1]);
    }
    let sharp = gaussian_kernel(0.01, 2);
    assert!((sharp[2] - 1.0).abs() < 1e-6);
}

#[test]
fn blur_radius_follows_sigma_and_image_size() {
    let blur = GaussianBlur::new((0.1, 2.0), 1.0);
    assert_eq!(blur.radius(2.0, 32, 32), 1); // 3-tap kernel at 32 px
    assert_eq!(blur.radius(2.0, 96, 96), 4); // 9 taps at 96 px
    assert_eq!(blur.radius(2.0, 224, 224), 6); // ceil(3 sigma) below the cap of 11
    assert_eq!(blur.radius(5.0, 224, 224), 11); // SimCLR's 23 taps
    assert_eq!(blur.radius(0.1, 224, 224), 1);
}

#[test]
fn blur_preserves_constants_and_mean_and_reduces_noise() {
    let blur = GaussianBlur::new((1.0, 1.0), 1.0);
    let c = constant(3, 32, 32, 0.3);
    assert!(max_abs_diff(&blur.apply(&c, &mut rng(0)), &c) < 1e-6);

    let img = noise(1, 32, 32, 13);
    let out = blur.apply(&img, &mut rng(0));
    assert_eq!(shape(&out), (1, 32, 32));
    assert!((mean(&out.data) - mean(&img.data)).abs() < 0.01);
    let (v_in, v_out) = (variance(&img.data), variance(&out.data));
    assert!(v_out < 0.5 * v_in, "variance {v_in} -> {v_out}");

    // A bigger image allows a bigger kernel and blurs more.
    let big = noise(1, 128, 128, 14);
    let wide = GaussianBlur::new((2.0, 2.0), 1.0).apply(&big, &mut rng(0));
    assert!(variance(&wide.data) < 0.1 * variance(&big.data));

    assert_eq!(GaussianBlur::new((1.0, 2.0), 0.0).apply(&img, &mut rng(0)), img);
}

#[test]
fn blur_handles_tiny_images() {
    let img = noise(3, 1, 3, 15);
    let out = gaussian_blur(&img, 3.0, 5);
    assert_eq!(shape(&out), (3, 1, 3));
    assert_in_unit_range(&out, "tiny blur");
}

// ---------------------------------------------------------------- solarize

#[test]
fn solarize_inverts_at_and_above_threshold() {
    let img = Image::from_vec(1, 1, 5, vec![0.0, 0.49, 0.5, 0.8, 1.0]);
    let out = Solarize::new(0.5, 1.0).apply(&img, &mut rng(0));
    let expected = [0.0, 0.49, 0.5, 0.2, 0.0];
    for (o, e) in out.data.iter().zip(expected) {
        assert!((o - e).abs() < 1e-6, "{:?}", out.data);
    }
    assert_eq!(solarize(&img, 0.9).data[3], 0.8);
    // Exactly at the threshold the value is inverted (x >= threshold, not x > threshold).
    let at = solarize(&Image::from_vec(1, 1, 2, vec![0.39, 0.4]), 0.4);
    assert_eq!(at.data[0], 0.39);
    assert!((at.data[1] - 0.6).abs() < 1e-6, "{:?}", at.data);
    assert_eq!(Solarize::new(0.5, 0.0).apply(&img, &mut rng(0)), img);
}

// ---------------------------------------------------------------- pipelines

fn all_presets(size: usize) -> Vec<(&'static str, Pipeline)> {
    let (b1, b2) = Pipeline::byol_views(size);
    vec![
        ("simclr", Pipeline::simclr(size)),
        ("simclr_without_color", Pipeline::simclr_without_color(size)),
        ("simclr_without_crop", Pipeline::simclr_without_crop(size)),
        ("byol1", b1),
        ("byol2", b2),
        ("multicrop_local", MultiCrop::new(size, size / 2).local_pipeline()),
    ]
}

#[test]
fn presets_keep_values_in_range_and_output_size() {
    let img = noise(3, 40, 36, 16);
    for (name, p) in all_presets(32) {
        for s in 0..20 {
            let out = p.apply(&img, &mut rng(s));
            if name == "multicrop_local" {
                assert_eq!(shape(&out), (3, 16, 16), "{name}");
            } else {
                assert_eq!(shape(&out), (3, 32, 32), "{name}");
            }
            assert_in_unit_range(&out, name);
        }
    }
}

#[test]
fn pipeline_is_deterministic_per_seed_and_varies_across_seeds() {
    let img = noise(3, 32, 32, 17);
    let p = Pipeline::simclr(32);
    let a = p.apply(&img, &mut rng(42));
    assert_eq!(p.apply(&img, &mut rng(42)), a);
    let differing = (0..10).filter(|&s| p.apply(&img, &mut rng(100 + s)) != a).count();
    assert_eq!(differing, 10);
}

#[test]
fn empty_pipeline_is_identity_and_pipelines_nest() {
    let img = noise(3, 8, 8, 18);
    assert_eq!(Pipeline::new().apply(&img, &mut rng(0)), img);
    let nested = Pipeline::new().then(Pipeline::new().then(RandomHorizontalFlip::new(1.0)));
    assert_eq!(nested.apply(&img, &mut rng(0)), hflip(&img));
    assert_eq!(nested.len(), 1);
    assert!(nested.name().contains("RandomHorizontalFlip(p=1)"), "{}", nested.name());
}

#[test]
fn simclr_without_color_keeps_colour_and_simclr_changes_it() {
    let red = solid_rgb(32, 32, [0.9, 0.1, 0.1]);
    let no_colour = Pipeline::simclr_without_color(32);
    for s in 0..20 {
        assert!(max_abs_diff(&no_colour.apply(&red, &mut rng(s)), &red) < 1e-5);
    }
    let simclr = Pipeline::simclr(32);
    let changed =
        (0..20).filter(|&s| max_abs_diff(&simclr.apply(&red, &mut rng(s)), &red) > 0.01).count();
    assert!(changed >= 10, "colour changed in only {changed} of 20 views");
}

#[test]
fn simclr_without_crop_keeps_the_whole_image() {
    // Left half black, right half white. Without a crop the edge stays between columns 15 and
    // 16 (up to a flip); jitter is global and the 3-tap blur only touches those two columns.
    let mut img = Image::zeros(3, 32, 32);
    for c in 0..3 {
        for y in 0..32 {
            for x in 16..32 {
                img.set(c, y, x, 1.0);
            }
        }
    }
    let check = |p: &Pipeline, s: u64| -> bool {
        let out = p.apply(&img, &mut rng(s));
        let row: Vec<f32> = (0..32).map(|x| out.get(0, 16, x)).collect();
        let left_equal = row[..15].iter().all(|&v| (v - row[0]).abs() < 1e-6);
        let right_equal = row[17..].iter().all(|&v| (v - row[31]).abs() < 1e-6);
        left_equal && right_equal && (row[0] - row[31]).abs() > 0.05
    };
    let p = Pipeline::simclr_without_crop(32);
    for s in 0..30 {
        assert!(check(&p, s), "seed {s}: the edge moved, so the image was cropped");
    }
    // The full SimCLR pipeline (with its crop) moves the edge for most seeds.
    let simclr = Pipeline::simclr(32);
    let kept = (0..30).filter(|&s| check(&simclr, s)).count();
    assert!(kept < 10, "simclr kept the edge in {kept} of 30 views");
    // Resize to a different size.
    assert_eq!(shape(&Pipeline::simclr_without_crop(16).apply(&img, &mut rng(0))), (3, 16, 16));
}

#[test]
fn byol_views_are_asymmetric() {
    let (v1, v2) = Pipeline::byol_views(32);
    let (n1, n2) = (v1.name(), v2.name());
    assert!(n1.contains("GaussianBlur(sigma=(0.1, 2), p=1,") && !n1.contains("Solarize"), "{n1}");
    assert!(
        n2.contains("GaussianBlur(sigma=(0.1, 2), p=0.1,")
            && n2.contains("Solarize(threshold=0.5, p=0.2)"),
        "{n2}"
    );
    // Behaviour: on a white image every step but jitter keeps values >= 0.6; only solarisation
    // (view 2, p = 0.2) can make it dark.
    let white = constant(3, 32, 32, 1.0);
    let dark = |p: &Pipeline| {
        (0..200).filter(|&s| mean(&p.apply(&white, &mut rng(s)).data) < 0.45).count()
    };
    assert_eq!(dark(&v1), 0);
    let d2 = dark(&v2);
    assert!((20..=70).contains(&d2), "view 2 solarised {d2} of 200 times, expected about 40");
}

#[test]
fn grayscale_input_works_through_the_presets() {
    let img = noise(1, 32, 32, 20);
    for (name, p) in all_presets(32) {
        let out = p.apply(&img, &mut rng(1));
        assert_eq!(out.channels, 1, "{name}");
        assert_in_unit_range(&out, name);
    }
    let views =
        ViewGenerator::two_view(Pipeline::simclr(24)).views_batch(&[img.clone(), img], 5).unwrap();
    assert_eq!(views[0].shape(), [2, 1, 24, 24]);
}

// ---------------------------------------------------------------- view generation

fn batch(n: usize) -> Vec<Image> {
    (0..n).map(|i| noise(3, 32, 32, 1000 + i as u64)).collect()
}

#[test]
fn views_are_deterministic_in_seed() {
    let images = batch(6);
    let gen = ViewGenerator::two_view(Pipeline::simclr(32));
    let a = gen.views_batch(&images, 123).unwrap();
    assert_eq!(gen.views_batch(&images, 123).unwrap(), a);
    let b = gen.views_batch(&images, 124).unwrap();
    assert_ne!(a[0].data, b[0].data);
    assert_ne!(a[1].data, b[1].data);
    // The two views of one image differ from each other.
    assert_ne!(a[0].data, a[1].data);
}

#[test]
fn parallel_generation_equals_sequential() {
    let images = batch(16);
    let gen = ViewGenerator::byol(32);
    let parallel = gen.generate(&images, 77);
    let sequential: Vec<Vec<Image>> =
        images.iter().enumerate().map(|(i, img)| gen.views_for(img, 77, i)).collect();
    assert_eq!(parallel, sequential);
    // Per-image streams differ: identical images get different views.
    let same = vec![images[0].clone(), images[0].clone()];
    let v = gen.generate(&same, 77);
    assert_ne!(v[0][0], v[1][0]);
}

#[test]
fn views_batch_packs_bchw_per_view() {
    let images = batch(5);
    let gen = ViewGenerator::two_view(Pipeline::simclr(24));
    let packed = gen.views_batch(&images, 9).unwrap();
    assert_eq!(packed.len(), 2);
    for (k, view) in packed.iter().enumerate() {
        assert_eq!(view.shape(), [5, 3, 24, 24]);
        assert_eq!(view.data.len(), 5 * 3 * 24 * 24);
        for (i, img) in images.iter().enumerate() {
            let expected = &gen.views_for(img, 9, i)[k];
            assert_eq!(&view.image(i), expected);
            let n = 3 * 24 * 24;
            assert_eq!(&view.data[i * n..(i + 1) * n], &expected.data[..]);
        }
    }
}

#[test]
fn views_batch_rejects_empty_and_mixed_batches() {
    let gen = ViewGenerator::two_view(Pipeline::simclr(16));
    assert!(matches!(gen.views_batch(&[], 0), Err(Error::Config(_))));
    let mixed = vec![noise(3, 16, 16, 1), noise(1, 16, 16, 2)];
    match gen.views_batch(&mixed, 0) {
        Err(Error::Config(m)) => assert!(m.contains("image 1"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn multi_crop_sizes_and_counts() {
    let cfg = MultiCrop::new(32, 16).with_counts(2, 4);
    let gen = ViewGenerator::multi_crop(&cfg);
    assert_eq!(gen.num_views(), 6);
    let images = batch(3);
    let packed = gen.views_batch(&images, 1).unwrap();
    assert_eq!(packed.len(), 6);
    for (k, v) in packed.iter().enumerate() {
        let side = if k < 2 { 32 } else { 16 };
        assert_eq!(v.shape(), [3, 3, side, side], "view {k}");
    }
    assert_eq!(
        MultiCrop::new(224, 96),
        MultiCrop {
            global_size: 224,
            n_global: 2,
            global_scale: (0.4, 1.0),
            local_size: 96,
            n_local: 6,
            local_scale: (0.05, 0.4),
        }
    );
    assert!(gen.view_transform(0).name().contains("scale=(0.4, 1)"));
    assert!(gen.view_transform(5).name().contains("scale=(0.05, 0.4)"));
}

#[test]
fn view_batches_of_one_size_stack_into_one_batch() {
    let images = batch(3);
    let views = ViewGenerator::two_view(Pipeline::simclr(16)).views_batch(&images, 2).unwrap();
    let stacked = ViewBatch::stack(&views).unwrap();
    assert_eq!(stacked.shape(), [6, 3, 16, 16]);
    assert_eq!(stacked.image(3 + 1), views[1].image(1));
    assert_eq!(stacked.data[..views[0].data.len()], views[0].data[..]);
    let small = ViewGenerator::two_view(Pipeline::simclr(8)).views_batch(&images, 2).unwrap();
    match ViewBatch::stack(&[views[0].clone(), small[0].clone()]) {
        Err(Error::Config(m)) => assert!(m.contains("different sizes"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
    assert!(matches!(ViewBatch::stack(&[]), Err(Error::Config(_))));
}

#[test]
fn simclr_is_a_crop_then_simclr_colour() {
    let images = batch(3);
    let whole = ViewGenerator::two_view(Pipeline::simclr_with(24, 0.7, 0.3));
    let parts = Pipeline::new().then(RandomResizedCrop::new((24, 24), (0.3, 1.0))).append(Pipeline::simclr_colour(0.7));
    assert_eq!(parts.name(), Pipeline::simclr_with(24, 0.7, 0.3).name());
    assert_eq!(ViewGenerator::two_view(parts).views_batch(&images, 4).unwrap(), whole.views_batch(&images, 4).unwrap());
}

#[test]
fn multi_crop_for_small_images_packs_the_views_per_size() {
    let cfg = MultiCrop::for_image_size(32, 4);
    let expected = MultiCrop { global_size: 32, n_global: 2, global_scale: (0.4, 1.0), local_size: 16, n_local: 4, local_scale: (0.08, 0.4) };
    assert_eq!(cfg, expected);
    let gen = ViewGenerator::multi_crop_with(&cfg, Pipeline::simclr_colour(1.0)).unwrap();
    let images = batch(5);
    let views = gen.views_batch(&images, 3).unwrap();
    let packed = cfg.stack(&views).unwrap();
    let local = packed.local.as_ref().unwrap();
    assert_eq!(packed.global.shape(), [2 * 5, 3, 32, 32]);
    assert_eq!(local.shape(), [4 * 5, 3, 16, 16]);
    assert_eq!((packed.batch_size, packed.n_global, packed.n_local), (5, 2, 4));
    // View-major: image i of view v is image v·B + i of its size's batch.
    assert_eq!(packed.global.image(5 + 2), views[1].image(2));
    assert_eq!(local.image(2 * 5 + 4), views[2 + 2].image(4));
    for i in 0..local.batch {
        assert_in_unit_range(&local.image(i), "local view");
    }
}

#[test]
fn multi_crop_is_deterministic_for_a_seed() {
    let cfg = MultiCrop::for_image_size(32, 3);
    let gen = ViewGenerator::multi_crop_with(&cfg, Pipeline::simclr_colour(1.0)).unwrap();
    let images = batch(4);
    let make = |seed| cfg.stack(&gen.views_batch(&images, seed).unwrap()).unwrap();
    assert_eq!(make(11), make(11));
    let (a, b) = (make(11), make(12));
    assert_ne!(a.global, b.global);
    assert_ne!(a.local, b.local);
}

#[test]
fn local_crops_cover_smaller_regions_than_global_crops() {
    // On a horizontal ramp (value = column / 31) the range of values in a view is about the
    // width of the region it was cut from. The identity as colour keeps the values.
    let cfg = MultiCrop::for_image_size(32, 6);
    let gen = ViewGenerator::multi_crop_with(&cfg, Pipeline::new()).unwrap();
    let images = vec![ramp(1, 32, 32); 40];
    let packed = cfg.stack(&gen.views_batch(&images, 0).unwrap()).unwrap();
    let ranges = |b: &ViewBatch| -> Vec<f32> {
        (0..b.batch)
            .map(|i| {
                let img = b.image(i);
                img.data.iter().fold(0.0f32, |m, &v| m.max(v)) - img.data.iter().fold(1.0f32, |m, &v| m.min(v))
            })
            .collect()
    };
    let (global, local) = (ranges(&packed.global), ranges(packed.local.as_ref().unwrap()));
    // A global crop is at least sqrt(0.4 · 3/4) · 32 ≈ 17.5 px wide, a local one at most
    // sqrt(0.4 · 4/3) · 32 ≈ 23.4 px: ranges of at least ~0.53 and at most ~0.73.
    assert!(global.iter().all(|&r| r > 0.5), "{global:?}");
    assert!(local.iter().all(|&r| r < 0.76), "{local:?}");
    let (g, l) = (mean(&global), mean(&local));
    assert!(l < 0.7 * g, "mean range: local {l}, global {g}");
}

#[test]
fn multi_crop_without_local_crops_is_exactly_two_global_views() {
    let cfg = MultiCrop::for_image_size(32, 0);
    let gen = ViewGenerator::multi_crop_with(&cfg, Pipeline::simclr_colour(1.0)).unwrap();
    assert_eq!(gen.num_views(), 2);
    let images = batch(3);
    let views = gen.views_batch(&images, 5).unwrap();
    let packed = cfg.stack(&views).unwrap();
    assert_eq!(packed.local, None);
    assert_eq!(packed.global.shape(), [6, 3, 32, 32]);
    assert_eq!(packed.global, ViewBatch::stack(&views).unwrap());
    // The same views as the two-view generator of the same crop and colour.
    let two = ViewGenerator::two_view(Pipeline::new().then(cfg.global_crop()).append(Pipeline::simclr_colour(1.0)));
    assert_eq!(two.views_batch(&images, 5).unwrap(), views);
}

#[test]
fn multi_crop_rejects_bad_configurations_and_batches() {
    let bad = |cfg: MultiCrop| match ViewGenerator::multi_crop_with(&cfg, Pipeline::new()) {
        Err(Error::Config(m)) => m,
        Ok(_) => panic!("{cfg:?} was accepted"),
        Err(e) => panic!("{e}"),
    };
    let cfg = MultiCrop::for_image_size(32, 2);
    assert!(bad(MultiCrop { local_scale: (0.5, 0.2), ..cfg }).contains("local crop area"));
    assert!(bad(MultiCrop { global_scale: (0.0, 1.0), ..cfg }).contains("global crop area"));
    assert!(bad(MultiCrop { local_size: 0, ..cfg }).contains("sizes must be positive"));
    assert!(bad(cfg.with_counts(0, 2)).contains("at least one global crop"));
    let views = ViewGenerator::multi_crop_with(&cfg, Pipeline::new()).unwrap().views_batch(&batch(2), 0).unwrap();
    assert!(matches!(cfg.stack(&views[..3]), Err(Error::Config(m)) if m.contains("2 global + 2 local")));
    assert!(matches!(ViewBatch::stack(&views[1..3]), Err(Error::Config(m)) if m.contains("different sizes")));
    assert!(matches!(ViewBatch::stack(&[]), Err(Error::Config(_))));
}

#[test]
fn image_rng_depends_on_seed_and_index() {
    let draw = |s, i| image_rng(s, i).gen::<u64>();
    assert_eq!(draw(1, 2), draw(1, 2));
    assert_ne!(draw(1, 2), draw(1, 3));
    assert_ne!(draw(1, 2), draw(2, 2));
    assert_ne!(draw(0, 1), draw(1, 0));
}

// ---------------------------------------------------------------- grids

#[test]
fn image_grid_layout_and_pixels() {
    let red = solid_rgb(4, 5, [1.0, 0.0, 0.0]);
    let gray = constant(1, 2, 2, 0.5);
    let (buf, w, h) = image_grid_rgb8(&[red.clone(), gray, red], 2, 3);
    // 2 columns of 15 px, 2 rows of 12 px, 2-px borders.
    assert_eq!((w, h), (2 * 15 + 3 * 2, 2 * 12 + 3 * 2));
    assert_eq!(buf.len(), (w * h * 3) as usize);
    let px = |x: usize, y: usize| {
        let i = (y * w as usize + x) * 3;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    assert_eq!(px(0, 0), [255, 255, 255]); // border
    assert_eq!(px(2, 2), [255, 0, 0]); // first tile, top-left
    assert_eq!(px(16, 13), [255, 0, 0]); // first tile, bottom-right
    assert_eq!(px(17, 2), [255, 255, 255]); // border between columns
                                            // The 6x6 gray tile is centred in its 15x12 cell starting at x = 19, y = 2.
    assert_eq!(px(19 + 4, 2 + 3), [128, 128, 128]);
    assert_eq!(px(19, 2), [255, 255, 255]);
    assert_eq!(image_grid_rgb8(&[], 3, 1), (Vec::new(), 0, 0));
}

#[test]
fn render_image_grid_writes_a_readable_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/grid.png");
    let images = batch(5);
    render_image_grid(&images, 3, 2, &path).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back.dimensions(), (3 * 64 + 4 * 2, 2 * 64 + 3 * 2));
    let (buf, _, _) = image_grid_rgb8(&images, 3, 2);
    assert_eq!(back.as_raw(), &buf);
    assert!(!dir.path().join("sub/grid.png.tmp").exists());
}

#[test]
fn render_augmentation_grid_has_one_row_per_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aug.png");
    let images = batch(3);
    render_augmentation_grid(&images, &Pipeline::simclr(32), 4, 7, &path).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    // 32-px tiles scaled x3: 5 columns (original + 4 views), 3 rows.
    assert_eq!(back.dimensions(), (5 * 96 + 6 * 2, 3 * 96 + 4 * 2));
    // Same seed, same picture; another seed, another picture.
    let again = dir.path().join("again.png");
    render_augmentation_grid(&images, &Pipeline::simclr(32), 4, 7, &again).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
    let other = dir.path().join("other.png");
    render_augmentation_grid(&images, &Pipeline::simclr(32), 4, 8, &other).unwrap();
    assert_ne!(std::fs::read(&path).unwrap(), std::fs::read(&other).unwrap());
    // The first tile of each row is the original.
    let orig = images[1].to_rgb8();
    let (x0, y0) = (2usize, 2 + 96 + 2);
    let p = back.get_pixel(x0 as u32 + 3 * 5, y0 as u32 + 3 * 7);
    let i = (7 * 32 + 5) * 3;
    assert_eq!(p.0, [orig[i], orig[i + 1], orig[i + 2]]);
}

#[test]
fn grid_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not_a_dir");
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("grid.png");
    match render_image_grid(&batch(1), 1, 1, &path) {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("not_a_dir"), "{e}"),
        other => panic!("expected an IO error, got {other:?}"),
    }
    assert!(matches!(
        render_image_grid(&[], 1, 1, &dir.path().join("a.png")),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        render_image_grid(&batch(1), 0, 1, &dir.path().join("a.png")),
        Err(Error::Config(_))
    ));
    let four = Image::zeros(4, 2, 2);
    assert!(matches!(
        render_image_grid(&[four], 1, 1, &dir.path().join("a.png")),
        Err(Error::Config(_))
    ));
}

#[test]
#[should_panic(expected = "probability")]
fn invalid_probability_is_rejected() {
    let _ = RandomGrayscale::new(1.5);
}
