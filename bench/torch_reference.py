#!/usr/bin/env python3
"""PyTorch (CPU) reference for `selfsup bench`: the same SimCLR training step, timed the same way.

What it mirrors (src/bench.rs, src/methods/simclr.rs, src/nn/encoders.rs, src/nn/heads.rs,
src/nn/layers.rs, src/train/optimizer.rs):

* encoder ConvNet with widths (C1, C2, C3, C4), input 3x32x32: four blocks
  conv3x3 (stride 1, padding 1, no bias) -> BatchNorm2d (eps 1e-5, momentum 0.1) -> ReLU,
  2x2 max pooling (stride 2) after blocks 1-3, global average pooling after block 4 (C4 features);
* projector Mlp: Linear(C4 -> 512) -> BatchNorm over the 512 features (batch statistics) -> ReLU
  -> Linear(512 -> 128);
* NT-Xent loss (tau = 0.1, the kit's default) over the 2B embeddings of the two views stacked
  in one batch (rows i and i + B are the two views of image i): L2-normalised rows, cosine / tau,
  self-similarity masked with -1e9, log-sum-exp minus the positive's logit, mean over 2B rows;
* torch.optim.SGD(lr=0.01, momentum=0.9, weight_decay=1e-4) (L2 decay on every parameter);
* two fixed uniform [0, 1) view batches of shape (B, 3, 32, 32); one warm-up step, then
  `--steps` timed steps of forward + backward + optimizer step + zero_grad; median and min ms.

Reported per model, with the same JSON keys as `selfsup bench`: model, batch, views, image_size,
threads, steps, ms_per_step_median, ms_per_step_min, images_per_s, conv_gflops_per_s
(3 x forward convolution FLOPs of the 2B images, counted as in `convnet_flops` of src/bench.rs,
over the median step time), plus peak_rss_mib (ru_maxrss of the process that ran that model;
it includes the Python interpreter and libtorch: about 700 MiB right after `import torch` with
the default PyPI wheel (CUDA build), reported as baseline_rss_mib), and torch_version.

Each model runs in its own process (with `--model all`, the default, this script re-runs
itself once per model) so that the peak memory is per model.

Usage (PyTorch is optional and not part of CI; install it in a virtualenv outside the repo):

    python3 -m venv /work/scratch/torchenv && /work/scratch/torchenv/bin/pip install torch
    /work/scratch/torchenv/bin/python bench/torch_reference.py --threads 1 --batch-size 256 \
        --steps 5 --out torch_bench.json [--model tiny-convnet|convnet|all]

`bench/compare.sh` runs this and `selfsup bench` back to back and prints the ratio.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODELS = {
    "tiny-convnet": ("simclr/tiny-convnet-16-32-64-128", (16, 32, 64, 128)),
    "convnet": ("simclr/convnet-32-64-128-256", (32, 64, 128, 256)),
}
ALIASES = {"tiny": "tiny-convnet"}
IMAGE_SIZE = 32
VIEWS = 2
HIDDEN = 512
OUT_DIM = 128
TAU = 0.1


def rss_mib():
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def convnet_flops(widths, n):
    """Forward FLOPs of the four 3x3 convolutions for n images of 32x32 (as src/bench.rs)."""
    w = widths
    layers = [(3, w[0], 32), (w[0], w[1], 16), (w[1], w[2], 8), (w[2], w[3], 4)]
    # 2 x out_channels x (in_channels x 3 x 3) x (n x H x W), stride 1, padding 1.
    return sum(2.0 * o * (i * 9) * (n * s * s) for i, o, s in layers)


def import_torch():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        sys.exit(
            f"torch_reference.py: PyTorch is not installed ({e}).\n"
            "It is optional (not needed by the kit or its CI). Install it in a virtualenv, e.g.\n"
            "  python3 -m venv /work/scratch/torchenv && /work/scratch/torchenv/bin/pip install torch\n"
            "and run this script with /work/scratch/torchenv/bin/python (or TORCH_PYTHON=... bench/compare.sh)."
        )
    return torch


def build(torch, widths):
    nn = torch.nn

    def block(i, o):
        return [nn.Conv2d(i, o, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(o, eps=1e-5, momentum=0.1), nn.ReLU()]

    c1, c2, c3, c4 = widths
    encoder = nn.Sequential(
        *block(3, c1), nn.MaxPool2d(2, 2),
        *block(c1, c2), nn.MaxPool2d(2, 2),
        *block(c2, c3), nn.MaxPool2d(2, 2),
        *block(c3, c4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )
    projector = nn.Sequential(
        nn.Linear(c4, HIDDEN), nn.BatchNorm1d(HIDDEN, eps=1e-5, momentum=0.1), nn.ReLU(), nn.Linear(HIDDEN, OUT_DIM),
    )
    return nn.Sequential(encoder, projector)


def nt_xent(torch, z, tau):
    """NT-Xent as nt_xent in src/methods/simclr.rs: z is (2N, D), rows i and i + N are positives."""
    two_n = z.shape[0]
    n = two_n // 2
    z = z / (z.square().sum(dim=1, keepdim=True) + 1e-12).sqrt()
    sim = z @ z.t() / tau
    mask = torch.zeros(two_n, two_n)
    mask.fill_diagonal_(-1e9)
    sim = sim + mask
    positives = (torch.arange(two_n) + n) % two_n
    pos_logit = sim[torch.arange(two_n), positives]
    return (torch.logsumexp(sim, dim=1) - pos_logit).mean()


def bench_one(key, steps, batch, threads):
    torch = import_torch()
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    baseline = rss_mib()
    name, widths = MODELS[key]
    torch.manual_seed(0)
    model = build(torch, widths)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    g0, g1 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    views = [torch.rand(batch, 3, IMAGE_SIZE, IMAGE_SIZE, generator=g) for g in (g0, g1)]

    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        x = torch.cat(views, dim=0)  # both views in one batch, as stack_views
        loss = nt_xent(torch, model(x), TAU)
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i > 0:
            times.append((time.perf_counter() - t) * 1e3)
        if not torch.isfinite(loss):
            sys.exit(f"torch_reference.py: non-finite loss at step {i}")
    times.sort()
    median = times[len(times) // 2]  # the upper median for even counts, as src/bench.rs
    images = VIEWS * batch
    return {
        "model": name,
        "batch": batch,
        "views": VIEWS,
        "image_size": IMAGE_SIZE,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "ms_per_step_median": median,
        "ms_per_step_min": times[0],
        "images_per_s": images / (median / 1e3),
        "conv_gflops_per_s": 3.0 * convnet_flops(widths, images) / (median / 1e3) / 1e9,
        "peak_rss_mib": rss_mib(),
        "baseline_rss_mib": baseline,
        "torch_version": torch.__version__,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="all", help="tiny-convnet | convnet | all (default: all, one process each)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1, as SELFSUP_THREADS)")
    p.add_argument("--batch-size", type=int, default=256, help="images per view (default 256; 2B per step)")
    p.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up (default 5)")
    p.add_argument("--out", default=None, help="write the JSON array here")
    a = p.parse_args()
    model = ALIASES.get(a.model, a.model)
    if model != "all" and model not in MODELS:
        p.error(f"unknown model {a.model!r} (expected tiny-convnet, convnet or all)")
    if a.steps < 1 or a.batch_size < 1 or a.threads < 1:
        p.error("--steps, --batch-size and --threads must be positive")

    if model == "all":
        import_torch()  # fail early with the clear message
        reports = []
        for key in MODELS:
            cmd = [sys.executable, os.path.abspath(__file__), "--model", key, "--threads", str(a.threads),
                   "--batch-size", str(a.batch_size), "--steps", str(a.steps)]
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
            reports.extend(json.loads(out))
        text = json.dumps(reports, indent=2)
    else:
        reports = [bench_one(model, a.steps, a.batch_size, a.threads)]
        text = json.dumps(reports, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
        print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
