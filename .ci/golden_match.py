"""Checks that every number a NumPy golden script prints (to 9 decimals) is pasted in the Rust
test that uses it, to within one unit of the last printed digit: NumPy versions may round the
ninth decimal differently (0.0030973495 prints as ...349 or ...350).

Usage: python3 tests/golden/X.py | python3 .ci/golden_match.py tests/X.rs [SKIP_PREFIX ...]
Lines of the script's output starting with a SKIP_PREFIX are not checked; printed zeros neither.
"""
import re
import sys

rust_path = sys.argv[1]
skip = tuple(sys.argv[2:])
with open(rust_path, encoding="utf-8") as f:
    literals = [float(x) for x in re.findall(r"-?\d+\.\d+(?:[eE]-?\d+)?", f.read())]

checked, missing = 0, []
for line in sys.stdin:
    if skip and line.startswith(skip):
        continue
    for text in re.findall(r"-?\d+\.\d{9}", line):
        value = float(text)
        if value == 0.0:
            continue
        checked += 1
        if not any(abs(value - lit) <= 1.5e-9 for lit in literals):
            missing.append(text)

if missing:
    print(f"{rust_path} lacks {len(missing)} golden value(s) printed by the NumPy script: {', '.join(missing)}", file=sys.stderr)
    sys.exit(1)
if checked == 0:
    print(f"no golden values to check against {rust_path}: did the script print anything?", file=sys.stderr)
    sys.exit(1)
print(f"{rust_path}: all {checked} golden values match (to 1e-9)")
