//! The figures that show what a representation learned (`selfsup::plot`): labelled image
//! grids, nearest-neighbour retrieval, t-SNE maps and class-sorted similarity heatmaps. Each
//! runs on a tiny input: the size of the picture, that its labels are drawn, that it carries
//! the data (frames, numbers), that the same input gives the same bytes, and that bad input
//! is refused with a clear error.

use selfsup::augment::Pipeline;
use selfsup::data::dataset::ImageDataset;
use selfsup::eval::TsneConfig;
use selfsup::image::Image;
use selfsup::plot::{
    augmentation_grid, class_similarity, first_per_class, retrieval_grid, side_by_side, stack, tsne_map, Chart, FeatureSpace, Figure, ImageGrid, MATCH, MISMATCH,
};
use selfsup::Error;

fn pixel(fig: &Figure, x: u32, y: u32) -> [u8; 3] {
    let i = 3 * (y * fig.width + x) as usize;
    [fig.rgb[i], fig.rgb[i + 1], fig.rgb[i + 2]]
}

fn count(fig: &Figure, colour: [u8; 3]) -> usize {
    fig.rgb.chunks_exact(3).filter(|p| *p == colour).count()
}

/// Dark (text) pixels in the rectangle `[x0, x1) × [y0, y1)`.
fn dark_pixels(fig: &Figure, x0: u32, x1: u32, y0: u32, y1: u32) -> usize {
    (y0..y1.min(fig.height)).flat_map(|y| (x0..x1.min(fig.width)).map(move |x| (x, y))).filter(|&(x, y)| pixel(fig, x, y).iter().all(|&c| c < 120)).count()
}

fn config_error<T>(result: selfsup::Result<T>, needle: &str) {
    match result {
        Err(Error::Config(msg)) => assert!(msg.contains(needle), "error `{msg}` should mention `{needle}`"),
        Err(other) => panic!("expected a Config error mentioning `{needle}`, got {other}"),
        Ok(_) => panic!("expected an error mentioning `{needle}`"),
    }
}

fn solid(rgb: [f32; 3], side: usize) -> Image {
    Image::from_vec(3, side, side, rgb.iter().flat_map(|&c| std::iter::repeat(c).take(side * side)).collect())
}

/// A light-yellow image (a colour no label, frame or border uses).
fn tile() -> Image {
    solid([1.0, 1.0, 0.5], 8)
}

#[test]
fn image_grid_names_every_row_and_column_and_is_deterministic() {
    let tiles = vec![tile(); 6];
    let draw = |rows: &[&str]| ImageGrid::new(&tiles, 3).scale(4).title("a grid").row_labels(rows).col_labels(&["one", "two", "three"]).draw().unwrap();
    let fig = draw(&["first row", "second row"]);
    // Six 32-px tiles in 2 rows of 3, plus labels and margins.
    assert_eq!(count(&fig, [255, 255, 128]), 6 * 32 * 32);
    assert!(fig.width > 3 * 32 + 2 * 8 && fig.height > 2 * 32 + 8);
    // The row labels are drawn left of each row; the column labels above the first row.
    let first_tile_x = (0..fig.width).find(|&x| (0..fig.height).any(|y| pixel(&fig, x, y) == [255, 255, 128])).unwrap();
    let first_tile_y = (0..fig.height).find(|&y| (0..fig.width).any(|x| pixel(&fig, x, y) == [255, 255, 128])).unwrap();
    for row in 0..2 {
        let y = first_tile_y + row * (32 + 8);
        assert!(dark_pixels(&fig, 0, first_tile_x, y, y + 32) > 30, "row {row} has no label");
    }
    assert!(dark_pixels(&fig, first_tile_x, fig.width, first_tile_y - 24, first_tile_y) > 30, "no column labels");
    // Same input, same bytes; another label, another picture.
    assert_eq!(fig, draw(&["first row", "second row"]));
    assert_ne!(fig.rgb, draw(&["first row", "other"]).rgb);
}

#[test]
fn image_grid_frames_tiles_and_refuses_missing_labels() {
    let tiles = vec![tile(); 2];
    let fig = ImageGrid::new(&tiles, 2).scale(4).row_labels(&["r"]).col_labels(&["a", "b"]).frames(vec![Some(MATCH), Some(MISMATCH)]).draw().unwrap();
    // A 3-px frame around a 32-px tile: (32 + 6)² − 32² pixels of its colour.
    assert_eq!(count(&fig, [MATCH.0, MATCH.1, MATCH.2]), 38 * 38 - 32 * 32);
    assert_eq!(count(&fig, [MISMATCH.0, MISMATCH.1, MISMATCH.2]), 38 * 38 - 32 * 32);
    config_error(ImageGrid::new(&tiles, 2).col_labels(&["a", "b"]).draw(), "every row needs a name");
    config_error(ImageGrid::new(&tiles, 2).row_labels(&["r"]).col_labels(&["a"]).draw(), "every column needs a name");
    config_error(ImageGrid::new(&tiles, 2).row_labels(&["r"]).col_labels(&["a", "b"]).groups(&[("g", 1)]).draw(), "groups cover 1");
    config_error(ImageGrid::new(&tiles, 2).row_labels(&["r"]).col_labels(&["a", "b"]).frames(vec![None]).draw(), "1 frame colours for 2");
    config_error(ImageGrid::new(&[], 2).draw(), "at least one image");
    config_error(ImageGrid::new(&[Image::zeros(2, 4, 4)], 1).row_labels(&["r"]).col_labels(&["c"]).draw(), "2 channels");
}

#[test]
fn augmentation_grid_labels_views_and_follows_its_seed() {
    let images = vec![solid([0.9, 0.2, 0.1], 32), solid([0.1, 0.3, 0.9], 32)];
    let pipeline = Pipeline::simclr(32);
    let fig = augmentation_grid(&images, &pipeline, 3, 7, "views").unwrap();
    let one_row = augmentation_grid(&images[..1], &pipeline, 3, 7, "views").unwrap();
    assert_eq!(fig.height - one_row.height, 96 + 8, "one row of 96-px tiles per image");
    // Each row is named at its left ("image 1", "image 2": text in the first 40 px, where no
    // tile is), the columns above the first row ("original", "view 1", ...).
    for row in 0..2 {
        let bottom = fig.height - 10 - (1 - row) * (96 + 8);
        assert!(dark_pixels(&fig, 0, 40, bottom - 96, bottom) > 30, "row {row} has no label");
    }
    assert!(dark_pixels(&fig, 40, fig.width, 10 + 34, 10 + 34 + 24) > 30, "no column labels");
    assert_eq!(fig, augmentation_grid(&images, &pipeline, 3, 7, "views").unwrap());
    assert_ne!(fig.rgb, augmentation_grid(&images, &pipeline, 3, 8, "views").unwrap().rgb);
}

/// Two classes of tiny images: class 0 red-ish, class 1 blue-ish, but the pixels of half of
/// each class are swapped in colour, so raw pixels mix the classes.
fn toy_data(n: usize, offset: usize) -> ImageDataset {
    let mut data = ImageDataset::new("toy", 3, 4, 4, vec!["zero".into(), "one".into()]);
    for i in 0..n {
        let label = i % 2;
        let swapped = (i / 2 + offset) % 2 == 1;
        let red = (label == 0) != swapped;
        let shade = 0.5 + 0.04 * (i % 5) as f32;
        let img = solid(if red { [shade, 0.1, 0.1] } else { [0.1, 0.1, shade] }, 4);
        data.pixels.extend(img.data);
        data.labels.push(label);
    }
    data
}

/// Features that encode the class (and a little per-image noise): a perfect representation.
fn class_features(data: &ImageDataset) -> Vec<f32> {
    data.labels.iter().enumerate().flat_map(|(i, &l)| [if l == 0 { 1.0 } else { -1.0 }, 0.05 * (i % 7) as f32, 0.02 * (i % 3) as f32]).collect()
}

#[test]
fn retrieval_grid_counts_class_matches_per_representation() {
    let (train, test) = (toy_data(40, 0), toy_data(10, 1));
    let (train_f, test_f) = (class_features(&train), class_features(&test));
    let spaces = [FeatureSpace::pixels("pixels", &train, &test), FeatureSpace::new("learned", &train_f, &test_f, 3)];
    let retrieval = retrieval_grid(&train, &test, &spaces, &[0, 1, 2], 4).unwrap();
    let rates: Vec<f32> = retrieval.rates.iter().map(|r| r.all).collect();
    // The learned features find only same-class neighbours; pixels find the same colour,
    // which is the other class for half of the queries.
    assert_eq!(rates[1], 1.0);
    assert!((rates[0] - 0.5).abs() < 0.11, "pixels: {}", rates[0]);
    assert_eq!(retrieval.rates[1].shown, 1.0);
    assert_eq!((retrieval.k, retrieval.shown, retrieval.all), (4, 3, 10));
    // Every neighbour is framed: 3 queries × 2 spaces × 4 neighbours, green for matches.
    let green = count(&retrieval.figure, [MATCH.0, MATCH.1, MATCH.2]);
    let red = count(&retrieval.figure, [MISMATCH.0, MISMATCH.1, MISMATCH.2]);
    let per_frame = {
        let side = 64u32; // 4-px images scaled to the retrieval tile of 64 px
        ((side + 6) * (side + 6) - side * side) as usize
    };
    let matches = (retrieval.rates[0].shown * 12.0).round() as usize + 12;
    assert_eq!(green, matches * per_frame, "green frames");
    assert_eq!(red, (24 - matches) * per_frame, "red frames");
    let text = retrieval.to_string();
    assert!(text.contains("learned") && text.contains("100.0%"), "{text}");
    // Deterministic.
    assert_eq!(retrieval.figure, retrieval_grid(&train, &test, &spaces, &[0, 1, 2], 4).unwrap().figure);
    // Bad input.
    config_error(retrieval_grid(&train, &test, &spaces, &[10], 4), "query 10");
    config_error(retrieval_grid(&train, &test, &[FeatureSpace::new("short", &train_f[3..], &test_f, 3)], &[0], 4), "`short`");
    config_error(retrieval_grid(&train, &test, &spaces, &[0], 0), "k >= 1");
}

#[test]
fn tsne_map_separates_clustered_classes_and_is_deterministic() {
    let data = toy_data(60, 0);
    let features = class_features(&data);
    let chart = Chart::new("toy").size(400, 360);
    let map = tsne_map(&features, 3, &data.labels, &data.class_names, &TsneConfig { epochs: 300, ..TsneConfig::default() }, &chart).unwrap();
    assert_eq!((map.figure.width, map.figure.height, map.points.len()), (400, 360, 60));
    assert_eq!(map.separation, 1.0);
    let again = tsne_map(&features, 3, &data.labels, &data.class_names, &TsneConfig { epochs: 300, ..TsneConfig::default() }, &chart).unwrap();
    assert_eq!(map.figure, again.figure);
    // Random features do not separate the classes.
    let noise: Vec<f32> = (0..60 * 3).map(|i| ((i * 7919) % 101) as f32 / 101.0).collect();
    let mixed = tsne_map(&noise, 3, &data.labels, &data.class_names, &TsneConfig { epochs: 300, ..TsneConfig::default() }, &chart).unwrap();
    assert!(mixed.separation < 0.8, "noise separated the classes: {}", mixed.separation);
    // The title carries the number: a different number draws a different title.
    assert_ne!(map.figure.rgb[..3 * 400 * 40], mixed.figure.rgb[..3 * 400 * 40]);
    config_error(tsne_map(&features[..9], 3, &data.labels, &data.class_names, &TsneConfig::default(), &chart), "feature values");
    config_error(tsne_map(&features[..9], 3, &data.labels[..3], &data.class_names, &TsneConfig::default(), &chart), "at least 4 points");
}

#[test]
fn class_similarity_centres_features_and_draws_class_blocks() {
    let data = toy_data(20, 0);
    // All-positive features (like post-ReLU ones) that still encode the class.
    let features: Vec<f32> = class_features(&data).chunks(3).flat_map(|f| [5.0 + f[0], 5.0 + f[1], 5.0 + f[2]]).collect();
    let chart = Chart::new("toy").size(500, 460);
    let sim = class_similarity(&features, 3, &data.labels, &data.class_names, 4, &chart).unwrap();
    assert_eq!((sim.figure.width, sim.figure.height), (500, 460));
    // Centred, the classes point in opposite directions.
    assert!(sim.within > 0.9 && sim.between < -0.9, "{} {}", sim.within, sim.between);
    // The boundary between the two 4 × 4 blocks is a white line through the cells.
    let white_rows = (0..sim.figure.height).filter(|&y| (150..330).all(|x| pixel(&sim.figure, x, y) == [255, 255, 255])).count();
    assert!(white_rows >= 1);
    assert_eq!(sim.figure, class_similarity(&features, 3, &data.labels, &data.class_names, 4, &chart).unwrap().figure);
    // A class with fewer images than asked for gives all it has.
    assert_eq!(class_similarity(&features, 3, &data.labels, &data.class_names, 11, &chart).unwrap().within, class_similarity(&features, 3, &data.labels, &data.class_names, 10, &chart).unwrap().within);
    config_error(class_similarity(&features, 3, &data.labels, &data.class_names, 0, &chart), "per_class");
    config_error(class_similarity(&features, 3, &data.labels, &data.class_names[..1], 2, &chart), "label 1 has no name");
}

#[test]
fn figures_combine_side_by_side_and_stacked() {
    let wide = Figure::from_rgb(2, 1, vec![0; 6]).unwrap();
    let narrow = Figure::from_rgb(1, 2, vec![9; 6]).unwrap();
    let row = side_by_side(&[wide.clone(), narrow.clone()], 1).unwrap();
    assert_eq!((row.width, row.height), (4, 2));
    assert_eq!(&row.rgb[..12], &[0, 0, 0, 0, 0, 0, 255, 255, 255, 9, 9, 9]);
    let column = stack(&[wide, narrow]).unwrap();
    assert_eq!((column.width, column.height), (2, 3));
    assert_eq!(&column.rgb[6..], &[9, 9, 9, 255, 255, 255, 9, 9, 9, 255, 255, 255]);
    assert!(side_by_side(&[], 0).is_err() && stack(&[]).is_err());
    assert_eq!(first_per_class(&[1, 0, 1, 0, 2], 3, 1), vec![1, 0, 4]);
}
