//! Which dataset to use, as written on the command line: `textures`, `shapes`, `mnist:DIR`,
//! `cifar10:DIR`, ….

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::data::dataset::Splits;
use crate::data::procedural::ProceduralConfig;
use crate::data::{cifar, folder, idx, shapes, stl10, textures};
use crate::error::{Error, Result};

/// A dataset selection: one of the two built-in procedural datasets, or a directory in one of
/// the supported on-disk formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetSpec {
    /// Patterned objects generated in memory (the default), see [`textures`].
    Textures,
    /// Silhouettes generated in memory, see [`shapes`].
    Shapes,
    /// MNIST IDX files, see [`idx`].
    Mnist(PathBuf),
    /// Fashion-MNIST IDX files, see [`idx`].
    FashionMnist(PathBuf),
    /// CIFAR-10 binary batches, see [`cifar`].
    Cifar10(PathBuf),
    /// CIFAR-100 binary files, see [`cifar`].
    Cifar100(PathBuf),
    /// STL-10 binary files, see [`stl10`].
    Stl10(PathBuf),
    /// A folder of image files, one sub-folder per class, see [`folder`].
    Folder(PathBuf),
}

/// The accepted forms, listed in error messages.
pub const VALID_FORMS: &str =
    "textures | shapes | mnist:DIR | fashion-mnist:DIR | cifar10:DIR | cifar100:DIR | stl10:DIR | folder:DIR";

impl DatasetSpec {
    /// The kind as written before the colon, e.g. `"cifar10"`.
    pub fn kind(&self) -> &'static str {
        match self {
            DatasetSpec::Textures => "textures",
            DatasetSpec::Shapes => "shapes",
            DatasetSpec::Mnist(_) => "mnist",
            DatasetSpec::FashionMnist(_) => "fashion-mnist",
            DatasetSpec::Cifar10(_) => "cifar10",
            DatasetSpec::Cifar100(_) => "cifar100",
            DatasetSpec::Stl10(_) => "stl10",
            DatasetSpec::Folder(_) => "folder",
        }
    }

    /// The dataset directory, or `None` for the built-in ones.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            DatasetSpec::Textures | DatasetSpec::Shapes => None,
            DatasetSpec::Mnist(d)
            | DatasetSpec::FashionMnist(d)
            | DatasetSpec::Cifar10(d)
            | DatasetSpec::Cifar100(d)
            | DatasetSpec::Stl10(d)
            | DatasetSpec::Folder(d) => Some(d),
        }
    }

    /// Loads the train and test splits with the matching loader, or generates a built-in
    /// dataset (10 000 / 2 000 images of 32×32 drawn from `seed`). An image folder keeps the
    /// size of its first image.
    pub fn load(&self, seed: u64) -> Result<Splits> {
        let built_in = ProceduralConfig { seed, ..ProceduralConfig::default() };
        match self {
            DatasetSpec::Textures => Ok(textures::generate(&built_in)),
            DatasetSpec::Shapes => Ok(shapes::generate(&built_in)),
            DatasetSpec::Mnist(d) => idx::load_mnist(d),
            DatasetSpec::FashionMnist(d) => idx::load_fashion_mnist(d),
            DatasetSpec::Cifar10(d) => cifar::load_cifar10(d),
            DatasetSpec::Cifar100(d) => cifar::load_cifar100(d),
            DatasetSpec::Stl10(d) => stl10::load_stl10(d),
            DatasetSpec::Folder(d) => folder::load_folder(d, None),
        }
    }
}

impl FromStr for DatasetSpec {
    type Err = Error;

    /// Parses `textures`, `shapes` or `KIND:DIR`. The kind is case-insensitive; `DIR` is everything after
    /// the first colon and must be an existing directory.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (kind, dir) = match s.split_once(':') {
            Some((k, d)) => (k.trim().to_ascii_lowercase(), Some(d)),
            None => (s.to_ascii_lowercase(), None),
        };
        let make: fn(PathBuf) -> DatasetSpec = match kind.as_str() {
            "textures" | "shapes" => {
                return match dir {
                    None if kind == "textures" => Ok(DatasetSpec::Textures),
                    None => Ok(DatasetSpec::Shapes),
                    Some(_) => Err(Error::config(format!(
                        "invalid dataset `{s}`: `{kind}` is built in and takes no directory (expected one of: {VALID_FORMS})"
                    ))),
                };
            }
            "mnist" => DatasetSpec::Mnist,
            "fashion-mnist" => DatasetSpec::FashionMnist,
            "cifar10" => DatasetSpec::Cifar10,
            "cifar100" => DatasetSpec::Cifar100,
            "stl10" => DatasetSpec::Stl10,
            "folder" => DatasetSpec::Folder,
            _ => return Err(Error::config(format!("unknown dataset `{s}` (expected one of: {VALID_FORMS})"))),
        };
        let dir = match dir {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => {
                return Err(Error::config(format!(
                    "dataset `{s}` needs a directory, e.g. `{kind}:/path/to/data` (expected one of: {VALID_FORMS})"
                )))
            }
        };
        if !dir.is_dir() {
            return Err(Error::config(format!(
                "dataset directory `{}` does not exist or is not a directory",
                dir.display()
            )));
        }
        Ok(make(dir))
    }
}

impl fmt::Display for DatasetSpec {
    /// Writes the form [`FromStr`] accepts, e.g. `cifar10:/data/cifar`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dir() {
            None => f.write_str(self.kind()),
            Some(d) => write!(f, "{}:{}", self.kind(), d.display()),
        }
    }
}
