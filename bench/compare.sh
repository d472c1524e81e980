#!/usr/bin/env bash
# Ours vs PyTorch: times the same SimCLR training step with `selfsup bench` and
# bench/torch_reference.py back to back on this machine (same batch, same threads, each model in
# its own process), prints a table and writes bench/results.json (both reports + machine).
#
#   bench/compare.sh                       # batch 256, 5 steps, 1 thread
#   BATCH=128 STEPS=10 THREADS=2 bench/compare.sh
#   TORCH_PYTHON=/path/to/venv/bin/python bench/compare.sh
#
# PyTorch is optional (not part of CI): TORCH_PYTHON defaults to /work/scratch/torchenv/bin/python
# when it exists, else python3; the script stops with torch_reference.py's message if torch is
# missing. Run it on an otherwise idle machine: check `uptime` first.
set -euo pipefail

cd "$(dirname "$0")/.."
BATCH="${BATCH:-256}"
STEPS="${STEPS:-5}"
THREADS="${THREADS:-1}"
OUT="${OUT:-bench/results.json}"
if [[ -z "${TORCH_PYTHON:-}" ]]; then
    if [[ -x /work/scratch/torchenv/bin/python ]]; then TORCH_PYTHON=/work/scratch/torchenv/bin/python; else TORCH_PYTHON=python3; fi
fi

"$TORCH_PYTHON" -c 'import torch' 2>/dev/null || exec "$TORCH_PYTHON" bench/torch_reference.py --model tiny-convnet --steps 1
cargo build --release --quiet --bin selfsup
SELFSUP=target/release/selfsup

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
start_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Interleaved per model (ours, then torch) so that drift in machine load hits both alike.
for model in tiny-convnet convnet; do
    echo "== $model: selfsup (SELFSUP_THREADS=$THREADS) ==" >&2
    SELFSUP_THREADS="$THREADS" "$SELFSUP" bench --model "$model" --steps "$STEPS" --batch-size "$BATCH" \
        --out "$tmp/ours-$model.json" >/dev/null
    echo "== $model: torch (--threads $THREADS) ==" >&2
    "$TORCH_PYTHON" bench/torch_reference.py --model "$model" --threads "$THREADS" --steps "$STEPS" \
        --batch-size "$BATCH" --out "$tmp/torch-$model.json" >/dev/null
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

CPU_MODEL="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)" \
NPROC="$(nproc)" DATE="$start_date" LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" \
BATCH="$BATCH" STEPS="$STEPS" THREADS="$THREADS" TMP="$tmp" OUT="$OUT" \
python3 - <<'EOF'
import json, os
tmp = os.environ["TMP"]
rows = []
for model in ("tiny-convnet", "convnet"):
    ours = json.load(open(f"{tmp}/ours-{model}.json"))[0]
    torch = json.load(open(f"{tmp}/torch-{model}.json"))[0]
    rows.append({
        "model": ours["model"],
        "ours": ours,
        "torch": torch,
        "ratio_ms_ours_over_torch": ours["ms_per_step_median"] / torch["ms_per_step_median"],
    })
result = {
    "machine": {
        "cpu_model": os.environ["CPU_MODEL"],
        "nproc": int(os.environ["NPROC"]),
        "date": os.environ["DATE"],
        "loadavg_before": os.environ["LOAD_BEFORE"],
        "loadavg_after": os.environ["LOAD_AFTER"],
    },
    "batch": int(os.environ["BATCH"]),
    "steps": int(os.environ["STEPS"]),
    "threads": int(os.environ["THREADS"]),
    "torch_version": rows[0]["torch"].get("torch_version"),
    "models": rows,
}
with open(os.environ["OUT"], "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")

m = result["machine"]
print(f"{m['cpu_model']}, nproc {m['nproc']}, {m['date']}, load {m['loadavg_before']} -> {m['loadavg_after']}")
print(f"batch {result['batch']} per view (x2 views), {result['steps']} steps, {result['threads']} thread(s), torch {result['torch_version']}")
hdr = ("model", "ours ms/step", "torch ms/step", "ratio ours/torch", "ours GFLOP/s", "torch GFLOP/s", "ours peak MiB", "torch peak MiB")
lines = [hdr]
for r in rows:
    o, t = r["ours"], r["torch"]
    lines.append((
        r["model"],
        f"{o['ms_per_step_median']:.1f}", f"{t['ms_per_step_median']:.1f}", f"{r['ratio_ms_ours_over_torch']:.2f}",
        f"{o['conv_gflops_per_s']:.2f}", f"{t['conv_gflops_per_s']:.2f}",
        f"{o['peak_rss_mib']:.0f}", f"{t['peak_rss_mib']:.0f}",
    ))
widths = [max(len(l[i]) for l in lines) for i in range(len(hdr))]
for k, l in enumerate(lines):
    print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(l, widths))))
    if k == 0:
        print("-+-".join("-" * w for w in widths))
print(f"wrote {os.environ['OUT']}")
EOF
