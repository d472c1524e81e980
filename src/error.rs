//! The kit's error type: every failure names the file (or flag) and says what is wrong.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error that a user can act on.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing `path` failed at the operating-system level.
    Io { path: PathBuf, source: std::io::Error },
    /// `path` exists but its contents are not what the format requires.
    Format { path: PathBuf, message: String },
    /// A command-line flag, configuration value or argument is invalid.
    Config(String),
    /// Training stopped: the loss became NaN or infinite.
    Diverged { step: usize, loss: f32, checkpoint: Option<PathBuf> },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }
    pub fn format(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Format { path: path.as_ref().to_path_buf(), message: message.into() }
    }
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {}", path.display(), source),
            Error::Format { path, message } => write!(f, "{}: {}", path.display(), message),
            Error::Config(m) => write!(f, "{m}"),
            Error::Diverged { step, loss, checkpoint } => {
                write!(f, "training stopped at step {step}: the loss became {loss}")?;
                match checkpoint {
                    Some(p) => write!(f, "; the last good checkpoint is kept at {}", p.display()),
                    None => write!(f, "; no checkpoint had been written yet"),
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
