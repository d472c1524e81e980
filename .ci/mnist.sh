#!/usr/bin/env bash
# Usage: .ci/mnist.sh [DIR]
# SimCLR with its defaults for grayscale digits (the `grayscale-digits` recipe that
# `--dataset mnist:` selects) on the real MNIST split (DIR, default ../shared/data/mnist-t10k-split:
# 8 000 train / 2 000 test digits). Fails unless the trained encoder beats the same encoder at
# random initialisation: linear probe >= 97% and >= 2 points above random init, kNN above it.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/mnist-t10k-split}
dir=$(mktemp -d)
cargo run --release --quiet -- train --method simclr --dataset "mnist:$data" --quiet --out "$dir"
python3 - "$dir/summary.json" "$dir/config.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = json.load(open(sys.argv[2]))
knn, lin = 100 * s["knn_top1"], 100 * s["linear_top1"]
knn0, lin0 = 100 * s["baseline_knn_top1"], 100 * s["baseline_linear_top1"]
print(f"simclr on MNIST (recipe {c['recipe']}: crop {c['crop_min_scale']}-1, colour {c['color_strength']}, "
      f"{c['epochs']} epochs): linear {lin:.1f}% (random init {lin0:.1f}%), kNN {knn:.1f}% "
      f"(random init {knn0:.1f}%), {s['wall_seconds']:.0f} s")
assert c["recipe"] == "grayscale-digits", c["recipe"]
assert lin >= 97.0, f"linear probe {lin:.1f}% < 97%"
assert lin >= lin0 + 2.0, f"linear probe only {lin - lin0:+.1f} points over random init (needs +2)"
assert knn > knn0, f"kNN {knn:.1f}% not above random init {knn0:.1f}%"
PY
