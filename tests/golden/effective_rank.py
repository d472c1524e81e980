"""Independent NumPy reference for the effective rank (tests/eval.rs embeds the printed values).
Written from Roy & Vetterli (2007) and RankMe (Garrido et al., ICML 2023), not from the Rust
code: with sigma the singular values of the n x d matrix and p = sigma / sum(sigma),
effective rank = exp(-sum p log p).

Run:  python3 tests/golden/effective_rank.py
"""
import numpy as np


def effective_rank(x):
    s = np.linalg.svd(x, compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


# A fixed 5 x 4 matrix (rows are samples).
X = np.array([
    [0.5, -1.0, 0.3, 2.0],
    [1.2, 0.4, -0.7, 0.1],
    [-0.3, 0.9, 0.8, -1.1],
    [0.1, -0.2, 1.5, 0.6],
    [2.2, 0.3, -0.4, 0.9],
])
print(f"5x4 matrix: {effective_rank(X):.9f}")
# Its first two columns only, the other two zero: at most rank 2.
Y = X.copy()
Y[:, 2:] = 0.0
print(f"two zero columns: {effective_rank(Y):.9f}")
