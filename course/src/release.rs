//! `course release OUT_DIR`: the student bundle. It keeps the repository's layout (each
//! exercise finds the library at `../..`) but holds only what students use, taken from
//! `git ls-files` (nothing untracked: no build output, no rendered figures, no notebook
//! checkpoints): the library, `exercises/`, `notebooks/`, `slides/`, `results/` (which the
//! notebooks and slides read), `docs/` and `bench/` (which README links) and the top-level
//! files below, and this tool's `README.md` (how grading works, which README links) — never
//! `solutions/`, the hidden tests or this tool's code and specs. The generated exercises must be current (`generate --check`) first.

use crate::fsutil::write_file;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tracked folders that go into the bundle.
pub const FOLDERS: &[&str] = &["src", "exercises", "notebooks", "slides", "results", "docs", "bench"];
/// Tracked top-level files that go into the bundle (`Cargo.toml` is rewritten, see
/// [`student_manifest`]).
pub const FILES: &[&str] = &["Cargo.lock", "README.md", "LICENSE-MIT", "LICENSE-APACHE", ".gitignore"];
/// Tracked files in other folders that go into the bundle: how grading works, for students too.
pub const OTHER_FILES: &[&str] = &["course/README.md"];

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

/// The files git tracks in `root` (relative paths), or an error saying why they cannot be
/// listed (not a git checkout, git missing).
pub fn tracked_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run `git ls-files` in {}: {e} (the release is made from a git checkout)", root.display()))?;
    if !out.status.success() {
        return Err(format!("`git ls-files` failed in {}: {}", root.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let mut files: Vec<PathBuf> = out.stdout.split(|&b| b == 0).filter(|p| !p.is_empty()).map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned())).collect();
    files.sort();
    Ok(files)
}

/// The tracked files that belong in the bundle, as they are in the checkout (files deleted
/// but not yet committed are skipped).
pub fn bundle_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let keep = |rel: &Path| {
        let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
        let top = rel.components().count() == 1;
        (FOLDERS.contains(&first.as_str()) && !top) || (top && FILES.contains(&first.as_str())) || OTHER_FILES.iter().any(|f| rel == Path::new(f))
    };
    Ok(tracked_files(root)?.into_iter().filter(|rel| keep(rel) && root.join(rel).is_file()).collect())
}

/// Writes the bundle into `out` (which must not exist or be empty). Returns the files written.
pub fn release(root: &Path, out: &Path) -> Result<usize, String> {
    let problems = crate::generate::check(root)?;
    if !problems.is_empty() {
        return Err(format!(
            "the generated exercises are out of date; run `cargo run -p course -- generate` and commit:\n{}",
            problems.join("\n")
        ));
    }
    if out.exists() && fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(format!("{}: exists and is not empty; give a new folder", out.display()));
    }
    let manifest = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    write_file(&out.join("Cargo.toml"), &student_manifest(&manifest)?)?;
    for rel in bundle_files(root)? {
        let dest = out.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create it: {e}", parent.display()))?;
        }
        fs::copy(root.join(&rel), &dest).map_err(|e| format!("{}: cannot copy it: {e}", rel.display()))?;
    }
    // Students build the exercises with the versions the library was tested with.
    fs::copy(root.join("Cargo.lock"), out.join("exercises/Cargo.lock")).map_err(|e| format!("Cargo.lock: cannot copy it: {e}"))?;
    Ok(crate::fsutil::list_files(out).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tracked_files_of_the_student_folders_go_into_the_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let git = |args: &[&str]| assert!(Command::new("git").args(args).current_dir(root).output().unwrap().status.success(), "git {args:?}");
        git(&["init", "-q"]);
        for rel in ["src/lib.rs", "results/experiments/a.json", "notebooks/01.ipynb", "solutions/x/src/lib.rs", "tests/hidden/x.rs", "README.md", "notes.txt", "course/README.md", "course/src/main.rs", "course/spec/x/mutants.txt"] {
            write_file(&root.join(rel), "tracked").unwrap();
        }
        git(&["add", "."]);
        for rel in ["src/untracked.rs", "notebooks/.ipynb_checkpoints/01-checkpoint.ipynb", "slides/node_modules/x.js", "slides/figures/a.png"] {
            write_file(&root.join(rel), "not tracked").unwrap();
        }
        let files = bundle_files(root).unwrap();
        let names: Vec<String> = files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["README.md", "course/README.md", "notebooks/01.ipynb", "results/experiments/a.json", "src/lib.rs"]);
    }
}
