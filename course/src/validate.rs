//! `course validate`: proves the tests are worth something. For every exercise:
//!
//! 1. the solution passes every public and hidden test;
//! 2. the stub compiles and scores zero on the hidden tests;
//! 3. there are at least [`MIN_MUTANTS`] mutants, each compiles and fails at least one hidden test.

use crate::catalog::{Exercise, EXERCISES};
use crate::generate::{lib_rs, Flavour};
use crate::mutants;
use crate::sandbox::{Limits, Sandbox, Suite, TestResult};
use std::path::Path;
use std::time::Instant;

/// Fewest mutants an exercise may have.
pub const MIN_MUTANTS: usize = 3;

/// The outcome of validation: one line per check, and the failed ones.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub failures: Vec<String>,
}

impl Report {
    fn check(&mut self, ok: bool, line: String) {
        self.lines.push(format!("{} {line}", if ok { "ok  " } else { "FAIL" }));
        if !ok {
            self.failures.push(line);
        }
    }
}

fn names(results: &[TestResult], passed: bool) -> String {
    let v: Vec<String> = results.iter().filter(|r| r.passed == passed).map(|r| format!("{}::{}", r.suite.name(), r.name)).collect();
    v.join(", ")
}

/// Validates `only` (or every exercise), printing each check as it completes when `verbose`.
pub fn validate(root: &Path, only: Option<&str>, limits: &Limits, verbose: bool) -> Result<Report, String> {
    let mut report = Report::default();
    let exercises: Vec<&Exercise> = match only {
        Some(name) => vec![crate::catalog::find(name)?],
        None => EXERCISES.iter().collect(),
    };
    for ex in exercises {
        let before = report.lines.len();
        validate_one(root, ex, limits, &mut report)?;
        if verbose {
            report.lines[before..].iter().for_each(|l| println!("{l}"));
        }
    }
    Ok(report)
}

fn validate_one(root: &Path, ex: &Exercise, limits: &Limits, report: &mut Report) -> Result<(), String> {
    let name = ex.name;
    if let Err(e) = Sandbox::warm_up(root, ex, limits) {
        report.check(false, e);
        return Ok(());
    }
    let sandbox = Sandbox::new(root, ex, "validate")?;
    let both = [Suite::Public, Suite::Hidden];

    let t = Instant::now();
    let solution = lib_rs(root, ex, Flavour::Solution)?;
    sandbox.set_lib(&solution)?;
    match sandbox.build(&both, limits).and_then(|exes| sandbox.run(&exes, limits)) {
        Ok(results) => {
            let failed = names(&results, false);
            let ok = failed.is_empty();
            let detail = if ok { format!("all {} tests pass", results.len()) } else { format!("fails {failed}") };
            report.check(ok, format!("{name}: solution: {detail} ({:.0} s)", t.elapsed().as_secs_f64()));
            for r in results.iter().filter(|r| !r.passed) {
                report.lines.push(format!("       {}::{}: {}", r.suite.name(), r.name, r.message.replace('\n', "\n       ")));
            }
        }
        Err(e) => report.check(false, format!("{name}: solution does not compile:\n{e}")),
    }

    let t = Instant::now();
    sandbox.set_lib(&lib_rs(root, ex, Flavour::Stub)?)?;
    match sandbox.build(&both, limits) {
        Ok(exes) => {
            let hidden: Vec<_> = exes.into_iter().filter(|(s, _)| *s == Suite::Hidden).collect();
            let results = sandbox.run(&hidden, limits)?;
            let passed = names(&results, true);
            let detail = if passed.is_empty() { "compiles, scores 0 on the hidden tests".to_string() } else { format!("passes hidden tests without any work: {passed}") };
            report.check(passed.is_empty(), format!("{name}: stub: {detail} ({:.0} s)", t.elapsed().as_secs_f64()));
        }
        Err(e) => report.check(false, format!("{name}: stub does not compile:\n{e}")),
    }

    let file = format!("course/spec/{name}/mutants.txt");
    let text = std::fs::read_to_string(root.join(&file)).map_err(|e| format!("{file}: cannot read it: {e}"))?;
    let list = mutants::parse(&text, &file)?;
    report.check(list.len() >= MIN_MUTANTS, format!("{name}: {} mutants (at least {MIN_MUTANTS} required)", list.len()));
    for m in &list {
        let t = Instant::now();
        let lib = match mutants::apply(&solution, m) {
            Ok(lib) => lib,
            Err(e) => {
                report.check(false, format!("{name}: {e}"));
                continue;
            }
        };
        sandbox.set_lib(&lib)?;
        let line = match sandbox.build(&[Suite::Hidden], limits) {
            Err(e) => (false, format!("mutant `{}` does not compile (a mutant must be a plausible wrong solution):\n{e}", m.name)),
            Ok(exes) => {
                let results = sandbox.run(&exes, limits)?;
                let failed = names(&results, false);
                if failed.is_empty() {
                    (false, format!("mutant `{}` ({}) passes every hidden test", m.name, m.description))
                } else {
                    (true, format!("mutant `{}` caught by {failed}", m.name))
                }
            }
        };
        report.check(line.0, format!("{name}: {} ({:.0} s)", line.1, t.elapsed().as_secs_f64()));
    }
    Ok(())
}
