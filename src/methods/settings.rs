//! What a method's settings are: the [`Settings`] trait every method's `Config` implements,
//! the checks they share, and how their defaults reach the command line.

use crate::error::{Error, Result};
use crate::train::config::leaves;
use crate::train::TrainConfig;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// A method's own settings: what `--method NAME` adds to the command line and to
/// `config.json`. `Default` is the only place the method's defaults are written.
pub trait Settings: Default + Clone + PartialEq + Debug + Serialize + DeserializeOwned + clap::Args + clap::FromArgMatches + 'static {
    /// The loop's settings for this method: `base` (the loop's defaults) with the method's own
    /// budget where it differs (more epochs, another learning rate), with the reason beside it.
    fn train_defaults(base: TrainConfig) -> TrainConfig {
        base
    }

    /// Checks the values (exit code 2 on bad input, naming the flag).
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Whether the method, with these settings, can train `encoder` (e.g. CPC feeds the
    /// convnets image patches; the ViT takes local crops only as whole 4×4 patches).
    fn check_encoder(&self, _encoder: &str) -> Result<()> {
        Ok(())
    }
}

/// Checks a temperature τ (`--tau`).
pub fn check_tau(tau: f64) -> Result<()> {
    if tau.is_nan() || tau <= 0.0 || tau.is_infinite() {
        return Err(Error::config("--tau must be positive"));
    }
    Ok(())
}

/// `cmd` with each argument's default set to the value of the same-named field of `defaults`
/// (serialised), so the help shows it and an unset flag keeps it.
pub fn with_defaults<T: Serialize>(cmd: clap::Command, defaults: &T) -> clap::Command {
    let tree = serde_json::to_value(defaults).expect("settings serialise");
    leaves(&tree).into_iter().fold(cmd, |cmd, (key, value)| {
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        if cmd.get_arguments().any(|a| a.get_id() == key.as_str()) {
            cmd.mut_arg(key, |a| a.default_value(text).required(false))
        } else {
            cmd
        }
    })
}
