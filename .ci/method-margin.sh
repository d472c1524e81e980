#!/usr/bin/env bash
# Usage: .ci/method-margin.sh METHOD [POINTS]
# Trains METHOD with its default settings on the built-in dataset and fails unless its kNN
# top-1 beats the same encoder at random initialisation by POINTS (default 20) points.
# The run goes to a temporary folder, or to $OUT when set (e.g. runs/simclr, the main job's).
set -euo pipefail
cd "$(dirname "$0")/.."
method=$1
points=${2:-20}
dir=${OUT:-$(mktemp -d)}
cargo run --release --quiet -- train --method "$method" --quiet --out "$dir"
python3 - "$dir/summary.json" "$method" "$points" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
method, points = sys.argv[2], float(sys.argv[3])
gain = 100 * (s["knn_top1"] - s["baseline_knn_top1"])
print(f"{method}: kNN {100 * s['knn_top1']:.1f}% vs random init {100 * s['baseline_knn_top1']:.1f}% "
      f"(+{gain:.1f} points, {s['wall_seconds']:.0f} s)")
assert gain >= points, f"{method} beats random init by only {gain:.1f} points (needs {points})"
PY
