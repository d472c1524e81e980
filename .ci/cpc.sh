#!/usr/bin/env bash
# CI for CPC on images (src/methods/cpc.rs, src/augment/patches.rs, tests/cpc.rs).
# Needs the Rust toolchain and Python 3 with pip (installs NumPy for the golden script).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== the NumPy reference runs, and every number it prints is the one pasted in tests/cpc.rs"
python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
golden="$(python3 tests/golden/cpc.py)"
echo "$golden"
echo "$golden" | python3 .ci/golden_match.py tests/cpc.rs smallest

# tests/cpc.rs itself runs with the rest of `cargo test --release` in .ci/run.
echo "== selfsup train --method cpc (default settings): kNN must beat random init by 20 points"
.ci/method-margin.sh cpc 20

echo "== the command line: --method cpc is listed, and cpc with the vit encoder is refused"
cargo run --release --quiet -- help | grep -q "cpc"
if cargo run --release --quiet -- train --method cpc --encoder vit --epochs 1 --out "$(mktemp -d)" 2>/dev/null; then
    echo "cpc with --encoder vit should be refused" >&2; exit 1
fi
