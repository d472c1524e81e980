"""Independent NumPy reference for SimCLR's NT-Xent loss (tests/simclr.rs embeds its output).

Run:  python3 tests/golden/nt_xent.py
It prints the loss for the fixed inputs below at several temperatures, and the gradient with
respect to z at tau = 0.5, computed by central finite differences in float64.
"""
import numpy as np


def nt_xent(z, tau):
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    two_n = z.shape[0]
    n = two_n // 2
    sim = z @ z.T / tau
    total = 0.0
    for i in range(two_n):
        pos = (i + n) % two_n
        others = [k for k in range(two_n) if k != i]
        m = max(sim[i, k] for k in others)
        log_den = m + np.log(sum(np.exp(sim[i, k] - m) for k in others))
        total += log_den - sim[i, pos]
    return total / two_n


# 2 images x 2 views, 3-d embeddings: rows 0,1 = view 1 of images 0,1; rows 2,3 = view 2.
Z = np.array(
    [[1.0, 0.0, 0.5], [0.2, 1.0, -0.3], [0.9, 0.1, 0.4], [-0.1, 0.8, -0.5]], dtype=np.float64
)
for tau in [1.0, 0.5, 0.1, 0.01]:
    print(f"tau={tau}: loss={nt_xent(Z, tau):.9f}")

eps = 1e-6
grad = np.zeros_like(Z)
for idx in np.ndindex(*Z.shape):
    p, m = Z.copy(), Z.copy()
    p[idx] += eps
    m[idx] -= eps
    grad[idx] = (nt_xent(p, 0.5) - nt_xent(m, 0.5)) / (2 * eps)
print("grad(tau=0.5) =", ", ".join(f"{g:.9f}" for g in grad.ravel()))

# A hard case: each row's positive is far away and a negative is close, so at small tau the
# logits reach 1/tau = 100 and the loss is large (tests overflow safety).
Z2 = np.array(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.9, 0.1], [1.0, 0.1, 0.0]], dtype=np.float64
)
for tau in [0.5, 0.01]:
    print(f"hard tau={tau}: loss={nt_xent(Z2, tau):.9f}")
