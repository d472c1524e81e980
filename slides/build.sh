#!/usr/bin/env bash
# Regenerates every slide figure from the library, then renders every deck (slides/*.md except
# README.md) with Marp CLI: HTML always, and PDF plus one PNG screenshot per slide when a
# Chromium/Chrome is available.
#
#   slides/build.sh                     figures + HTML (+ PDF and screenshots if a browser is found)
#   slides/build.sh --require-browser   fail if no browser is found (what CI uses)
#   slides/build.sh --skip-figures      render only, reusing slides/figures/
#   SLIDES_CHECKPOINT=runs/simclr/checkpoint.safetensors slides/build.sh
#                                       embed that SimCLR checkpoint instead of a fresh short run
#
# Outputs: slides/<deck>.html, slides/<deck>.pdf, slides/build/screenshots/<deck>.NNN.png.
# Fails (exit 1) if the figures command fails, if Marp fails, or if an image a deck references
# is missing; every problem is reported before exiting.
set -euo pipefail
cd "$(dirname "$0")"

require_browser=0
skip_figures=0
for arg in "$@"; do
  case "$arg" in
    --require-browser) require_browser=1 ;;
    --skip-figures) skip_figures=1 ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

failed=0
decks=()
for f in [0-9]*.md; do decks+=("$f"); done
if [ ${#decks[@]} -eq 0 ]; then echo "build.sh: no decks (slides/[0-9]*.md) found" >&2; exit 1; fi

if [ ! -x node_modules/.bin/marp ]; then
  echo "== installing Marp CLI (npm ci, pinned by package-lock.json)"
  npm ci --no-audit --no-fund
fi

if [ "$skip_figures" -eq 0 ]; then
  echo "== regenerating the figures (selfsup figures --out slides/figures)"
  args=(--out slides/figures --quiet)
  if [ -n "${SLIDES_CHECKPOINT:-}" ]; then args+=(--checkpoint "$SLIDES_CHECKPOINT"); fi
  if ! (cd .. && cargo run --release --quiet -- figures "${args[@]}"); then
    echo "build.sh: the figures command failed (see above); rendering anyway to report every problem" >&2
    failed=1
  fi
fi

browser="${CHROME_PATH:-}"
if [ -z "$browser" ]; then
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then browser="$(command -v "$b")"; break; fi
  done
fi
if [ -z "$browser" ] && [ "$require_browser" -eq 1 ]; then
  echo "build.sh: no Chromium/Chrome found (set CHROME_PATH or install the chromium package)" >&2
  exit 1
fi

# marp DECK OUTPUT [options]: renders and checks that OUTPUT (or, for --images, its first page)
# was written, since Marp exits 0 when it converts nothing. The deck comes first: --theme-set
# takes every argument after it.
marp() {
  local deck="$1" out="$2" expect="$2"
  shift 2
  rm -f "$out"
  case " $* " in *" --images "*) expect="${out%.png}.001.png" ;; esac
  if ! node_modules/.bin/marp "$deck" -o "$out" --no-config-file --theme-set theme/selfsup.css "$@" || [ ! -s "$expect" ]; then
    echo "build.sh: Marp did not render $deck to $expect" >&2
    failed=1
  fi
}
mkdir -p build/screenshots
rm -f build/screenshots/*.png
for deck in "${decks[@]}"; do
  name="${deck%.md}"
  echo "== rendering $deck"
  marp "$deck" "$name.html"
  if [ -n "$browser" ]; then
    export CHROME_PATH="$browser"
    marp "$deck" "$name.pdf" --allow-local-files --pdf
    marp "$deck" "build/screenshots/$name.png" --allow-local-files --images png
  fi
done
[ -n "$browser" ] || echo "build.sh: no Chromium/Chrome found, so no PDF or screenshots (HTML only)"

echo "== checking that every image the decks reference exists"
missing=0
while IFS=: read -r deck ref; do
  if [ ! -f "$ref" ]; then
    echo "build.sh: $deck references $ref, which does not exist" >&2
    missing=1
  fi
done < <(grep -oE '\]\([^)#]+\.(png|jpg|jpeg|svg|gif)\)' "${decks[@]}" | sed -E 's/\]\(([^)]*)\)$/\1/; s/:\]\(/:/')
if [ "$missing" -eq 1 ]; then failed=1; else echo "all referenced images exist"; fi

if [ "$failed" -ne 0 ]; then
  echo "build.sh: FAILED (see the messages above)" >&2
  exit 1
fi
echo "== done: $(printf '%s ' "${decks[@]/%.md/.html}")"
