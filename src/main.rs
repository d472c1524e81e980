//! The `selfsup` command line: `selfsup train`, `eval`, `bench`, `experiment`, `figures`,
//! `completions` (parsed in [`selfsup::cli`]).
//!
//! Exit codes: 0 success, 1 a run failed (I/O, divergence), 2 bad usage (flags, paths,
//! unknown methods).

use selfsup::cli::{self, AttentionArgs, BenchArgs, Command, EvalArgs, ExperimentArgs, FiguresArgs, Parsed, TrainRequest};
use selfsup::run;
use selfsup::Error;
use std::process::ExitCode;

fn train(request: TrainRequest) -> Result<(), Error> {
    let summary = run::train(&request.run, &request.out, request.resume, request.quiet)?;
    println!("run directory: {}", request.out.display());
    println!("{}", summary.line());
    Ok(())
}

fn eval(args: EvalArgs) -> Result<(), Error> {
    let summary = run::eval(&args.checkpoint, args.dataset.as_deref())?;
    println!("{}", summary.line());
    Ok(())
}

fn bench(args: BenchArgs) -> Result<(), Error> {
    let report = selfsup::bench::run_models(
        args.model,
        if args.epoch { selfsup::bench::BenchMode::Epoch } else { selfsup::bench::BenchMode::Step },
        args.steps,
        args.batch_size,
        args.profile,
    )?;
    selfsup::train::checkpoint::write_json_atomic(&args.out, &report)?;
    println!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
    println!("wrote {}", args.out.display());
    Ok(())
}

/// `selfsup experiment NAME`: one of the lecture's claims as a sweep (see `selfsup::experiments`).
fn experiment(args: ExperimentArgs) -> Result<(), Error> {
    use selfsup::experiments;
    let Some(name) = args.name else {
        return Err(Error::config(format!("selfsup experiment: which one? expected one of: {}", experiments::EXPERIMENTS.join(", "))));
    };
    let mut base = experiments::default_base();
    base.epochs = args.epochs.unwrap_or(base.epochs);
    base.train_images = args.train_images.unwrap_or(base.train_images);
    base.encoder = args.encoder.unwrap_or(base.encoder);
    base.dataset = args.dataset.unwrap_or(base.dataset);
    base.seed = args.seed.unwrap_or(base.seed);
    let (runs, out) = experiments::default_dirs();
    let out = args.out.unwrap_or(out);
    let runs = args.runs.unwrap_or(runs);
    let (quiet, rejudge, seeds) = (args.quiet, args.rejudge, args.seeds);
    if seeds == 0 {
        return Err(Error::config("selfsup experiment: --seeds must be at least 1"));
    }
    if name == experiments::kd::NAME {
        // Classifiers trained with labels, not a sweep of one self-supervised method.
        let path = out.join(format!("{name}.json"));
        let e = if rejudge {
            let mut e = experiments::kd::KdExperiment::load(&path)?;
            e.verdict = experiments::kd::verdict(&e);
            selfsup::train::checkpoint::write_json_atomic(&path, &e)?;
            e
        } else {
            experiments::kd::run(&experiments::kd::KdBudget::from_base(&base, seeds), &out, quiet)?
        };
        println!("{}: {}", e.experiment, e.verdict);
        println!("wrote {}", path.display());
        return write_experiments_page(&out);
    }
    if rejudge {
        // No training: the saved rows, judged again by this version's verdict rules.
        let path = out.join(format!("{name}.json"));
        let e = experiments::rejudge(&name, &path)?;
        println!("{}: {}", e.experiment, e.verdict);
        println!("wrote {}", path.display());
        return write_experiments_page(&out);
    }
    let mut sweep = experiments::sweep(&name, &base)?;
    sweep.seeds = seeds;
    for s in &sweep.settings {
        run::validate(&s.config)?;
    }
    let result = experiments::run(&sweep, &runs, &out, quiet)?;
    println!("{}: {}", result.experiment, result.verdict);
    println!("wrote {}", out.join(format!("{name}.json")).display());
    write_experiments_page(&out)
}

/// Rewrites `docs/experiments.md` from the experiments saved in `out`, when `out` is the
/// default results folder (a sweep written elsewhere is a scratch run, not the page's).
fn write_experiments_page(out: &std::path::Path) -> Result<(), Error> {
    use selfsup::experiments;
    if out == experiments::default_dirs().1 {
        let page = experiments::default_page();
        experiments::write_page(out, &page)?;
        println!("wrote {}", page.display());
    }
    Ok(())
}

/// `selfsup figures`: regenerates the slides' figures (see `selfsup::figures`).
fn figures(args: FiguresArgs) -> Result<(), Error> {
    let mut cfg = selfsup::figures::FiguresConfig::default();
    cfg.out = args.out.unwrap_or(cfg.out);
    cfg.experiments = args.experiments.unwrap_or(cfg.experiments);
    cfg.checkpoint = args.checkpoint;
    cfg.quiet = args.quiet;
    let report = selfsup::figures::generate(&cfg)?;
    for path in &report.written {
        println!("wrote {}", path.display());
    }
    for note in &report.skipped {
        println!("skipped (optional): {note}");
    }
    report.check()
}

fn attention(args: AttentionArgs) -> Result<(), Error> {
    use selfsup::figures::attention;
    let out = args.out.unwrap_or_else(|| args.checkpoint.with_file_name("attention.png"));
    let vit = attention::trained_vit(&args.checkpoint)?;
    attention::attention_random_vs_trained(&vit, &format!("trained ({})", args.checkpoint.display()), args.seed, args.rows)?.save_png(&out)?;
    println!("wrote {}", out.display());
    Ok(())
}

fn completions(shell: clap_complete::Shell) -> Result<(), Error> {
    let mut cmd = cli::command(selfsup::methods::registry::DEFAULT_METHOD)?;
    clap_complete::generate(shell, &mut cmd, "selfsup", &mut std::io::stdout());
    Ok(())
}

fn main() -> ExitCode {
    selfsup::nn::ops::tune_allocator();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = cli::parse(&argv).and_then(|parsed| match parsed {
        Parsed::Text(text) => {
            print!("{text}");
            Ok(())
        }
        Parsed::Train(request) => train(request),
        Parsed::Other(Command::Eval(args)) => eval(args),
        Parsed::Other(Command::Bench(args)) => bench(args),
        Parsed::Other(Command::Experiment(args)) => experiment(args),
        Parsed::Other(Command::Figures(args)) => figures(args),
        Parsed::Other(Command::Attention(args)) => attention(args),
        Parsed::Other(Command::Completions { shell }) => completions(shell),
        Parsed::Other(Command::Train(_)) => unreachable!("train is parsed into a TrainRequest"),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                Error::Config(_) => ExitCode::from(2),
                Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => ExitCode::from(2),
                Error::Format { .. } => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}
