#!/usr/bin/env bash
# CI for the notebooks: installs Jupyter and the Rust kernel when missing, checks that the
# committed notebooks carry no outputs, runs the display layer's unit tests, then executes
# every notebook headless (notebooks/check.py) and fails on any error output, any notebook
# over its 10-minute budget, or a missing plot. Executed copies (HTML + .ipynb, images inside)
# go to target/notebooks-html/ (git-ignored) for instructors.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== notebooks: install Jupyter (in setup.sh's virtual environment) and evcxr_jupyter if missing"
notebooks/setup.sh --no-open
# setup.sh installs Jupyter, nbclient and nbconvert into this venv, not system-wide: its
# `jupyter` and `python` are the ones that have them (same default as setup.sh).
VENV=${SELFSUP_VENV:-$PWD/notebooks/.venv}
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
PYTHON="$VENV/bin/python"
jupyter kernelspec list

echo "== notebooks: committed notebooks carry no outputs"
"$PYTHON" notebooks/check.py --clean-only

# The display layer's unit tests (src/notebook.rs) and the figure tests (tests/learned_figures.rs)
# run with the rest of `cargo test --release` in .ci/run.

echo "== notebooks: execute every notebook headless with the Rust kernel"
# One evcxr build folder for this CI run (directly under /tmp: see check.py's `evcxr_dir`),
# removed on exit: the kit's build for evcxr takes about 3.5 GB, and a CI run that failed for
# lack of disk space (2026-12-01) should not leave one behind per run.
EVCXR_TMPDIR=$(mktemp -d /tmp/selfsup-evcxr-ci.XXXXXX)
export EVCXR_TMPDIR
trap 'rm -rf "$EVCXR_TMPDIR"' EXIT
# The first notebook builds the kit for evcxr once (several minutes, not counted in the
# budget: the warm-up below does it); every kernel of check.py builds in the same evcxr folder,
# so the notebooks reuse that build.
"$PYTHON" notebooks/check.py --warm-up --html target/notebooks-html
