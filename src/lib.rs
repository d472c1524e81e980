//! # selfsup
//!
//! A hands-on course kit for self-supervised learning of visual representations, in Rust on
//! dfdx.

pub mod error;
pub mod eval;
pub mod experiments;
pub mod figures;
pub mod image;
pub mod bench;
pub mod cli;
pub mod data {
    //! Datasets: the built-in procedural set and loaders for real ones.
    pub mod cifar;
    pub mod dataset;
    pub mod folder;
    pub mod idx;
    pub mod procedural;
    pub mod textures;
    pub mod shapes;
    pub mod spec;
    pub mod stl10;
}
pub mod augment;
pub mod methods;
pub mod nn;
pub mod notebook;
pub mod plot;
pub mod run;
pub mod supervised;
pub mod train;

pub use error::{Error, Result};
/// dfdx, re-exported so that a notebook (or any user) names the same version the kit uses:
/// `use selfsup::dfdx::prelude::*;`.
pub use dfdx;
/// rand, re-exported for the same reason: the kit's seeded functions take its `RngCore`
/// (e.g. `eval::kmeans::kmeans_plus_plus` in notebook 03: `selfsup::rand::rngs::StdRng`).
pub use rand;
