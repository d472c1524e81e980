"""Independent NumPy reference for Deep InfoMax's InfoNCE loss (tests/dim.rs embeds the
printed values). Written from the formula in src/methods/dim.rs's docs, not from the Rust code:
for every image i and location p, the global feature of i against the local feature of i at p
(positive) and the local features of the other images at p (negatives), cosine / tau.

Run:  python3 tests/golden/dim.py
"""
import numpy as np


def normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def dim_nce(glob, local, locations, tau):
    """Mean over (i, p) of -log exp(s_ii/tau) / sum_j exp(s_ij/tau), s_ij = cos(global_i, local_(j, p))."""
    n = glob.shape[0]
    g = normalize(glob)
    loc = normalize(local).reshape(n, locations, -1)
    total = 0.0
    for i in range(n):
        for p in range(locations):
            logits = np.array([g[i] @ loc[j, p] / tau for j in range(n)])
            m = logits.max()
            total += m + np.log(np.exp(logits - m).sum()) - logits[i]
    return total / (n * locations)


# N = 3 images, P = 2 locations, d = 3 features (float64).
GLOBAL = np.array([[1.0, 0.2, -0.3], [0.1, 0.9, 0.4], [-0.5, 0.3, 0.8]])
LOCAL = np.array([
    [0.9, 0.1, -0.2], [0.7, 0.5, 0.0],   # image 0, locations 0 and 1
    [0.2, 1.0, 0.1], [-0.1, 0.6, 0.7],   # image 1
    [-0.4, 0.0, 0.9], [0.3, -0.2, 0.6],  # image 2
])
for tau in [1.0, 0.5, 0.1]:
    print(f"tau={tau}: dim_nce={dim_nce(GLOBAL, LOCAL, 2, tau):.9f}")

# Hard case: image 2's location 1 is closer to image 0's global than to its own.
HARD = LOCAL.copy()
HARD[5] = [1.0, 0.2, -0.3]
for tau in [0.01, 0.001]:
    print(f"hard tau={tau}: dim_nce={dim_nce(GLOBAL, HARD, 2, tau):.9f}")

# Central finite differences of the loss at tau = 0.5 (row-major).
eps = 1e-6
for name, x in [("global", GLOBAL), ("local", LOCAL)]:
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        args_p = (plus, LOCAL) if name == "global" else (GLOBAL, plus)
        args_m = (minus, LOCAL) if name == "global" else (GLOBAL, minus)
        grad[idx] = (dim_nce(*args_p, 2, 0.5) - dim_nce(*args_m, 2, 0.5)) / (2 * eps)
    print(f"d/d{name} (tau=0.5):", ", ".join(f"{v:.9f}" for v in grad.ravel()))
