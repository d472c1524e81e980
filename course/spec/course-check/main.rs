//! `course-check`: where you are in the graded exercises, and hints one at a time.
//!
//! Run it from `exercises/` (any folder of the bundle works with `--manifest-path`):
//!
//! ```text
//! cargo run -q -p course-check              the exercises in course order, with the state of
//!                                           their public tests, and what to do next
//! cargo run -q -p course-check -- hint      the next hint of the exercise you are on
//! cargo run -q -p course-check -- hint NAME the next hint of exercise NAME
//! ```
//!
//! Hints are the "Hints" list of each exercise's README.md, shown one more each time you ask;
//! how many you have seen is kept in `exercises/.hints`.

mod exercises;

use exercises::EXERCISES;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The `exercises/` folder (this crate's parent).
fn exercises_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("course-check lives in exercises/").to_path_buf()
}

/// Where an exercise stands.
enum State {
    /// Every `todo!()` of the stub is still there.
    NotStarted { todos: usize },
    DoesNotCompile,
    /// Public tests passed out of run, and `todo!()`s left.
    Tested { passed: usize, total: usize, todos: usize },
    /// `src/lib.rs` cannot be read.
    Missing(String),
}

impl State {
    fn done(&self) -> bool {
        matches!(self, State::Tested { passed, total, todos: 0 } if passed == total && *total > 0)
    }

    fn describe(&self) -> String {
        match self {
            State::NotStarted { todos } => format!("not started ({todos} todo!() to fill)"),
            State::DoesNotCompile => "does not compile: run `cargo test` in its folder to see why".to_string(),
            State::Tested { passed, total, todos } if *passed == *total && *todos == 0 => format!("public tests pass ({passed}/{total})"),
            State::Tested { passed, total, todos } => format!("{passed}/{total} public tests pass, {todos} todo!() left"),
            State::Missing(why) => why.clone(),
        }
    }
}

/// The state of exercise `name`: counts the `todo!()`s left, and runs its public tests once
/// work has started.
fn state(name: &str, stub_todos: usize) -> State {
    let dir = exercises_dir().join(name);
    let lib = match fs::read_to_string(dir.join("src/lib.rs")) {
        Ok(text) => text,
        Err(e) => return State::Missing(format!("cannot read {name}/src/lib.rs: {e}")),
    };
    let todos = lib.matches("todo!(\"implement").count();
    if todos >= stub_todos {
        return State::NotStarted { todos };
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = Command::new(cargo).args(["test", "--quiet", "--test", "public", "--color", "never"]).current_dir(&dir).output();
    let Ok(run) = run else { return State::Missing("cannot run cargo".to_string()) };
    let text = String::from_utf8_lossy(&run.stdout);
    let summary = text.lines().rev().find(|l| l.starts_with("test result: "));
    let Some(summary) = summary else { return State::DoesNotCompile };
    let count = |word: &str| {
        summary.split(';').find_map(|part| part.trim().trim_start_matches("test result: ok. ").trim_start_matches("test result: FAILED. ").strip_suffix(word)?.trim().parse::<usize>().ok())
    };
    let (passed, failed) = (count(" passed").unwrap_or(0), count(" failed").unwrap_or(0));
    State::Tested { passed, total: passed + failed, todos }
}

/// The bullets of the "## Hints" section of an exercise's README.md, each with its
/// continuation lines.
fn hints(name: &str) -> Vec<String> {
    let readme = fs::read_to_string(exercises_dir().join(name).join("README.md")).unwrap_or_default();
    let mut hints: Vec<String> = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Hints";
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(rest) = line.strip_prefix("* ") {
            hints.push(rest.trim().to_string());
        } else if let (Some(last), true) = (hints.last_mut(), line.starts_with("  ")) {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    hints
}

/// How many hints of each exercise have been shown (`exercises/.hints`: `name count` lines).
fn seen() -> Vec<(String, usize)> {
    let text = fs::read_to_string(exercises_dir().join(".hints")).unwrap_or_default();
    text.lines().filter_map(|l| l.split_once(' ')).filter_map(|(n, c)| Some((n.to_string(), c.trim().parse().ok()?))).collect()
}

fn hint(name: Option<&str>) -> Result<(), String> {
    let name = match name {
        Some(n) => EXERCISES.iter().find(|e| e.name == n).map(|e| e.name).ok_or_else(|| {
            format!("no exercise `{n}` (the exercises: {})", EXERCISES.iter().map(|e| e.name).collect::<Vec<_>>().join(", "))
        })?,
        None => match EXERCISES.iter().find(|e| !state(e.name, e.todos).done()) {
            Some(e) => e.name,
            None => return Err("every exercise passes its public tests: no hint needed".to_string()),
        },
    };
    let all = hints(name);
    if all.is_empty() {
        return Err(format!("{name}/README.md has no \"## Hints\" list"));
    }
    let mut counts = seen();
    let shown = counts.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c);
    let now = (shown + 1).min(all.len());
    counts.retain(|(n, _)| n != name);
    counts.push((name.to_string(), now));
    let text: String = counts.iter().map(|(n, c)| format!("{n} {c}\n")).collect();
    fs::write(exercises_dir().join(".hints"), text).map_err(|e| format!("cannot write exercises/.hints: {e}"))?;
    println!("Hints for `{name}` ({now} of {}):\n", all.len());
    for (i, h) in all.iter().take(now).enumerate() {
        println!("{}. {h}", i + 1);
    }
    if now < all.len() {
        println!("\nStill stuck? Run the same command again for the next hint.");
    } else {
        println!("\nThat was the last hint; the exercise's README.md has the formula.");
    }
    Ok(())
}

fn list() {
    println!("{:>2}  {:<22} state", "#", "exercise");
    let mut next = None;
    for (i, ex) in EXERCISES.iter().enumerate() {
        let state = state(ex.name, ex.todos);
        println!("{:>2}  {:<22} {}", i + 1, ex.name, state.describe());
        if next.is_none() && !state.done() {
            next = Some((i + 1, ex));
        }
    }
    match next {
        Some((number, ex)) => println!(
            "\nNext: exercise {number}, `{name}` ({title}).\n  Read exercises/{name}/README.md, fill in every todo!() of src/lib.rs, then run `cargo test`\n  in exercises/{name}. Stuck? `cargo run -q -p course-check -- hint` shows one hint at a time.",
            name = ex.name,
            title = ex.title
        ),
        None => println!("\nEvery exercise passes its public tests. The grader adds hidden tests: check edge cases and gradients."),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None | Some("list") => {
            list();
            Ok(())
        }
        Some("hint") => hint(args.get(1).map(String::as_str)),
        Some(other) => Err(format!("unknown command `{other}`; use no argument (the list) or `hint [EXERCISE]`")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("course-check: {e}");
            ExitCode::from(2)
        }
    }
}
