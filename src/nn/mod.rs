//! Neural-network building blocks: the custom ops, layers, encoders and heads.

pub mod ops;
pub mod layers;

pub use layers::{BatchNorm2d, Conv2d, ConvBlock};
pub mod attention;
pub mod branch;
pub mod encoders;
pub mod ema;
pub mod functional;
pub mod heads;
pub mod target;
pub mod vit;

pub use encoders::{ConvNet, Encoder, ResNet, SmallConvNet, SmallResNet, TinyConvNet};
pub use branch::Branch;
pub use heads::Mlp;
pub use target::Target;
pub use vit::{SmallVit, Vit};
