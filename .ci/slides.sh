#!/usr/bin/env bash
# CI for the slides: installs what rendering needs on a fresh Debian machine (Node deps pinned
# by slides/package-lock.json; Chromium and the DejaVu fonts from apt if missing), regenerates
# every figure from the library, renders every deck to HTML and PDF, fails if rendering fails or
# a deck references a missing image, and checks the headless-Chromium screenshot of every slide
# (tests/slides.rs). Needs the experiments the decks show (figures::REQUIRED_EXPERIMENTS):
# results/experiments/moco-momentum.json, augmentations.json, barlow-lambda.json,
# kd-temperature.json, byol-collapse.json, deepcluster-collapse.json, swav-equipartition.json,
# multi-crop.json, dino-collapse.json, dino-backbone.json and dino-backbone-attention.png.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
start=$(date +%s)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== Node $(node --version), npm $(npm --version)"
echo "== Chromium and fonts"
browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$b" >/dev/null 2>&1; then browser="$(command -v "$b")"; break; fi
done
if [ -z "$browser" ] || ! fc-list 2>/dev/null | grep -qi "DejaVu Sans"; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fontconfig
  browser="$(command -v chromium)"
fi
"$browser" --version
export CHROME_PATH="$browser"

echo "== Marp CLI (npm ci)"
(cd slides && npm ci --no-audit --no-fund)

echo "== figures and rendering (slides/build.sh)"
slides/build.sh --require-browser

echo "== screenshots of every slide look like slides"
cargo test --release --test slides -- --ignored

echo "== slides CI passed in $(( $(date +%s) - start )) s"
