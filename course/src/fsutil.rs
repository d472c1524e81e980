//! Small file-system helpers with errors that name the path.

use std::fs;
use std::path::{Path, PathBuf};

/// Writes `content` to `path`, creating parent folders.
pub fn write_file(path: &Path, content: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create it: {e}", parent.display()))?;
    }
    fs::write(path, content).map_err(|e| format!("{}: cannot write it: {e}", path.display()))
}

/// Every regular file below `dir`, relative to it, sorted (empty if `dir` does not exist).
/// Links are not followed.
pub fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&rel)) else { continue };
        for entry in entries.flatten() {
            let rel = rel.join(entry.file_name());
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(rel),
                Ok(t) if t.is_file() => out.push(rel),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Copies the tree `from` into `to`, skipping entries whose first component is in `skip`.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> Result<(), String> {
    for rel in list_files(from) {
        let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
        if skip.contains(&first.as_str()) {
            continue;
        }
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create it: {e}", parent.display()))?;
        }
        fs::copy(from.join(&rel), &dest).map_err(|e| format!("{}: cannot copy it: {e}", from.join(&rel).display()))?;
    }
    Ok(())
}
