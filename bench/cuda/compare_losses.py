"""Step-by-step loss agreement of two runs of the same command (the GPU's and the CPU's).

    python3 bench/cuda/compare_losses.py RUN_A RUN_B [RUN_C ...]

Reads each run directory's metrics.jsonl and prints, for the first run against each other
one, the relative loss difference |a - b| / |b| at a few steps and its maximum over the first
1, 10, 20 and 50 steps, then the runs' kNN accuracies and training seconds.
"""
import json
import sys
from pathlib import Path


def losses(run):
    path = Path(run) / "metrics.jsonl"
    if not path.is_file():
        sys.exit(f"compare_losses.py: {path} does not exist (give run directories of `selfsup train`)")
    return [json.loads(line)["loss"] for line in path.open()]


def main(runs):
    if len(runs) < 2:
        sys.exit(__doc__)
    base = losses(runs[0])
    for other in runs[1:]:
        b = losses(other)
        rel = [abs(x - y) / abs(y) for x, y in zip(base, b)]
        print(f"{runs[0]} vs {other} ({len(rel)} steps)")
        print("  step: " + "  ".join(f"{s}: {rel[s - 1]:.1e}" for s in (1, 2, 5, 10, 20, 50, 100, len(rel)) if s <= len(rel)))
        print("  max over the first n steps: " + "  ".join(f"{n}: {max(rel[:n]):.1e}" for n in (1, 10, 20, 50) if n <= len(rel)))
    for run in runs:
        summary = json.loads((Path(run) / "summary.json").read_text())
        state = json.loads((Path(run) / "state.json").read_text())
        print(f"{run}: kNN {100 * summary['knn_top1']:.1f}%, last loss {state['last_loss']:.4f}, {state['train_seconds']:.1f} s of training")


if __name__ == "__main__":
    main(sys.argv[1:])
