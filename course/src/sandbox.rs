//! A throw-away crate in which one variant of an exercise (a solution, a stub, a mutant, a
//! student's work) is compiled against the grader's own `Cargo.toml` and test files, and its
//! tests are run one at a time under time limits.
//!
//! Every sandbox builds into one shared target folder (`target/course/build`), so dfdx and the
//! library compile once; sandboxes live at fixed paths so their artifacts are overwritten,
//! not accumulated.

use crate::catalog::Exercise;
use crate::generate::{manifest, CHECK_SPEC, PROFILE};
use crate::process::{run_limited, Finished};
use std::collections::BTreeMap;
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
    /// Address space of one test process, in bytes (`RLIMIT_AS`).
    pub memory: u64,
    /// Processes and threads one test may add to those its user already runs (`RLIMIT_NPROC`;
    /// not enforced for root, whom the kernel exempts).
    pub processes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            compile: Duration::from_secs(900),
            exercise: Duration::from_secs(60),
            test: Duration::from_secs(20),
            output: 64 * 1024,
            memory: 4 << 30,
            processes: 256,
        }
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

/// The library copies (two, see [`crate::library`]) and the student's crate compile without
/// optimisation: the tests run tiny tensors through little of the library, and compiling the
/// library is what a grading run waits for (an optimised copy took 17 to 31 minutes on a
/// loaded 2-core machine). dfdx and the other dependencies stay at `opt-level = 3`
/// ([`PROFILE`]): they compile once, and their kernels do the arithmetic.
pub const LIBRARY_PROFILE: &str = "\n[profile.dev.package.selfsup]\nopt-level = 0\n";

/// Held while a sandbox compiles (see [`Sandbox::build`]).
static BUILD_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    /// manifest, lock file and test files (any previous content is removed). Its `selfsup` is
    /// the copy of the library without this exercise's reference ([`crate::library`]).
    pub fn new(root: &'a Path, ex: &'a Exercise, purpose: &str) -> Result<Self, String> {
        let dir = root.join("target/course/sandbox").join(purpose).join(ex.name);
        let _ = fs::remove_dir_all(&dir);
        crate::fsutil::sync(&dir, &Self::files(root, ex, purpose)?)?;
        Ok(Sandbox { root, ex, dir })
    }

    /// The grader's files of `ex`'s sandbox for `purpose` (relative path → content), `src/`
    /// aside.
    ///
    /// The package's version carries the purpose (`0.1.0-grade-1`): cargo names a workspace
    /// root's artifacts by its name, version and path *relative to the workspace*, which is the
    /// same for every sandbox of an exercise, so without it the sandboxes of two students
    /// graded at once would build the same test executables in the shared build folder, and
    /// one student's tests could run the other's code.
    fn files(root: &Path, ex: &Exercise, purpose: &str) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
        let library = crate::library::prepare(root, ex)?;
        let tag: String = purpose.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let manifest = manifest(ex, &library.to_string_lossy()).replacen("version = \"0.1.0\"", &format!("version = \"0.1.0-{tag}\""), 1);
        let toml = format!("{manifest}\n[workspace]\n\n{PROFILE}{LIBRARY_PROFILE}");
        let read = |rel: &str| fs::read(root.join(rel)).map_err(|e| format!("{rel}: cannot read it: {e}"));
        let mut files = BTreeMap::from([
            (PathBuf::from("Cargo.toml"), toml.into_bytes()),
            (PathBuf::from("Cargo.lock"), read("Cargo.lock")?),
            (PathBuf::from("tests/check/mod.rs"), read(CHECK_SPEC)?),
        ]);
        for suite in [Suite::Public, Suite::Hidden] {
            files.insert(PathBuf::from(format!("tests/{}.rs", suite.name())), read(&suite.source(ex))?);
        }
        Ok(files)
    }

    /// Builds `ex` once with its stub, before any student's build, with no practical time
    /// limit: the copy of the library without `ex`'s reference and every dependency compile
    /// here (the first time, many minutes on a slow machine), so that a student's compile limit
    /// counts their own crate only. The sandbox's files are rewritten only where they changed,
    /// so a warm build takes seconds. Errors if the stub does not build.
    pub fn warm_up(root: &'a Path, ex: &'a Exercise, limits: &Limits) -> Result<(), String> {
        let dir = root.join("target/course/sandbox/warm-up").join(ex.name);
        let mut files = Self::files(root, ex, "warm-up")?;
        files.insert(PathBuf::from("src/lib.rs"), crate::generate::lib_rs(root, ex, crate::generate::Flavour::Stub)?.into_bytes());
        crate::fsutil::sync(&dir, &files)?;
        let sandbox = Sandbox { root, ex, dir };
        let patient = Limits { compile: limits.compile.max(Duration::from_secs(4 * 3600)), ..*limits };
        sandbox.build(&[Suite::Public, Suite::Hidden], &patient).map(|_| ()).map_err(|e| format!("{}: the stub does not build:\n{e}", ex.name))
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
    /// error messages (capped). Builds take turns (cargo locks the shared build folder anyway):
    /// the compile limit counts this build only, not the wait for another student's.
    pub fn build(&self, suites: &[Suite], limits: &Limits) -> Result<Vec<(Suite, PathBuf)>, String> {
        let _turn = BUILD_TURN.lock().unwrap_or_else(|e| e.into_inner());
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
                let run = run_test(exe, &name, &self.dir, budget, limits)?;
                spent += run.elapsed;
                match verdict(&name, &run, budget, limits) {
                    Ok(()) => (true, String::new()),
                    Err(why) => (false, why),
                }
            };
            results.push(TestResult { suite, name, points, passed, message });
        }
        Ok(results)
    }
}

/// Runs the test `name` of the test binary `exe` on its own, in `dir`, for at most `budget`,
/// under the memory and process limits of `limits`; stderr goes into stdout, so a panic
/// message stays next to the test's own prints.
pub fn run_test(exe: &Path, name: &str, dir: &Path, budget: Duration, limits: &Limits) -> Result<Finished, String> {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec \"$0\" \"$@\" 2>&1"])
        .arg(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1", "--color", "never"])
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0");
    crate::process::limit_resources(&mut cmd, limits.memory, limits.processes);
    run_limited(&mut cmd, budget, limits.output)
}

/// Whether libtest said the test `name` passed: its own `test name ... ok` line, then the
/// summary `test result: ok. 1 passed; 0 failed; 0 ignored`, and exit status 0. Anything else
/// (an early `exit(0)`, an abort, a signal, an ignored or missing test, a time limit) is a
/// failure whose reason is returned, in words a student can act on.
pub fn verdict(name: &str, run: &Finished, budget: Duration, limits: &Limits) -> Result<(), String> {
    use std::os::unix::process::ExitStatusExt;
    let out = run.stdout.as_str();
    let Some(status) = run.status else {
        return Err(format!("time limit: still running after {:.0} s (an infinite loop?), stopped", budget.as_secs_f64()));
    };
    if out.lines().any(|l| l == "running 0 tests") {
        return Err(format!("the test `{name}` was not found in the compiled suite"));
    }
    // Rust's message for a failed allocation, which may follow libtest's `test name ... `.
    let oom = out.lines().filter_map(|l| l.find("memory allocation of ").map(|at| &l[at..])).find(|m| m.ends_with(" failed"));
    if let Some(line) = oom {
        return Err(format!("out of memory: {line} (each test may use at most {} MiB)", limits.memory >> 20));
    }
    let summary = out.lines().rev().find(|l| l.starts_with("test result: "));
    let Some(summary) = summary else {
        let why = match (status.code(), status.signal()) {
            (_, Some(signal)) => format!("the test process was killed by signal {signal}{} before libtest reported a result", signal_name(signal)),
            (Some(0), _) => "the test process exited with status 0 before libtest reported a result (does the code call `std::process::exit`?): no credit".to_string(),
            (code, _) => format!("the test process exited with status {} before libtest reported a result", code.unwrap_or(-1)),
        };
        return Err(why + &tail_note(out, run.truncated));
    };
    if summary.starts_with("test result: FAILED.") {
        return Err(failure_message(out, run.truncated));
    }
    if !summary.starts_with("test result: ok. 1 passed; 0 failed; 0 ignored;") {
        return Err(format!("libtest did not report exactly one passed test: `{summary}`"));
    }
    // `test name ... ok`, or `test name - should panic ... ok`; with `--nocapture` the test's
    // own prints come between the header and `ok`.
    let headers = [format!("test {name} ... "), format!("test {name} - should panic ... ")];
    let own_line = headers.iter().find_map(|header| out.find(header.as_str()).map(|at| (at, header.len()))).map(|(at, len)| {
        let end = out.rfind("test result: ").unwrap_or(out.len());
        let between = out.get(at + len..end).unwrap_or("");
        between.trim_end().lines().last().unwrap_or("").trim_end().ends_with("ok")
    });
    if own_line != Some(true) {
        return Err(format!("libtest's own line `test {name} ... ok` is missing from the output"));
    }
    if !status.success() {
        return Err(format!("libtest reported a pass, but the process then exited with {status}"));
    }
    Ok(())
}

/// ` (SIGABRT: an abort or a failed allocation)` and the like, for the signals a test meets.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => " (SIGABRT: `abort()` or a failed allocation)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV: a bad memory access or a stack overflow)",
        libc::SIGXFSZ => " (SIGXFSZ: a file larger than the limit)",
        _ => "",
    }
}

/// The last lines the test printed, as context for a failure without a libtest report.
fn tail_note(out: &str, truncated: bool) -> String {
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("running ")).collect();
    let last = &lines[lines.len().saturating_sub(5)..];
    if last.is_empty() {
        return String::new();
    }
    format!("\nlast output:\n{}{}", clip(&last.join("\n"), 2000), if truncated { "\n[output cut]" } else { "" })
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
    fn sandboxes_of_an_exercise_build_distinct_packages() {
        let root = crate::default_root();
        let ex = crate::catalog::find("mochi").unwrap();
        let toml = |purpose: &str| String::from_utf8(Sandbox::files(&root, ex, purpose).unwrap()[Path::new("Cargo.toml")].clone()).unwrap();
        assert!(toml("grade/0").contains("version = \"0.1.0-grade-0\"") && toml("grade/1").contains("version = \"0.1.0-grade-1\""), "{}", toml("grade/0"));
    }

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
