#!/usr/bin/env bash
# SimCLR with the defaults for grayscale digits (the `digits` recipe) on real MNIST digits:
# the 8 000 / 2 000 split of MNIST's test set in ../shared/data/mnist-t10k-split. Fails unless
# the linear probe reaches 97% and beats the random-init encoder by 2 points, and kNN beats
# random init. The run goes to a temporary folder, or to $OUT when set.
set -euo pipefail
cd "$(dirname "$0")/.."
data=""
for candidate in "${SELFSUP_MNIST:-}" ../shared/data/mnist-t10k-split /work/shared/data/mnist-t10k-split; do
  if [ -n "$candidate" ] && [ -f "$candidate/train-images-idx3-ubyte.gz" ]; then data=$candidate; break; fi
done
if [ -z "$data" ]; then
  echo "error: the MNIST split is missing (looked in \$SELFSUP_MNIST, ../shared/data/mnist-t10k-split, /work/shared/data/mnist-t10k-split)" >&2
  exit 1
fi
dir=${OUT:-$(mktemp -d)}
cargo run --release --quiet -- train --method simclr --dataset "mnist:$data" --quiet --out "$dir"
python3 - "$dir/summary.json" "$dir/config.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
recipe = json.load(open(sys.argv[2])).get("recipe", {})
lin, lin0, knn, knn0 = (100 * s[k] for k in ("linear_top1", "baseline_linear_top1", "knn_top1", "baseline_knn_top1"))
print(f"simclr on MNIST (recipe {recipe.get('name')}: {recipe.get('set')}): linear {lin:.1f}% vs random init {lin0:.1f}%, "
      f"kNN {knn:.1f}% vs {knn0:.1f}% ({s['wall_seconds']:.0f} s)")
assert recipe.get("name") == "digits", f"the run did not use the digits recipe: {recipe}"
assert lin >= 97.0, f"linear probe {lin:.1f}% < 97%"
assert lin >= lin0 + 2.0, f"linear probe {lin:.1f}% is not 2 points above random init ({lin0:.1f}%)"
assert knn > knn0, f"kNN {knn:.1f}% does not beat random init ({knn0:.1f}%)"
PY
