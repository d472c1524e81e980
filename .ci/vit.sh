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

echo "== selfsup bench --epoch --profile times an end-to-end epoch (views + steps) and profiles it op by op"
cargo run --release --quiet --bin selfsup -- bench --model tiny-convnet --epoch --profile --batch-size 500 --out "$tmp/epoch.json" >/dev/null
python3 - "$tmp/epoch.json" <<'PY'
import json, sys
(r,) = json.load(open(sys.argv[1]))
assert r["mode"] == "epoch" and r["images"] == 10000 and r["steps"] == 20, r
assert 0 < r["views_ms_median"] < r["ms_per_step_median"] * 20 and r["epoch_seconds"] > 0, r
ops = {o["op"]: o for o in r["profile"]}
for op in ("conv2d forward", "conv2d backward", "batchnorm2d backward", "max_pool2d forward", "gemm",
           "other forward (dfdx ops)", "other backward (dfdx ops)", "optimizer (dfdx)"):
    assert op in ops and ops[op]["ms_per_step"] >= 0, (op, r["profile"])
assert ops["conv2d forward"]["calls_per_step"] == 4, ops["conv2d forward"]
# the rows other than gemm (which runs inside the kernels) add up to about one step
total = sum(o["ms_per_step"] for o in r["profile"] if o["op"] != "gemm")
assert 0.5 * r["ms_per_step_min"] < total < 2 * r["ms_per_step_median"], (total, r["ms_per_step_median"])
assert 0 < r["gemm_fraction_of_peak"] < 1.5, r
print(f"ok: epoch of {r['steps']} steps in {r['epoch_seconds']:.1f} s, views {r['views_ms_median']:.0f} ms/batch, "
      f"gemm at {100 * r['gemm_fraction_of_peak']:.0f}% of a core's peak")
PY

echo "== the PyTorch comparison scripts parse (PyTorch itself is optional)"
python3 -m py_compile bench/torch_reference.py
bash -n bench/compare.sh
echo "vit CI: all passed"
