//! The `selfsup` library, re-exported whole from a shared library (`crate-type = ["dylib"]`)
//! for the notebooks: `:dep selfsup = { path = "kit", package = "selfsup-kit" }`.
pub use selfsup::*;
