//! Public tests of the `augment_crop` exercise: run them with `cargo test` in this folder.

use augment_crop::resized_crop;
use selfsup::augment::CropBox;
use selfsup::image::Image;

mod check;

#[test]
fn upsampling_a_two_pixel_row_uses_half_pixel_centres() {
    // Output pixel o looks at source x = (o + 0.5) · 2/4 − 0.5 = −0.25, 0.25, 0.75, 1.25,
    // clamped to [0, 1]: the values are 0, 0.25, 0.75, 1.
    let img = Image::from_vec(1, 1, 2, vec![0.0, 1.0]);
    let out = resized_crop(&img, CropBox::full(1, 2), 1, 4);
    assert_eq!((out.channels, out.height, out.width), (1, 1, 4), "the output must be 1 × 1 × 4");
    check::all_close("resize [0, 1] to 4 pixels", &out.data, &[0.0, 0.25, 0.75, 1.0], 4, 1e-6);
}

#[test]
fn a_crop_at_its_own_size_copies_the_region() {
    let img = Image::from_vec(1, 3, 3, (0..9).map(|v| v as f32 / 10.0).collect());
    let region = CropBox { top: 1, left: 0, height: 2, width: 2 };
    let out = resized_crop(&img, region, 2, 2);
    check::all_close("2 × 2 crop at (top 1, left 0) of a 3 × 3 image", &out.data, &[0.3, 0.4, 0.6, 0.7], 2, 1e-6);
}
