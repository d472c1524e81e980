//! The library an exercise is graded against: a copy of `selfsup` in which **that exercise's
//! solution regions are removed** (each is a `todo!()` saying so), every other exercise's
//! reference kept. A submission can still call any library function the exercise's prelude
//! imports (`l2_normalize` in `nt_xent`, `KeyQueue::random` in `moco_momentum_queue`), but
//! one that delegates to the reference of the exercise being graded (an `nt_xent` whose body
//! is `selfsup::methods::nt_xent(z, tau)`) reaches that `todo!()` and fails every test.
//!
//! One copy per exercise, at a fixed path (`target/course/library/<exercise>/`), rewritten
//! only where its content changed: cargo sees each copy as its own package, so each compiles
//! once into the shared build folder and is reused by every later grading or validation.

use crate::catalog::Exercise;
use crate::source;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Lints the removed regions raise (parameters and imports the `todo!()` leaves unused).
const ALLOW: &str = "#![allow(unused, unreachable_code)]\n";

/// What a removed region's `todo!()` says (the student reads it in the feedback).
pub fn removed_message(exercise: &str, function: &str) -> String {
    format!("`{function}` belongs to exercise `{exercise}`: the library's reference is not available while `{exercise}` is graded; write it yourself")
}

/// Where the copy of the library for grading `ex` lives.
pub fn dir(root: &Path, ex: &Exercise) -> PathBuf {
    root.join("target/course/library").join(ex.name)
}

/// The files of the copy for `ex` (relative path → content): the student manifest, and
/// `src/` with `ex`'s regions removed.
pub fn files(root: &Path, ex: &Exercise) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: cannot read it: {e}"))?;
    files.insert(PathBuf::from("Cargo.toml"), crate::release::student_manifest(&manifest)?.into_bytes());
    let anchored: Vec<&str> = ex.sources.iter().map(|s| s.file).collect();
    for rel in crate::fsutil::list_files(&root.join("src")) {
        let rel = Path::new("src").join(rel);
        let path = root.join(&rel);
        let name = rel.to_string_lossy().replace('\\', "/");
        let mut content = fs::read(&path).map_err(|e| format!("{name}: cannot read it: {e}"))?;
        if anchored.contains(&name.as_str()) {
            let text = String::from_utf8(content).map_err(|_| format!("{name}: not UTF-8"))?;
            content = source::remove_solutions(&text, &name, ex.name, |f| removed_message(ex.name, f))?.into_bytes();
        }
        if name == "src/lib.rs" {
            content = [ALLOW.as_bytes(), &content].concat();
        }
        files.insert(rel, content);
    }
    if !files.contains_key(Path::new("src/lib.rs")) {
        return Err(format!("{}: no src/lib.rs", root.display()));
    }
    Ok(files)
}

/// Writes (or brings up to date) the copy of the library for grading `ex`; returns its folder.
/// Unchanged files are not rewritten, so cargo reuses the copy's previous build.
pub fn prepare(root: &Path, ex: &Exercise) -> Result<PathBuf, String> {
    // Students graded in parallel prepare the same copies: one writer at a time, so a copy is
    // never half written while another thread compiles it.
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = dir(root, ex);
    crate::fsutil::sync(&dir, &files(root, ex)?)?;
    dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_for_an_exercise_has_none_of_its_solutions_and_all_others() {
        let root = crate::default_root();
        let nt_xent = crate::catalog::find("nt_xent").unwrap();
        let files = files(&root, nt_xent).unwrap();
        let simclr = String::from_utf8(files[Path::new("src/methods/simclr.rs")].clone()).unwrap();
        assert!(simclr.contains(&removed_message("nt_xent", "nt_xent")), "{simclr}");
        assert!(!simclr.contains("logsumexp::<(usize,), Axis<1>>()"), "the reference of nt_xent is still there");
        // info_nce's regions, which nt_xent's prelude imports, stay solved.
        let functional = String::from_utf8(files[Path::new("src/nn/functional.rs")].clone()).unwrap();
        assert!(functional.contains("a.matmul(b.permute::<_, Axes2<1, 0>>())"), "{functional}");
        let manifest = String::from_utf8(files[Path::new("Cargo.toml")].clone()).unwrap();
        assert!(!manifest.contains("path = \"course\""), "{manifest}");
    }
}
