//! The `selfsup` command line: `selfsup train`, `selfsup eval`, `selfsup bench`.
//!
//! Exit codes: 0 success, 1 a run failed (I/O, divergence), 2 bad usage (flags, paths,
//! unknown methods).

use selfsup::run;
use selfsup::train::TrainConfig;
use selfsup::Error;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
selfsup — self-supervised learning of visual representations, step by step

USAGE:
    selfsup train [--method simclr|instdisc|dim|cpc|moco-v1|moco|mochi] [--encoder convnet|tiny-convnet|resnet|vit]
                  [--dataset shapes|mnist:DIR|fashion-mnist:DIR|cifar10:DIR|cifar100:DIR|stl10:DIR|folder:DIR]
                  [--epochs N] [--batch-size B] [--lr LR] [--weight-decay WD] [--optimizer adamw|sgd]
                  [--warmup-epochs E] [--tau T] [--momentum M] [--queue-size K] [--color-strength S] [--crop-min-scale A] [--train-images N] [--test-images N]
                  [--knn-k K] [--knn-t T] [--seed S] [--out DIR] [--resume] [--quiet]
                  (defaults depend on --method: MoCo v1/v2 and MoCHi 12 epochs, lr 1e-3, m 0.99, K 4096; InstDisc 15 epochs;
                   DIM colour strength 2.0; CPC 4 epochs)
    selfsup eval --checkpoint FILE [--dataset SPEC]
    selfsup bench [--out FILE] [--steps N] [--batch-size B] [--model tiny-convnet|convnet|vit|all]
    selfsup experiment moco-momentum|negatives|temperature|augmentations|mochi
                  [--epochs N] [--train-images N] [--encoder E] [--seed S] [--seeds N] [--out DIR] [--runs DIR] [--quiet] [--rejudge]
                  (--seeds N: train every setting with seeds S..S+N-1 and report the mean;
                   --rejudge: no training, recompute the verdict of the saved OUT/NAME.json)
    selfsup figures [--out DIR] [--checkpoint FILE] [--experiments DIR] [--quiet]
    selfsup help
";

/// Pulls `--flag value` pairs off an argument list.
struct Args {
    rest: Vec<String>,
}

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    fn value(&mut self, name: &str) -> Result<Option<String>, Error> {
        match self.rest.iter().position(|a| a == name) {
            Some(i) if i + 1 < self.rest.len() && !self.rest[i + 1].starts_with("--") => {
                let v = self.rest.remove(i + 1);
                self.rest.remove(i);
                Ok(Some(v))
            }
            Some(_) => Err(Error::config(format!("{name} needs a value"))),
            None => Ok(None),
        }
    }

    fn parsed<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>, Error> {
        match self.value(name)? {
            Some(v) => v.parse::<T>().map(Some).map_err(|_| Error::config(format!("{name}: `{v}` is not a valid value"))),
            None => Ok(None),
        }
    }

    fn finish(self) -> Result<(), Error> {
        match self.rest.first() {
            Some(a) => Err(Error::config(format!("unexpected argument `{a}`\n\n{USAGE}"))),
            None => Ok(()),
        }
    }
}

fn train(mut args: Args) -> Result<(), Error> {
    // Per-method defaults first (`TrainConfig::for_method`), then every flag given.
    let method: String = args.parsed("--method")?.unwrap_or_else(|| TrainConfig::default().method);
    let mut cfg = TrainConfig::for_method(&method);
    macro_rules! set {
        ($flag:literal, $field:ident) => {
            if let Some(v) = args.parsed($flag)? {
                cfg.$field = v;
            }
        };
    }
    set!("--encoder", encoder);
    set!("--dataset", dataset);
    set!("--epochs", epochs);
    set!("--batch-size", batch_size);
    set!("--lr", lr);
    set!("--weight-decay", weight_decay);
    set!("--optimizer", optimizer);
    set!("--warmup-epochs", warmup_epochs);
    set!("--tau", tau);
    set!("--momentum", momentum);
    set!("--queue-size", queue_size);
    set!("--color-strength", color_strength);
    set!("--crop-min-scale", crop_min_scale);
    set!("--train-images", train_images);
    set!("--test-images", test_images);
    set!("--knn-k", knn_k);
    set!("--knn-t", knn_t);
    set!("--seed", seed);
    let out: PathBuf = args.parsed("--out")?.unwrap_or_else(|| PathBuf::from(format!("runs/{}", cfg.method)));
    let resume = args.flag("--resume");
    let quiet = args.flag("--quiet");
    args.finish()?;
    let summary = run::train(&cfg, &out, resume, quiet)?;
    println!("run directory: {}", out.display());
    println!("{}", summary.line());
    Ok(())
}

fn eval(mut args: Args) -> Result<(), Error> {
    let checkpoint: PathBuf = args.parsed("--checkpoint")?.ok_or_else(|| Error::config(format!("eval needs --checkpoint FILE\n\n{USAGE}")))?;
    let dataset: Option<String> = args.parsed("--dataset")?;
    args.finish()?;
    let summary = run::eval(&checkpoint, dataset.as_deref())?;
    println!("{}", summary.line());
    Ok(())
}

fn bench(mut args: Args) -> Result<(), Error> {
    let out: PathBuf = args.parsed("--out")?.unwrap_or_else(|| PathBuf::from("bench.json"));
    let steps: usize = args.parsed("--steps")?.unwrap_or(5);
    let batch: Option<usize> = args.parsed("--batch-size")?;
    let model: selfsup::bench::BenchModel = args.parsed("--model")?.unwrap_or(selfsup::bench::BenchModel::All);
    args.finish()?;
    let report = selfsup::bench::run_models(model, steps, batch)?;
    selfsup::train::checkpoint::write_json_atomic(&out, &report)?;
    println!("{}", serde_json::to_string_pretty(&report).expect("serialisable"));
    println!("wrote {}", out.display());
    Ok(())
}

/// `selfsup experiment NAME`: one of the lecture's claims as a sweep (see `selfsup::experiments`).
fn experiment(mut args: Args) -> Result<(), Error> {
    use selfsup::experiments;
    if args.rest.is_empty() || args.rest[0].starts_with("--") {
        return Err(Error::config(format!("selfsup experiment: which one? expected one of: {}", experiments::EXPERIMENTS.join(", "))));
    }
    let name = args.rest.remove(0);
    let mut base = experiments::default_base();
    if let Some(v) = args.parsed("--epochs")? {
        base.epochs = v;
    }
    if let Some(v) = args.parsed("--train-images")? {
        base.train_images = v;
    }
    if let Some(v) = args.parsed("--encoder")? {
        base.encoder = v;
    }
    if let Some(v) = args.parsed("--seed")? {
        base.seed = v;
    }
    let (runs, out) = experiments::default_dirs();
    let out: PathBuf = args.parsed("--out")?.unwrap_or(out);
    let runs: PathBuf = args.parsed("--runs")?.unwrap_or(runs);
    let quiet = args.flag("--quiet");
    let rejudge = args.flag("--rejudge");
    let seeds: usize = args.parsed("--seeds")?.unwrap_or(1);
    args.finish()?;
    if seeds == 0 {
        return Err(Error::config("selfsup experiment: --seeds must be at least 1"));
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
fn figures(mut args: Args) -> Result<(), Error> {
    let mut cfg = selfsup::figures::FiguresConfig::default();
    if let Some(out) = args.parsed("--out")? {
        cfg.out = out;
    }
    if let Some(dir) = args.parsed("--experiments")? {
        cfg.experiments = dir;
    }
    cfg.checkpoint = args.parsed("--checkpoint")?;
    cfg.quiet = args.flag("--quiet");
    args.finish()?;
    let report = selfsup::figures::generate(&cfg)?;
    for path in &report.written {
        println!("wrote {}", path.display());
    }
    for note in &report.skipped {
        println!("skipped (optional): {note}");
    }
    report.check()
}

fn main() -> ExitCode {
    selfsup::nn::ops::tune_allocator();
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    }
    let command = argv.remove(0);
    let args = Args { rest: argv };
    let result = match command.as_str() {
        "train" => train(args),
        "eval" => eval(args),
        "bench" => bench(args),
        "figures" => figures(args),
        "experiment" => experiment(args),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(Error::config(format!("unknown command `{other}`\n\n{USAGE}"))),
    };
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
