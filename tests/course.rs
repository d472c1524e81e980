//! The instructors' tool end to end (`course/`): the committed exercises are what
//! `course generate` makes, `course validate` passes (solutions pass, stubs fail, every mutant
//! is caught), a grading run over a made-up class gives the exact expected scores within its
//! time limits (no credit for delegating to the library or faking a pass), and the release
//! holds what students need and builds. The long tests share one build folder, so they run
//! one at a time.

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

/// The committed `src/lib.rs` of `exercise` in `tree` (`solutions` or `exercises`).
fn lib(tree: &str, exercise: &str) -> String {
    fs::read_to_string(root().join(tree).join(exercise).join("src/lib.rs")).unwrap()
}

/// Hands in `exercise` under `dir` (the crate as generated in `tree`, then `src/lib.rs`
/// replaced by `lib`).
fn hand_in(dir: &Path, tree: &str, exercise: &str, lib: &str) {
    let crate_dir = dir.join(exercise);
    course::fsutil::copy_tree(&root().join(tree).join(exercise), &crate_dir, &["target"]).unwrap();
    fs::write(crate_dir.join("src/lib.rs"), lib).unwrap();
}

/// The stub of `exercise` with the `todo!()` of each function in `bodies` replaced by code.
fn stub_with(exercise: &str, bodies: &[(&str, &str)]) -> String {
    bodies.iter().fold(lib("exercises", exercise), |text, (function, body)| replace_once(&text, &format!("todo!(\"implement `{function}` (see README.md)\")"), body))
}

fn replace_once(text: &str, find: &str, replace: &str) -> String {
    assert_eq!(text.matches(find).count(), 1, "expected `{find}` once");
    text.replacen(find, replace, 1)
}

/// Writes `dir` into the new zip file `zip` (paths relative to `dir`).
fn zip_folder(dir: &Path, zip: &Path) {
    use std::io::Write;
    use course::zip;
    let mut writer = zip::ZipWriter::new(fs::File::create(zip).unwrap());
    for rel in course::fsutil::list_files(dir) {
        writer.start_file(rel.to_string_lossy(), zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&fs::read(dir.join(&rel)).unwrap()).unwrap();
    }
    writer.finish().unwrap();
}

/// A made-up class: one perfect student, one who delegates to the library, one whose code
/// exits 0 / aborts / forks / allocates without bound, one whose code does not compile, and
/// two with partial work, handed in as nested folders and as a zip.
fn make_class(subs: &Path) {
    // alice: every exercise solved, handed in as a copy of the whole bundle (nested).
    for ex in course::catalog::EXERCISES {
        hand_in(&subs.join("alice/selfsup-course/exercises"), "solutions", ex.name, &lib("solutions", ex.name));
    }

    // bob, as a zip: InfoNCE without the temperature (the spec's first mutant) with public tests
    // "fixed" to pass (the grader uses its own), NT-Xent solved, and distillation without the
    // T² factor (a part 2 mutant: it fails only the tests with T ≠ 1 and a soft term).
    let bob = subs.join("bob-unzipped");
    let file = "course/spec/info_nce/mutants.txt";
    let mutants = course::mutants::parse(&fs::read_to_string(root().join(file)).unwrap(), file).unwrap();
    let forgot_tau = mutants.iter().find(|m| m.name == "forgot_temperature").unwrap();
    hand_in(&bob.join("exercises"), "solutions", "info_nce", &course::mutants::apply(&lib("solutions", "info_nce"), forgot_tau).unwrap());
    fs::write(bob.join("exercises/info_nce/tests/public.rs"), "#[test]\nfn everything_is_fine() {}\n").unwrap();
    hand_in(&bob.join("exercises"), "solutions", "nt_xent", &lib("solutions", "nt_xent"));
    let file = "course/spec/distillation_loss/mutants.txt";
    let mutants = course::mutants::parse(&fs::read_to_string(root().join(file)).unwrap(), file).unwrap();
    let forgot_t2 = mutants.iter().find(|m| m.name == "forgot_t_squared").unwrap();
    hand_in(&bob.join("exercises"), "solutions", "distillation_loss", &course::mutants::apply(&lib("solutions", "distillation_loss"), forgot_t2).unwrap());
    zip_folder(&bob, &subs.join("bob.zip"));
    fs::remove_dir_all(&bob).unwrap();

    // carol: NT-Xent does not compile, the memory-bank update loops forever, the crop
    // exercise's folder has no src/lib.rs; MoCo and MoCHi solved.
    let carol = subs.join("carol");
    hand_in(&carol, "solutions", "nt_xent", &(lib("solutions", "nt_xent") + "\npub fn unfinished() -> usize {\n    \"not a number\"\n}\n"));
    let looping = replace_once(&lib("solutions", "memory_bank"), "    for (row, &i) in indices.iter().enumerate() {", "    loop {\n        std::hint::spin_loop();\n    }\n    for (row, &i) in indices.iter().enumerate() {");
    hand_in(&carol, "solutions", "memory_bank", &looping);
    hand_in(&carol, "solutions", "augment_crop", "");
    fs::remove_file(carol.join("augment_crop/src/lib.rs")).unwrap();
    hand_in(&carol, "solutions", "moco_momentum_queue", &lib("solutions", "moco_momentum_queue"));
    hand_in(&carol, "solutions", "mochi", &lib("solutions", "mochi"));

    // dave: every function of InfoNCE, NT-Xent and BYOL calls the library's reference.
    let dave = subs.join("dave");
    let info_nce = stub_with(
        "info_nce",
        &[
            ("l2_normalize", "selfsup::nn::functional::l2_normalize(z)"),
            ("dot_matrix", "selfsup::nn::functional::dot_matrix(a, b)"),
            ("contrastive_logits", "selfsup::methods::contrastive_logits(q, k_pos, negatives, tau)"),
            ("info_nce_from_logits", "selfsup::methods::info_nce_from_logits(logits)"),
        ],
    );
    hand_in(&dave, "exercises", "info_nce", &info_nce);
    hand_in(&dave, "exercises", "nt_xent", &stub_with("nt_xent", &[("nt_xent", "selfsup::methods::nt_xent(z, tau)")]));
    let byol = stub_with("byol", &[("byol_loss", "selfsup::methods::byol_loss(p, z)"), ("cosine_tau", "selfsup::methods::byol::cosine_tau(tau_base, progress)")]);
    hand_in(&dave, "exercises", "byol", &byol);

    // erin: code that tries to look like a pass (exit 0, abort, a fork whose parent exits 0,
    // an allocation beyond the memory limit); MoCo solved, graded as usual after all that.
    let erin = subs.join("erin");
    hand_in(&erin, "exercises", "nt_xent", &stub_with("nt_xent", &[("nt_xent", "std::process::exit(0)")]));
    hand_in(&erin, "exercises", "memory_bank", &stub_with("memory_bank", &[("update_memory_bank", "std::process::abort()")]));
    let fork = "extern \"C\" {\n        fn fork() -> i32;\n    }\n    if unsafe { fork() } == 0 {\n        std::thread::sleep(std::time::Duration::from_secs(30));\n    }\n    std::process::exit(0)";
    hand_in(&erin, "exercises", "mochi", &stub_with("mochi", &[("hardest_negatives", fork)]));
    let allocate = "let huge = vec![1u8; 64 << 30];\n    std::hint::black_box(huge);\n    unreachable!()";
    hand_in(&erin, "exercises", "augment_crop", &stub_with("augment_crop", &[("resized_crop", allocate)]));
    hand_in(&erin, "solutions", "moco_momentum_queue", &lib("solutions", "moco_momentum_queue"));

    // frank: InfoNCE and NT-Xent solved, the memory bank left as the stub.
    let frank = subs.join("frank");
    for ex in ["info_nce", "nt_xent"] {
        hand_in(&frank, "solutions", ex, &lib("solutions", ex));
    }
    hand_in(&frank, "exercises", "memory_bank", &lib("exercises", "memory_bank"));
}

#[test]
fn grading_a_class_gives_the_expected_scores_and_no_credit_for_delegating_or_faking_a_pass() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let subs = tmp.path().join("submissions");
    make_class(&subs);

    let limits = Limits { exercise: Duration::from_secs(8), test: Duration::from_secs(3), ..Limits::default() };
    let out = tmp.path().join("grades");
    let options = course::grade::Options { jobs: 2, fresh: false, verbose: false };
    let start = Instant::now();
    let rows = course::grade::grade(&root(), &subs, &out, &limits, &options).unwrap();
    eprintln!("graded {} students in {:.0} s", rows.len() / course::catalog::EXERCISES.len(), start.elapsed().as_secs_f64());

    let csv = fs::read_to_string(out.join("grades.csv")).unwrap();
    // Points per exercise (public tests count 1 each, hidden ones their `// points:`): part 1
    // 10, 7, 15, 10, 10, 9; part 2 barlow_twins 2 + 11 = 13, distillation_loss 2 + 12 = 14,
    // byol 2 + 11 = 13; part 3 kmeans 2 + 14 = 16, sinkhorn_knopp 2 + 11 = 13, swav_loss
    // 2 + 14 = 16; part 4 dino_loss 2 + 15 = 17, dino_centre 2 + 11 = 13, vit_attention
    // 2 + 10 = 12 (alice: 146 + 42 = 188; nobody else hands part 4 in). bob's distillation without T² loses the three tests with T ≠ 1 and a
    // soft term (the_soft_term_is_multiplied_by_t_squared, both_terms_together, the gradient:
    // 2 points each): 14 − 6 = 8.
    let expected = "student,augment_crop,memory_bank,info_nce,moco_momentum_queue,nt_xent,mochi,barlow_twins,distillation_loss,byol,kmeans,sinkhorn_knopp,swav_loss,dino_loss,dino_centre,vit_attention,total
alice,10,7,15,10,10,9,13,14,13,16,13,16,17,13,12,188
bob,0,0,8,0,10,0,0,8,0,0,0,0,0,0,0,26
carol,0,0,0,10,0,9,0,0,0,0,0,0,0,0,0,19
dave,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
erin,0,0,0,10,0,0,0,0,0,0,0,0,0,0,0,10
frank,0,0,15,0,10,0,0,0,0,0,0,0,0,0,0,25
";
    assert_eq!(csv, expected, "grades.csv");

    // Each exercise's tests stayed within the exercise's limit (plus process start-up).
    for r in &rows {
        assert!(r.seconds <= limits.exercise.as_secs_f64() + 2.0, "{} / {}: tests ran {:.1} s", r.student, r.exercise, r.seconds);
    }
    let row = |student: &str, exercise: &str| rows.iter().find(|r| r.student == student && r.exercise == exercise).unwrap();
    let every_test_says = |student: &str, exercise: &str, reason: &str| {
        let r = row(student, exercise);
        assert!(r.tests.iter().all(|t| !t.passed && t.message.contains(reason)), "{student} / {exercise}: expected `{reason}` in every test:\n{:#?}", r.tests);
    };
    let nt_xent = row("carol", "nt_xent");
    assert!(nt_xent.note.contains("does not compile") && nt_xent.note.contains("mismatched types"), "{}", nt_xent.note);
    every_test_says("carol", "memory_bank", "time limit");
    assert!(row("carol", "augment_crop").note.contains("not handed in: no folder `augment_crop`"), "{}", row("carol", "augment_crop").note);
    // Delegating reaches the reference's removed body.
    every_test_says("dave", "nt_xent", "the library's reference is not available while `nt_xent` is graded");
    every_test_says("dave", "info_nce", "is not available while `info_nce` is graded");
    every_test_says("dave", "byol", "is not available while `byol` is graded");
    every_test_says("erin", "nt_xent", "exited with status 0 before libtest reported a result");
    every_test_says("erin", "memory_bank", "SIGABRT");
    every_test_says("erin", "augment_crop", "out of memory");
    let fork = row("erin", "mochi");
    let forked = fork.tests.iter().filter(|t| t.message.contains("exited with status 0")).count();
    assert!(forked >= 2 && fork.tests.iter().all(|t| !t.passed), "{:#?}", fork.tests);

    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report.as_array().unwrap().len(), rows.len());
    let feedback = fs::read_to_string(out.join("feedback/bob.md")).unwrap();
    assert!(feedback.contains("FAILED `hidden::contrastive_logits_match_the_formula`") && feedback.contains("expected:"), "{feedback}");

    // An interrupted run resumes: saved students are not graded again (a second run over the
    // same submissions takes no build), and a changed submission is.
    fs::remove_file(out.join("state/frank.json")).unwrap();
    fs::remove_dir_all(subs.join("carol")).unwrap();
    let start = Instant::now();
    let again = course::grade::grade(&root(), &subs, &out, &limits, &options).unwrap();
    let frank_rows: Vec<_> = again.iter().filter(|r| r.student == "frank").map(|r| r.score).collect();
    assert_eq!(frank_rows, [0, 0, 15, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "frank regraded");
    let csv = fs::read_to_string(out.join("grades.csv")).unwrap();
    assert!(!csv.contains("carol") && csv.contains("alice,10,7,15,10,10,9,13,14,13,16,13,16,17,13,12,188\n"), "{csv}");
    eprintln!("resumed run: {:.0} s", start.elapsed().as_secs_f64());
}

/// Relative links of a Markdown file (`[text](target)`), without URLs and `#anchors`.
fn markdown_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|t| t.split('#').next().unwrap_or("").split_whitespace().next().unwrap_or("").to_string())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

#[test]
fn release_holds_the_tracked_student_files_and_its_exercises_build_and_fail_with_todo() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    course::release::release(&root(), &out).unwrap();

    // Exactly the tracked files of the student folders, the rewritten manifest and the
    // exercises' lock file: nothing untracked, no solutions, hidden tests or grader.
    let mut expected: Vec<PathBuf> = course::release::bundle_files(&root()).unwrap();
    expected.extend([PathBuf::from("Cargo.toml"), PathBuf::from("exercises/Cargo.lock")]);
    expected.sort();
    assert_eq!(course::fsutil::list_files(&out), expected);
    assert!(!out.join("solutions").exists() && !out.join("tests").exists() && !out.join("course/src").exists() && !out.join("course/spec").exists());
    assert_eq!(course::fsutil::list_files(&out.join("course")), [PathBuf::from("README.md")], "of the grader, only its README");
    for read in ["results/experiments/mochi.json", "notebooks/01_contrastive.ipynb", "slides/build.sh", "exercises/Cargo.lock"] {
        assert!(out.join(read).is_file(), "{read} missing from the bundle");
    }
    for ex in course::catalog::EXERCISES {
        let lib = fs::read_to_string(out.join("exercises").join(ex.name).join("src/lib.rs")).unwrap();
        assert!(lib.contains("todo!("), "{}: the released exercise must be the stub", ex.name);
    }
    let manifest = fs::read_to_string(out.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("members = [\".\"]") && !manifest.contains("path = \"course\""), "{manifest}");

    // Nothing points at a file the bundle lacks: Markdown links (slide figures are made by
    // slides/build.sh), `path =` dependencies, the notebooks' `../` files.
    let mut missing = Vec::new();
    for rel in course::fsutil::list_files(&out) {
        let name = rel.to_string_lossy().into_owned();
        let Ok(text) = fs::read_to_string(out.join(&rel)) else { continue };
        let dir = out.join(&rel).parent().unwrap().to_path_buf();
        let mut targets: Vec<String> = Vec::new();
        if name.ends_with(".md") {
            targets.extend(markdown_links(&text).into_iter().filter(|t| !(name.starts_with("slides/") && t.starts_with("figures/"))));
        }
        if name.ends_with("Cargo.toml") {
            targets.extend(text.lines().filter_map(|l| l.split_once("path = \"").map(|(_, r)| r.split('"').next().unwrap().to_string())));
        }
        if name.ends_with(".ipynb") {
            targets.extend(text.split("\"../").skip(1).chain(text.split("\\\"../").skip(1)).map(|r| format!("../{}", r.split(['"', '\\']).next().unwrap())).filter(|t| !t.contains('{')));
        }
        // `runs/` holds what the kit's commands write (notebook 01 loads the main job's run
        // from `../runs/simclr` when it exists and trains it otherwise): not part of a bundle.
        let written_by_commands = |t: &String| t.starts_with("../runs/");
        missing.extend(targets.into_iter().filter(|t| !written_by_commands(t) && !dir.join(t).exists()).map(|t| format!("{name} -> {t}")));
    }
    assert!(missing.is_empty(), "the bundle refers to files it does not hold:\n{}", missing.join("\n"));

    // A student's first `cargo test` in exercises/: the stubs compile and every public test
    // fails on a `todo!()`. The bundle is synced into a fixed folder and builds into the
    // grader's build folder (same profile), so dependencies compile once across runs.
    // Like the grader's sandboxes, the copy compiles the library without optimisation
    // (a cargo config beside it, not part of the released bundle).
    let student = root().join("target/course/bundle");
    let mut files = course::fsutil::read_tree(&out).unwrap();
    files.insert(PathBuf::from(".cargo/config.toml"), course::sandbox::LIBRARY_PROFILE.trim_start().as_bytes().to_vec());
    course::fsutil::sync(&student, &files).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = std::process::Command::new(cargo)
        .args(["test", "--no-fail-fast"])
        .current_dir(student.join("exercises"))
        .env("CARGO_TARGET_DIR", course::sandbox::target_dir(&root()))
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(!text.contains("error[") && !text.contains("could not compile"), "the stubs must compile:\n{text}");
    let public: usize = course::catalog::EXERCISES
        .iter()
        .map(|ex| course::sandbox::points_table(&fs::read_to_string(root().join(format!("course/spec/{}/public.rs", ex.name))).unwrap()).len())
        .sum();
    let failed = text.lines().filter(|l| l.starts_with("test ") && l.ends_with(" ... FAILED")).count();
    let todo = text.matches("not yet implemented: implement `").count();
    assert!(!run.status.success() && failed == public && todo >= public, "{public} public tests should fail on todo!(), {failed} failed, {todo} todo messages:\n{text}");
    assert!(!text.lines().any(|l| l.starts_with("test ") && l.ends_with(" ... ok")), "a public test passes on a stub:\n{text}");

    // The students' progress tool: course order, what to do next, hints one at a time.
    let check = |args: &[&str]| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let run = std::process::Command::new(cargo)
            .args(["run", "-q", "-p", "course-check", "--"])
            .args(args)
            .current_dir(student.join("exercises"))
            .env("CARGO_TARGET_DIR", course::sandbox::target_dir(&root()))
            .output()
            .unwrap();
        assert!(run.status.success(), "course-check {args:?} failed: {}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let listed = check(&[]);
    let order: Vec<&str> = course::catalog::EXERCISES.iter().map(|e| e.name).collect();
    let shown: Vec<&str> = listed.lines().skip(1).take(order.len()).map(|l| l.split_whitespace().nth(1).unwrap_or("")).collect();
    assert_eq!(shown, order, "course-check lists the exercises in course order:\n{listed}");
    assert!(listed.contains("not started") && listed.contains(&format!("Next: exercise 1, `{}`", order[0])), "{listed}");
    let first = check(&["hint"]);
    let second = check(&["hint"]);
    assert!(first.contains(&format!("Hints for `{}` (1 of", order[0])) && first.contains("1. ") && !first.contains("2. "), "{first}");
    assert!(second.contains("(2 of") && second.contains("2. "), "{second}");
    // Solve the first exercise: its public tests pass and the next one is the second.
    fs::write(student.join("exercises").join(order[0]).join("src/lib.rs"), lib("solutions", order[0])).unwrap();
    let listed = check(&[]);
    assert!(listed.contains("public tests pass") && listed.contains(&format!("Next: exercise 2, `{}`", order[1])), "{listed}");
}
