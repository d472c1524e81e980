//! The grader's test runner against real test processes that try to pass without passing: a
//! small test file (no dependencies, compiled with `rustc --test` in a second) whose tests
//! exit early with status 0, abort, fork, allocate without bound or are ignored. Each gets no
//! credit, with a reason that says what happened, and the runner carries on with the next.

use course::sandbox::{run_test, verdict, Limits};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CHEATS: &str = r#"
extern "C" {
    fn fork() -> i32;
}

#[test]
fn honest() {
    println!("a print does not hide the result");
    assert_eq!(1 + 1, 2);
}

#[test]
#[should_panic(expected = "no zero")]
fn panics_as_expected() {
    panic!("no zero");
}

#[test]
fn wrong() {
    assert_eq!(1 + 1, 3, "one plus one");
}

#[test]
fn exits_with_zero() {
    std::process::exit(0);
}

#[test]
fn aborts() {
    std::process::abort();
}

#[test]
fn forks() {
    // The parent leaves with status 0 at once; the child lives on, holding the output pipe.
    if unsafe { fork() } == 0 {
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
    std::process::exit(0);
}

#[test]
fn allocates_without_bound() {
    let huge = std::hint::black_box(vec![1u8; 64 << 30]);
    assert_eq!(huge[huge.len() - 1], 1);
}

#[test]
#[ignore]
fn ignored() {}
"#;

/// The test binary of [`CHEATS`], built once into `dir`.
fn build(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("cheats.rs"), CHEATS).unwrap();
    let exe = dir.join("cheats");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(rustc).args(["--edition", "2021", "--test", "-O", "cheats.rs", "-o"]).arg(&exe).current_dir(dir).status().unwrap();
    assert!(status.success(), "rustc --test cheats.rs failed");
    exe
}

#[test]
fn only_a_test_libtest_reports_as_passed_earns_credit() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = build(tmp.path());
    let limits = Limits { memory: 1 << 30, ..Limits::default() };
    let budget = Duration::from_secs(10);
    let outcome = |name: &str| {
        let run = run_test(&exe, name, tmp.path(), budget, &limits).unwrap();
        assert!(run.elapsed < Duration::from_secs(8), "{name}: the runner waited {:?}", run.elapsed);
        verdict(name, &run, budget, &limits)
    };
    let expect_failure = |name: &str, reason: &str| {
        let why = outcome(name).expect_err(name);
        assert!(why.contains(reason), "{name}: expected a reason containing `{reason}`, got:\n{why}");
    };
    assert_eq!(outcome("honest"), Ok(()));
    assert_eq!(outcome("panics_as_expected"), Ok(()), "a #[should_panic] test that panics passes");
    expect_failure("wrong", "one plus one");
    expect_failure("exits_with_zero", "exited with status 0 before libtest reported a result");
    expect_failure("aborts", "SIGABRT");
    expect_failure("forks", "exited with status 0 before libtest reported a result");
    expect_failure("allocates_without_bound", "out of memory: memory allocation of 68719476736 bytes failed");
    expect_failure("ignored", "did not report exactly one passed test");
    expect_failure("absent", "was not found");
    // None of them disturbed the runner: the honest test still passes after all of them.
    assert_eq!(outcome("honest"), Ok(()));
}
