#!/usr/bin/env bash
# Ours vs PyTorch: times the same SimCLR training step with `selfsup bench` and
# bench/torch_reference.py back to back on this machine (same batch, same threads, each model in
# its own process), prints a Markdown table and writes bench/results.json (all reports + machine).
#
#   bench/compare.sh                              # tiny-convnet, convnet, vit at 1 and 2 threads
#   THREADS=1 MODELS="convnet vit" STEPS=10 bench/compare.sh
#   BATCH=64 bench/compare.sh                     # one batch for every model (default: 256 for
#                                                 # the convnets, 128 for the ViT)
#   TORCH_PYTHON=/path/to/venv/bin/python bench/compare.sh
#
# PyTorch is optional (not part of CI): TORCH_PYTHON defaults to /work/scratch/torchenv/bin/python
# when it exists, else python3; the script stops with torch_reference.py's message if torch is
# missing. Run it on an otherwise idle machine: the load average is recorded before and after.
set -euo pipefail

cd "$(dirname "$0")/.."
STEPS="${STEPS:-5}"
THREADS="${THREADS:-1 2}"
MODELS="${MODELS:-tiny-convnet convnet vit}"
BATCH="${BATCH:-}"
OUT="${OUT:-bench/results.json}"
if [[ -z "${TORCH_PYTHON:-}" ]]; then
    if [[ -x /work/scratch/torchenv/bin/python ]]; then TORCH_PYTHON=/work/scratch/torchenv/bin/python; else TORCH_PYTHON=python3; fi
fi

"$TORCH_PYTHON" -c 'import torch' 2>/dev/null || exec "$TORCH_PYTHON" bench/torch_reference.py --model tiny-convnet --steps 1
cargo build --release --quiet --bin selfsup
SELFSUP=target/release/selfsup
batch_flag=()
[[ -n "$BATCH" ]] && batch_flag=(--batch-size "$BATCH")

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
start_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Interleaved per model (ours, then torch) so that drift in machine load hits both alike.
for threads in $THREADS; do
    for model in $MODELS; do
        echo "== $model, $threads thread(s): selfsup, then torch ==" >&2
        SELFSUP_THREADS="$threads" "$SELFSUP" bench --model "$model" --steps "$STEPS" "${batch_flag[@]}" \
            --out "$tmp/ours-$model-$threads.json" >/dev/null
        "$TORCH_PYTHON" bench/torch_reference.py --model "$model" --threads "$threads" --steps "$STEPS" \
            "${batch_flag[@]}" --out "$tmp/torch-$model-$threads.json" >/dev/null 2>&1
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

CPU_MODEL="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)" \
NPROC="$(nproc)" DATE="$start_date" LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" \
STEPS="$STEPS" THREADS="$THREADS" MODELS="$MODELS" TMP="$tmp" OUT="$OUT" \
python3 - <<'PY'
import json, os
tmp = os.environ["TMP"]
rows = []
for threads in os.environ["THREADS"].split():
    for model in os.environ["MODELS"].split():
        ours = json.load(open(f"{tmp}/ours-{model}-{threads}.json"))[0]
        torch = json.load(open(f"{tmp}/torch-{model}-{threads}.json"))[0]
        rows.append({
            "model": ours["model"],
            "threads": int(threads),
            "ours": ours,
            "torch": torch,
            "ratio_ms_ours_over_torch": ours["ms_per_step_median"] / torch["ms_per_step_median"],
            "ratio_peak_rss_ours_over_torch": ours["peak_rss_mib"] / torch["peak_rss_mib"],
        })
result = {
    "machine": {
        "cpu_model": os.environ["CPU_MODEL"],
        "nproc": int(os.environ["NPROC"]),
        "date": os.environ["DATE"],
        "loadavg_before": os.environ["LOAD_BEFORE"],
        "loadavg_after": os.environ["LOAD_AFTER"],
    },
    "steps": int(os.environ["STEPS"]),
    "torch_version": rows[0]["torch"].get("torch_version"),
    "rows": rows,
}
with open(os.environ["OUT"], "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")

m = result["machine"]
print(f"{m['cpu_model']}, nproc {m['nproc']}, {m['date']}, load average {m['loadavg_before']} -> {m['loadavg_after']}, "
      f"torch {result['torch_version']}, median of {result['steps']} steps")
print()
print("| model | batch (x2 views) | threads | ours ms/step | PyTorch ms/step | ratio | ours GFLOP/s (% of peak) "
      "| PyTorch GFLOP/s (% of peak) | ours peak MiB | PyTorch peak MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    o, t = r["ours"], r["torch"]
    print(f"| {r['model']} | {o['batch']} | {r['threads']} | {o['ms_per_step_median']:.0f} | {t['ms_per_step_median']:.0f} "
          f"| {r['ratio_ms_ours_over_torch']:.2f} | {o['gflops_per_s']:.1f} ({100 * o['fraction_of_peak']:.0f}%) "
          f"| {t['gflops_per_s']:.1f} ({100 * t['fraction_of_peak']:.0f}%) | {o['peak_rss_mib']:.0f} | {t['peak_rss_mib']:.0f} |")
print()
print(f"peak = threads x 2 FMA units x f32 lanes x 2 x clock = {rows[0]['ours']['peak_gflops_per_s'] / rows[0]['threads']:.0f} "
      "GFLOP/s per thread here (src/bench.rs); GFLOP/s count the encoder's matrix work only; "
      "PyTorch's peak RSS includes the interpreter and libtorch")
print(f"wrote {os.environ['OUT']}")
PY
