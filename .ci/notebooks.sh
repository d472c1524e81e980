#!/usr/bin/env bash
# CI for the notebooks: installs Jupyter and the Rust kernel when missing, checks that the
# committed notebooks carry no outputs, runs the display layer's unit tests, then executes
# every notebook headless (notebooks/check.py) and fails on any error output, any notebook
# over its 10-minute budget, or a missing plot. Executed copies (HTML + .ipynb, images inside)
# go to target/notebooks-html/ (git-ignored) for instructors.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== notebooks: install Jupyter and evcxr_jupyter if missing"
notebooks/setup.sh --no-open
export PATH="$HOME/.cargo/bin:$PATH"
jupyter kernelspec list

echo "== notebooks: committed notebooks carry no outputs"
python3 notebooks/check.py --clean-only

# The display layer's unit tests (src/notebook.rs) and the figure tests (tests/learned_figures.rs)
# run with the rest of `cargo test --release` in .ci/run.

echo "== notebooks: execute every notebook headless with the Rust kernel"
# The first notebook builds the kit for evcxr once (several minutes, not counted in the
# budget: the warm-up below does it); :cache keeps the build for the rest.
python3 notebooks/check.py --warm-up --html target/notebooks-html
