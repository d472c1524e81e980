//! A throw-away crate in which one variant of an exercise (a solution, a stub, a mutant, a
//! student's work) is compiled against the grader's own `Cargo.toml` and test files, and its
//! tests are run one at a time under time limits.
//!
//! Every sandbox builds into one shared target folder (`target/course/build`), so dfdx and the
//! library compile once; sandboxes live at fixed paths so their artifacts are overwritten,
//! not accumulated.

use crate::catalog::Exercise;
use crate::generate::{manifest, CHECK_SPEC, PROFILE};
use crate::process::run_limited;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The two test suites of an exercise: `tests/public.rs` (students have it) and
/// `tests/hidden.rs` (from `tests/hidden/<name>.rs`, graders only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suite {
    Public,
    Hidden,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Public => "public",
            Suite::Hidden => "hidden",
        }
    }

    /// The grader's copy of this suite's source, relative to the repository root.
    pub fn source(self, ex: &Exercise) -> String {
        match self {
            Suite::Public => format!("course/spec/{}/public.rs", ex.name),
            Suite::Hidden => format!("tests/hidden/{}.rs", ex.name),
        }
    }
}

/// Limits for compiling and running one exercise.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub compile: Duration,
    /// Wall time for all of an exercise's tests together.
    pub exercise: Duration,
    /// Wall time for one test.
    pub test: Duration,
    /// Bytes of output kept per process.
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { compile: Duration::from_secs(900), exercise: Duration::from_secs(60), test: Duration::from_secs(20), output: 64 * 1024 }
    }
}

/// The outcome of one test.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub suite: Suite,
    pub name: String,
    pub points: u32,
    pub passed: bool,
    /// Why it failed (the panic message, "compile error", "time limit"), empty when passed.
    pub message: String,
}

/// `(name, points)` of every `#[test]` fn in a test file; a `// points: N` line before the
/// test sets its points (default 1).
pub fn points_table(source: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let (mut pending, mut is_test) = (None, false);
    for line in source.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("// points:") {
            pending = n.trim().parse::<u32>().ok();
        } else if line == "#[test]" {
            is_test = true;
        } else if let Some(rest) = line.strip_prefix("fn ").filter(|_| is_test) {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push((name, pending.take().unwrap_or(1)));
            is_test = false;
        }
    }
    out
}

/// A sandbox crate for one exercise, at a fixed folder.
pub struct Sandbox<'a> {
    pub root: &'a Path,
    pub ex: &'a Exercise,
    pub dir: PathBuf,
}

/// Where all sandboxes build.
pub fn target_dir(root: &Path) -> PathBuf {
    root.join("target/course/build")
}

impl<'a> Sandbox<'a> {
    /// A sandbox under `target/course/sandbox/<purpose>/<exercise>`, with the grader's
    /// manifest, lock file and test files (any previous content is removed).
    pub fn new(root: &'a Path, ex: &'a Exercise, purpose: &str) -> Result<Self, String> {
        let dir = root.join("target/course/sandbox").join(purpose).join(ex.name);
        let _ = fs::remove_dir_all(&dir);
        let library = root.canonicalize().map_err(|e| format!("{}: {e}", root.display()))?;
        let toml = format!("{}\n[workspace]\n\n{PROFILE}", manifest(ex, &library.to_string_lossy()));
        crate::fsutil::write_file(&dir.join("Cargo.toml"), &toml)?;
        fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: cannot copy it: {e}"))?;
        let read = |rel: &str| fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: cannot read it: {e}"));
        crate::fsutil::write_file(&dir.join("tests/check/mod.rs"), &read(CHECK_SPEC)?)?;
        for suite in [Suite::Public, Suite::Hidden] {
            crate::fsutil::write_file(&dir.join(format!("tests/{}.rs", suite.name())), &read(&suite.source(ex))?)?;
        }
        Ok(Sandbox { root, ex, dir })
    }

    /// Replaces `src/` by a single `lib.rs`.
    pub fn set_lib(&self, lib: &str) -> Result<(), String> {
        let _ = fs::remove_dir_all(self.dir.join("src"));
        crate::fsutil::write_file(&self.dir.join("src/lib.rs"), lib)
    }

    /// Replaces `src/` by a copy of `src` (a student's folder); missing means no `src/`.
    pub fn set_src_dir(&self, src: &Path) -> Result<(), String> {
        let _ = fs::remove_dir_all(self.dir.join("src"));
        crate::fsutil::copy_tree(src, &self.dir.join("src"), &[])
    }

    /// The test points of `suites`, as declared in the grader's files.
    pub fn tests(&self, suites: &[Suite]) -> Result<Vec<(Suite, String, u32)>, String> {
        let mut out = Vec::new();
        for &suite in suites {
            let rel = suite.source(self.ex);
            let text = fs::read_to_string(self.root.join(&rel)).map_err(|e| format!("{rel}: cannot read it: {e}"))?;
            let table = points_table(&text);
            if table.is_empty() {
                return Err(format!("{rel}: no #[test] functions"));
            }
            out.extend(table.into_iter().map(|(name, points)| (suite, name, points)));
        }
        Ok(out)
    }

    /// Compiles the test binaries of `suites`; returns their executables or the compiler's
    /// error messages (capped).
    pub fn build(&self, suites: &[Suite], limits: &Limits) -> Result<Vec<(Suite, PathBuf)>, String> {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["test", "--no-run", "--message-format=json-render-diagnostics", "--quiet"]);
        for suite in suites {
            cmd.args(["--test", suite.name()]);
        }
        cmd.current_dir(&self.dir).env("CARGO_TARGET_DIR", target_dir(self.root)).env("CARGO_TERM_COLOR", "never");
        let run = run_limited(&mut cmd, limits.compile, 4 * 1024 * 1024)?;
        if run.timed_out() {
            return Err(format!("compilation took longer than the limit of {} s", limits.compile.as_secs()));
        }
        let mut exes = Vec::new();
        for line in run.stdout.lines().filter(|l| l.starts_with('{')) {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let exe = msg["executable"].as_str();
            let name = msg["target"]["name"].as_str();
            if let (Some("compiler-artifact"), Some(exe), Some(name)) = (msg["reason"].as_str(), exe, name) {
                if let Some(&suite) = suites.iter().find(|s| s.name() == name) {
                    exes.push((suite, PathBuf::from(exe)));
                }
            }
        }
        if !run.success() || exes.len() != suites.len() {
            return Err(clip(&run.stderr, limits.output));
        }
        Ok(exes)
    }

    /// Runs every test of `suites` on its own, within the per-test and per-exercise limits.
    pub fn run(&self, exes: &[(Suite, PathBuf)], limits: &Limits) -> Result<Vec<TestResult>, String> {
        let suites: Vec<Suite> = exes.iter().map(|(s, _)| *s).collect();
        let mut results = Vec::new();
        let mut spent = Duration::ZERO;
        for (suite, name, points) in self.tests(&suites)? {
            let exe = &exes.iter().find(|(s, _)| *s == suite).expect("built").1;
            let left = limits.exercise.saturating_sub(spent);
            let (passed, message) = if left.is_zero() {
                (false, format!("not run: the exercise's time limit of {} s was used up by earlier tests", limits.exercise.as_secs()))
            } else {
                let budget = left.min(limits.test);
                // stderr into stdout, so the panic message stays next to the test's own prints.
                let mut cmd = Command::new("sh");
                cmd.args(["-c", "exec \"$0\" \"$@\" 2>&1"])
                    .arg(exe)
                    .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1", "--color", "never"])
                    .current_dir(&self.dir)
                    .env("RUST_BACKTRACE", "0");
                let run = run_limited(&mut cmd, budget, limits.output)?;
                spent += run.elapsed;
                if run.timed_out() {
                    (false, format!("time limit: still running after {:.0} s (an infinite loop?), stopped", budget.as_secs_f64()))
                } else if !run.stdout.contains("running 1 test") {
                    (false, format!("the test `{name}` was not found in the compiled suite"))
                } else {
                    (run.success(), if run.success() { String::new() } else { failure_message(&run.stdout, run.truncated) })
                }
            };
            results.push(TestResult { suite, name, points, passed, message });
        }
        Ok(results)
    }
}

/// The useful part of a failed test's output: without libtest's framing lines.
fn failure_message(output: &str, truncated: bool) -> String {
    let framing = |l: &str| l.starts_with("running ") || l.starts_with("note: run with `RUST_BACKTRACE") || l.trim().is_empty();
    // libtest's summary (the list of failures, the counts) starts at the first "failures:".
    let body = output.lines().take_while(|l| *l != "failures:" && !l.starts_with("test result:"));
    let mut kept: Vec<&str> = body.filter(|l| !framing(l)).collect();
    // The "test name ... " header runs into the first printed line; drop the header part.
    if let Some(first) = kept.first_mut() {
        if let Some(rest) = first.strip_prefix("test ").and_then(|r| r.split_once(" ... ")) {
            *first = rest.1;
        }
    }
    let kept: Vec<&str> = kept.into_iter().filter(|l| *l != "FAILED" && !l.is_empty()).collect();
    let mut msg = clip(&kept.join("\n"), 4000);
    if truncated {
        msg.push_str("\n[output cut: the test printed too much]");
    }
    msg
}

/// At most `n` bytes of `text`, cut at a character boundary, with a note when cut.
pub fn clip(text: &str, n: usize) -> String {
    if text.len() <= n {
        return text.trim_end().to_string();
    }
    let mut end = n;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[… {} more bytes cut]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_default_to_one() {
        let src = "#[test]\nfn a() {}\n// points: 3\n#[test]\n#[should_panic]\nfn b() {}\nfn helper() {}\n";
        assert_eq!(points_table(src), vec![("a".to_string(), 1), ("b".to_string(), 3)]);
    }

    #[test]
    fn failure_message_keeps_the_panic() {
        let out = "\nrunning 1 test\ntest t ... thread 't' panicked at tests/hidden.rs:3:5:\nexpected 1, got 2\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\nFAILED\n\nfailures:\n\nfailures:\n    t\n\ntest result: FAILED. 0 passed; 1 failed\n";
        assert_eq!(failure_message(out, false), "thread 't' panicked at tests/hidden.rs:3:5:\nexpected 1, got 2");
    }
}
