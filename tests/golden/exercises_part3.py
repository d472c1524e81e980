"""Independent NumPy references for the hidden tests of part 3's graded exercises
(tests/hidden/kmeans.rs, sinkhorn_knopp.rs and swav_loss.rs paste the values it prints).

Written from the lecture's formulas in float64, not from the library's Rust code:

* k-means: assignment a_i = argmin_j ||x_i - c_j||^2 (a tie goes to the smaller j);
  update c_j = mean of the points assigned to j, an empty cluster keeps its centroid.
* Sinkhorn-Knopp (SwAV): Q = exp(S / eps) as a K x B matrix; repeat: rows (prototypes) to
  total 1/K, columns (samples) to total 1/B; codes = B * Q^T (B x K). Plain exponentials here
  (the inputs are small enough), no logarithms: a second route to the same numbers.
* SwAV's loss: L = 1 / (n_q (V - 1)) * sum_{i < n_q} sum_{v != i} mean_b [-sum_k q_{i,b,k}
  log softmax(s_{v,b} / tau)_k], and its gradient with respect to the scores by central
  differences.

Run:  python3 tests/golden/exercises_part3.py [kmeans|sinkhorn|swav]   (no argument: all three)
"""
import sys

import numpy as np

np.set_printoptions(precision=9)
WHICH = sys.argv[1:] or ["kmeans", "sinkhorn", "swav"]


def fmt(values):
    return " ".join(f"{v:.9f}" for v in np.ravel(values))


# ---------------------------------------------------------------- k-means
def assign(x, c):
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    a = d2.argmin(axis=1)  # argmin returns the first (smallest j) of equal minima
    return a, d2[np.arange(len(x)), a]


def update(x, a, c):
    out = c.copy()
    for j in range(len(c)):
        if (a == j).any():
            out[j] = x[a == j].mean(axis=0)
    return out


# 7 points in 3 dimensions, 4 centroids; centroid 3 is far from every point (it stays empty),
# and point 6 changes cluster after the first update.
X = np.array([[0.2, 1.1, -0.4], [0.5, 0.9, -0.1], [-1.2, 0.3, 0.8], [-0.9, -0.2, 1.1],
              [2.1, -1.4, 0.3], [1.7, -0.8, 0.6], [0.1, 0.4, 0.2]])
C = np.array([[0.3, 1.0, -0.3], [-0.5, 0.3, 0.5], [2.0, -1.0, 0.5], [9.0, 9.0, 9.0]])
if "kmeans" in WHICH:
    a, d2 = assign(X, C)
    print("kmeans")
    print("  assignments:", " ".join(str(j) for j in a))
    print("  squared distances:", fmt(d2))
    print("  updated centroids:", fmt(update(X, a, C)))
    # Two Lloyd iterations from C: the assignments after one update, and the centroids after two.
    c1 = update(X, a, C)
    a1, d21 = assign(X, c1)
    print("  second assignments:", " ".join(str(j) for j in a1), "inertia:", fmt([d21.sum()]))
    print("  centroids after two updates:", fmt(update(X, a1, c1)))


# ---------------------------------------------------------------- Sinkhorn-Knopp
def sinkhorn(s, eps, iterations):
    b, k = s.shape
    q = np.exp(s / eps).T  # K x B
    for _ in range(iterations):
        q /= q.sum(axis=1, keepdims=True) * k
        q /= q.sum(axis=0, keepdims=True) * b
    return (q * b).T


# 3 samples, 4 prototypes (B != K), cosine-like scores.
S = np.array([[0.9, 0.1, -0.3, 0.4], [0.8, 0.2, 0.0, -0.5], [0.7, -0.6, 0.3, 0.1]])
if "sinkhorn" in WHICH:
    print("sinkhorn")
    for eps, iterations in [(0.05, 3), (0.5, 1), (0.5, 3), (1.0, 20)]:
        q = sinkhorn(S, eps, iterations)
        print(f"  eps={eps} iterations={iterations}: codes {fmt(q)}")
        if (eps, iterations) in [(0.05, 3), (1.0, 20)]:
            print(f"    prototype totals {fmt(q.sum(axis=0))}")


# ---------------------------------------------------------------- SwAV's loss
def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def swav(views, codes, tau):
    n_views, n_q = len(views), len(codes)
    total = 0.0
    for i in range(n_q):
        for v in range(n_views):
            if v != i:
                total += -(codes[i] * log_softmax(views[v] / tau)).sum(axis=1).mean()
    return total / (n_q * (n_views - 1))


# B = 2 images, K = 3 prototypes, V = 4 views: two global views with codes, two local ones.
V1 = np.array([[0.6, -0.2, 0.1], [0.0, 0.5, -0.4]])
V2 = np.array([[0.4, 0.3, -0.6], [-0.2, 0.7, 0.2]])
V3 = np.array([[0.9, -0.5, 0.2], [0.1, -0.3, 0.8]])
V4 = np.array([[-0.1, 0.2, 0.3], [0.6, 0.6, -0.9]])
Q1 = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
Q2 = np.array([[0.5, 0.3, 0.2], [0.25, 0.25, 0.5]])
if "swav" in WHICH:
    print("swav")
    print(f"  two views, tau=0.1: {fmt([swav([V1, V2], [Q1, Q2], 0.1)])}")
    print(f"  two views, tau=0.5: {fmt([swav([V1, V2], [Q1, Q2], 0.5)])}")
    print(f"  four views (two codes), tau=0.1: {fmt([swav([V1, V2, V3, V4], [Q1, Q2], 0.1)])}")
    print(f"  three views, one code, tau=0.2: {fmt([swav([V1, V2, V3], [Q1], 0.2)])}")
    # Gradient of the four-view loss (tau = 0.1) with respect to every score, central differences.
    views, h = [V1, V2, V3, V4], 1e-6
    for u in range(4):
        g = np.zeros_like(views[u])
        for idx in np.ndindex(*views[u].shape):
            plus = [w.copy() for w in views]
            minus = [w.copy() for w in views]
            plus[u][idx] += h
            minus[u][idx] -= h
            g[idx] = (swav(plus, [Q1, Q2], 0.1) - swav(minus, [Q1, Q2], 0.1)) / (2 * h)
        print(f"  gradient of view {u + 1}: {fmt(g)}")
