//! Hidden tests of the `augment_crop` exercise (graders only; never copied into `exercises/`).

use augment_crop::resized_crop;
use selfsup::augment::CropBox;
use selfsup::image::Image;

mod check;

/// Bilinear crop-and-resize in f64, written independently from the exercise's structure:
/// sample the source at ((o + 0.5) · len / out − 0.5) along each axis, clamped to the region.
fn reference(img: &Image, r: CropBox, out_h: usize, out_w: usize) -> Vec<f32> {
    let coord = |o: usize, len: usize, out: usize| ((o as f64 + 0.5) * len as f64 / out as f64 - 0.5).clamp(0.0, (len - 1) as f64);
    let px = |c: usize, y: usize, x: usize| img.data[(c * img.height + y) * img.width + x] as f64;
    let mut out = Vec::new();
    for c in 0..img.channels {
        for oy in 0..out_h {
            let sy = coord(oy, r.height, out_h);
            let (y0, ty) = (sy.floor() as usize, sy - sy.floor());
            let y1 = (y0 + 1).min(r.height - 1);
            for ox in 0..out_w {
                let sx = coord(ox, r.width, out_w);
                let (x0, tx) = (sx.floor() as usize, sx - sx.floor());
                let x1 = (x0 + 1).min(r.width - 1);
                let at = |y: usize, x: usize| px(c, r.top + y, r.left + x);
                let v = (1.0 - ty) * ((1.0 - tx) * at(y0, x0) + tx * at(y0, x1)) + ty * ((1.0 - tx) * at(y1, x0) + tx * at(y1, x1));
                out.push(v.clamp(0.0, 1.0) as f32);
            }
        }
    }
    out
}

fn random_image(c: usize, h: usize, w: usize, seed: u64) -> Image {
    Image::from_vec(c, h, w, check::pseudo_random(c * h * w, seed).iter().map(|v| 0.5 + 0.5 * v).collect())
}

// points: 3
#[test]
fn random_crop_of_an_rgb_image_matches_bilinear_interpolation() {
    let img = random_image(3, 5, 7, 60);
    let region = CropBox { top: 1, left: 2, height: 3, width: 4 };
    let out = resized_crop(&img, region, 6, 5);
    assert_eq!((out.channels, out.height, out.width), (3, 6, 5), "the output must be channels × out_h × out_w");
    check::all_close("3 × 4 region at (1, 2) of a 5 × 7 RGB image resized to 6 × 5", &out.data, &reference(&img, region, 6, 5), 5, 1e-5);
}

// points: 2
#[test]
fn downsampling_averages_neighbouring_pixels() {
    let img = random_image(1, 4, 4, 61);
    let out = resized_crop(&img, CropBox::full(4, 4), 2, 2);
    check::all_close("4 × 4 image resized to 2 × 2 (each output pixel sits between 2 × 2 inputs)", &out.data, &reference(&img, CropBox::full(4, 4), 2, 2), 2, 1e-5);
}

// points: 2
#[test]
fn pixels_outside_the_region_are_never_read() {
    // Bright frame, dark region: any bright value in the output came from outside.
    let mut img = Image::from_vec(1, 6, 6, vec![1.0; 36]);
    for y in 2..5 {
        for x in 1..3 {
            img.set(0, y, x, 0.1 * (y + x) as f32 / 10.0);
        }
    }
    let region = CropBox { top: 2, left: 1, height: 3, width: 2 };
    let out = resized_crop(&img, region, 7, 5);
    check::all_close("region (2, 1, 3 × 2) of a bright-framed image resized to 7 × 5", &out.data, &reference(&img, region, 7, 5), 5, 1e-5);
}

#[test]
fn a_tall_region_into_a_wide_output() {
    let img = random_image(2, 8, 3, 62);
    let region = CropBox { top: 0, left: 1, height: 8, width: 2 };
    let out = resized_crop(&img, region, 3, 6);
    check::all_close("8 × 2 region resized to 3 × 6 (rows and columns not mixed up?)", &out.data, &reference(&img, region, 3, 6), 6, 1e-5);
}
