#!/usr/bin/env bash
# CI for the graded exercises (course/, exercises/, solutions/, tests/hidden/).
# Needs only the Rust toolchain and git. `cargo test --release` at the root (run by .ci/run)
# already runs tests/course.rs: generate --check, the full `course validate`, the grading of a
# made-up class (perfect, partial, zipped, non-compiling, delegating to the library, faking a
# pass) with exact totals, and the release built and tested as a student would; this script
# adds the tool's own tests and the commands themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== course: unit tests and the test runner against exit(0), abort, fork, allocation, ignored"
cargo test --release -p course

echo "== course generate --check: exercises/ and solutions/ match the library's anchored code"
cargo run --release -p course -- generate --check

echo "== course validate: solutions pass, stubs score 0 on hidden tests, every mutant is caught"
cargo run --release -p course -- validate

echo "== tests/course.rs: the made-up class, and the release"
cargo test --release --test course -- grading release
