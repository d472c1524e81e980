"""Independent NumPy references for part 3's building blocks (tests/clustering.rs embeds the
printed values). Written from the papers' formulas and the reference code's steps, not from
the Rust code:

1. Lloyd's k-means from given initial centroids (Lloyd 1982): assign each point to its nearest
   centroid (first index on a tie), move each centroid to the mean of its points (a centroid
   without points stays), N times; then assign once more. No k-means++ and no empty-cluster
   split here: those are random, and tests/clustering.rs checks them by their properties.
2. NMI(U;V) = I(U;V) / sqrt(H(U) H(V)) (DeepCluster, Caron et al. 2018), from a contingency
   table.

Run:  python3 tests/golden/clustering.py
"""
import numpy as np


def fmt(values):
    return ", ".join(f"{v:.9f}" for v in np.ravel(values))


# ---------------------------------------------------------------------------- 1. k-means
def assign(x, c):
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    a = d2.argmin(axis=1)
    return a, d2[np.arange(len(x)), a].sum()


def lloyd(x, c, iters):
    c = c.copy()
    inertia = []
    for _ in range(iters):
        a, j = assign(x, c)
        inertia.append(j)
        for k in range(len(c)):
            if (a == k).any():
                c[k] = x[a == k].mean(axis=0)
    a, j = assign(x, c)
    inertia.append(j)
    return a, c, inertia


# Three overlapping 2-D blobs of 8 points around (0, 0), (3, 1), (1, 3.5) (drawn once with
# NumPy's default_rng(3), rounded to 2 decimals).
X = np.array([
    [1.84, -2.3], [0.38, -0.51], [-0.41, -0.19], [-1.82, -0.21], [-0.78, 2.99], [0.2, -0.32],
    [-0.25, -0.6], [-0.95, -0.35], [3.43, 0.79], [3.86, 0.82], [3.02, 2.39], [3.49, 0.55],
    [2.84, 1.49], [4.74, 0.76], [2.78, 1.9], [2.2, 0.74], [1.79, 4.02], [1.08, 4.1],
    [-1.55, 4.42], [0.14, 2.0], [1.25, 4.13], [0.6, 2.53], [1.02, 3.45], [2.27, 4.17],
])
# A poor start (two centroids close together, one far): Lloyd needs several steps.
INIT = np.array([[0.0, 0.0], [0.5, 0.5], [5.0, 5.0]])
for iters in [1, 3]:
    a, c, inertia = lloyd(X, INIT, iters)
    print(f"kmeans {iters} iterations: assignments = {a.tolist()}")
    print(f"  centroids = {fmt(c)}")
    print(f"  inertia = {fmt(inertia)}")
# A centroid that no point is nearest to: with the naive update it stays where it is.
INIT_FAR = np.array([[0.0, 0.0], [3.0, 3.0], [20.0, -20.0]])
a, c, inertia = lloyd(X, INIT_FAR, 2)
print(f"kmeans far init, 2 iterations: assignments = {a.tolist()}")
print(f"  centroids = {fmt(c)}")
print(f"  inertia = {fmt(inertia)}")


# ---------------------------------------------------------------------------- 2. NMI
def entropy(labels):
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return -(p * np.log(p)).sum()


def nmi(u, v):
    u, v = np.asarray(u), np.asarray(v)
    n = len(u)
    us, vs = np.unique(u), np.unique(v)
    table = np.array([[np.sum((u == a) & (v == b)) for b in vs] for a in us], dtype=float)
    pu, pv, puv = table.sum(axis=1) / n, table.sum(axis=0) / n, table / n
    nz = puv > 0
    info = (puv[nz] * np.log(puv[nz] / np.outer(pu, pv)[nz])).sum()
    return info / np.sqrt(entropy(u) * entropy(v))


U = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
V = [1, 1, 0, 0, 0, 2, 2, 2, 2, 0]
W = [7, 7, 7, 7, 3, 3, 3, 3, 3, 3]
print(f"nmi(U, V) = {nmi(U, V):.9f}")
print(f"nmi(U, W) = {nmi(U, W):.9f}")
print(f"nmi(V, W) = {nmi(V, W):.9f}")
