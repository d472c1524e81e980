#!/usr/bin/env bash
# One-command setup of the notebooks on a student's machine (Linux or macOS, Rust installed):
# installs Jupyter and the Rust kernel (evcxr_jupyter) when they are missing, then opens
# notebooks/ in Jupyter. The first `cargo install` compiles for about 8 minutes on 2 cores;
# the first notebook then builds the kit once (a few minutes), later runs reuse the cache.
#
#   notebooks/setup.sh             # install what is missing, then start Jupyter
#   notebooks/setup.sh --no-open   # install only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null; then
    echo "setup.sh: cargo not found; install Rust first: https://rustup.rs" >&2
    exit 1
fi
PY=${PYTHON:-python3}
if ! "$PY" -c 'import jupyter_core, nbclient, nbconvert, notebook' 2>/dev/null; then
    echo "== installing Jupyter (pip)"
    "$PY" -m pip install --quiet jupyter nbclient nbconvert
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v evcxr_jupyter >/dev/null; then
    # Pinned to the version the notebooks are tested with (CI, 2026-11-29), so a newer release
    # cannot change the kernel under a course in progress.
    echo "== installing the Rust kernel: cargo install evcxr_jupyter 0.22.0 --locked (about 8 minutes on 2 cores)"
    cargo install evcxr_jupyter --version 0.22.0 --locked
fi
if ! jupyter kernelspec list 2>/dev/null | grep -q '^ *rust '; then
    echo "== registering the Rust kernel with Jupyter"
    evcxr_jupyter --install
fi
# The notebooks' `:dep` lines need the Rust sources (rust-analyzer's view of std in evcxr).
rustup component add rust-src >/dev/null 2>&1 || true

if [[ "${1:-}" != "--no-open" ]]; then
    echo "== opening $(pwd) in Jupyter (Kernel > Restart & Run All runs a notebook top to bottom)"
    exec jupyter notebook .
fi
