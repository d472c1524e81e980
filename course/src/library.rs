//! The library an exercise is graded against: a copy of `selfsup` in which **that exercise's
//! solution regions are removed** (each is a `todo!()` saying so). A submission can still call
//! the library functions its prelude imports (`l2_normalize` in `nt_xent`, `KeyQueue::random` in
//! `moco_momentum_queue`), but one that delegates to the reference of the exercise being graded
//! (an `nt_xent` whose body is `selfsup::methods::nt_xent(z, tau)`) reaches that `todo!()` and
//! fails every test.
//!
//! Compiling the library is the slow part of grading (minutes per copy on a small machine), so
//! exercises share copies: a copy removes the regions of a **group** of exercises, and an
//! exercise is never in a group with an exercise it uses (`Exercise::uses`: `nt_xent` calls
//! `info_nce`'s `dot_matrix`), so whatever it imports is there while its own reference is not.
//! Two copies serve parts 1 to 4: one without every exercise but `nt_xent` and `byol` (both
//! import `info_nce`'s helpers), one without `nt_xent` and `byol`.
//! Each copy lives at a fixed path (`target/course/library/<group>/`), rewritten only where its
//! content changed: cargo sees each copy as its own package, so each compiles once into the
//! shared build folder and is reused by every later grading or validation.

use crate::catalog::{Exercise, EXERCISES};
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

/// The groups of exercises that share a copy of the library, in course order: each exercise
/// joins the first group holding no exercise it uses or that uses it.
pub fn groups() -> Vec<Vec<&'static Exercise>> {
    let mut groups: Vec<Vec<&'static Exercise>> = Vec::new();
    let related = |a: &Exercise, b: &Exercise| a.uses.contains(&b.name) || b.uses.contains(&a.name);
    for ex in EXERCISES {
        match groups.iter_mut().find(|g| g.iter().all(|m| !related(ex, m))) {
            Some(group) => group.push(ex),
            None => groups.push(vec![ex]),
        }
    }
    groups
}

/// The exercises whose references are removed from the copy `ex` is graded against (`ex`'s
/// group, see [`groups`]).
pub fn removed_with(ex: &Exercise) -> Vec<&'static Exercise> {
    groups().into_iter().find(|g| g.iter().any(|m| m.name == ex.name)).unwrap_or_default()
}

/// Where the copy of the library for grading `ex` lives (named after its group's exercises).
pub fn dir(root: &Path, ex: &Exercise) -> PathBuf {
    let names: Vec<&str> = removed_with(ex).iter().map(|m| m.name).collect();
    root.join("target/course/library").join(names.join("+"))
}

/// The files of the copy for `ex` (relative path → content): the student manifest, and
/// `src/` with the regions of every exercise of `ex`'s group removed.
pub fn files(root: &Path, ex: &Exercise) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: cannot read it: {e}"))?;
    files.insert(PathBuf::from("Cargo.toml"), crate::release::student_manifest(&manifest)?.into_bytes());
    let removed = removed_with(ex);
    for rel in crate::fsutil::list_files(&root.join("src")) {
        let rel = Path::new("src").join(rel);
        let path = root.join(&rel);
        let name = rel.to_string_lossy().replace('\\', "/");
        let mut content = fs::read(&path).map_err(|e| format!("{name}: cannot read it: {e}"))?;
        for m in removed.iter().filter(|m| m.sources.iter().any(|s| s.file == name)) {
            let text = String::from_utf8(content).map_err(|_| format!("{name}: not UTF-8"))?;
            content = source::remove_solutions(&text, &name, m.name, |f| removed_message(m.name, f))?.into_bytes();
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
    fn exercises_share_copies_but_never_with_an_exercise_they_use() {
        let groups = groups();
        let names: Vec<Vec<&str>> = groups.iter().map(|g| g.iter().map(|e| e.name).collect()).collect();
        // Parts 2 to 4 add no copy: barlow_twins, distillation_loss, kmeans, sinkhorn_knopp,
        // swav_loss, dino_loss, dino_centre and vit_attention use nothing, byol uses info_nce.
        assert_eq!(
            names,
            [
                vec![
                    "augment_crop",
                    "memory_bank",
                    "info_nce",
                    "moco_momentum_queue",
                    "mochi",
                    "barlow_twins",
                    "distillation_loss",
                    "kmeans",
                    "sinkhorn_knopp",
                    "swav_loss",
                    "dino_loss",
                    "dino_centre",
                    "vit_attention"
                ],
                vec!["nt_xent", "byol"]
            ]
        );
        for ex in EXERCISES {
            let removed = removed_with(ex);
            assert!(removed.iter().any(|m| m.name == ex.name), "{}", ex.name);
            for used in ex.uses {
                assert!(crate::catalog::find(used).is_ok(), "{}: uses the unknown exercise `{used}`", ex.name);
                assert!(removed.iter().all(|m| m.name != *used), "{} is graded without `{used}`, which it uses", ex.name);
            }
        }
    }

    #[test]
    fn the_copy_for_an_exercise_has_none_of_its_solutions_and_the_ones_it_uses() {
        let root = crate::default_root();
        let text = |ex: &str, file: &str| String::from_utf8(files(&root, crate::catalog::find(ex).unwrap()).unwrap()[Path::new(file)].clone()).unwrap();
        let simclr = text("nt_xent", "src/methods/simclr.rs");
        assert!(simclr.contains(&removed_message("nt_xent", "nt_xent")), "{simclr}");
        assert!(!simclr.contains("logsumexp::<(usize,), Axis<1>>()"), "the reference of nt_xent is still there");
        // info_nce's regions, which nt_xent's prelude imports, stay solved.
        let functional = text("nt_xent", "src/nn/functional.rs");
        assert!(functional.contains("a.matmul(b.permute::<_, Axes2<1, 0>>())"), "{functional}");
        // ... and are removed where info_nce is graded, with those of its group.
        let functional = text("info_nce", "src/nn/functional.rs");
        assert!(!functional.contains("a.matmul(b.permute::<_, Axes2<1, 0>>())") && functional.contains(&removed_message("info_nce", "dot_matrix")), "{functional}");
        assert!(text("info_nce", "src/methods/mochi.rs").contains(&removed_message("mochi", "hardest_negatives")));
        // byol imports info_nce's l2_normalize too: its copy is nt_xent's, with both of its
        // regions (the loss and the schedule) removed.
        let byol = text("byol", "src/methods/byol.rs");
        assert!(byol.contains(&removed_message("byol", "byol_loss")) && byol.contains(&removed_message("byol", "cosine_tau")), "{byol}");
        assert!(!byol.contains("std::f64::consts::PI * progress"), "the reference of cosine_tau is still there");
        assert!(text("byol", "src/nn/functional.rs").contains("a.matmul(b.permute::<_, Axes2<1, 0>>())"));
        let manifest = text("nt_xent", "Cargo.toml");
        assert!(!manifest.contains("path = \"course\""), "{manifest}");
    }
}
