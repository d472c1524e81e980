"""An independent BYOL (and SimCLR) in PyTorch on the kit's built-in `shapes` images: the check
behind docs/results.md's "An independent implementation fails the same way". Not part of CI
(PyTorch is not a dependency of the kit); it exists so that those numbers can be rerun.

Data: the kit's default `shapes` split dumped as raw little-endian f32 (N×3×32×32, values in
[0, 1]) plus one u8 label per image, by a few lines of Rust against the library:

    use selfsup::data::shapes::{generate_split, ShapesConfig, Split};
    for (split, name) in [(Split::Train, "train"), (Split::Test, "test")] {
        let d = generate_split(&ShapesConfig::default(), split);
        let bytes: Vec<u8> = d.pixels.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(format!("{DIR}/{name}.f32"), bytes).unwrap();
        std::fs::write(format!("{DIR}/{name}.labels"), d.labels.iter().map(|&l| l as u8).collect::<Vec<u8>>()).unwrap();
    }

Run: `python bench/reference/byol_shapes_torch.py --data DIR --method byol --epochs 2`
(add `--probe` for the ridge regression from features to image statistics after training).
"""

import argparse, math, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument("--data", required=True); p.add_argument("--probe", action="store_true")
p.add_argument("--method", default="byol"); p.add_argument("--epochs", type=int, default=4)
p.add_argument("--n-train", type=int, default=5000); p.add_argument("--seed", type=int, default=0)
p.add_argument("--crop", type=float, default=0.8); p.add_argument("--tau-base", type=float, default=0.99)
p.add_argument("--lr", type=float, default=2e-3); p.add_argument("--s", type=float, default=1.0)
p.add_argument("--perview", action="store_true"); p.add_argument("--noise", type=float, default=0.0); p.add_argument("--blur", type=float, default=0.0)
a = p.parse_args()
torch.manual_seed(a.seed); np.random.seed(a.seed); torch.set_num_threads(2)
D = a.data.rstrip("/") + "/"
def load(n):
    x = np.fromfile(D + n + ".f32", dtype="<f4").reshape(-1, 3, 32, 32); y = np.fromfile(D + n + ".labels", dtype=np.uint8)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))
xtr, ytr = load("train"); xte, yte = load("test")
idx = torch.randperm(len(xtr))[: a.n_train]; xtr, ytr = xtr[idx], ytr[idx]
print("pixels", float(xtr.min()), float(xtr.max()), "train", len(xtr), "test", len(xte))

def augment(x):
    B = x.shape[0]
    area = torch.empty(B).uniform_(a.crop, 1.0); logr = torch.empty(B).uniform_(math.log(3/4), math.log(4/3))
    r = torch.exp(logr); w = torch.sqrt(area * r).clamp(max=1); h = torch.sqrt(area / r).clamp(max=1)
    cx = (torch.rand(B) * (1 - w) + w / 2) * 2 - 1; cy = (torch.rand(B) * (1 - h) + h / 2) * 2 - 1
    flip = torch.where(torch.rand(B) < 0.5, -1.0, 1.0)
    theta = torch.zeros(B, 2, 3); theta[:, 0, 0] = w * flip; theta[:, 0, 2] = cx; theta[:, 1, 1] = h; theta[:, 1, 2] = cy
    x = F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False), align_corners=False, padding_mode="border")
    s = a.s
    jit = (torch.rand(B) < 0.8).float().view(B, 1, 1, 1)
    b = torch.empty(B, 1, 1, 1).uniform_(1 - 0.4 * s, 1 + 0.4 * s); y = x * b
    c = torch.empty(B, 1, 1, 1).uniform_(max(0, 1 - 0.4 * s), 1 + 0.4 * s); m = y.mean(dim=(1, 2, 3), keepdim=True); y = (y - m) * c + m
    g = (0.299 * y[:, 0:1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3]); sat = torch.empty(B, 1, 1, 1).uniform_(max(0, 1 - 0.2 * s), 1 + 0.2 * s); y = (y - g) * sat + g
    # hue: random permutation-free rotation approximated by channel mixing
    x = jit * y.clamp(0, 1) + (1 - jit) * x
    gray = (torch.rand(B) < 0.2).float().view(B, 1, 1, 1); g = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand(-1, 3, -1, -1)
    x = gray * g + (1 - gray) * x
    if a.blur > 0:
        sig = torch.empty(B).uniform_(0.1, a.blur); r = torch.arange(-3, 4).float()
        k = torch.exp(-(r.view(1, -1) ** 2) / (2 * sig.view(-1, 1) ** 2)); k = k / k.sum(1, keepdim=True)
        xs = x.reshape(1, B * 3, 32, 32); kk = k.repeat_interleave(3, 0)
        xs = F.conv2d(F.pad(xs, (3, 3, 0, 0), mode="reflect"), kk.view(B * 3, 1, 1, 7), groups=B * 3)
        xs = F.conv2d(F.pad(xs, (0, 0, 3, 3), mode="reflect"), kk.view(B * 3, 1, 7, 1), groups=B * 3)
        x = xs.view(B, 3, 32, 32)
    if a.noise > 0: x = x + a.noise * torch.rand(B, 1, 1, 1) * torch.randn_like(x)
    return x

def block(i, o): return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())
class Enc(nn.Module):
    def __init__(s):
        super().__init__(); s.net = nn.Sequential(block(3, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2), block(32, 64), nn.MaxPool2d(2), block(64, 128))
    def forward(s, x): return s.net(x).mean(dim=(2, 3))
def mlp(i, h, o): return nn.Sequential(nn.Linear(i, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, o))

@torch.no_grad()
def feats(enc, x):
    enc.eval(); out = torch.cat([enc(x[i:i + 500]) for i in range(0, len(x), 500)]); enc.train(); return F.normalize(out, dim=1)
@torch.no_grad()
def knn(enc, k=20, T=0.1):
    ftr, fte = feats(enc, xtr), feats(enc, xte); sim = fte @ ftr.T; w, i = sim.topk(k, dim=1)
    votes = torch.zeros(len(xte), 10).scatter_add_(1, ytr[i], torch.exp(w / T)); return (votes.argmax(1) == yte).float().mean().item()

enc = Enc(); proj = mlp(128, 512, 128); pred = mlp(128, 512, 128)
import copy; enc0 = copy.deepcopy(enc); print("random init kNN", knn(enc))
params = list(enc.parameters()) + list(proj.parameters()) + (list(pred.parameters()) if a.method == "byol" else [])
if a.method == "byol":
    import copy
    tenc, tproj = copy.deepcopy(enc), copy.deepcopy(proj)
    for q in list(tenc.parameters()) + list(tproj.parameters()): q.requires_grad_(False)
opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=1e-4)
B = 64; spe = len(xtr) // B; total = spe * a.epochs; warm = spe // 2; step = 0; t0 = time.time()
for ep in range(a.epochs):
    perm = torch.randperm(len(xtr))
    for k in range(spe):
        lr = a.lr * step / warm if step < warm else a.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
        for g_ in opt.param_groups: g_["lr"] = lr
        x = xtr[perm[k * B:(k + 1) * B]]; v = torch.cat([augment(x), augment(x)])
        if a.method == "byol":
            if a.perview:
                pr = torch.cat([pred(proj(enc(v[:B]))), pred(proj(enc(v[B:])))])
                with torch.no_grad(): z = torch.cat([tproj(tenc(v[:B])), tproj(tenc(v[B:]))])
            else:
                pr = pred(proj(enc(v)))
                with torch.no_grad(): z = tproj(tenc(v))
            z = torch.cat([z[B:], z[:B]])
            loss = (2 - 2 * F.cosine_similarity(pr, z, dim=1)).mean() * 2
        else:
            z = F.normalize(proj(enc(v)), dim=1); sim = z @ z.T / 0.1; sim.fill_diagonal_(-1e9)
            tgt = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)]); loss = F.cross_entropy(sim, tgt)
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        if a.method == "byol":
            tau = 1 - (1 - a.tau_base) * (math.cos(math.pi * step / total) + 1) / 2
            with torch.no_grad():
                for (o, t) in [(enc, tenc), (proj, tproj)]:
                    for po, pt in zip(o.parameters(), t.parameters()): pt.mul_(tau).add_(po, alpha=1 - tau)
                    for bo, bt in zip(o.buffers(), t.buffers()):
                        if bt.dtype.is_floating_point: bt.mul_(tau).add_(bo, alpha=1 - tau)
        if step % 50 == 0: print(f"ep {ep} step {step} loss {loss.item():.3f} {time.time()-t0:.0f}s", flush=True)
    print(f"epoch {ep}: kNN {knn(enc):.3f}", flush=True)

if a.probe:
    def stats(x):
        hf = (x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)).abs().mean(dim=(1, 2, 3))
        corners = torch.stack([x[:, :, :3, :3], x[:, :, :3, -3:], x[:, :, -3:, :3], x[:, :, -3:, -3:]]).mean(dim=(0, 3, 4))
        centre = x[:, :, 12:20, 12:20].mean(dim=(2, 3))
        return {"mean lum": x.mean(dim=(1, 2, 3)), "img std": x.std(dim=(1, 2, 3)), "high-freq": hf,
                "bg R": corners[:, 0], "bg G": corners[:, 1], "bg lum": corners.mean(1), "centre lum": centre.mean(1),
                "centre-bg": (centre.mean(1) - corners.mean(1)).abs()}
    def r2(f, y):
        n = len(f) // 2; X = torch.cat([f, torch.ones(len(f), 1)], 1)
        w = torch.linalg.solve(X[:n].T @ X[:n] + 1e-2 * torch.eye(X.shape[1]), X[:n].T @ y[:n])
        pred = X[n:] @ w; return 1 - ((pred - y[n:]) ** 2).mean() / y[n:].var()
    for name, e in [("random", enc0), ("byol", enc)]:
        f = feats(e, xte)
        print(name, " ".join(f"{k}={r2(f, v):.2f}" for k, v in stats(xte).items()), flush=True)
