#!/usr/bin/env bash
# CI for Deep InfoMax (src/methods/dim.rs). Needs the Rust toolchain, and Python 3 + NumPy
# to re-derive the golden values of tests/dim.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== NumPy reference: tests/golden/dim.py must print the values pasted into tests/dim.rs"
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
out=$(python3 tests/golden/dim.py)
echo "$out"
echo "$out" | python3 .ci/golden_match.py tests/dim.rs

# tests/dim.rs itself (loss vs NumPy, tiny-tau stability, finite differences, learning run)
# runs with the rest of `cargo test --release` in .ci/run.

echo "== selfsup train --method dim (default settings): kNN must beat random init by 20 points"
.ci/method-margin.sh dim 20
