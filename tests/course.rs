//! The instructors' tool end to end (`course/`): the committed exercises are what
//! `course generate` makes, `course validate` passes (solutions pass, stubs fail, every mutant
//! is caught), and a grading run over three made-up students gives the exact expected scores
//! within its time limits. The two long tests share one build folder, so they run one at a time.

use course::sandbox::Limits;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_exercises_and_solutions_are_up_to_date() {
    let problems = course::generate::check(&root()).unwrap();
    assert!(problems.is_empty(), "run `cargo run -p course -- generate`:\n{}", problems.join("\n"));
}

#[test]
fn validate_passes() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let start = Instant::now();
    let report = course::validate::validate(&root(), None, &Limits::default(), false).unwrap();
    eprintln!("course validate: {:.0} s\n{}", start.elapsed().as_secs_f64(), report.lines.join("\n"));
    assert!(report.failures.is_empty(), "course validate failed:\n{}", report.failures.join("\n"));
}

/// The solution's `src/lib.rs` of `exercise`.
fn solution(exercise: &str) -> String {
    fs::read_to_string(root().join("solutions").join(exercise).join("src/lib.rs")).unwrap()
}

/// A submission that is a copy of the solutions (what a perfect student hands in).
fn perfect_submission(dir: &Path) {
    for ex in course::catalog::EXERCISES {
        course::fsutil::copy_tree(&root().join("solutions").join(ex.name), &dir.join(ex.name), &["target"]).unwrap();
    }
}

fn replace_once(text: &str, find: &str, replace: &str) -> String {
    assert_eq!(text.matches(find).count(), 1, "expected `{find}` once");
    text.replacen(find, replace, 1)
}

#[test]
fn grading_three_submissions_gives_the_expected_scores_within_the_time_limits() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let subs = tmp.path().join("submissions");

    // alice: every exercise solved.
    perfect_submission(&subs.join("alice"));

    // bob: forgot the temperature in InfoNCE (the spec's first mutant), and "fixed" the public
    // tests so they pass; the grader uses its own test files.
    let bob = subs.join("bob");
    perfect_submission(&bob);
    let file = "course/spec/info_nce/mutants.txt";
    let mutants = course::mutants::parse(&fs::read_to_string(root().join(file)).unwrap(), file).unwrap();
    let forgot_tau = mutants.iter().find(|m| m.name == "forgot_temperature").unwrap();
    fs::write(bob.join("info_nce/src/lib.rs"), course::mutants::apply(&solution("info_nce"), forgot_tau).unwrap()).unwrap();
    fs::write(bob.join("info_nce/tests/public.rs"), "#[test]\nfn everything_is_fine() {}\n").unwrap();

    // carol: NT-Xent does not compile, the memory-bank update loops forever, the crop exercise's
    // source is deleted.
    let carol = subs.join("carol");
    perfect_submission(&carol);
    fs::write(carol.join("nt_xent/src/lib.rs"), solution("nt_xent") + "\npub fn unfinished() -> usize {\n    \"not a number\"\n}\n").unwrap();
    let looping = replace_once(&solution("memory_bank"), "    for (row, &i) in indices.iter().enumerate() {", "    loop {\n        std::hint::spin_loop();\n    }\n    for (row, &i) in indices.iter().enumerate() {");
    fs::write(carol.join("memory_bank/src/lib.rs"), looping).unwrap();
    fs::remove_file(carol.join("augment_crop/src/lib.rs")).unwrap();

    let limits = Limits { exercise: Duration::from_secs(8), test: Duration::from_secs(3), ..Limits::default() };
    let out = tmp.path().join("grades");
    let rows = course::grade::grade(&root(), &subs, &out, &limits, false).unwrap();

    let csv = fs::read_to_string(out.join("grades.csv")).unwrap();
    let expected = "student,exercise,score,max_score
alice,info_nce,15,15
alice,nt_xent,10,10
alice,memory_bank,7,7
alice,augment_crop,10,10
alice,moco_momentum_queue,10,10
alice,mochi,9,9
bob,info_nce,8,15
bob,nt_xent,10,10
bob,memory_bank,7,7
bob,augment_crop,10,10
bob,moco_momentum_queue,10,10
bob,mochi,9,9
carol,info_nce,15,15
carol,nt_xent,0,10
carol,memory_bank,0,7
carol,augment_crop,0,10
carol,moco_momentum_queue,10,10
carol,mochi,9,9
";
    assert_eq!(csv, expected, "grades.csv");

    // Each exercise's tests stayed within the exercise's limit (plus process start-up).
    for r in &rows {
        assert!(r.seconds <= limits.exercise.as_secs_f64() + 2.0, "{} / {}: tests ran {:.1} s", r.student, r.exercise, r.seconds);
    }
    let carol = |exercise: &str| rows.iter().find(|r| r.student == "carol" && r.exercise == exercise).unwrap();
    let nt_xent = carol("nt_xent");
    assert!(nt_xent.note.contains("does not compile") && nt_xent.note.contains("mismatched types"), "{}", nt_xent.note);
    assert!(carol("memory_bank").tests.iter().all(|t| t.message.contains("time limit")), "{:?}", carol("memory_bank").tests);
    assert!(carol("augment_crop").note.contains("missing file: augment_crop/src/lib.rs"), "{}", carol("augment_crop").note);

    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report.as_array().unwrap().len(), rows.len());
    let feedback = fs::read_to_string(out.join("feedback/bob.md")).unwrap();
    assert!(feedback.contains("FAILED `hidden::contrastive_logits_match_the_formula`") && feedback.contains("expected:"), "{feedback}");
}

/// The triple rustc builds for by default (`host:` in `rustc -vV`).
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc).arg("-vV").output().expect("rustc -vV runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV prints host:").trim().to_string()
}

#[test]
fn release_holds_no_solutions_and_no_hidden_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    course::release::release(&root(), &out).unwrap();
    assert!(!out.join("solutions").exists() && !out.join("tests").exists() && !out.join("course").exists());
    for ex in course::catalog::EXERCISES {
        assert!(out.join("exercises").join(ex.name).join("tests/public.rs").is_file(), "{} missing", ex.name);
        let lib = fs::read_to_string(out.join("exercises").join(ex.name).join("src/lib.rs")).unwrap();
        assert!(lib.contains("todo!("), "{}: the released exercise must be the stub", ex.name);
    }
    assert!(out.join("exercises/Cargo.lock").is_file(), "the exercises' lock file pins the tested versions");
    let manifest = fs::read_to_string(out.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("members = [\".\"]") && !manifest.contains("path = \"course\""), "{manifest}");
    // The bundle's manifests load: the library and an exercise (which finds it at ../..).
    // Offline, so only for this machine's platform: the lock file also pins crates used on
    // other targets only (wasm-bindgen's bumpalo, ...), which no build here has downloaded.
    let host = host_triple();
    for dir in [out.clone(), out.join("exercises/info_nce")] {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["metadata", "--offline", "--format-version", "1", "--filter-platform", &host])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "cargo metadata fails in {}", dir.display());
    }
}
