#!/usr/bin/env bash
# One-command setup of the notebooks on a student's machine (Linux, macOS, or Windows inside
# WSL; Rust installed): creates a Python virtual environment for Jupyter (no system-wide pip,
# which Debian 12+, Ubuntu 23.04+ and Homebrew refuse), installs the Rust kernel
# (evcxr_jupyter) when it is missing, registers it with Jupyter, then opens notebooks/.
# The first `cargo install` compiles for about 8 minutes on 2 cores; the first notebook then
# builds the kit once (a few minutes), later runs reuse the cache.
#
#   notebooks/setup.sh             # install what is missing, then start Jupyter
#   notebooks/setup.sh --no-open   # install only (what CI uses)
#
# The environment goes to notebooks/.venv (set SELFSUP_VENV to an absolute path to put it
# elsewhere; .ci/notebooks.sh reads the same variable and puts its bin/ first on PATH). Later,
# start Jupyter with `notebooks/.venv/bin/jupyter notebook notebooks/`, or run this script again.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null; then
    echo "setup.sh: cargo not found; install Rust first: https://rustup.rs" >&2
    exit 1
fi
# The Rust the kit is tested with: `rust-version` in the root Cargo.toml (cargo refuses to
# build the kit with an older one). Older Rust: a warning now rather than an error later.
tested=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' ../Cargo.toml | head -n 1)
have=$(rustc --version 2>/dev/null | awk '{print $2}')
older() { # is version $1 older than $2? (major.minor.patch, missing parts are 0)
    local IFS=. a b i
    read -r -a a <<< "${1%%-*}"
    read -r -a b <<< "$2"
    for i in 0 1 2; do
        (( 10#${a[i]:-0} < 10#${b[i]:-0} )) && return 0
        (( 10#${a[i]:-0} > 10#${b[i]:-0} )) && return 1
    done
    return 1
}
if [[ -n "$tested" ]] && { [[ -z "$have" ]] || older "$have" "$tested"; }; then
    echo "setup.sh: WARNING: rustc ${have:-(not found)} is older than Rust $tested, the version the kit and its" >&2
    echo "          notebooks are tested with; cargo will refuse to build the kit. Update: rustup update stable" >&2
fi
PY=${PYTHON:-python3}
VENV=${SELFSUP_VENV:-$(pwd)/.venv}
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "== creating the Python virtual environment $VENV"
    if ! "$PY" -m venv "$VENV"; then
        echo "setup.sh: '$PY -m venv' failed; install Python's venv module (Debian/Ubuntu: sudo apt install python3-venv)" >&2
        exit 1
    fi
    # Never committed, whichever Python made it.
    echo '*' > "$VENV/.gitignore"
fi
if ! "$VENV/bin/python" -c 'import jupyter_core, nbclient, nbconvert, notebook' 2>/dev/null; then
    echo "== installing Jupyter into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet jupyter nbclient nbconvert
fi
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
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
if ! jupyter kernelspec list 2>/dev/null | grep -q '^ *rust '; then
    echo "setup.sh: the Rust kernel is still not registered ('jupyter kernelspec list' does not show 'rust')" >&2
    exit 1
fi
# Cells build twice as fast without evcxr's debug assertions and overflow checks (measured:
# KERNEL_ENV in check.py); the kernel's spec carries the switch.
"$VENV/bin/python" "$(pwd)/check.py" --kernel-env
# The notebooks' `:dep` lines need the Rust sources (rust-analyzer's view of std in evcxr).
rustup component add rust-src >/dev/null 2>&1 || true

if [[ "${1:-}" != "--no-open" ]]; then
    echo "== opening $(pwd) in Jupyter (Kernel > Restart & Run All runs a notebook top to bottom)"
    exec jupyter notebook .
fi
echo "== ready: Jupyter is in $VENV/bin (add it to PATH, or run $VENV/bin/jupyter)"
