//! The one list of the kit's methods. The command line's `--method` values, its help, the
//! dispatch from a run's config to the concrete Rust type, `config.json`'s tagged method
//! settings and the experiments all come from the [`registry!`] table at the bottom.
//!
//! Adding a method: write its module (the model, its [`Method`](crate::methods::Method) impl and
//! its `Config` implementing [`Settings`](crate::methods::Settings)), then add one line to the
//! table.

use crate::error::{Error, Result};
use crate::methods::{barlow, byol, cpc, deepcluster, dim, instdisc, mochi, moco, simclr};
use crate::methods::{BarlowTwins, Byol, Cpc, DeepCluster, Dim, InstDisc, MoCHi, MoCo, MoCoV1, SimClr};
use crate::methods::swav::{self, SwAV};
use crate::methods::dino::{self, Dino};
use crate::run::Dev;
use crate::methods::settings::{with_defaults, Settings};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::any::Any;

/// The method `selfsup train` runs without `--method` (the README's main job).
pub const DEFAULT_METHOD: &str = "simclr";

/// One row of the registry, for listings (help, docs, notebooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// `--method NAME`.
    pub name: &'static str,
    /// Part of the course (1: contrastive, 2: without negatives, 3: clustering, 4: ViT and DINO).
    pub part: u8,
    /// One line for listings.
    pub summary: &'static str,
}

/// Something done with a run's concrete method type: train it, evaluate it, embed images.
/// [`with_method`] picks the type from the run's method and encoder and calls [`WithMethod::call`].
pub trait WithMethod {
    type Output;
    fn call<M: crate::methods::Method<Dev> + dfdx::nn::BuildModule<Dev, f32>>(self, settings: &M::Config) -> Self::Output;
}

fn unknown_method(name: &str) -> Error {
    let names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
    Error::config(format!("unknown method `{name}` (available: {})", names.join(", ")))
}

/// Calls `$f.call::<$method<Encoder, F, H, Z>>($settings)` for the encoder named `$encoder`.
macro_rules! for_encoder {
    ($encoder:expr, $method:ident, $f:expr, $settings:expr) => {
        match $encoder {
            "tiny-convnet" => Ok($f.call::<$method<crate::nn::TinyConvNet<Dev>, 128, 512, 128, f32, Dev>>($settings)),
            "convnet" => Ok($f.call::<$method<crate::nn::SmallConvNet<Dev>, 256, 512, 128, f32, Dev>>($settings)),
            "resnet" => Ok($f.call::<$method<crate::nn::SmallResNet<Dev>, 128, 512, 128, f32, Dev>>($settings)),
            "vit" => Ok($f.call::<$method<crate::nn::SmallVit<Dev>, 128, 512, 128, f32, Dev>>($settings)),
            other => Err(crate::run::unknown_encoder(other)),
        }
    };
}

/// Generates [`MethodConfig`], [`METHODS`] and [`with_method`] from one table.
macro_rules! registry {
    ($( $variant:ident: $name:literal => $ty:ident, $config:ty, part $part:literal, $summary:literal; )*) => {
        /// A run's method and its settings; in `config.json`, `{"name": "moco", "tau": 0.1, ...}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "name")]
        pub enum MethodConfig {
            $( #[serde(rename = $name)] $variant($config), )*
        }

        /// Every method, in the course's order.
        pub const METHODS: &[MethodInfo] = &[ $( MethodInfo { name: $name, part: $part, summary: $summary }, )* ];

        impl MethodConfig {
            /// The method's `--method` name.
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant(_) => $name, )* }
            }

            /// The default settings of the method called `name`.
            pub fn default_for(name: &str) -> Result<Self> {
                match name {
                    $( $name => Ok(Self::$variant(<$config>::default())), )*
                    other => Err(unknown_method(other)),
                }
            }

            /// The loop's defaults with this method's budget.
            pub fn train_defaults(&self) -> TrainConfig {
                match self { $( Self::$variant(_) => <$config as Settings>::train_defaults(TrainConfig::default()), )* }
            }

            pub fn validate(&self) -> Result<()> {
                match self { $( Self::$variant(c) => c.validate(), )* }
            }

            pub fn check_encoder(&self, encoder: &str) -> Result<()> {
                match self { $( Self::$variant(c) => c.check_encoder(encoder), )* }
            }

            /// The settings as type `C`, if this method's settings are a `C`.
            pub fn get<C: 'static>(&self) -> Option<&C> {
                match self { $( Self::$variant(c) => (c as &dyn Any).downcast_ref::<C>(), )* }
            }

            pub fn get_mut<C: 'static>(&mut self) -> Option<&mut C> {
                match self { $( Self::$variant(c) => (c as &mut dyn Any).downcast_mut::<C>(), )* }
            }

            /// `cmd` with the flags of method `name`'s settings, each defaulting to its
            /// `Config::default()` value.
            pub fn command(name: &str, cmd: clap::Command) -> Result<clap::Command> {
                match name {
                    $( $name => Ok(with_defaults(<$config as clap::Args>::augment_args(cmd), &<$config>::default())), )*
                    other => Err(unknown_method(other)),
                }
            }

            /// The settings of method `name` from parsed flags (see [`MethodConfig::command`]).
            pub fn from_matches(name: &str, matches: &clap::ArgMatches) -> Result<Self> {
                match name {
                    $( $name => <$config as clap::FromArgMatches>::from_arg_matches(matches)
                        .map(Self::$variant)
                        .map_err(|e| Error::config(e.to_string())), )*
                    other => Err(unknown_method(other)),
                }
            }
        }

        /// Calls `f` with the concrete type of `method` on `encoder`.
        pub fn with_method<F: WithMethod>(method: &MethodConfig, encoder: &str, f: F) -> Result<F::Output> {
            match method {
                $( MethodConfig::$variant(c) => for_encoder!(encoder, $ty, f, c), )*
            }
        }
    };
}

registry! {
    InstDisc: "instdisc" => InstDisc, instdisc::Config, part 1, "instance discrimination with a memory bank (Wu et al. 2018)";
    Dim:      "dim"      => Dim,      dim::Config,      part 1, "Deep InfoMax: global vs local features (Hjelm et al. 2019)";
    Cpc:      "cpc"      => Cpc,      cpc::Config,      part 1, "contrastive predictive coding over a patch grid (van den Oord et al. 2018)";
    MoCoV1:   "moco-v1"  => MoCoV1,   moco::Config,     part 1, "momentum contrast, linear head (He et al. 2020)";
    MoCo:     "moco"     => MoCo,     moco::Config,     part 1, "MoCo v2: MLP head and SimCLR's views (Chen et al. 2020)";
    SimClr:   "simclr"   => SimClr,   simclr::Config,   part 1, "NT-Xent between two views in a batch (Chen et al. 2020)";
    MoCHi:    "mochi"    => MoCHi,    mochi::Config,    part 1, "MoCo with synthetic hard negatives (Kalantidis et al. 2020)";
    Barlow:   "barlow"   => BarlowTwins, barlow::Config, part 2, "Barlow Twins: cross-correlation to the identity (Zbontar et al. 2021)";
    Byol:     "byol"     => Byol,     byol::Config,     part 2, "BYOL: predict a moving-average target, no negatives (Grill et al. 2020)";
    DeepCluster: "deepcluster" => DeepCluster, deepcluster::Config, part 3, "DeepCluster: k-means pseudo-labels, re-clustered every epoch (Caron et al. 2018)";
    SwAV:     "swav"     => SwAV,     swav::Config,     part 3, "SwAV: swapped prediction of Sinkhorn codes over prototypes (Caron et al. 2020)";
    Dino:     "dino"     => Dino,     dino::Config,     part 4, "DINO: self-distillation to a centred, sharpened moving-average teacher (Caron et al. 2021)";
}
