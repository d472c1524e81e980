//! `course grade SUBMISSIONS_DIR`: one folder or `.zip` per student, with the exercise crates
//! at any depth ([`crate::submissions`]). Each exercise is compiled in a sandbox with the
//! grader's own manifest and test files (only the student's `src/` is taken), against a copy
//! of the library without that exercise's reference ([`crate::library`]); its public and
//! hidden tests run one by one under time, memory and process limits, and the results go to
//! `grades.csv`, `report.json` and `feedback/<student>.md`. Whatever goes wrong in one exercise
//! (compile error, panic, loop, early exit, missing file, flood of output) costs that exercise
//! only. Students are graded in parallel; the reports are rewritten after every student and
//! each student's results saved in `state/`, so an interrupted run resumes where it stopped.

use crate::catalog::{Exercise, EXERCISES};
use crate::sandbox::{clip, Limits, Sandbox, Suite, TestResult};
use crate::submissions::Handed;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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

/// How a grading run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Students graded at the same time (compilations still take turns on cargo's lock).
    pub jobs: usize,
    /// Regrade everyone, ignoring the results an interrupted run saved.
    pub fresh: bool,
    /// Print each student's scores as they complete.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), fresh: false, verbose: false }
    }
}

/// Grades one exercise of one student (its crate folder `crate_dir`) in the sandbox slot
/// `slot`; never fails (problems become the exercise's result).
fn grade_one(root: &Path, ex: &Exercise, crate_dir: &Path, limits: &Limits, slot: usize) -> (Vec<TestResult>, String, f64) {
    let mut seconds = 0.0;
    let both = [Suite::Public, Suite::Hidden];
    let mut attempt = || -> Result<Result<Vec<TestResult>, String>, String> {
        let sandbox = Sandbox::new(root, ex, &format!("grade/{slot}"))?;
        sandbox.set_src_dir(&crate_dir.join("src"))?;
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
    match attempt() {
        Ok(Ok(results)) => (results, String::new(), seconds),
        Ok(Err(note)) => (all_failed(root, ex, note.lines().next().unwrap_or("")), note, seconds),
        Err(grader_problem) => (all_failed(root, ex, "not graded: the grader hit a problem"), format!("grader problem: {grader_problem}"), seconds),
    }
}

/// Every test of `ex`, failed for the reason `why`.
fn all_failed(root: &Path, ex: &Exercise, why: &str) -> Vec<TestResult> {
    let sandbox = Sandbox { root, ex, dir: PathBuf::new() };
    let table = sandbox.tests(&[Suite::Public, Suite::Hidden]).unwrap_or_default();
    table.into_iter().map(|(suite, name, points)| TestResult { suite, name, points, passed: false, message: why.to_string() }).collect()
}

/// A row for `ex` from its test results.
fn row(student: &str, ex: &Exercise, (tests, note, seconds): (Vec<TestResult>, String, f64)) -> Row {
    let score = tests.iter().filter(|t| t.passed).map(|t| t.points).sum();
    let max_score = tests.iter().map(|t| t.points).sum();
    Row { student: student.to_string(), exercise: ex.name.to_string(), score, max_score, note, seconds, tests }
}

/// Grades every exercise of one student; never fails (an unreadable zip, a missing or
/// duplicated exercise become notes on the rows).
fn grade_student(root: &Path, student: &str, handed: &Handed, out: &Path, limits: &Limits, slot: usize) -> Vec<Row> {
    let folder = match handed {
        Handed::Folder(dir) => Ok(dir.clone()),
        Handed::Zip(zip) => {
            let dest = out.join("unzipped").join(student);
            let _ = fs::remove_dir_all(&dest);
            crate::submissions::unzip(zip, &dest).map(|()| dest)
        }
    };
    let names: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
    let found = match &folder {
        Ok(dir) => crate::submissions::find_exercises(dir, &names),
        Err(_) => Default::default(),
    };
    EXERCISES
        .iter()
        .map(|ex| {
            let outcome = match (&folder, found.get(ex.name)) {
                (Err(why), _) => Err(why.clone()),
                (Ok(_), None) => Err(format!("not handed in: no folder `{}` holding `src/lib.rs`", ex.name)),
                (Ok(_), Some(Err(why))) => Err(why.clone()),
                (Ok(_), Some(Ok(crate_dir))) => Ok(grade_one(root, ex, crate_dir, limits, slot)),
            };
            let outcome = outcome.unwrap_or_else(|why| (all_failed(root, ex, &why), why, 0.0));
            row(student, ex, outcome)
        })
        .collect()
}

/// What the grader's results depend on besides the submission: the library, the test files
/// and specs, the lock file and the limits. A saved result is reused only if they match.
fn grader_fingerprint(root: &Path, limits: &Limits) -> u64 {
    let inputs = ["src", "course/spec", "tests/hidden", "Cargo.lock"].map(|p| root.join(p));
    let hash = crate::submissions::fingerprint(&inputs);
    crate::submissions::fnv1a(hash, format!("{limits:?}").as_bytes())
}

/// The results saved for `student` by an earlier run, if they were graded from the same
/// submission by the same grader (`fingerprint`).
fn saved(out: &Path, student: &str, fingerprint: &str) -> Option<Vec<Row>> {
    let text = fs::read_to_string(state_file(out, student)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    if value["fingerprint"].as_str() != Some(fingerprint) {
        return None;
    }
    let rows: Option<Vec<Row>> = value["rows"].as_array()?.iter().map(row_from_json).collect();
    rows.filter(|rows| rows.len() == EXERCISES.len())
}

fn state_file(out: &Path, student: &str) -> PathBuf {
    out.join("state").join(format!("{student}.json"))
}

/// Grades every student in `submissions` (a folder or a `.zip` each), up to `options.jobs` at
/// a time, and writes the reports into `out` after each student. A student whose results an
/// earlier run saved in `out/state/` (same submission, same grader) is not graded again
/// unless `options.fresh`. Returns every row, by student then in course order.
pub fn grade(root: &Path, submissions: &Path, out: &Path, limits: &Limits, options: &Options) -> Result<Vec<Row>, String> {
    let students = crate::submissions::students(submissions, out)?;
    for ex in EXERCISES {
        Sandbox::warm_up(root, ex, limits)?;
    }
    let grader = grader_fingerprint(root, limits);
    let done: Mutex<BTreeMap<String, Vec<Row>>> = Mutex::new(BTreeMap::new());
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let finish = |student: &str, rows: Vec<Row>, fingerprint: &str, fresh: bool| -> Result<(), String> {
        if fresh {
            let state = json!({"fingerprint": fingerprint, "rows": rows.iter().map(row_to_json).collect::<Vec<_>>()});
            crate::fsutil::write_file(&state_file(out, student), &state.to_string())?;
        }
        if options.verbose {
            let mut lines = String::new();
            for r in &rows {
                let why = r.note.lines().next().map(|l| format!("  ({l})")).unwrap_or_default();
                let _ = writeln!(lines, "{student:>12}  {:<22} {:>3} / {}{why}{}", r.exercise, r.score, r.max_score, if fresh { "" } else { "  [saved]" });
            }
            print!("{lines}");
        }
        let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
        done.insert(student.to_string(), rows);
        let all: Vec<Row> = done.values().flatten().cloned().collect();
        write_reports(out, &all)
    };
    std::thread::scope(|scope| {
        for slot in 0..options.jobs.clamp(1, students.len()) {
            let (students, finish, next, failure) = (&students, &finish, &next, &failure);
            scope.spawn(move || loop {
                let Some((student, handed)) = students.get(next.fetch_add(1, Ordering::SeqCst)) else { break };
                let fingerprint = format!("{:016x}", crate::submissions::fnv1a(grader, &crate::submissions::fingerprint(&[handed.path().to_path_buf()]).to_le_bytes()));
                let reused = if options.fresh { None } else { saved(out, student, &fingerprint) };
                let fresh = reused.is_none();
                let rows = reused.unwrap_or_else(|| grade_student(root, student, handed, out, limits, slot));
                if let Err(e) = finish(student, rows, &fingerprint, fresh) {
                    failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(done.into_inner().unwrap_or_else(|e| e.into_inner()).into_values().flatten().collect())
}

fn row_to_json(r: &Row) -> serde_json::Value {
    let tests: Vec<_> =
        r.tests.iter().map(|t| json!({"suite": t.suite.name(), "test": t.name, "points": t.points, "passed": t.passed, "message": t.message})).collect();
    json!({"student": r.student, "exercise": r.exercise, "score": r.score, "max_score": r.max_score, "note": r.note, "test_seconds": r.seconds, "tests": tests})
}

fn row_from_json(v: &serde_json::Value) -> Option<Row> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let number = |v: &serde_json::Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let tests = v["tests"]
        .as_array()?
        .iter()
        .map(|t| {
            let suite = match t["suite"].as_str()? {
                "public" => Suite::Public,
                "hidden" => Suite::Hidden,
                _ => return None,
            };
            Some(TestResult { suite, name: text(&t["test"])?, points: number(&t["points"])?, passed: t["passed"].as_bool()?, message: text(&t["message"])? })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Row {
        student: text(&v["student"])?,
        exercise: text(&v["exercise"])?,
        score: number(&v["score"])?,
        max_score: number(&v["max_score"])?,
        note: text(&v["note"])?,
        seconds: v["test_seconds"].as_f64()?,
        tests,
    })
}

/// A CSV field, quoted when it needs to be.
fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `grades.csv` (one row per student: a column per exercise in course order, and the
/// total), `report.json` (every row with every test) and one `feedback/<student>.md` each.
pub fn write_reports(out: &Path, rows: &[Row]) -> Result<(), String> {
    let mut table = String::from("student");
    for ex in EXERCISES {
        let _ = write!(table, ",{}", ex.name);
    }
    table.push_str(",total\n");
    let mut students: Vec<&str> = rows.iter().map(|r| r.student.as_str()).collect();
    students.dedup();
    for student in &students {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.student == *student).collect();
        table.push_str(&csv(student));
        for ex in EXERCISES {
            let score = mine.iter().find(|r| r.exercise == ex.name).map(|r| r.score.to_string()).unwrap_or_default();
            let _ = write!(table, ",{score}");
        }
        let _ = writeln!(table, ",{}", mine.iter().map(|r| r.score).sum::<u32>());
    }
    crate::fsutil::write_file(&out.join("grades.csv"), &table)?;

    let report: Vec<_> = rows.iter().map(row_to_json).collect();
    let text = serde_json::to_string_pretty(&report).map_err(|e| format!("report.json: {e}"))?;
    crate::fsutil::write_file(&out.join("report.json"), &text)?;

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
