//! Checkpoints: the model's tensors as safetensors plus a small JSON state, both written
//! atomically (write `*.tmp`, then rename), so a crash mid-write never corrupts the last good
//! checkpoint.

use crate::error::{Error, Result};
use dfdx::nn::{LoadFromSafetensors, SaveToSafetensors};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("serialisable value");
    write_atomic(path, text.as_bytes())
}

/// Reads JSON from `path`, naming the file in any error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::format(path, format!("invalid JSON: {e}")))
}

/// Saves every tensor of `model` to `path` (safetensors) atomically.
pub fn save_model<M: TensorCollection<f32, D>, D: Device<f32>>(model: &M, path: &Path) -> Result<()> {
    let tmp = tmp_path(path);
    model.save_safetensors(&tmp).map_err(|e| Error::format(&tmp, format!("could not write safetensors: {e:?}")))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Loads every tensor of `model` from `path`, with a clear error if the file is missing,
/// corrupt, or holds another model.
pub fn load_model<M: TensorCollection<f32, D>, D: Device<f32>>(model: &mut M, path: &Path) -> Result<()> {
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "checkpoint not found")));
    }
    model.load_safetensors(path).map_err(|e| {
        Error::format(path, format!("not a checkpoint of this model (wrong method/encoder, or a corrupt file): {e:?}"))
    })
}

/// The names of the tensors saved in the checkpoint at `path` (e.g.
/// `student.branch.encoder.cls_token`), sorted.
pub fn tensor_names(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let tensors = ::safetensors::SafeTensors::deserialize(&bytes).map_err(|e| Error::format(path, format!("not a safetensors checkpoint: {e:?}")))?;
    let mut names: Vec<String> = tensors.names().into_iter().cloned().collect();
    names.sort();
    Ok(names)
}

/// Loads `part`, one sub-module of a saved model, from the checkpoint at `path`: its tensors
/// are those saved under the prefix `prefix` (dfdx names a field `parent.field`, e.g. the DINO
/// student's encoder is `student.branch.encoder`). Errors name the file and the prefix.
pub fn load_part<M: TensorCollection<f32, D>, D: Device<f32>>(part: &mut M, path: &Path, prefix: &str) -> Result<()> {
    use dfdx::nn::tensor_collection::RecursiveWalker;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut tensors = ::safetensors::SafeTensors::deserialize(&bytes).map_err(|e| Error::format(path, format!("not a safetensors checkpoint: {e:?}")))?;
    M::iter_tensors(&mut RecursiveWalker { m: (part, prefix.to_string()), f: &mut tensors })
        .map_err(|e| Error::format(path, format!("no module of this kind saved under `{prefix}`: {e:?}")))?;
    Ok(())
}
