#!/usr/bin/env bash
# CI for the graded exercises (course/, exercises/, solutions/, tests/hidden/).
# Needs only the Rust toolchain. `cargo test --release` at the root (run by .ci/run) already
# runs tests/course.rs: generate --check, the full `course validate`, a three-student grading
# run and a release; this script adds the tool's own unit tests and the commands themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== course: unit tests (anchors, mutants, time-limited processes, points)"
cargo test --release -p course

echo "== course generate --check: exercises/ and solutions/ match the library's anchored code"
cargo run --release -p course -- generate --check

echo "== course validate: solutions pass, stubs score 0 on hidden tests, every mutant is caught"
cargo run --release -p course -- validate

echo "== tests/course.rs: the grading run over three made-up submissions, and the release"
cargo test --release --test course -- grading release
