//! Small file-system helpers with errors that name the path.

use std::collections::BTreeMap;
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

/// Makes `dir` hold exactly `files` (relative path → content): writes the files whose content
/// differs, removes the others. Unchanged files keep their modification time, so cargo does
/// not rebuild a crate whose sources did not change.
pub fn sync(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> Result<(), String> {
    for stale in list_files(dir) {
        if !files.contains_key(&stale) {
            fs::remove_file(dir.join(&stale)).map_err(|e| format!("{}: cannot remove it: {e}", dir.join(&stale).display()))?;
        }
    }
    for (rel, content) in files {
        let path = dir.join(rel);
        if fs::read(&path).ok().as_deref() != Some(content.as_slice()) {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create it: {e}", parent.display()))?;
            }
            fs::write(&path, content).map_err(|e| format!("{}: cannot write it: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Every file below `dir` (relative path → content), for [`sync`].
pub fn read_tree(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    list_files(dir)
        .into_iter()
        .map(|rel| fs::read(dir.join(&rel)).map(|c| (rel.clone(), c)).map_err(|e| format!("{}: cannot read it: {e}", dir.join(&rel).display())))
        .collect()
}
