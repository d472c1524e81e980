#!/usr/bin/env bash
# CI for the ViT encoder and its fast CPU ops (branch `vit`). Needs only the Rust toolchain and
# python3 (no PyTorch: bench/torch_reference.py is only byte-compiled here).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# The ViT ops' tests (tests/ops_vit.rs) and the vectorised math's (nn::ops::vmath) run with the
# rest of `cargo test --release` in .ci/run; this script adds the bench command.

echo "== selfsup bench --model vit runs a full SimCLR + AdamW step and writes its JSON"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo run --release --quiet --bin selfsup -- bench --model vit --steps 1 --batch-size 8 --out "$tmp/vit.json" >/dev/null
python3 - "$tmp/vit.json" <<'PY'
import json, sys
(r,) = json.load(open(sys.argv[1]))
assert r["model"] == "simclr/vit-p4-d128-l4-h4" and r["batch"] == 8 and r["optimizer"] == "adamw", r
for key in ("ms_per_step_median", "images_per_s", "gflops_per_s", "peak_rss_mib"):
    assert r[key] > 0, (key, r[key])
assert r["peak_gflops_per_s"] >= 0 and 0 <= r["fraction_of_peak"] < 1, r
print(f"ok: {r['ms_per_step_median']:.0f} ms/step at batch 8, {r['peak_rss_mib']:.0f} MiB")
PY

echo "== the PyTorch comparison scripts parse (PyTorch itself is optional)"
python3 -m py_compile bench/torch_reference.py
bash -n bench/compare.sh
echo "vit CI: all passed"
