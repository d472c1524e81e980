//! The `selfsup` command line, parsed with `clap`.
//!
//! `selfsup train` takes the loop's flags ([`TrainConfig`]) and the chosen method's own flags
//! (its `Config`, added at run time from the [registry](crate::methods::registry)): each flag
//! defaults to the method's value, `selfsup train --method NAME --help` lists them, and a flag
//! of another method is an error that names the methods that have it.
//!
//! Exit codes: 0 success, 1 a run failed (I/O, divergence), 2 bad usage (flags, paths,
//! unknown methods).

use crate::error::{Error, Result};
use crate::methods::registry::DEFAULT_METHOD;
use crate::methods::settings::with_defaults;
use crate::methods::{MethodConfig, METHODS};
use crate::train::{RunConfig, TrainConfig};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::error::Error as _;
use std::path::PathBuf;

/// selfsup — self-supervised learning of visual representations, step by step.
#[derive(Debug, Parser)]
#[command(name = "selfsup", version, arg_required_else_help = true, disable_help_subcommand = false)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a method on a dataset, then evaluate it (kNN and linear probe) against a random-init encoder.
    Train(TrainArgs),
    /// Evaluate a checkpoint (its config.json beside it), optionally on another dataset.
    Eval(EvalArgs),
    /// Time training steps of the encoders and write the report as JSON.
    Bench(BenchArgs),
    /// Test one of the lecture's claims with a sweep of training runs.
    Experiment(ExperimentArgs),
    /// Regenerate the slides' figures.
    Figures(FiguresArgs),
    /// Draw the class token's attention per head of a trained ViT next to a random-init one.
    Attention(AttentionArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The method to train (its settings are listed by `selfsup train --method NAME --help`).
    #[arg(long, default_value = DEFAULT_METHOD)]
    pub method: String,
    #[command(flatten)]
    pub train: TrainConfig,
    /// Run directory [default: runs/METHOD].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The checkpoint (checkpoint.safetensors of a run directory).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Evaluate on this dataset instead of the run's.
    #[arg(long)]
    pub dataset: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The JSON report.
    #[arg(long, default_value = "bench.json")]
    pub out: PathBuf,
    /// Timed steps per model.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Images per view [default: 256 for the convnets, 128 for the ViT].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// tiny-convnet, convnet, vit or all.
    #[arg(long, default_value = "all")]
    pub model: crate::bench::BenchModel,
    /// Time one end-to-end epoch of the built-in textures (views made by the augmentation
    /// pipeline, then the step) instead of steps on fixed views.
    #[arg(long)]
    pub epoch: bool,
    /// Also record where each step's time goes, op by op, and the matrix products' share of
    /// the peak (a little slower).
    #[arg(long)]
    pub profile: bool,
}

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment to run (without it, the list of experiments is printed).
    pub name: Option<String>,
    /// Epochs of every run [default: each method's own].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Training images of every run [default: the experiment's].
    #[arg(long)]
    pub train_images: Option<usize>,
    /// Encoder of every run.
    #[arg(long)]
    pub encoder: Option<String>,
    /// Dataset of every run, with its recipe (docs/usage.md) [default: textures].
    #[arg(long)]
    pub dataset: Option<String>,
    /// Seed of the first run of each setting.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train every setting with seeds S..S+N-1 and report the mean.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Folder of the experiment's JSON and chart [default: results/experiments].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder of the runs [default: runs/experiments].
    #[arg(long)]
    pub runs: Option<PathBuf>,
    /// No per-run output.
    #[arg(long)]
    pub quiet: bool,
    /// No training: recompute the verdict of the saved OUT/NAME.json.
    #[arg(long)]
    pub rejudge: bool,
}

#[derive(Debug, Args)]
pub struct AttentionArgs {
    /// A checkpoint trained with `--encoder vit` (checkpoint.safetensors of a run directory).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The PNG to write [default: attention.png beside the checkpoint].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Test images drawn (one per class, in class order).
    #[arg(long, default_value_t = 5)]
    pub rows: usize,
    /// Seed of the test images and of the random-init ViT.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct FiguresArgs {
    /// Folder the PNGs are written to [default: slides/figures].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A SimCLR checkpoint to embed instead of training one.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Folder of the experiments' JSON [default: results/experiments].
    #[arg(long)]
    pub experiments: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// What `selfsup train` runs, once its flags are parsed.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    pub run: RunConfig,
    pub out: PathBuf,
    pub resume: bool,
    pub quiet: bool,
}

/// A parsed command line.
#[derive(Debug)]
pub enum Parsed {
    Train(TrainRequest),
    Other(Command),
    /// Help or version text, printed with exit code 0.
    Text(String),
}

/// The method a `train` command line asks for (`--method NAME` or `--method=NAME`), if any.
fn method_in(argv: &[String]) -> Option<String> {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == "--method" {
            return it.next().cloned();
        }
        if let Some(v) = a.strip_prefix("--method=") {
            return Some(v.to_string());
        }
    }
    None
}

/// What `selfsup train` does, in its help.
const TRAIN_ABOUT: &str = "Train a method on a dataset, then evaluate it (kNN and linear probe) against a random-init encoder";

/// The methods as a help section.
fn methods_help() -> String {
    let mut text = String::from("Methods (--method NAME; `selfsup train --method NAME --help` lists a method's settings):\n");
    for m in METHODS {
        text.push_str(&format!("  {:<10} part {}: {}\n", m.name, m.part, m.summary));
    }
    text
}

/// The whole command line, with `train` carrying `method`'s flags and defaults.
pub fn command(method: &str) -> Result<clap::Command> {
    let defaults = MethodConfig::default_for(method)?;
    let train_defaults = defaults.train_defaults();
    let cmd = Cli::command().after_help(methods_help());
    // The experiments' names come from the one list, so the help cannot fall behind it.
    let cmd = cmd.mut_subcommand("experiment", |sub| sub.mut_arg("name", |a| a.help(crate::experiments::EXPERIMENTS.join(", "))));
    let mut failed = None;
    let cmd = cmd.mut_subcommand("train", |sub| {
        let sub = with_defaults(sub, &train_defaults).next_help_heading(format!("Settings of --method {method}"));
        match MethodConfig::command(method, sub) {
            // (Flattening a settings struct makes its doc comment the command's description.)
            // Values may be negative numbers (then refused with a clear message, not taken for flags).
            Ok(sub) => sub.about(TRAIN_ABOUT).long_about(None).after_help(methods_help()).mut_args(|a| if a.get_action().takes_values() { a.allow_negative_numbers(true) } else { a }),
            Err(e) => {
                failed = Some(e);
                clap::Command::new("train")
            }
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(cmd),
    }
}

/// Parses `argv` (without the program name).
pub fn parse(argv: &[String]) -> Result<Parsed> {
    let method = if argv.first().map(String::as_str) == Some("train") { method_in(argv) } else { None };
    let method = method.unwrap_or_else(|| DEFAULT_METHOD.to_string());
    // An unknown method is named before any flag is checked against it.
    if let Err(e) = MethodConfig::default_for(&method) {
        let close = METHODS.iter().map(|m| m.name).find(|name| edit_distance(name, &method) <= 2);
        return Err(match close {
            Some(name) => Error::config(format!("{e}\n  tip: did you mean `{name}`?")),
            None => e,
        });
    }
    let cmd = command(&method)?;
    let full: Vec<String> = std::iter::once("selfsup".to_string()).chain(argv.iter().cloned()).collect();
    let matches = match cmd.try_get_matches_from(&full) {
        Ok(m) => m,
        Err(e) => return explain(e, &method),
    };
    let parsed = Cli::from_arg_matches(&matches).map_err(|e| Error::config(e.to_string()))?;
    match parsed.command {
        Command::Train(args) => {
            let sub = matches.subcommand_matches("train").expect("the train subcommand");
            let settings = MethodConfig::from_matches(&args.method, sub)?;
            let out = args.out.unwrap_or_else(|| PathBuf::from(format!("runs/{}", args.method)));
            // The dataset's recipe gives the view settings that the command line does not.
            let given: Vec<&str> = crate::train::recipe::Recipe::KEYS.into_iter().filter(|id| sub.try_contains_id(id).unwrap_or(false) && sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine)).collect();
            let mut run = RunConfig { train: args.train, method: settings, recipe: None };
            run.apply_recipe(&given)?;
            Ok(Parsed::Train(TrainRequest { run, out, resume: args.resume, quiet: args.quiet }))
        }
        other => Ok(Parsed::Other(other)),
    }
}

fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// The flag of a clap "arg" context such as `--epochs <EPOCHS>`.
fn flag_of(arg: &str) -> &str {
    arg.split_whitespace().next().unwrap_or(arg)
}

/// The methods whose settings include `flag`.
fn methods_with_flag(flag: &str) -> Vec<&'static str> {
    let long = flag.trim_start_matches("--").split('=').next().unwrap_or_default();
    METHODS
        .iter()
        .filter(|m| {
            MethodConfig::command(m.name, clap::Command::new("probe"))
                .map(|c| c.get_arguments().any(|a| a.get_long() == Some(long)))
                .unwrap_or(false)
        })
        .map(|m| m.name)
        .collect()
}

/// A clap error in the kit's words: help and version are text to print; usage errors become
/// [`Error::Config`] (exit code 2) with clap's suggestion kept.
fn explain(e: clap::Error, method: &str) -> Result<Parsed> {
    let tip = context(&e, ContextKind::SuggestedArg)
        .or_else(|| context(&e, ContextKind::SuggestedSubcommand))
        .or_else(|| context(&e, ContextKind::SuggestedValue))
        .map(|s| format!("\n  tip: did you mean `{s}`?"))
        .unwrap_or_default();
    let arg = context(&e, ContextKind::InvalidArg).unwrap_or_default();
    let value = context(&e, ContextKind::InvalidValue).unwrap_or_default();
    let message = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => return Ok(Parsed::Text(e.render().to_string())),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.render().to_string(),
        ErrorKind::UnknownArgument => {
            let owners = methods_with_flag(&arg);
            if owners.is_empty() {
                format!("unexpected argument `{arg}`{tip}\n\n(`selfsup --help` lists the commands, `selfsup train --method {method} --help` the flags of a run)")
            } else {
                format!(
                    "`{}` is a setting of {}, not of {method}{tip}\n\n(`selfsup train --method {} --help` lists its settings)",
                    flag_of(&arg),
                    owners.join(", "),
                    owners[0]
                )
            }
        }
        ErrorKind::InvalidSubcommand => {
            let command = context(&e, ContextKind::InvalidSubcommand).unwrap_or_default();
            format!("unknown command `{command}`{tip}\n\n(`selfsup --help` lists the commands)")
        }
        ErrorKind::InvalidValue if value.is_empty() => format!("{} needs a value", flag_of(&arg)),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let why = e.source().map(|s| format!(": {s}")).unwrap_or_default();
            format!("{}: `{value}` is not a valid value{why}{tip}", flag_of(&arg))
        }
        _ => e.render().to_string().trim_start_matches("error: ").trim_end().to_string(),
    };
    Err(Error::config(message))
}

/// The Levenshtein distance between `a` and `b` (for "did you mean" on method names).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}
