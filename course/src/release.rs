//! `course release OUT_DIR`: the student bundle. It keeps the repository's layout (each
//! exercise finds the library at `../..`) but holds only what students use: the library,
//! `exercises/`, `notebooks/`, `slides/` — never `solutions/`, the hidden tests or this tool.

use crate::fsutil::{copy_tree, write_file};
use std::fs;
use std::path::Path;

/// Folders copied whole (build output and lock files of the exercises left out).
const FOLDERS: &[&str] = &["src", "exercises", "notebooks", "slides"];
/// Top-level files copied when present.
const FILES: &[&str] = &["Cargo.lock", "README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// The library's manifest without the instructors' parts: the `course` workspace member and
/// dev-dependency. Errors if the manifest no longer has the expected lines.
pub fn student_manifest(manifest: &str) -> Result<String, String> {
    let member = "members = [\".\", \"course\"]";
    if !manifest.contains(member) {
        return Err(format!("Cargo.toml: expected `{member}` in the [workspace] section"));
    }
    let kept: Vec<&str> = manifest.lines().filter(|l| !l.trim_start().starts_with("course = ")).collect();
    Ok(kept.join("\n").replace(member, "members = [\".\"]") + "\n")
}

/// Writes the bundle into `out` (which must not exist or be empty). Returns the files written.
pub fn release(root: &Path, out: &Path) -> Result<usize, String> {
    if out.exists() && fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(format!("{}: exists and is not empty; give a new folder", out.display()));
    }
    let manifest = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    write_file(&out.join("Cargo.toml"), &student_manifest(&manifest)?)?;
    for file in FILES.iter().filter(|f| root.join(f).is_file()) {
        fs::copy(root.join(file), out.join(file)).map_err(|e| format!("{file}: cannot copy it: {e}"))?;
    }
    for folder in FOLDERS {
        copy_tree(&root.join(folder), &out.join(folder), &["target"])?;
    }
    // The exercises' build output and lock file, if a student build ran in this checkout.
    for ex in crate::catalog::EXERCISES {
        let _ = fs::remove_dir_all(out.join("exercises").join(ex.name).join("target"));
    }
    // Students build the exercises with the versions the library was tested with.
    fs::copy(root.join("Cargo.lock"), out.join("exercises/Cargo.lock")).map_err(|e| format!("Cargo.lock: cannot copy it: {e}"))?;
    Ok(crate::fsutil::list_files(out).len())
}
