"""Independent NumPy reference for the Barlow Twins loss (tests/barlow.rs embeds the printed
values). Written from the formula in the paper and src/methods/barlow.rs's docs, not from the
Rust code: each view standardised per dimension over the batch (biased variance, eps 1e-5),
C = za^T zb / N, L = sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2.

Run:  python3 tests/golden/barlow.py
"""
import numpy as np


def standardise(z, eps=1e-5):
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps)


def barlow(za, zb, lam):
    n = za.shape[0]
    c = standardise(za).T @ standardise(zb) / n
    on = ((1.0 - np.diag(c)) ** 2).sum()
    off = (c ** 2).sum() - (np.diag(c) ** 2).sum()
    return on + lam * off, c


# N = 4 images, D = 3 dimensions (float64).
ZA = np.array([[0.5, -1.0, 0.3], [1.2, 0.4, -0.7], [-0.3, 0.9, 0.8], [0.1, -0.2, 1.5]])
ZB = np.array([[0.6, -0.8, 0.1], [1.0, 0.7, -0.5], [-0.5, 1.1, 0.9], [0.3, 0.0, 1.1]])
for lam in [0.0, 0.0078125, 1.0]:
    loss, c = barlow(ZA, ZB, lam)
    print(f"lambda={lam}: loss={loss:.9f}")
_, c = barlow(ZA, ZB, 1.0)
print("C:", ", ".join(f"{v:.9f}" for v in c.ravel()))
# Identical views: C has ones on its diagonal, the invariance term vanishes.
loss, _ = barlow(ZA, ZA, 0.0)
print(f"identical views, lambda=0: loss={loss:.9f}")

# Central finite differences at lambda = 0.5 (row-major).
eps = 1e-6
for name, x in [("za", ZA), ("zb", ZB)]:
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fp = barlow(plus, ZB, 0.5)[0] if name == "za" else barlow(ZA, plus, 0.5)[0]
        fm = barlow(minus, ZB, 0.5)[0] if name == "za" else barlow(ZA, minus, 0.5)[0]
        grad[idx] = (fp - fm) / (2 * eps)
    print(f"d/d{name} (lambda=0.5):", ", ".join(f"{v:.9f}" for v in grad.ravel()))
