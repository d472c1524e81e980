#!/usr/bin/env bash
# Builds the CUDA binaries on a machine with no GPU and no CUDA install, for a GPU machine that
# has CUDA 13.0 (driver ≥ 580) but no Rust: `bash bench/cuda/build.sh`, then copy
# target/cuda/bundle to the GPU machine and run its check.sh there.
#
# - nvcc, its headers and CCCL come from NVIDIA's CUDA 13.0 wheels on PyPI (dfdx's build script
#   compiles its kernels to PTX with nvcc);
# - the CUDA libraries are linked against stubs with the real libraries' sonames
#   (libcuda.so.1, libcublas.so.13, libcublasLt.so.13, libnvrtc.so.13): the binaries load the
#   GPU machine's own;
# - CUDA_COMPUTE_CAP (default 90, the H100/H200) replaces nvidia-smi's answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
kit=$repo/target/cuda-toolkit
cap=${CUDA_COMPUTE_CAP:-90}

if [ ! -x "$kit/root/bin/nvcc" ]; then
  echo "== NVIDIA's CUDA 13.0 compiler wheels from PyPI into $kit"
  rm -rf "$kit" && mkdir -p "$kit/wheels" "$kit/unpacked"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$kit/wheels" \
    "nvidia-cuda-nvcc==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cuda-crt==13.0.*" \
    "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-cccl==13.0.*"
  for w in "$kit"/wheels/*.whl; do (cd "$kit/unpacked" && python3 -m zipfile -e "$w" .); done
  cp -r "$kit/unpacked/nvidia/cu13" "$kit/root"
  chmod +x "$kit"/root/bin/* "$kit"/root/nvvm/bin/*
  # nvcc.profile adds include/cccl with -isystem; NVRTC (used by dfdx at run time) does not.
  cp -rn "$kit"/root/include/cccl/* "$kit/root/include/"
fi

echo "== stub libraries with the sonames of CUDA 13.0's"
cudarc=$(cargo metadata --format-version 1 | python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"]=="cudarc").rsplit("/",1)[0])')
mkdir -p "$kit/root/lib64" "$kit/stubs" "$kit/fakebin"
stub() { # cudarc module, soname, file
  grep -oE "pub fn [A-Za-z0-9_]+\(" "$cudarc/src/$1/sys.rs" | sed -E 's/pub fn ([A-Za-z0-9_]+)\(/int \1(void){return 999;}/' | sort -u > "$kit/stubs/$3.c"
  gcc -shared -fPIC -Wl,-soname,$2 -o "$kit/root/lib64/$3.so" "$kit/stubs/$3.c"
}
stub driver libcuda.so.1 libcuda
stub nvrtc libnvrtc.so.13 libnvrtc
stub cublas libcublas.so.13 libcublas
stub cublaslt libcublasLt.so.13 libcublasLt
# dfdx's build script asks nvidia-smi for the GPU's compute capability; CUDA_COMPUTE_CAP then overrides it.
printf '#!/bin/sh\necho compute_cap\necho 9.0\n' > "$kit/fakebin/nvidia-smi"
chmod +x "$kit/fakebin/nvidia-smi"

echo "== cargo build --release --features cuda (sm_$cap)"
export CUDA_ROOT=$kit/root CUDA_COMPUTE_CAP=$cap PATH=$kit/root/bin:$kit/fakebin:$PATH
# Lazy binding: a CUDA function the GPU machine's libraries lack fails when called, not at start.
export RUSTFLAGS="-C link-arg=-Wl,-z,lazy"
cargo build --release --features cuda --target-dir target/cuda --bin selfsup
test_bin=$(cargo test --release --features cuda --target-dir target/cuda --no-run --test cuda --message-format json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="cuda" and m.get("executable"): print(m["executable"])')

echo "== bundle: target/cuda/bundle"
# dfdx's build script output: the folder of its .cuh files and the CUDA include folder it baked in.
dfdx_output=$(ls -td target/cuda/release/build/dfdx-*/output | head -1)
out_dir=$(dirname "$dfdx_output")/out
include_dir=$(sed -n 's/^cargo:rustc-env=CUDA_INCLUDE_DIR=//p' "$dfdx_output")
bundle=target/cuda/bundle
rm -rf $bundle && mkdir -p $bundle/cuh
cp target/cuda/release/selfsup $bundle/selfsup-cuda
cp "$test_bin" $bundle/cuda-test
strip $bundle/selfsup-cuda $bundle/cuda-test
cp "$out_dir"/*.cuh $bundle/cuh/
cp bench/cuda/check.sh $bundle/
# dfdx compiles some kernels at run time with NVRTC, with these two folders baked in.
printf 'DFDX_OUT_DIR=%s\nCUDA_INCLUDE_DIR=%s\n' "$repo/$out_dir" "$include_dir" > $bundle/paths.env
du -sh $bundle
