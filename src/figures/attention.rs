//! The figure of part 4 (ViT and DINO): where the class token looks, head by head.
//!
//! DINO's "emerging properties" picture (Caron et al., *Emerging Properties in
//! Self-Supervised Vision Transformers*, ICCV 2021, Fig. 1 and 3): the self-attention of the
//! class token `[CLS]` over the patches, in the heads of the last block. For each head `h`:
//!
//! ```text
//! A_h = softmax(q_0 · Kᵀ / √32)          row 0 of the head's (65, 65) attention map
//! a_h[r, c] = A_h[1 + 8·r + c]            its 64 patch weights, as an 8×8 grid (r, c = 0..8)
//! Σ_{r,c} a_h[r, c] = 1 − A_h[0]          what the class token does not spend on itself
//! ```
//!
//! After DINO training the heads of a ViT attend to the object and its parts without any
//! label or mask (the paper's ImageNet result). The kit's DINO-trained ViT does not show it
//! (`selfsup experiment dino-backbone`, 3 epochs: more contrast than at random init, two heads
//! follow a stripes image's stripes, none separates shape from background; docs/results.md).
//! At random initialisation the maps are nearly uniform, and the
//! scaling below turns their small differences into texture. Each map is shown scaled to
//! its own maximum (`a / max a`, through the kit's [`colormap`]), so the figure shows where a
//! head looks, not how much of its attention goes to the patches.

use crate::data::procedural::{ProceduralConfig, Split};
use crate::data::textures::{self, NUM_CLASSES};
use crate::error::{Error, Result};
use crate::figures::clustering::upscale_nearest;
use crate::image::Image;
use crate::nn::ops::Backend;
use crate::nn::vit::{Vit, HEADS, IMAGE, PATCH, PATCHES, TOKENS};
use crate::plot::{colormap, first_per_class, side_by_side, Figure, ImageGrid};
use crate::run;

/// Patches per side of the ViT's grid, `32 / 4 = 8`.
pub const SIDE: usize = IMAGE / PATCH;
/// Up-scaling of the tiles in [`attention_figure`]: 32-pixel images drawn at 96 pixels.
pub const SCALE: usize = 3;

/// The class token's attention over the patches, from the last block's maps of
/// [`Vit::last_attention_maps`] read back as a row-major `(batch, 4, 65, 65)` buffer.
///
/// Returns `(batch, 4, 8, 8)` row-major: for image `b` and head `h`, row 0 of map `[b, h]`
/// without its first entry (the class token's attention on itself), the patch
/// `1 + 8·r + c` at `[b, h, r, c]`, i.e. `out[((b·4 + h)·8 + r)·8 + c] = maps[b, h, 0, 1 + 8·r + c]`.
/// Each `8 × 8` grid sums to `1 − maps[b, h, 0, 0]`.
///
/// Errors ([`Error::Config`]) if `maps` does not hold `batch · 4 · 65 · 65` values.
pub fn class_token_attention(maps: &[f32], batch: usize) -> Result<Vec<f32>> {
    let map = TOKENS * TOKENS;
    if maps.len() != batch * HEADS * map {
        return Err(Error::config(format!(
            "class token attention: {} values for {batch} images of {HEADS} maps of {TOKENS}x{TOKENS} (expected {})",
            maps.len(),
            batch * HEADS * map
        )));
    }
    // Row 0 of every map, columns 1..65: the patches in token order, i.e. row-major on the grid.
    Ok(maps.chunks_exact(map).flat_map(|m| m[1..TOKENS].iter().copied()).collect())
}

/// [`class_token_attention`] of `vit` on `images` (RGB or gray, 32×32): `(B, 4, 8, 8)`
/// row-major. Errors ([`Error::Config`]) for no image or one of another size.
pub fn class_attention<D: Backend>(vit: &Vit<f32, D>, images: &[Image]) -> Result<Vec<f32>> {
    if images.is_empty() {
        return Err(Error::config("class attention: no images"));
    }
    if let Some((i, im)) = images.iter().enumerate().find(|(_, im)| im.height != IMAGE || im.width != IMAGE || !matches!(im.channels, 1 | 3)) {
        return Err(Error::config(format!(
            "class attention: image {i} is {}x{}x{}; the ViT takes 1- or 3-channel {IMAGE}x{IMAGE} images",
            im.channels, im.height, im.width
        )));
    }
    let data: Vec<f32> = images.iter().flat_map(|im| im.to_rgb().data).collect();
    let x = vit.cls_token.device().tensor_from_vec(data, (images.len(), 3, IMAGE, IMAGE));
    class_token_attention(&vit.last_attention_maps(x).as_vec(), images.len())
}

/// One `8 × 8` attention grid as an RGB image of the input's size: `colormap(a / max a)` per
/// patch, each patch a `4 × 4` block of pixels (nearest-neighbour, as the network sees it).
fn heat_tile(grid: &[f32]) -> Image {
    let max = grid.iter().copied().fold(0.0f32, f32::max);
    let mut tile = Image::zeros(3, SIDE, SIDE);
    for (p, &a) in grid.iter().enumerate() {
        let colour = colormap(if max > 0.0 { a / max } else { 0.0 });
        for (ch, v) in [colour.0, colour.1, colour.2].into_iter().enumerate() {
            tile.set(ch, p / SIDE, p % SIDE, v as f32 / 255.0);
        }
    }
    upscale_nearest(&tile, PATCH)
}

/// [`attention_figure`] with a name per row (e.g. the image's class).
pub fn attention_figure_labelled<D: Backend, S: ToString>(images: &[Image], row_labels: &[S], vit: &Vit<f32, D>, title: &str) -> Result<Figure> {
    let attention = class_attention(vit, images)?;
    let mut tiles = Vec::with_capacity(images.len() * (1 + HEADS));
    for (image, heads) in images.iter().zip(attention.chunks_exact(HEADS * PATCHES)) {
        tiles.push(image.to_rgb());
        tiles.extend(heads.chunks_exact(PATCHES).map(heat_tile));
    }
    let cols: Vec<String> = std::iter::once("image".to_string()).chain((1..=HEADS).map(|h| format!("head {h}"))).collect();
    ImageGrid::new(&tiles, 1 + HEADS).scale(SCALE).title(title).row_labels(row_labels).col_labels(&cols).draw()
}

/// The class token's attention in each head of `vit`'s last block, next to the images: one row
/// per image ("image 1", …), the image then one map per head ("head 1" … "head 4"), each map
/// scaled to its own maximum and drawn at the image's size. Images: 32×32, RGB or gray.
///
/// Errors ([`Error::Config`]) for no image or one of another size.
pub fn attention_figure<D: Backend>(images: &[Image], vit: &Vit<f32, D>, title: &str) -> Result<Figure> {
    let rows: Vec<String> = (1..=images.len()).map(|i| format!("image {i}")).collect();
    attention_figure_labelled(images, &rows, vit, title)
}

/// The class-token attention of a ViT at random initialisation (built from `seed`) and of
/// `trained` (named `what` in its title, e.g. "DINO, 100 epochs"), side by side, on the first
/// test image of each of `rows` classes of `textures` (test split of `seed`).
pub fn attention_random_vs_trained(trained: &Vit<f32, run::Dev>, what: &str, seed: u64, rows: usize) -> Result<Figure> {
    use dfdx::nn::BuildModule;
    if !(1..=NUM_CLASSES).contains(&rows) {
        return Err(Error::config(format!("attention figure: rows must be between 1 and {NUM_CLASSES} (one test image per class), not {rows}")));
    }
    let test = textures::generate_split(&ProceduralConfig { n_train: 0, n_test: 200, seed, ..ProceduralConfig::default() }, Split::Test);
    let picks: Vec<usize> = first_per_class(&test.labels, NUM_CLASSES, 1).into_iter().take(rows).collect();
    let images: Vec<Image> = picks.iter().map(|&i| test.image(i)).collect();
    let names: Vec<&str> = picks.iter().map(|&i| test.class_names[test.labels[i]].as_str()).collect();
    let random = Vit::<f32, run::Dev>::build(&run::Dev::seed_from_u64(seed));
    side_by_side(
        &[
            attention_figure_labelled(&images, &names, &random, "[CLS] attention, random init")?,
            attention_figure_labelled(&images, &names, trained, &format!("[CLS] attention, {what}"))?,
        ],
        30,
    )
}

/// The first component of the saved paths of networks that are not the trained one (DINO's
/// teacher, BYOL's target, MoCo's key encoder): [`trained_vit`] skips them.
const NOT_TRAINED: &[&str] = &["teacher", "target", "key_encoder"];

/// Where the trained ViT encoder is saved among the checkpoint's tensor `names`: the prefix of
/// the one `….cls_token` that does not belong to a moving-average copy ([`NOT_TRAINED`]), e.g.
/// `student.branch.encoder` for DINO. `None` when there is no such ViT or more than one.
pub fn vit_prefix(names: &[String]) -> Option<String> {
    let trained: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".cls_token"))
        .filter(|p| !NOT_TRAINED.contains(&p.split('.').next().unwrap_or_default()))
        .collect();
    match trained[..] {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// The trained ViT encoder of a checkpoint (any method trained with `--encoder vit`: for DINO
/// the student's), for the attention figure. Errors name the file.
pub fn trained_vit(checkpoint: &std::path::Path) -> Result<Vit<f32, run::Dev>> {
    use dfdx::nn::BuildModule;
    let names = crate::train::checkpoint::tensor_names(checkpoint)?;
    let prefix = vit_prefix(&names).ok_or_else(|| {
        Error::format(checkpoint, "holds no trained ViT encoder (train with `--encoder vit`; the attention maps are the ViT's)")
    })?;
    let mut vit = Vit::<f32, run::Dev>::build(&run::Dev::default());
    crate::train::checkpoint::load_part(&mut vit, checkpoint, &prefix)?;
    Ok(vit)
}
