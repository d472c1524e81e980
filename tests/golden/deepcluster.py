"""Independent NumPy references for DeepCluster (tests/deepcluster.rs embeds the printed values).
Written from the paper and the reference code (facebookresearch/deepcluster), not from the Rust
code:

1. preprocess_features (clustering.py): PCA to d' dims with whitening (faiss PCAMatrix,
   eigen_power = -0.5), then L2-normalise each row. Here from numpy.linalg.eigh of the sample
   covariance (n - 1 denominator), each direction's sign fixed so that its largest-magnitude
   entry is positive (the kit's convention; L2 rows change sign with it), whitening by
   1 / sqrt(lambda_i + 1e-6 * lambda_1).
2. The cross-entropy of a classifier on pseudo-labels: mean_b (logsumexp(l_b) - l_b[a_b]).

Run:  python3 tests/golden/deepcluster.py
"""
import numpy as np


def fmt(values):
    return ", ".join(f"{v:.9f}" for v in np.ravel(values))


# ------------------------------------------------------------ 1. PCA whitening + L2 rows
X = np.array([
    [0.5, -1.2, 2.0, 0.3],
    [1.5, 0.2, -0.7, 1.1],
    [-0.3, 0.8, 0.4, -1.6],
    [2.2, -0.5, 1.3, 0.9],
    [0.0, 1.7, -1.1, 0.4],
    [-1.4, -0.9, 0.6, 2.1],
    [0.9, 0.3, -2.2, -0.8],
    [-0.6, 1.1, 1.8, 0.2],
], dtype=np.float64)
K = 3
mu = X.mean(axis=0)
Xc = X - mu
cov = Xc.T @ Xc / (len(X) - 1)
lam, vec = np.linalg.eigh(cov)
order = np.argsort(lam)[::-1][:K]
lam, vec = lam[order], vec[:, order]
for j in range(K):
    if vec[np.argmax(np.abs(vec[:, j])), j] < 0:
        vec[:, j] = -vec[:, j]
white = Xc @ vec / np.sqrt(lam + 1e-6 * lam[0])
print("whitened covariance (should be ~I):")
print(np.round(white.T @ white / (len(X) - 1), 9))
rows = white / np.linalg.norm(white, axis=1, keepdims=True)
print("eigenvalues:", fmt(lam))
print("whitened:", fmt(white))
print("preprocessed (L2 rows):", fmt(rows))

# ------------------------------------------------------------ 2. cross-entropy on pseudo-labels
logits = np.array([
    [2.0, -1.0, 0.5, 0.0],
    [0.1, 0.2, 0.3, 0.4],
    [-3.0, 4.0, 1.0, -0.5],
], dtype=np.float64)
targets = np.array([0, 3, 2])
m = logits.max(axis=1, keepdims=True)
lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
ce = (lse - logits[np.arange(3), targets]).mean()
print("cross-entropy:", f"{ce:.9f}")
