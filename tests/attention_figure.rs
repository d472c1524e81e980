//! Part 4's attention figure: the class token's attention per head, extracted from the ViT's
//! last-block maps and drawn next to the images.

use dfdx::nn::BuildModule;
use dfdx::prelude::*;
use selfsup::data::procedural::{ProceduralConfig, Split};
use selfsup::data::textures;
use selfsup::figures::attention::{attention_figure, attention_random_vs_trained, class_attention, class_token_attention, SCALE, SIDE};
use selfsup::image::Image;
use selfsup::nn::vit::{HEADS, IMAGE, PATCHES, TOKENS};
use selfsup::nn::SmallVit;
use selfsup::plot::{colormap, Figure, ImageGrid};

type Dev = Cpu;

#[path = "common/pixels.rs"]
mod pixels;
use pixels::bounding_box;

fn test_images(n: usize) -> Vec<Image> {
    let test = textures::generate_split(&ProceduralConfig { n_train: 0, n_test: n, seed: 3, ..ProceduralConfig::default() }, Split::Test);
    (0..n).map(|i| test.image(i)).collect()
}

/// The flat index of `maps[b, h, i, j]` in a `(B, 4, 65, 65)` buffer: the value of that entry in
/// the hand-built buffer below, so a value names its own position.
fn code(b: usize, h: usize, i: usize, j: usize) -> f32 {
    (((b * HEADS + h) * TOKENS + i) * TOKENS + j) as f32
}

#[test]
fn extraction_takes_row_zero_patch_columns_in_grid_order() {
    let batch = 2;
    let maps: Vec<f32> = (0..batch * HEADS * TOKENS * TOKENS).map(|k| k as f32).collect();
    let a = class_token_attention(&maps, batch).unwrap();
    assert_eq!(a.len(), batch * HEADS * SIDE * SIDE);
    for b in 0..batch {
        for h in 0..HEADS {
            for r in 0..SIDE {
                for c in 0..SIDE {
                    let got = a[((b * HEADS + h) * SIDE + r) * SIDE + c];
                    assert_eq!(got, code(b, h, 0, 1 + SIDE * r + c), "image {b}, head {h}, patch ({r}, {c})");
                }
            }
        }
    }
    // A buffer of the wrong size is refused.
    assert!(class_token_attention(&maps[1..], batch).is_err());
    assert!(class_token_attention(&maps, batch + 1).is_err());
}

#[test]
fn class_token_attention_over_patches_is_one_minus_attention_on_itself() {
    let dev = Dev::seed_from_u64(11);
    let vit = SmallVit::<Dev>::build(&dev);
    let images = test_images(3);
    let data: Vec<f32> = images.iter().flat_map(|im| im.data.clone()).collect();
    let maps = vit.last_attention_maps(dev.tensor_from_vec(data, (3, 3, IMAGE, IMAGE))).as_vec();
    let a = class_token_attention(&maps, 3).unwrap();
    let map = TOKENS * TOKENS;
    for (k, grid) in a.chunks_exact(PATCHES).enumerate() {
        let on_itself = maps[k * map];
        assert!(on_itself > 0.0 && on_itself < 1.0, "map {k}: attention on itself {on_itself}");
        let total: f32 = grid.iter().sum();
        assert!((total - (1.0 - on_itself)).abs() < 1e-5, "image {}, head {}: patches get {total}, 1 − A[0] = {}", k / HEADS, k % HEADS, 1.0 - on_itself);
    }
    // The convenience that runs the ViT gives the same numbers.
    let direct = class_attention(&vit, &images).unwrap();
    assert_eq!(direct.len(), a.len());
    assert!(direct.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-6));
    // The heads look at different patches.
    assert!(a[..PATCHES].iter().zip(&a[PATCHES..2 * PATCHES]).any(|(x, y)| (x - y).abs() > 1e-4));
}


/// The pixels of the figure in `bbox`, row by row.
fn crop(fig: &Figure, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> Vec<[u8; 3]> {
    let w = fig.width as usize;
    (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y))).map(|(x, y)| {
        let i = 3 * (y * w + x);
        [fig.rgb[i], fig.rgb[i + 1], fig.rgb[i + 2]]
    }).collect()
}

#[test]
fn figure_has_one_row_per_image_and_a_distinct_map_per_head() {
    let dev = Dev::seed_from_u64(5);
    let vit = SmallVit::<Dev>::build(&dev);
    let images = test_images(3);
    let title = "[CLS] attention, random init";
    let fig = attention_figure(&images, &vit, title).unwrap();

    // The same layout with each tile a solid marker colour locates every panel.
    let cols = 1 + HEADS;
    let marker = |k: usize| [3u8, 250 - k as u8, 7];
    let markers: Vec<Image> = (0..3 * cols)
        .map(|k| Image::from_vec(3, IMAGE, IMAGE, marker(k).iter().flat_map(|&v| vec![v as f32 / 255.0; IMAGE * IMAGE]).collect()))
        .collect();
    let col_labels = ["image", "head 1", "head 2", "head 3", "head 4"];
    let layout = ImageGrid::new(&markers, cols).scale(SCALE).title(title).row_labels(&["image 1", "image 2", "image 3"]).col_labels(&col_labels).draw().unwrap();
    assert_eq!((fig.width, fig.height), (layout.width, layout.height), "3 rows of 5 tiles of {IMAGE} px at ×{SCALE}");
    let side = IMAGE * SCALE;
    assert!(fig.width as usize >= cols * side && fig.height as usize >= 3 * side);

    let top = colormap(1.0);
    let top = [top.0, top.1, top.2];
    for (row, shown) in images.iter().enumerate() {
        let panel = |c: usize| {
            let bbox = bounding_box(&layout, marker(row * cols + c)).expect("every tile is drawn");
            assert_eq!((bbox.2 - bbox.0, bbox.3 - bbox.1), (side, side), "row {row}, column {c}: a tile the image's size");
            crop(&fig, bbox)
        };
        // The image column is the image, scaled up.
        let image = panel(0);
        let rgb = shown.to_rgb8();
        assert_eq!(image[0], [rgb[0], rgb[1], rgb[2]]);
        let heads: Vec<Vec<[u8; 3]>> = (1..cols).map(panel).collect();
        for (h, px) in heads.iter().enumerate() {
            // Each map is scaled to its own maximum: its top patch takes the top colour.
            assert!(px.contains(&top), "row {row}, head {}: no patch at the map's maximum", h + 1);
            assert_ne!(px, &image, "row {row}, head {}: the image instead of a map", h + 1);
        }
        assert_ne!(heads[0], heads[1], "row {row}: heads 1 and 2 draw the same map");
    }
    // Different images give different maps.
    let first = bounding_box(&layout, marker(1)).unwrap();
    let second = bounding_box(&layout, marker(cols + 1)).unwrap();
    assert_ne!(crop(&fig, first), crop(&fig, second));
}

#[test]
fn figure_refuses_images_the_vit_cannot_take() {
    let vit = SmallVit::<Dev>::build(&Dev::seed_from_u64(1));
    assert!(attention_figure(&[], &vit, "none").is_err());
    assert!(attention_figure(&[Image::zeros(3, 16, 16)], &vit, "small").is_err());
    // Gray images are drawn (replicated to RGB).
    assert!(attention_figure(&[Image::zeros(1, IMAGE, IMAGE)], &vit, "gray").is_ok());
}

#[test]
fn random_and_trained_figures_sit_side_by_side() {
    // Any ViT stands in for the trained one: the figure is two grids of the same layout.
    let other = SmallVit::<Dev>::build(&Dev::seed_from_u64(9));
    let fig = attention_random_vs_trained(&other, "another init", 4, 2).unwrap();
    let single = attention_figure(&test_images(2), &other, "[CLS] attention, random init").unwrap();
    assert_eq!(fig.height, single.height, "2 rows each");
    assert!(fig.width > 2 * single.width - 40, "two grids: {} px wide, one is {}", fig.width, single.width);
}

/// The trained ViT of a checkpoint is found by its class token, skipping the moving-average
/// copies (DINO's teacher, BYOL's target, MoCo's key encoder); none, or two trained ones, is no answer.
#[test]
fn the_trained_vit_is_the_one_class_token_outside_the_moving_average_copies() {
    use selfsup::figures::attention::vit_prefix;
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let dino = names(&["student.branch.encoder.cls_token", "student.branch.encoder.pos_embed", "teacher.branch.encoder.cls_token", "centre"]);
    assert_eq!(vit_prefix(&dino).as_deref(), Some("student.branch.encoder"));
    assert_eq!(vit_prefix(&names(&["online.encoder.cls_token", "target.encoder.cls_token"])).as_deref(), Some("online.encoder"));
    assert_eq!(vit_prefix(&names(&["encoder.conv1.weight", "teacher.branch.encoder.cls_token"])), None);
    assert_eq!(vit_prefix(&names(&["a.cls_token", "b.cls_token"])), None);
}

/// `trained_vit` loads the student's encoder from a DINO-shaped checkpoint (the teacher's, saved
/// beside it with other values, is not taken); a checkpoint without a ViT is refused, naming the file.
#[test]
fn trained_vit_loads_the_students_encoder_from_a_checkpoint() {
    use dfdx::nn::SaveToSafetensors;
    use selfsup::figures::attention::trained_vit;
    let dir = tempfile::tempdir().unwrap();
    let dev: Dev = Dev::seed_from_u64(1);
    let (student, teacher) = (SmallVit::<Dev>::build(&dev), SmallVit::<Dev>::build(&dev));
    let (s_path, t_path) = (dir.path().join("s.safetensors"), dir.path().join("t.safetensors"));
    student.save_safetensors(&s_path).unwrap();
    teacher.save_safetensors(&t_path).unwrap();
    // Rename the tensors as a DINO checkpoint holds them.
    let (s_bytes, t_bytes) = (std::fs::read(&s_path).unwrap(), std::fs::read(&t_path).unwrap());
    let (s, t) = (::safetensors::SafeTensors::deserialize(&s_bytes).unwrap(), ::safetensors::SafeTensors::deserialize(&t_bytes).unwrap());
    let mut views = Vec::new();
    for (prefix, file) in [("student.branch.encoder", &s), ("teacher.branch.encoder", &t)] {
        for (name, view) in file.tensors() {
            views.push((format!("{prefix}.{name}"), view));
        }
    }
    let checkpoint = dir.path().join("checkpoint.safetensors");
    ::safetensors::serialize_to_file(views, &None, &checkpoint).unwrap();
    let loaded = trained_vit(&checkpoint).unwrap();
    assert_eq!(loaded.cls_token.as_vec(), student.cls_token.as_vec());
    assert_ne!(loaded.cls_token.as_vec(), teacher.cls_token.as_vec());
    let images = test_images(2);
    assert_eq!(class_attention(&loaded, &images).unwrap(), class_attention(&student, &images).unwrap());
    let err = trained_vit(&s_path.with_file_name("missing.safetensors")).unwrap_err().to_string();
    assert!(err.contains("missing.safetensors"), "{err}");
    std::fs::write(dir.path().join("bad.safetensors"), b"not a checkpoint").unwrap();
    let err = trained_vit(&dir.path().join("bad.safetensors")).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors") && err.contains("safetensors"), "{err}");
}
