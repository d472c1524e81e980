//! Encoders `f`: an image batch `(B, 3, H, W)` in, one feature vector per image `(B, DIM)` out.
//!
//! - [`ConvNet`]: four conv blocks with max pooling between them and global average pooling at
//!   the end, the classic small CIFAR-style network (the kit's default).
//! - [`ResNet`]: a stem and three residual stages (He et al., 2016), each
//!   `relu(bn(conv(relu(bn(conv x)))) + shortcut(x))` with a 1×1 projection shortcut.
//!
//! Both accept any spatial size ≥ 8 (global and local crops alike): sizes are run-time values.

use crate::nn::layers::{BatchNorm2d, Conv2d, ConvBlock};
use crate::nn::ops::{Backend, Img, Mat};
use dfdx::nn::tensor_collection::*;
use dfdx::prelude::*;
use rand_distr::uniform::SampleUniform;

/// What the training loop and the methods need from an encoder.
pub trait Encoder<D: Backend>: TensorCollection<f32, D, To<f32, D> = Self> + Clone {
    /// Length of the representation `h = f(x)`.
    const DIM: usize;
    /// Short name used in configs and checkpoints.
    const NAME: &'static str;
    /// Training mode (BatchNorm uses batch statistics and updates its running averages).
    fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Mat<D, T>;
    /// Evaluation mode (BatchNorm uses its running averages).
    fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T>;
    /// Training mode, also returning **local features**: `(h, map)` where `h = f(x)` is the
    /// representation `(B, DIM)` and `map` the last feature map `(B, DIM, h', w')`, one
    /// `DIM`-vector per location (the conv map before global pooling, the ViT's patch tokens).
    /// Deep InfoMax contrasts the two. Both share one tape: use them in the same loss.
    fn forward_train_with_map<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> (Mat<D, T>, Img<D, T>);
}

/// `(global_avg_pool(map), map)` with both on the tape: the pooling gets an empty tape that
/// merges back into `map`'s when the two meet in a loss.
fn pooled_with_map<D: Backend, T: Tape<f32, D>>(map: Img<D, T>) -> (Mat<D, T>, Img<D, T>) {
    (D::global_avg_pool(map.with_empty_tape()), map)
}

/// `conv-bn-relu ×4` with 2×2 max pooling after the first three blocks, then global average
/// pooling: widths `C1..C4`, representation size `C4`.
#[derive(Debug, Clone)]
pub struct ConvNet<const C1: usize, const C2: usize, const C3: usize, const C4: usize, E: Dtype, D: Storage<E>> {
    pub block1: ConvBlock<3, C1, 1, E, D>,
    pub block2: ConvBlock<C1, C2, 1, E, D>,
    pub block3: ConvBlock<C2, C3, 1, E, D>,
    pub block4: ConvBlock<C3, C4, 1, E, D>,
}

/// The kit's default encoder: widths 32-64-128-256, 392k parameters, 256-d features.
pub type SmallConvNet<D> = ConvNet<32, 64, 128, 256, f32, D>;
/// A quarter of the compute of [`SmallConvNet`]: widths 16-32-64-128, 128-d features.
pub type TinyConvNet<D> = ConvNet<16, 32, 64, 128, f32, D>;

impl<const C1: usize, const C2: usize, const C3: usize, const C4: usize, E: Dtype + SampleUniform, D: Device<E>> TensorCollection<E, D>
    for ConvNet<C1, C2, C3, C4, E, D>
{
    type To<E2: Dtype, D2: Device<E2>> = ConvNet<C1, C2, C3, C4, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("block1", |s| &s.block1, |s| &mut s.block1),
                Self::module("block2", |s| &s.block2, |s| &mut s.block2),
                Self::module("block3", |s| &s.block3, |s| &mut s.block3),
                Self::module("block4", |s| &s.block4, |s| &mut s.block4),
            ),
            |(block1, block2, block3, block4)| ConvNet { block1, block2, block3, block4 },
        )
    }
}

impl<const C1: usize, const C2: usize, const C3: usize, const C4: usize, D: Backend> Encoder<D> for ConvNet<C1, C2, C3, C4, f32, D> {
    const DIM: usize = C4;
    const NAME: &'static str = "convnet";

    fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Mat<D, T> {
        D::global_avg_pool(self.feature_map_train(x))
    }

    fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T> {
        let x = D::max_pool2d(self.block1.forward_eval(x), 2, 2);
        let x = D::max_pool2d(self.block2.forward_eval(x), 2, 2);
        let x = D::max_pool2d(self.block3.forward_eval(x), 2, 2);
        D::global_avg_pool(self.block4.forward_eval(x))
    }

    fn forward_train_with_map<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> (Mat<D, T>, Img<D, T>) {
        pooled_with_map(self.feature_map_train(x))
    }
}

impl<const C1: usize, const C2: usize, const C3: usize, const C4: usize, D: Backend> ConvNet<C1, C2, C3, C4, f32, D> {
    /// The last block's output `(B, C4, H/8, W/8)`, before global pooling (training mode).
    pub fn feature_map_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Img<D, T> {
        let x = D::max_pool2d(self.block1.forward_train(x), 2, 2);
        let x = D::max_pool2d(self.block2.forward_train(x), 2, 2);
        let x = D::max_pool2d(self.block3.forward_train(x), 2, 2);
        self.block4.forward_train(x)
    }
}

/// A residual block: `relu(bn2(conv2(relu(bn1(conv1 x)))) + bn_s(conv_s x))`, where the first
/// 3×3 conv and the 1×1 shortcut conv have stride `S`.
#[derive(Debug, Clone)]
pub struct BasicBlock<const I: usize, const O: usize, const S: usize, E: Dtype, D: Storage<E>> {
    pub conv1: Conv2d<I, O, 3, S, 1, E, D>,
    pub bn1: BatchNorm2d<O, E, D>,
    pub conv2: Conv2d<O, O, 3, 1, 1, E, D>,
    pub bn2: BatchNorm2d<O, E, D>,
    pub shortcut: Conv2d<I, O, 1, S, 0, E, D>,
    pub bn_shortcut: BatchNorm2d<O, E, D>,
}

impl<const I: usize, const O: usize, const S: usize, E: Dtype + SampleUniform, D: Device<E>> TensorCollection<E, D> for BasicBlock<I, O, S, E, D> {
    type To<E2: Dtype, D2: Device<E2>> = BasicBlock<I, O, S, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("conv1", |s| &s.conv1, |s| &mut s.conv1),
                Self::module("bn1", |s| &s.bn1, |s| &mut s.bn1),
                Self::module("conv2", |s| &s.conv2, |s| &mut s.conv2),
                Self::module("bn2", |s| &s.bn2, |s| &mut s.bn2),
                Self::module("shortcut", |s| &s.shortcut, |s| &mut s.shortcut),
                Self::module("bn_shortcut", |s| &s.bn_shortcut, |s| &mut s.bn_shortcut),
            ),
            |(conv1, bn1, conv2, bn2, shortcut, bn_shortcut)| BasicBlock { conv1, bn1, conv2, bn2, shortcut, bn_shortcut },
        )
    }
}

impl<const I: usize, const O: usize, const S: usize, D: Backend> BasicBlock<I, O, S, f32, D> {
    pub fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Img<D, T> {
        let skip = self.bn_shortcut.forward_train(self.shortcut.forward(x.with_empty_tape()));
        let h = self.bn1.forward_train_relu(self.conv1.forward(x));
        (self.bn2.forward_train(self.conv2.forward(h)) + skip).relu()
    }
    pub fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Img<D, T> {
        let skip = self.bn_shortcut.forward_eval(self.shortcut.forward(x.with_empty_tape()));
        let h = self.bn1.forward_eval(self.conv1.forward(x)).relu();
        (self.bn2.forward_eval(self.conv2.forward(h)) + skip).relu()
    }
}

/// ResNet-style encoder: stem conv block (`C1`), then residual stages `C1 → C1` (stride 1),
/// `C1 → C2` (stride 2), `C2 → C3` (stride 2), global average pooling; features of size `C3`.
#[derive(Debug, Clone)]
pub struct ResNet<const C1: usize, const C2: usize, const C3: usize, E: Dtype, D: Storage<E>> {
    pub stem: ConvBlock<3, C1, 1, E, D>,
    pub stage1: BasicBlock<C1, C1, 1, E, D>,
    pub stage2: BasicBlock<C1, C2, 2, E, D>,
    pub stage3: BasicBlock<C2, C3, 2, E, D>,
}

/// A small ResNet: 32-64-128 channels, 128-d features.
pub type SmallResNet<D> = ResNet<32, 64, 128, f32, D>;

impl<const C1: usize, const C2: usize, const C3: usize, E: Dtype + SampleUniform, D: Device<E>> TensorCollection<E, D> for ResNet<C1, C2, C3, E, D> {
    type To<E2: Dtype, D2: Device<E2>> = ResNet<C1, C2, C3, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("stem", |s| &s.stem, |s| &mut s.stem),
                Self::module("stage1", |s| &s.stage1, |s| &mut s.stage1),
                Self::module("stage2", |s| &s.stage2, |s| &mut s.stage2),
                Self::module("stage3", |s| &s.stage3, |s| &mut s.stage3),
            ),
            |(stem, stage1, stage2, stage3)| ResNet { stem, stage1, stage2, stage3 },
        )
    }
}

impl<const C1: usize, const C2: usize, const C3: usize, D: Backend> Encoder<D> for ResNet<C1, C2, C3, f32, D> {
    const DIM: usize = C3;
    const NAME: &'static str = "resnet";

    fn forward_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Mat<D, T> {
        D::global_avg_pool(self.feature_map_train(x))
    }
    fn forward_eval<T: Tape<f32, D>>(&self, x: Img<D, T>) -> Mat<D, T> {
        let x = self.stage1.forward_eval(self.stem.forward_eval(x));
        let x = self.stage3.forward_eval(self.stage2.forward_eval(x));
        D::global_avg_pool(x)
    }
    fn forward_train_with_map<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> (Mat<D, T>, Img<D, T>) {
        pooled_with_map(self.feature_map_train(x))
    }
}

impl<const C1: usize, const C2: usize, const C3: usize, D: Backend> ResNet<C1, C2, C3, f32, D> {
    /// The last stage's output `(B, C3, H/4, W/4)`, before global pooling (training mode).
    pub fn feature_map_train<T: Tape<f32, D>>(&mut self, x: Img<D, T>) -> Img<D, T> {
        let x = self.stage1.forward_train(self.stem.forward_train(x));
        self.stage3.forward_train(self.stage2.forward_train(x))
    }
}
