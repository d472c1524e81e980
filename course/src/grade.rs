//! `course grade SUBMISSIONS_DIR`: one folder per student (a copy of `exercises/` with their
//! work). Each exercise is compiled in a sandbox with the grader's own manifest and test files
//! (only the student's `src/` is taken), its public and hidden tests run one by one under time
//! limits, and the results go to `grades.csv`, `report.json` and `feedback/<student>.md`.
//! Whatever goes wrong in one exercise (compile error, panic, loop, missing file, flood of
//! output) costs that exercise only; the files are rewritten after every student.

use crate::catalog::EXERCISES;
use crate::sandbox::{clip, Limits, Sandbox, Suite, TestResult};
use serde_json::json;
use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

/// One student's result on one exercise.
#[derive(Debug, Clone)]
pub struct Row {
    pub student: String,
    pub exercise: String,
    pub score: u32,
    pub max_score: u32,
    /// Compile errors or a missing file; empty when the tests ran.
    pub note: String,
    /// Wall time spent running the tests (compilation excluded), in seconds.
    pub seconds: f64,
    pub tests: Vec<TestResult>,
}

/// The student folders of `submissions`, sorted (the report folder `out` skipped if inside).
fn students(submissions: &Path, out: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries = fs::read_dir(submissions).map_err(|e| format!("{}: cannot list it: {e}", submissions.display()))?;
    let reports = out.canonicalize().ok();
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter(|e| e.path().canonicalize().ok() != reports)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!("{}: no student folders in it", submissions.display()));
    }
    Ok(found)
}

/// Grades one exercise of one student; never fails (problems become the exercise's result).
fn grade_one(root: &Path, ex: &crate::catalog::Exercise, student_dir: &Path, limits: &Limits) -> (Vec<TestResult>, String, f64) {
    let mut seconds = 0.0;
    let both = [Suite::Public, Suite::Hidden];
    let mut attempt = || -> Result<Result<Vec<TestResult>, String>, String> {
        let sandbox = Sandbox::new(root, ex, "grade")?;
        let src = student_dir.join(ex.name).join("src");
        if !src.join("lib.rs").is_file() {
            return Ok(Err(format!("missing file: {}/src/lib.rs", ex.name)));
        }
        sandbox.set_src_dir(&src)?;
        match sandbox.build(&both, limits) {
            Ok(exes) => {
                let start = std::time::Instant::now();
                let results = sandbox.run(&exes, limits);
                seconds = start.elapsed().as_secs_f64();
                Ok(Ok(results?))
            }
            Err(e) => Ok(Err(format!("does not compile:\n{}", clip(&e, limits.output)))),
        }
    };
    let all_failed = |why: &str| -> Vec<TestResult> {
        let sandbox = Sandbox { root, ex, dir: PathBuf::new() };
        let table = sandbox.tests(&both).unwrap_or_default();
        table.into_iter().map(|(suite, name, points)| TestResult { suite, name, points, passed: false, message: why.to_string() }).collect()
    };
    let (tests, note) = match attempt() {
        Ok(Ok(results)) => (results, String::new()),
        Ok(Err(note)) => (all_failed(note.lines().next().unwrap_or("")), note),
        Err(grader_problem) => (all_failed("not graded: the grader hit a problem"), format!("grader problem: {grader_problem}")),
    };
    (tests, note, seconds)
}

/// Grades every student in `submissions`, writing the reports into `out`.
pub fn grade(root: &Path, submissions: &Path, out: &Path, limits: &Limits, verbose: bool) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (student, dir) in students(submissions, out)? {
        for ex in EXERCISES {
            let (tests, note, seconds) = grade_one(root, ex, &dir, limits);
            let score = tests.iter().filter(|t| t.passed).map(|t| t.points).sum();
            let max_score = tests.iter().map(|t| t.points).sum();
            if verbose {
                let why = note.lines().next().map(|l| format!("  ({l})")).unwrap_or_default();
                println!("{student:>12}  {:<22} {score:>3} / {max_score}{why}", ex.name);
            }
            rows.push(Row { student: student.clone(), exercise: ex.name.to_string(), score, max_score, note, seconds, tests });
        }
        write_reports(out, &rows)?;
    }
    Ok(rows)
}

/// A CSV field, quoted when it needs to be.
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `grades.csv`, `report.json` and one `feedback/<student>.md` per student.
pub fn write_reports(out: &Path, rows: &[Row]) -> Result<(), String> {
    let mut table = String::from("student,exercise,score,max_score\n");
    for r in rows {
        let _ = writeln!(table, "{},{},{},{}", csv(&r.student), csv(&r.exercise), r.score, r.max_score);
    }
    crate::fsutil::write_file(&out.join("grades.csv"), &table)?;

    let report: Vec<_> = rows
        .iter()
        .map(|r| {
            let tests: Vec<_> = r
                .tests
                .iter()
                .map(|t| json!({"suite": t.suite.name(), "test": t.name, "points": t.points, "passed": t.passed, "message": t.message}))
                .collect();
            json!({"student": r.student, "exercise": r.exercise, "score": r.score, "max_score": r.max_score, "note": r.note, "test_seconds": r.seconds, "tests": tests})
        })
        .collect();
    let text = serde_json::to_string_pretty(&report).map_err(|e| format!("report.json: {e}"))?;
    crate::fsutil::write_file(&out.join("report.json"), &text)?;

    let mut students: Vec<&str> = rows.iter().map(|r| r.student.as_str()).collect();
    students.dedup();
    for student in students {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.student == student).collect();
        crate::fsutil::write_file(&out.join("feedback").join(format!("{student}.md")), &feedback(student, &mine))?;
    }
    Ok(())
}

/// The Markdown feedback for one student.
fn feedback(student: &str, rows: &[&Row]) -> String {
    let (total, max): (u32, u32) = rows.iter().fold((0, 0), |(a, b), r| (a + r.score, b + r.max_score));
    let mut md = format!("# Feedback for {student}\n\nTotal: **{total} / {max}**\n\n| exercise | score |\n| --- | --- |\n");
    for r in rows {
        let _ = writeln!(md, "| {} | {} / {} |", r.exercise, r.score, r.max_score);
    }
    for r in rows {
        let _ = write!(md, "\n## {} — {} / {}\n\n", r.exercise, r.score, r.max_score);
        if !r.note.is_empty() {
            let _ = write!(md, "```text\n{}\n```\n\n", r.note);
        }
        for t in &r.tests {
            let mark = if t.passed { "passed" } else { "FAILED" };
            let _ = writeln!(md, "- {mark} `{}::{}` ({} pt{})", t.suite.name(), t.name, t.points, if t.points == 1 { "" } else { "s" });
            if !t.passed && !t.message.is_empty() && r.note.is_empty() {
                let _ = writeln!(md, "\n  ```text\n  {}\n  ```\n", t.message.replace('\n', "\n  "));
            }
        }
    }
    md
}
