//! `course` — see `course/README.md`.

use course::sandbox::Limits;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: course [--root DIR] <command>

commands:
  generate [--check]           regenerate exercises/ (stubs) and solutions/ from the library's
                               anchored code; --check only reports what is out of date
  validate [EXERCISE]          solutions pass public + hidden tests, stubs compile and score 0,
                               every mutant fails a hidden test
  grade SUBMISSIONS_DIR [--out DIR] [--jobs N] [--fresh] [--time-limit S] [--test-limit S]
        [--compile-limit S] [--memory-limit GIB]
                               grade one folder or .zip per student (exercises at any depth),
                               N students at a time (default: the core count); writes
                               DIR/grades.csv, DIR/report.json, DIR/feedback/<student>.md
                               (DIR: ./grades); resumes an interrupted run unless --fresh
  release OUT_DIR              write the student bundle (no solutions, no hidden tests)";

fn seconds(args: &mut Vec<String>, flag: &str, default: Duration) -> Result<Duration, String> {
    match take_value(args, flag)? {
        None => Ok(default),
        Some(v) => match v.parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
            _ => Err(format!("{flag}: expected a positive number of seconds, got `{v}`")),
        },
    }
}

fn take_value(args: &mut Vec<String>, flag: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) if i + 1 < args.len() => {
            let v = args.remove(i + 1);
            args.remove(i);
            Ok(Some(v))
        }
        Some(_) => Err(format!("{flag} needs a value")),
    }
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let found = args.iter().position(|a| a == flag);
    found.map(|i| args.remove(i)).is_some()
}

fn run(mut args: Vec<String>) -> Result<bool, String> {
    let root = take_value(&mut args, "--root")?.map(PathBuf::from).unwrap_or_else(course::default_root);
    let command = if args.is_empty() { String::new() } else { args.remove(0) };
    match command.as_str() {
        "generate" => {
            let check = args.iter().any(|a| a == "--check");
            if check {
                let problems = course::generate::check(&root)?;
                problems.iter().for_each(|p| eprintln!("{p}"));
                if !problems.is_empty() {
                    eprintln!("course generate --check: {} generated file(s) out of date; run `cargo run -p course -- generate`", problems.len());
                }
                Ok(problems.is_empty())
            } else {
                let written = course::generate::write(&root)?;
                written.iter().for_each(|p| println!("wrote {}", p.display()));
                println!("{} file(s) written", written.len());
                Ok(true)
            }
        }
        "validate" => {
            let start = Instant::now();
            let report = course::validate::validate(&root, args.first().map(String::as_str), &Limits::default(), true)?;
            println!("\n{} check(s) failed, in {:.0} s", report.failures.len(), start.elapsed().as_secs_f64());
            Ok(report.failures.is_empty())
        }
        "grade" => {
            let defaults = Limits::default();
            let out = take_value(&mut args, "--out")?.map(PathBuf::from).unwrap_or_else(|| PathBuf::from("grades"));
            let memory = match take_value(&mut args, "--memory-limit")? {
                None => defaults.memory,
                Some(v) => match v.parse::<f64>() {
                    Ok(gib) if gib > 0.0 && gib.is_finite() => (gib * (1u64 << 30) as f64) as u64,
                    _ => return Err(format!("--memory-limit: expected a positive number of GiB, got `{v}`")),
                },
            };
            let limits = Limits {
                exercise: seconds(&mut args, "--time-limit", defaults.exercise)?,
                test: seconds(&mut args, "--test-limit", defaults.test)?,
                compile: seconds(&mut args, "--compile-limit", defaults.compile)?,
                memory,
                ..defaults
            };
            let mut options = course::grade::Options { verbose: true, ..Default::default() };
            if let Some(v) = take_value(&mut args, "--jobs")? {
                options.jobs = v.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("--jobs: expected a positive whole number, got `{v}`"))?;
            }
            options.fresh = take_flag(&mut args, "--fresh");
            let dir = args.first().ok_or("grade: which folder of submissions?")?;
            course::grade::grade(&root, &PathBuf::from(dir), &out, &limits, &options)?;
            println!("wrote {}/grades.csv, report.json and feedback/", out.display());
            Ok(true)
        }
        "release" => {
            let out = args.first().ok_or("release: into which folder?")?;
            let n = course::release::release(&root, &PathBuf::from(out))?;
            println!("wrote {n} files into {out}");
            Ok(true)
        }
        _ => Err(USAGE.to_string()),
    }
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("course: {e}");
            ExitCode::from(2)
        }
    }
}
