"""Independent NumPy reference for BYOL's loss (tests/byol.rs embeds the printed values).
Written from the paper's formula, not from the Rust code: for each row b,
2 - 2 * <p_b / |p_b|, z_b / |z_b|>, averaged over the rows; the target z is a constant, so the
gradient flows into p only. Also the cosine schedule of the target's rate.

Run:  python3 tests/golden/byol.py
"""
import numpy as np


def byol(p, z):
    pn = p / np.linalg.norm(p, axis=1, keepdims=True)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    return (2.0 - 2.0 * (pn * zn).sum(axis=1)).mean()


def cosine_tau(base, progress):
    return 1.0 - (1.0 - base) * (np.cos(np.pi * progress) + 1.0) / 2.0


P = np.array([[0.5, -1.0, 0.3], [1.2, 0.4, -0.7], [-0.3, 0.9, 0.8]])
Z = np.array([[0.6, -0.8, 0.1], [-1.0, 0.7, -0.5], [-0.5, 1.1, 0.9]])
print(f"loss={byol(P, Z):.9f}")
print(f"opposite: loss={byol(P, -P):.9f}")
eps = 1e-6
grad = np.zeros_like(P)
for idx in np.ndindex(*P.shape):
    plus, minus = P.copy(), P.copy()
    plus[idx] += eps
    minus[idx] -= eps
    grad[idx] = (byol(plus, Z) - byol(minus, Z)) / (2 * eps)
print("d/dp:", ", ".join(f"{v:.9f}" for v in grad.ravel()))
for progress in [0.0, 0.25, 0.5, 1.0]:
    print(f"tau(0.99, {progress}) = {cosine_tau(0.99, progress):.9f}")
