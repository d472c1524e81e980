"""Independent NumPy reference for CPC on images (tests/cpc.rs embeds the printed values).

Written from the formulas in src/methods/cpc.rs's docs, in float64, without looking at how
the Rust code computes them:

    m_t      = mean of z over the patches of rows <= t (same image)
    c_{t,j}  = relu(A z_{t,j} + a + B m_t + b)
    p        = W_k c_{t,j} + w_k            for every patch with t + k < rows, k = 1..K
    L        = mean over predictions of  -log softmax_m( cos(p, z_m) / tau )[target]

Run:  python3 tests/golden/cpc.py
"""
import numpy as np

ROWS = COLS = 3
BATCH = 2
DIM = 3
STEPS = 2


def embeddings():
    n = BATCH * ROWS * COLS
    return np.array([[np.sin(0.7 * i + 1.3 * d + 0.1) for d in range(DIM)] for i in range(n)])


def weight(seed):
    """A fixed (DIM, DIM) weight (rows = outputs) and bias, from a formula the test repeats."""
    w = np.array([[np.cos(seed + 0.9 * o - 0.4 * i) * 0.8 for i in range(DIM)] for o in range(DIM)])
    b = np.array([0.05 * (o + 1) * (-1) ** (o + seed) for o in range(DIM)])
    return w, b


def causal_mean(z):
    m = np.zeros_like(z)
    n = ROWS * COLS
    for b in range(BATCH):
        for i in range(n):
            t = i // COLS
            m[b * n + i] = z[b * n: b * n + (t + 1) * COLS].mean(axis=0)
    return m


def context(z):
    (wa, ba), (wb, bb) = weight(1), weight(2)
    pre = z @ wa.T + ba + causal_mean(z) @ wb.T + bb
    return np.maximum(pre, 0.0), pre


def loss(z, tau):
    c, _ = context(z)
    n = ROWS * COLS
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)
    total, count = 0.0, 0
    for k in range(1, STEPS + 1):
        wk, bk = weight(2 + k)
        for b in range(BATCH):
            for t in range(ROWS - k):
                for j in range(COLS):
                    i = b * n + t * COLS + j
                    target = i + k * COLS
                    p = wk @ c[i] + bk
                    logits = unit(z) @ unit(p) / tau
                    mx = logits.max()
                    total += mx + np.log(np.exp(logits - mx).sum()) - logits[target]
                    count += 1
    return total / count


z = embeddings()

# patch extraction: a 2x4x4 image with value 100c + 10y + x, 2x2 patches every pixel (3x3 grid)
img = np.array([[[100 * c + 10 * y + x for x in range(4)] for y in range(4)] for c in range(2)], dtype=float)
r, col = 1, 2
print("patch (1, 2) of the 2x4x4 image, stride 1:", img[:, r:r + 2, col:col + 2].ravel().tolist())

print("causal mean, image 1, patches 3 and 8:", ", ".join(f"{v:.9f}" for v in np.r_[causal_mean(z)[9 + 3], causal_mean(z)[9 + 8]]))
_, pre = context(z)
print(f"smallest |pre-activation| of the context (keep away from relu's kink): {np.abs(pre).min():.4f}")
print("context c, patch 4:", ", ".join(f"{v:.9f}" for v in context(z)[0][4]))
for tau in [1.0, 0.5, 0.1, 0.001]:
    print(f"tau={tau}: cpc loss={loss(z, tau):.9f}")

# central finite differences of the loss at tau = 0.5 with respect to every entry of z
eps = 1e-6
grad = np.zeros_like(z)
for idx in np.ndindex(*z.shape):
    zp, zm = z.copy(), z.copy()
    zp[idx] += eps
    zm[idx] -= eps
    grad[idx] = (loss(zp, 0.5) - loss(zm, 0.5)) / (2 * eps)
print("dL/dz (tau=0.5), row-major:")
print(", ".join(f"{v:.9f}" for v in grad.ravel()))
