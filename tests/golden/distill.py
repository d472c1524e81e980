"""Independent NumPy reference for Hinton et al.'s distillation loss (tests/distill.rs embeds
the printed values). Written from the paper's formula, not from the Rust code:

  L = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(y, softmax(s)),

KL summed over classes and averaged over the batch ("batchmean"), CE averaged over the batch.

Run:  python3 tests/golden/distill.py
"""
import numpy as np


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def kd(s, t, y, temp, alpha):
    log_pt = log_softmax(t / temp)
    pt = np.exp(log_pt)
    kl = (pt * (log_pt - log_softmax(s / temp))).sum(axis=1).mean()
    ce = -log_softmax(s)[np.arange(len(y)), y].mean()
    return alpha * temp ** 2 * kl + (1 - alpha) * ce


# 3 images, 4 classes (float64).
S = np.array([[2.0, 0.5, -1.0, 0.1], [0.3, 1.5, 0.2, -0.4], [-0.5, 0.0, 0.8, 1.2]])
T = np.array([[3.0, 1.0, -2.0, 0.0], [0.0, 2.5, 1.0, -1.0], [-1.0, 0.5, 2.0, 1.0]])
Y = np.array([0, 1, 3])
for temp, alpha in [(1.0, 0.0), (1.0, 1.0), (4.0, 0.9), (8.0, 0.5)]:
    print(f"T={temp} alpha={alpha}: loss={kd(S, T, Y, temp, alpha):.9f}")
# Large logits: a naive softmax would overflow.
print(f"large: loss={kd(S * 100.0, T * 100.0, Y, 2.0, 0.5):.9f}")
eps = 1e-6
grad = np.zeros_like(S)
for idx in np.ndindex(*S.shape):
    plus, minus = S.copy(), S.copy()
    plus[idx] += eps
    minus[idx] -= eps
    grad[idx] = (kd(plus, T, Y, 4.0, 0.9) - kd(minus, T, Y, 4.0, 0.9)) / (2 * eps)
print("d/ds (T=4, alpha=0.9):", ", ".join(f"{v:.9f}" for v in grad.ravel()))
