//! A small Vision Transformer (Dosovitskiy et al., ICLR 2021) for 32×32 images.
//!
//! ```text
//! patches:  the image cut into 8×8 = 64 patches of 4×4 pixels, each flattened to 3·4·4 = 48 values
//! tokens:   t_0 = cls + pos_0,   t_p = W_e·patch_p + b_e + pos_p   (p = 1..64), width D = 128
//! block ×4 (pre-norm):  t ← t + W_o·MHSA(LN₁(t)) + b_o,   t ← t + W₂·GELU(W₁·LN₂(t) + b₁) + b₂
//! MHSA:     [Q | K | V] = W_qkv·t + b_qkv, 4 heads of 32: softmax(Q·Kᵀ/√32)·V, heads concatenated
//! h = LN(t_0) of the last layer: the class token is the representation (128-d)
//! ```
//!
//! The patch embedding is a linear layer on flattened patches; it is computed as a 4×4
//! convolution with stride 4 (the same product, and the conv kernel does the patch cutting).
//! There is no BatchNorm, so training and evaluation forward passes are the same. The
//! position embeddings are learnt for the 8×8 grid of a 32×32 image. A smaller (or larger)
//! square image whose side is a multiple of 4, such as multi-crop's 16×16 local crops, is cut
//! into its own `s×s` grid, and the patches' position embeddings are resampled to that grid by
//! bilinear interpolation ([`position_resampling`]; DINO's `interpolate_pos_encoding` does the
//! same with a bicubic): the class token keeps its own, and the gradient flows back to the
//! learnt 8×8 grid.
//!
//! Initialisation: linear layers as PyTorch (`U(±1/√fan_in)`), class token and position
//! embeddings with standard deviation 0.02 as in ViT/DeiT (uniform rather than truncated normal), LayerNorm γ = 1, β = 0.

use crate::nn::ops::{Backend, Img, Maps, Mat};
use crate::nn::Encoder;
use dfdx::nn::modules::{LayerNorm1D, Linear};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::{uniform::SampleUniform, Uniform};

/// Input side length the position embeddings are learnt for.
pub const IMAGE: usize = 32;
/// Patch side length.
pub const PATCH: usize = 4;
/// Patches per image, `(32/4)²`.
pub const PATCHES: usize = (IMAGE / PATCH) * (IMAGE / PATCH);
/// Tokens per image: the class token and the patches.
pub const TOKENS: usize = PATCHES + 1;
/// Token width `D`.
pub const WIDTH: usize = 128;
/// Attention heads (of `WIDTH / HEADS` = 32 features each).
pub const HEADS: usize = 4;
/// Hidden width of the MLPs (4·D).
pub const MLP: usize = 4 * WIDTH;
const PATCH_LEN: usize = 3 * PATCH * PATCH;

/// `y = x·Wᵀ + b` through the backend's linear op, for a batch of rows.
fn dense<const I: usize, const O: usize, D: Backend, T: Tape<f32, D>>(l: &Linear<I, O, f32, D>, x: Mat<D, T>) -> Mat<D, T> {
    // Reshapes of contiguous tensors keep their ids, so the gradients land on the parameters.
    D::linear(x, l.weight.clone().reshape_like(&(O, I)), l.bias.clone().reshape_like(&(O,)))
}

/// Layer normalisation of each row through the backend's op.
fn norm<const M: usize, D: Backend, T: Tape<f32, D>>(l: &LayerNorm1D<M, f32, D>, x: Mat<D, T>) -> Mat<D, T> {
    D::layer_norm(x, l.gamma.clone().reshape_like(&(M,)), l.beta.clone().reshape_like(&(M,)), l.epsilon as f32)
}

/// One pre-norm transformer block: attention then MLP, each around a residual connection.
#[derive(Debug, Clone)]
pub struct Block<E: Dtype, D: Storage<E>> {
    pub norm1: LayerNorm1D<WIDTH, E, D>,
    /// Packed `[Q | K | V]` projection.
    pub qkv: Linear<WIDTH, { 3 * WIDTH }, E, D>,
    /// Output projection of the concatenated heads.
    pub proj: Linear<WIDTH, WIDTH, E, D>,
    pub norm2: LayerNorm1D<WIDTH, E, D>,
    pub fc1: Linear<WIDTH, MLP, E, D>,
    pub fc2: Linear<MLP, WIDTH, E, D>,
}

impl<E: Dtype + SampleUniform + num_traits::Float, D: Device<E>> TensorCollection<E, D> for Block<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Block<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("norm1", |s| &s.norm1, |s| &mut s.norm1),
                Self::module("qkv", |s| &s.qkv, |s| &mut s.qkv),
                Self::module("proj", |s| &s.proj, |s| &mut s.proj),
                Self::module("norm2", |s| &s.norm2, |s| &mut s.norm2),
                Self::module("fc1", |s| &s.fc1, |s| &mut s.fc1),
                Self::module("fc2", |s| &s.fc2, |s| &mut s.fc2),
            ),
            |(norm1, qkv, proj, norm2, fc1, fc2)| Block { norm1, qkv, proj, norm2, fc1, fc2 },
        )
    }
}

impl<D: Backend> Block<f32, D> {
    /// `(B·65, D)` tokens in and out (32×32 images).
    pub fn forward<T: Tape<f32, D>>(&self, t: Mat<D, T>) -> Mat<D, T> {
        self.forward_tokens(t, TOKENS)
    }

    /// `(B·n, D)` tokens in and out: `n` tokens per image (`1 + s²` for an `s×s` grid).
    pub fn forward_tokens<T: Tape<f32, D>>(&self, t: Mat<D, T>, n: usize) -> Mat<D, T> {
        let a = D::attention(self.qkv_of(t.retaped::<T>()), n, HEADS);
        let t = t + dense(&self.proj, a);
        let h = D::gelu(dense(&self.fc1, norm(&self.norm2, t.retaped::<T>())));
        t + dense(&self.fc2, h)
    }

    /// `[Q | K | V] = W_qkv·LN₁(t) + b_qkv`.
    pub fn qkv_of<T: Tape<f32, D>>(&self, t: Mat<D, T>) -> Mat<D, T> {
        dense(&self.qkv, norm(&self.norm1, t))
    }
}

/// The small ViT: patch 4, width 128, 4 blocks of 4 heads, MLP 512; 128-d representation.
#[derive(Debug, Clone)]
pub struct Vit<E: Dtype, D: Storage<E>> {
    /// Linear map of a flattened `(3, 4, 4)` patch to a token.
    pub patch_embed: Linear<PATCH_LEN, WIDTH, E, D>,
    pub cls_token: Tensor<Rank1<WIDTH>, E, D>,
    pub pos_embed: Tensor<Rank2<TOKENS, WIDTH>, E, D>,
    pub block1: Block<E, D>,
    pub block2: Block<E, D>,
    pub block3: Block<E, D>,
    pub block4: Block<E, D>,
    /// Final LayerNorm, applied to the class token.
    pub norm: LayerNorm1D<WIDTH, E, D>,
}

/// The kit's ViT on `Cpu` (or any [`Backend`]).
pub type SmallVit<D> = Vit<f32, D>;

/// `U(−a, a)` with `a = 0.02·√3`: zero mean and standard deviation 0.02, as the `N(0, 0.02²)` of
/// ViT/DeiT for the class token and position embeddings.
fn small_init<S: ConstShape, E: Dtype + SampleUniform + num_traits::Float, D: Device<E>>() -> TensorOptions<S, E, D> {
    TensorOptions::reset_with(|t| {
        let a = E::from_f64(0.02 * 3f64.sqrt()).unwrap();
        t.try_fill_with_distr(Uniform::new(E::default() - a, a))
    })
}

impl<E: Dtype + SampleUniform + num_traits::Float, D: Device<E>> TensorCollection<E, D> for Vit<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Vit<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                (
                    Self::module("patch_embed", |s| &s.patch_embed, |s| &mut s.patch_embed),
                    Self::tensor("cls_token", |s| &s.cls_token, |s| &mut s.cls_token, small_init()),
                    Self::tensor("pos_embed", |s| &s.pos_embed, |s| &mut s.pos_embed, small_init()),
                ),
                (
                    Self::module("block1", |s| &s.block1, |s| &mut s.block1),
                    Self::module("block2", |s| &s.block2, |s| &mut s.block2),
                    Self::module("block3", |s| &s.block3, |s| &mut s.block3),
                    Self::module("block4", |s| &s.block4, |s| &mut s.block4),
                ),
                Self::module("norm", |s| &s.norm, |s| &mut s.norm),
            ),
            |((patch_embed, cls_token, pos_embed), (block1, block2, block3, block4), norm)| Vit {
                patch_embed,
                cls_token,
                pos_embed,
                block1,
                block2,
                block3,
                block4,
                norm,
            },
        )
    }
}

impl<D: Backend> Vit<f32, D> {
    /// Tokens `(B·n, 128)` of an image batch `(B, 3, 4s, 4s)`: class token and embedded
    /// patches, plus position embeddings; `n = 1 + s²` (65 for 32×32 images). Grids other than
    /// 8×8 get the position embeddings [`position_resampling`] makes.
    ///
    /// Panics unless the images have 3 channels and a square side that is a positive multiple
    /// of 4 (the method's settings check crop sizes first: [`check_image_size`]).
    pub fn tokens<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T> {
        let (b, c, h, w) = *x.shape();
        assert!(c == 3 && h == w, "Vit: expected square RGB images (B, 3, S, S), got ({b}, {c}, {h}, {w})");
        check_image_size(h).unwrap_or_else(|e| panic!("{e}"));
        let (side, n) = (h / PATCH, tokens_for(h));
        let filters = self.patch_embed.weight.clone().reshape_like(&(WIDTH, 3, PATCH, PATCH));
        let patches = D::conv2d(x, filters, PATCH, 0) // (B, D, s, s)
            .reshape_like(&(b, WIDTH, side * side))
            .permute::<_, Axes3<0, 2, 1>>()
            + self.patch_embed.bias.clone().retaped::<T>().reshape_like(&(WIDTH,)).broadcast_like::<_, Axes2<0, 1>>(&(b, side * side, WIDTH));
        let cls = self.cls_token.clone().retaped::<T>().reshape_like(&(WIDTH,)).broadcast_like::<_, Axes2<0, 1>>(&(b, 1, WIDTH));
        let pos = self.pos_embed.clone().retaped::<T>().reshape_like(&(TOKENS, WIDTH));
        let pos = if side == IMAGE / PATCH {
            pos
        } else {
            // pos' = R·pos as (posᵀ·Rᵀ)ᵀ: the tape stays on the left operand.
            let r_t = pos.device().tensor_from_vec(transpose(&position_resampling(side), n, TOKENS), (TOKENS, n));
            pos.permute::<_, Axes2<1, 0>>().matmul(r_t).permute::<_, Axes2<1, 0>>()
        };
        let t = (cls, patches).concat_along(Axis::<1>) + pos.broadcast_like::<_, Axis<0>>(&(b, n, WIDTH));
        t.reshape_like(&(b * n, WIDTH))
    }

    /// The transformer blocks on `(B·n, 128)` tokens, `n` per image.
    fn blocks<T: Tape<f32, D>>(&self, t: Mat<D, T>, n: usize) -> Mat<D, T> {
        let t = self.block2.forward_tokens(self.block1.forward_tokens(t, n), n);
        self.block4.forward_tokens(self.block3.forward_tokens(t, n), n)
    }

    /// `h = LN(t_0)`: the normalised class token of every image, `(B, 128)`.
    pub fn forward<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T> {
        let (b, n) = (x.shape().0, tokens_for(x.shape().2));
        let t = self.blocks(self.tokens(x), n).reshape_like(&(b, n, WIDTH));
        let cls = t.slice((.., 0..1, ..)).reshape_like(&(b, WIDTH));
        norm(&self.norm, cls)
    }

    /// `h` as [`Vit::forward`] gives it, and the normalised patch tokens of the last layer laid
    /// out as a feature map `(B, 128, s, s)` (8×8 for 32×32 images): token `1 + s·r + c` at
    /// row `r`, column `c`.
    pub fn forward_with_map<T: Tape<f32, D>>(&self, x: Img<D, T>) -> (Mat<D, T>, Img<D, T>) {
        let (b, n) = (x.shape().0, tokens_for(x.shape().2));
        let side = x.shape().2 / PATCH;
        let t = norm(&self.norm, self.blocks(self.tokens(x), n)).reshape_like(&(b, n, WIDTH));
        let h = t.with_empty_tape().slice((.., 0..1, ..)).reshape_like(&(b, WIDTH));
        let map = t.slice((.., 1.., ..)).permute::<_, Axes3<0, 2, 1>>().reshape_like(&(b, WIDTH, side, side));
        (h, map)
    }

    /// Multiply-add FLOPs (×2) of one forward pass over `images` 32×32 images: the patch
    /// embedding, and per block the Q/K/V, output and MLP projections and the two attention
    /// products.
    pub fn forward_flops(images: usize) -> f64 {
        let (n, d) = (TOKENS as f64, WIDTH as f64);
        let embed = 2.0 * PATCHES as f64 * PATCH_LEN as f64 * d;
        let projections = 2.0 * n * d * (3.0 * d + d + 2.0 * MLP as f64);
        let attention = 2.0 * 2.0 * n * n * d; // Q·Kᵀ and P·V over all heads
        images as f64 * (embed + 4.0 * (projections + attention))
    }

    /// Attention maps of the last block's heads, `(B, 4, n, n)` (`n` = 65 for 32×32 images):
    /// row `i` of map `[b, h]` is how token `i` of image `b` spreads its attention over the
    /// tokens (token 0 is the class token, token `1 + s·r + c` the patch in row `r`, column
    /// `c` of the `s×s` grid). Costs one forward pass.
    pub fn last_attention_maps(&self, x: Img<D>) -> Maps<D> {
        let n = tokens_for(x.shape().2);
        let t = self.tokens(x);
        let t = self.block3.forward_tokens(self.block2.forward_tokens(self.block1.forward_tokens(t, n), n), n);
        crate::nn::ops::attention_maps(self.block4.qkv_of(t), n, HEADS)
    }
}

/// Tokens per image of side `side`: the class token and `(side / 4)²` patches.
pub fn tokens_for(side: usize) -> usize {
    (side / PATCH) * (side / PATCH) + 1
}

/// Errors unless the ViT can take `side × side` images: a positive multiple of the patch side
/// (4), so that the image is cut into whole patches.
pub fn check_image_size(side: usize) -> crate::Result<()> {
    if side == 0 || side % PATCH != 0 {
        return Err(crate::Error::config(format!("the vit encoder cuts images into {PATCH}x{PATCH} patches: it takes square images whose side is a positive multiple of {PATCH}, got {side}")));
    }
    Ok(())
}

/// The `n × 65` matrix `R` that resamples the position embeddings to an `s×s` grid of patches,
/// `pos' = R·pos` (`n = 1 + s²`): the class token's row is kept (`R₀₀ = 1`), and each patch of
/// the new grid gets the bilinear interpolation of the learnt 8×8 grid at its centre
/// (half-pixel centres, PyTorch's `align_corners = False`): in one dimension, new position `i`
/// sits at `u = (i + ½)·8/s − ½` of the old grid, clamped to `[0, 7]`, and takes
/// `(1 − (u − ⌊u⌋))` of position `⌊u⌋` and `u − ⌊u⌋` of the next; a patch's weight is the
/// product of its row's and its column's. `s = 8` gives the identity, `s = 4` the mean of
/// each 2×2 block. Rows sum to 1. Row-major.
pub fn position_resampling(s: usize) -> Vec<f32> {
    assert!(s > 0, "position_resampling: the grid needs at least one patch");
    let g = IMAGE / PATCH;
    let weights_1d = |i: usize| -> [(usize, f64); 2] {
        let u = ((i as f64 + 0.5) * g as f64 / s as f64 - 0.5).clamp(0.0, (g - 1) as f64);
        let lo = u.floor() as usize;
        let frac = u - lo as f64;
        [(lo, 1.0 - frac), ((lo + 1).min(g - 1), frac)]
    };
    let n = s * s + 1;
    let mut r = vec![0.0f64; n * TOKENS];
    r[0] = 1.0;
    for row in 0..s {
        for col in 0..s {
            let out = 1 + row * s + col;
            for (gr, wr) in weights_1d(row) {
                for (gc, wc) in weights_1d(col) {
                    r[out * TOKENS + 1 + gr * g + gc] += wr * wc;
                }
            }
        }
    }
    r.into_iter().map(|x| x as f32).collect()
}

/// The transpose of a row-major `rows × cols` matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| m[r * cols + c])).collect()
}

impl<D: Backend> Encoder<D> for Vit<f32, D> {
    const DIM: usize = WIDTH;
    const NAME: &'static str = "vit";

    fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Mat<D, T> {
        self.forward(x)
    }
    fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T> {
        self.forward(x)
    }
    fn forward_train_with_map<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> (Mat<D, T>, Img<D, T>) {
        self.forward_with_map(x)
    }
}
