#!/usr/bin/env bash
# The CUDA checks, on a GPU machine with CUDA 13.0 and no Rust, from the bundle that
# bench/cuda/build.sh makes: `[SEEDS="0 1 2"] [OP_TESTS=0] bash check.sh OUT_DIR`. Writes cuda-test.log and, per seed,
# gpu-run-SEED.log, gpu-utilisation-SEED.csv and gpu-run-SEED.tgz (the run directory) to OUT_DIR; compare its metrics.jsonl with a CPU run of the
# same command using bench/cuda/compare_losses.py.
set -uo pipefail
bundle=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: check.sh OUT_DIR}
mkdir -p "$out"
[ -f "$bundle/paths.env" ] || { echo "check.sh: $bundle/paths.env is missing: make the bundle with bench/cuda/build.sh" >&2; exit 2; }
. "$bundle/paths.env"

echo "== machine"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv
echo "$(nproc) CPU cores"

echo "== the CUDA libraries under the sonames the binaries were linked with"
lib=/tmp/selfsup-cudalib; mkdir -p $lib
for n in libcuda.so.1 libnvrtc.so.13 libcublas.so.13 libcublasLt.so.13; do
  p=$(ldconfig -p | awk -v n=$n '$1==n {print $NF; exit}')
  [ -z "$p" ] && p=$(find /usr/local /opt /usr/lib /usr/lib64 -name "$n" 2>/dev/null | head -1)
  [ -n "$p" ] || { echo "check.sh: $n not found on this machine (looked in ldconfig's cache, /usr/local, /opt, /usr/lib): is CUDA 13 installed?" >&2; exit 2; }
  echo "$n -> $p"; ln -sf "$p" $lib/$n
done
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# dfdx compiles some kernels at run time with NVRTC, with the build machine's include folders
# baked in: recreate them (dfdx's .cuh files; this machine's CUDA headers with CCCL's).
mkdir -p "$DFDX_OUT_DIR" "$CUDA_INCLUDE_DIR"
cp "$bundle"/cuh/*.cuh "$DFDX_OUT_DIR/"
for d in /usr/local/cuda/include /usr/local/cuda/include/cccl; do
  [ -d $d ] && for e in $d/*; do [ -e "$CUDA_INCLUDE_DIR/$(basename $e)" ] || ln -s $e "$CUDA_INCLUDE_DIR/"; done
done

if [ "${OP_TESTS:-1}" = 1 ]; then
  echo "== op tests: each layer on the GPU against the CPU kernels"
  timeout 120 "$bundle/cuda-test" --nocapture --test-threads 1 2>&1 | tee "$out/cuda-test.log" | tail -40
fi

# One SimCLR run per seed of SEEDS (default 0); each writes gpu-run-SEED.log, gpu-utilisation-SEED.csv and
# gpu-run-SEED.tgz (its run directory, for compare_losses.py and its summary.json's kNN accuracy).
for seed in ${SEEDS:-0}; do
  echo "== SimCLR on the GPU: 5 passes over the 10 000 built-in images (50 000 images), batch 256, seed $seed"
  # GPU utilisation every half second during the run, to tell a busy GPU from one waiting on the host.
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader -lms 500 > "$out/gpu-utilisation-$seed.csv" 2>&1 &
  smi=$!
  t0=$SECONDS
  timeout 240 "$bundle/selfsup-cuda" train --method simclr --epochs 5 --batch-size 256 --seed $seed --out /tmp/gpu-run-$seed 2>&1 | tail -60 > "$out/gpu-run-$seed.log"
  tail -14 "$out/gpu-run-$seed.log"; echo "wall $((SECONDS - t0)) s"
  kill $smi 2>/dev/null
  sort -n "$out/gpu-utilisation-$seed.csv" | awk -F, '{u[NR]=$1} END {print "GPU utilisation (%), " NR " samples: median " u[int((NR+1)/2)] ", 90th percentile " u[int(NR*0.9)]}'
  tar czf "$out/gpu-run-$seed.tgz" -C /tmp gpu-run-$seed
done
