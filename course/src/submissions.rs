//! Finding what a class handed in: one folder or one `.zip` per student in the submissions
//! folder, and in each, the exercise crates at any depth (a copy of `exercises/`, of the whole
//! bundle, or the crates loose: `alice/info_nce/src/lib.rs`,
//! `alice/selfsup/exercises/info_nce/src/lib.rs` and `alice.zip` holding either all work).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Folders never searched for exercises: build output, version control, macOS zip metadata.
const SKIPPED: &[&str] = &["target", ".git", "__MACOSX", "node_modules", ".ipynb_checkpoints"];
/// Deepest folder searched below a student's folder.
const MAX_DEPTH: usize = 8;
/// A zip may unpack to at most this many bytes and files (a zip bomb stops there).
const MAX_UNPACKED: u64 = 256 << 20;
const MAX_FILES: usize = 20_000;

/// How one student handed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    Folder(PathBuf),
    Zip(PathBuf),
}

impl Handed {
    pub fn path(&self) -> &Path {
        match self {
            Handed::Folder(p) | Handed::Zip(p) => p,
        }
    }
}

/// The students of `submissions` (sorted by name): every folder (the name is the student)
/// and every `.zip` (the name without `.zip`); the report folder `out` is skipped if inside.
/// Errors if it cannot be listed, holds no student, or a name is used twice.
pub fn students(submissions: &Path, out: &Path) -> Result<Vec<(String, Handed)>, String> {
    let entries = fs::read_dir(submissions).map_err(|e| format!("{}: cannot list it: {e}", submissions.display()))?;
    let reports = out.canonicalize().ok();
    let mut found: BTreeMap<String, Handed> = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else { continue };
        let handed = if kind.is_dir() && !name.starts_with('.') && path.canonicalize().ok() != reports {
            (name, Handed::Folder(path))
        } else if kind.is_file() && name.to_lowercase().ends_with(".zip") {
            (name[..name.len() - 4].to_string(), Handed::Zip(path))
        } else {
            continue;
        };
        if let Some(previous) = found.insert(handed.0.clone(), handed.1.clone()) {
            return Err(format!("student `{}` handed in twice: {} and {}", handed.0, previous.path().display(), handed.1.path().display()));
        }
    }
    if found.is_empty() {
        return Err(format!("{}: no student folders or .zip files in it", submissions.display()));
    }
    Ok(found.into_iter().collect())
}

/// Unpacks `zip` into the new folder `dest`, refusing entries that would land outside it,
/// links, and archives that unpack to more than 256 MiB or 20 000 files.
pub fn unzip(zip: &Path, dest: &Path) -> Result<(), String> {
    let name = zip.display();
    let file = fs::File::open(zip).map_err(|e| format!("{name}: cannot open it: {e}"))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{name}: not a readable zip file: {e}"))?;
    if archive.len() > MAX_FILES {
        return Err(format!("{name}: holds {} files, more than the {MAX_FILES} accepted", archive.len()));
    }
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| format!("{name}: entry {i}: {e}"))?;
        let Some(rel) = entry.enclosed_name() else {
            let entry_name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("number {i}"));
            return Err(format!("{name}: the entry `{entry_name}` would unpack outside its folder"));
        };
        let path = dest.join(&rel);
        if entry.is_dir() {
            fs::create_dir_all(&path).map_err(|e| format!("{}: cannot create it: {e}", path.display()))?;
            continue;
        }
        if entry.is_symlink() {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create it: {e}", parent.display()))?;
        }
        let mut content = Vec::new();
        let room = MAX_UNPACKED - total;
        (&mut entry).take(room + 1).read_to_end(&mut content).map_err(|e| format!("{name}: `{}`: {e}", rel.display()))?;
        total += content.len() as u64;
        if total > MAX_UNPACKED {
            return Err(format!("{name}: unpacks to more than {} MiB", MAX_UNPACKED >> 20));
        }
        fs::write(&path, content).map_err(|e| format!("{}: cannot write it: {e}", path.display()))?;
    }
    Ok(())
}

/// Where each exercise of `names` is in `dir`: the shallowest folder called like the
/// exercise that holds `src/lib.rs`. An exercise not found is absent from the map; one found
/// twice at the same depth is an error naming both places.
pub fn find_exercises(dir: &Path, names: &[&str]) -> BTreeMap<String, Result<PathBuf, String>> {
    let mut candidates: BTreeMap<String, Vec<(usize, PathBuf)>> = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) || SKIPPED.contains(&name.as_str()) {
                continue;
            }
            let path = entry.path();
            if names.contains(&name.as_str()) && path.join("src/lib.rs").is_file() {
                candidates.entry(name).or_default().push((depth, path.clone()));
            }
            if depth < MAX_DEPTH {
                stack.push((path, depth + 1));
            }
        }
    }
    candidates
        .into_iter()
        .map(|(name, mut found)| {
            found.sort();
            let shallowest: Vec<&PathBuf> = found.iter().filter(|(d, _)| *d == found[0].0).map(|(_, p)| p).collect();
            let place = |p: &PathBuf| p.strip_prefix(dir).unwrap_or(p).display().to_string();
            let chosen = match shallowest.as_slice() {
                [one] => Ok((*one).clone()),
                many => Err(format!("`{name}` handed in {} times: {}; keep one", many.len(), many.iter().map(|p| place(p)).collect::<Vec<_>>().join(", "))),
            };
            (name, chosen)
        })
        .collect()
}

/// A stable 64-bit FNV-1a hash, for fingerprints that must not change between runs.
pub fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The FNV-1a offset basis.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// A fingerprint of every file under `paths` (names and contents, build output skipped).
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    let mut hash = FNV_START;
    for base in paths {
        if base.is_file() {
            hash = fnv1a(hash, &fs::read(base).unwrap_or_default());
            continue;
        }
        for rel in crate::fsutil::list_files(base) {
            if rel.components().any(|c| SKIPPED.contains(&c.as_os_str().to_string_lossy().as_ref())) {
                continue;
            }
            hash = fnv1a(hash, rel.to_string_lossy().as_bytes());
            hash = fnv1a(hash, &fs::read(base.join(&rel)).unwrap_or_default());
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exercises_at_any_depth_and_reports_duplicates() {
        let tmp = tempfile::tempdir().unwrap();
        let put = |rel: &str| crate::fsutil::write_file(&tmp.path().join(rel), "").unwrap();
        put("deep/bundle/exercises/info_nce/src/lib.rs");
        put("nt_xent/src/lib.rs");
        put("nt_xent/target/x/nt_xent/src/lib.rs");
        put("a/mochi/src/lib.rs");
        put("b/mochi/src/lib.rs");
        put("memory_bank/README.md");
        let found = find_exercises(tmp.path(), &["info_nce", "nt_xent", "mochi", "memory_bank"]);
        assert_eq!(found["info_nce"], Ok(tmp.path().join("deep/bundle/exercises/info_nce")));
        assert_eq!(found["nt_xent"], Ok(tmp.path().join("nt_xent")));
        assert!(found["mochi"].as_ref().unwrap_err().contains("a/mochi, b/mochi"), "{:?}", found["mochi"]);
        assert!(!found.contains_key("memory_bank"), "no src/lib.rs: not handed in");
    }

    #[test]
    fn a_zip_cannot_write_outside_its_folder() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let zip_path = tmp.path().join("eve.zip");
        let mut writer = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
        writer.start_file("../escaped.txt", zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(b"x").unwrap();
        writer.finish().unwrap();
        let err = unzip(&zip_path, &tmp.path().join("out")).unwrap_err();
        assert!(err.contains("outside") && !tmp.path().join("escaped.txt").exists(), "{err}");
    }
}
