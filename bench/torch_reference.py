#!/usr/bin/env python3
"""PyTorch (CPU) reference for `selfsup bench`: the same SimCLR training step, timed the same way.

What it mirrors (src/bench.rs, src/methods/simclr.rs, src/nn/encoders.rs, src/nn/vit.rs,
src/nn/heads.rs, src/nn/layers.rs, src/train/optimizer.rs):

* encoder ConvNet with widths (C1, C2, C3, C4), input 3x32x32: four blocks
  conv3x3 (stride 1, padding 1, no bias) -> BatchNorm2d (eps 1e-5, momentum 0.1) -> ReLU,
  2x2 max pooling (stride 2) after blocks 1-3, global average pooling after block 4 (C4 features);
* or encoder ViT (src/nn/vit.rs): 4x4 patches embedded by a linear map (a 4x4 conv, stride 4),
  class token + learnt position embeddings (65 tokens of width 128), 4 pre-norm blocks
  x + proj(MHSA(LN(x))), x + fc2(GELU_tanh(fc1(LN(x)))) with 4 heads of 32 (packed qkv Linear,
  F.scaled_dot_product_attention), MLP 512, LayerNorm eps 1e-5; features = LN(class token);
* projector Mlp: Linear(C4 -> 512) -> BatchNorm over the 512 features (batch statistics) -> ReLU
  -> Linear(512 -> 128);
* NT-Xent loss (tau = 0.1, the kit's default) over the 2B embeddings of the two views stacked
  in one batch (rows i and i + B are the two views of image i): L2-normalised rows, cosine / tau,
  self-similarity masked with -1e9, log-sum-exp minus the positive's logit, mean over 2B rows;
* convnets: torch.optim.SGD(lr=0.01, momentum=0.9, weight_decay=1e-4) (L2 decay on every
  parameter); ViT: torch.optim.AdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05);
* two fixed uniform [0, 1) view batches of shape (B, 3, 32, 32) (B = 256 for the convnets,
  128 for the ViT unless --batch-size is given); one warm-up step, then
  `--steps` timed steps of forward + backward + optimizer step + zero_grad; median and min ms.

Reported per model, with the same JSON keys as `selfsup bench`: model, batch, views, image_size,
threads, steps, ms_per_step_median, ms_per_step_min, images_per_s, optimizer, gflops_per_s
(3 x the encoder's forward matrix FLOPs for the 2B images, counted as `convnet_flops` of
src/bench.rs and `Vit::forward_flops` of src/nn/vit.rs, over the median step time),
peak_gflops_per_s and fraction_of_peak (the same formula as src/bench.rs), plus peak_rss_mib (ru_maxrss of the process that ran that model;
it includes the Python interpreter and libtorch: about 700 MiB right after `import torch` with
the default PyPI wheel (CUDA build), reported as baseline_rss_mib), and torch_version.

Each model runs in its own process (with `--model all`, the default, this script re-runs
itself once per model) so that the peak memory is per model.

Usage (PyTorch is optional and not part of CI; install it in a virtualenv outside the repo):

    python3 -m venv /work/scratch/torchenv && /work/scratch/torchenv/bin/pip install torch
    /work/scratch/torchenv/bin/python bench/torch_reference.py --threads 1 --batch-size 256 \
        --steps 5 --out torch_bench.json [--model tiny-convnet|convnet|vit|all]

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
    "vit": ("simclr/vit-p4-d128-l4-h4", None),
}
DEFAULT_BATCH = {"tiny-convnet": 256, "convnet": 256, "vit": 128}
# ViT sizes (src/nn/vit.rs)
PATCH, WIDTH, HEADS, DEPTH, MLP_HIDDEN = 4, 128, 4, 4, 512
PATCHES = (32 // PATCH) ** 2
TOKENS = PATCHES + 1
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


def vit_flops(n):
    """Forward matrix FLOPs of the ViT for n images (as Vit::forward_flops in src/nn/vit.rs)."""
    t, d = TOKENS, WIDTH
    embed = 2.0 * PATCHES * (3 * PATCH * PATCH) * d
    projections = 2.0 * t * d * (3 * d + d + 2 * MLP_HIDDEN)
    attention = 2.0 * 2.0 * t * t * d
    return n * (embed + DEPTH * (projections + attention))


def peak_gflops(threads):
    """threads x 2 FMA units x f32 lanes x 2 x GHz from /proc/cpuinfo (as peak_gflops in src/bench.rs)."""
    try:
        info = open("/proc/cpuinfo").read().splitlines()
    except OSError:
        return 0.0
    flags = next((l.split(":", 1)[1].split() for l in info if l.startswith("flags")), [])
    lanes = 16 if "avx512f" in flags else 8 if ("avx2" in flags and "fma" in flags) else 4
    mhz = max([float(l.split(":", 1)[1]) for l in info if l.startswith("cpu MHz")] or [0.0])
    return threads * 2 * lanes * 2 * mhz / 1e3


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


def projector(nn, features):
    return nn.Sequential(
        nn.Linear(features, HIDDEN), nn.BatchNorm1d(HIDDEN, eps=1e-5, momentum=0.1), nn.ReLU(), nn.Linear(HIDDEN, OUT_DIM),
    )


def build_convnet(torch, widths):
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
    return nn.Sequential(encoder, projector(nn, c4))


def build_vit(torch):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(WIDTH, eps=1e-5), nn.LayerNorm(WIDTH, eps=1e-5)
            self.qkv, self.proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
            self.fc1, self.fc2 = nn.Linear(WIDTH, MLP_HIDDEN), nn.Linear(MLP_HIDDEN, WIDTH)

        def forward(self, x):  # x: (B, N, D)
            b, n, d = x.shape
            qkv = self.qkv(self.norm1(x)).view(b, n, 3, HEADS, d // HEADS).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # (B, H, N, d/H)
            x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
            return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh"))

    class Vit(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, WIDTH, PATCH, stride=PATCH)  # a linear map of each patch
            self.cls_token = nn.Parameter(torch.randn(WIDTH) * 0.02)
            self.pos_embed = nn.Parameter(torch.randn(TOKENS, WIDTH) * 0.02)
            self.blocks = nn.Sequential(*[Block() for _ in range(DEPTH)])
            self.norm = nn.LayerNorm(WIDTH, eps=1e-5)

        def forward(self, x):
            t = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, 64, D)
            t = torch.cat([self.cls_token.expand(t.shape[0], 1, WIDTH), t], dim=1) + self.pos_embed
            return self.norm(self.blocks(t)[:, 0])

    return nn.Sequential(Vit(), projector(nn, WIDTH))


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
    if key == "vit":
        model, flops = build_vit(torch), vit_flops(VIEWS * batch)
        opt_name, opt = "adamw", torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    else:
        model, flops = build_convnet(torch, widths), convnet_flops(widths, VIEWS * batch)
        opt_name, opt = "sgd", torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    model.train()
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
        "optimizer": opt_name,
        "gflops_per_s": 3.0 * flops / (median / 1e3) / 1e9,
        "peak_gflops_per_s": peak_gflops(torch.get_num_threads()),
        "fraction_of_peak": 3.0 * flops / (median / 1e3) / 1e9 / max(peak_gflops(torch.get_num_threads()), 1e-9),
        "peak_rss_mib": rss_mib(),
        "baseline_rss_mib": baseline,
        "torch_version": torch.__version__,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="all", help="tiny-convnet | convnet | vit | all (default: all, one process each)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1, as SELFSUP_THREADS)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="images per view (default 256 for the convnets, 128 for the ViT; 2B per step)")
    p.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up (default 5)")
    p.add_argument("--out", default=None, help="write the JSON array here")
    a = p.parse_args()
    model = ALIASES.get(a.model, a.model)
    if model != "all" and model not in MODELS:
        p.error(f"unknown model {a.model!r} (expected tiny-convnet, convnet, vit or all)")
    if a.steps < 1 or (a.batch_size is not None and a.batch_size < 1) or a.threads < 1:
        p.error("--steps, --batch-size and --threads must be positive")

    if model == "all":
        import_torch()  # fail early with the clear message
        reports = []
        for key in MODELS:
            cmd = [sys.executable, os.path.abspath(__file__), "--model", key, "--threads", str(a.threads),
                   "--steps", str(a.steps)]
            if a.batch_size is not None:
                cmd += ["--batch-size", str(a.batch_size)]
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
            reports.extend(json.loads(out))
        text = json.dumps(reports, indent=2)
    else:
        reports = [bench_one(model, a.steps, a.batch_size or DEFAULT_BATCH[model], a.threads)]
        text = json.dumps(reports, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
        print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
