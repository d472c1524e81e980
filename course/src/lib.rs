//! # course — the instructors' tool of the selfsup kit
//!
//! * `generate [--check]` — the exercise stubs (`exercises/`) and solutions (`solutions/`)
//!   from the library's anchored code ([`generate`], [`source`]);
//! * `validate` — solutions pass, stubs fail, every mutant is caught ([`validate`]);
//! * `grade SUBMISSIONS_DIR` — scores, JSON report and feedback per student ([`grade`],
//!   [`submissions`]), each exercise against a library without its reference ([`library`]);
//! * `release OUT_DIR` — the student bundle ([`release`]).
//!
//! See `course/README.md`.

pub mod catalog;
pub mod fsutil;
pub mod generate;
pub mod grade;
pub mod library;
pub mod mutants;
pub mod process;
pub mod release;
pub mod sandbox;
pub mod source;
pub mod submissions;
pub mod validate;

/// The zip crate the grader reads submissions with (tests write theirs with it).
pub use zip;

/// The repository this tool belongs to (the folder above `course/`).
pub fn default_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("course/ has a parent").to_path_buf()
}
