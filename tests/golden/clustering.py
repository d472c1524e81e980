"""Independent NumPy references for part 3's building blocks (tests/clustering.rs embeds the
printed values). Written from the papers' formulas and the reference code's steps, not from
the Rust code:

1. Lloyd's k-means from given initial centroids (Lloyd 1982): assign each point to its nearest
   centroid (first index on a tie), move each centroid to the mean of its points (a centroid
   without points stays), N times; then assign once more. No k-means++ and no empty-cluster
   split here: those are random, and tests/clustering.rs checks them by their properties.
2. NMI(U;V) = I(U;V) / sqrt(H(U) H(V)) (DeepCluster, Caron et al. 2018), from a contingency
   table.
3. Sinkhorn-Knopp as in SwAV's code (facebookresearch/swav, solo-learn, lightly):
   Q = exp(S/eps)^T (K x B), Q /= sum(Q); n_iters times: each row divided by its sum then by
   K, each column by its sum then by B; finally Q *= B and return Q^T (B x K).
4. SwAV's swapped-prediction loss, averaged over the pairs as in SwAV's code: scores
   s_v = normalize(z_v) . normalize(C)^T, codes q_i = sinkhorn(s_i) for the first views,
   p_v = softmax(s_v / tau); L = mean over pairs (i, v != i) of
   -mean_b sum_k q_i[b,k] log p_v[b,k]. Its gradient with respect to z and C by central finite
   differences, with the codes held fixed (no gradient flows through them).

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


# ---------------------------------------------------------------------------- 3. Sinkhorn
def sinkhorn(scores, eps=0.05, n_iters=3):
    q = np.exp(scores / eps).T  # K x B
    q /= q.sum()
    k, b = q.shape
    for _ in range(n_iters):
        q /= q.sum(axis=1, keepdims=True)
        q /= k
        q /= q.sum(axis=0, keepdims=True)
        q /= b
    q *= b
    return q.T  # B x K


# B = 4 samples, K = 3 prototypes: cosine-like scores in [-1, 1].
S = np.array([[0.9, 0.1, -0.3], [0.8, 0.2, 0.0], [0.7, -0.5, 0.4], [-0.2, 0.6, 0.1]])
for eps, iters in [(0.05, 3), (0.5, 1), (0.5, 10)]:
    q = sinkhorn(S, eps, iters)
    print(f"sinkhorn eps={eps} iters={iters}: codes = {fmt(q)}")
    print(f"  sample sums = {fmt(q.sum(axis=1))}; prototype sums = {fmt(q.sum(axis=0))}")
# Many iterations: the prototypes' sums reach B / K as well.
print(f"sinkhorn eps=0.05 iters=200: prototype sums = {fmt(sinkhorn(S, 0.05, 200).sum(axis=0))}")


# ---------------------------------------------------------------------------- 4. SwAV loss
def normalize(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def swav(zs, c, codes, tau=0.1):
    """zs: the views' projections (B x d each); codes: q of the first len(codes) views."""
    scores = [normalize(z) @ normalize(c).T for z in zs]
    terms = []
    for i, q in enumerate(codes):
        for v, s in enumerate(scores):
            if v != i:
                terms.append(-(q * log_softmax(s / tau)).sum(axis=1).mean())
    return np.mean(terms)


def codes_of(zs, c, n_codes):
    return [sinkhorn(normalize(z) @ normalize(c).T) for z in zs[:n_codes]]


# B = 3 images, d = 4, K = 5 prototypes; views 1-2 are "global", 3-4 "local".
Z = [
    np.array([[0.5, -1.0, 0.3, 0.2], [1.2, 0.4, -0.7, 0.1], [-0.3, 0.9, 0.8, -0.5]]),
    np.array([[0.6, -0.8, 0.1, 0.4], [1.0, 0.7, -0.5, -0.2], [-0.5, 1.1, 0.9, -0.1]]),
    np.array([[0.2, -0.9, 0.6, 0.0], [0.9, 0.1, -0.9, 0.3], [0.1, 0.7, 0.5, -0.8]]),
    np.array([[0.7, -0.4, 0.0, 0.5], [1.1, 0.6, -0.2, -0.4], [-0.6, 0.8, 1.2, 0.2]]),
]
C = np.array([
    [1.0, 0.0, 0.2, -0.1], [0.0, 1.0, -0.3, 0.2], [-0.4, 0.2, 1.0, 0.0], [0.3, -0.6, 0.1, 0.9],
    [-0.5, -0.5, 0.5, 0.5],
])
h = 1e-6
def grad_views(loss, zs):
    """Central differences of loss(views) with respect to every entry of every view."""
    g = np.zeros((len(zs),) + zs[0].shape)
    for v in range(len(zs)):
        for idx in np.ndindex(*zs[0].shape):
            plus = [z.copy() for z in zs]
            minus = [z.copy() for z in zs]
            plus[v][idx] += h
            minus[v][idx] -= h
            g[v][idx] = (loss(plus) - loss(minus)) / (2 * h)
    return g


for n_views in [2, 4]:
    zs = Z[:n_views]
    codes = codes_of(zs, C, 2)
    print(f"swav {n_views} views: codes of view 1 = {fmt(codes[0])}")
    print(f"  loss = {swav(zs, C, codes):.9f}")
    # Central differences with the codes fixed (they carry no gradient) ...
    gz = grad_views(lambda views: swav(views, C, codes), zs)
    gc = np.zeros_like(C)
    for idx in np.ndindex(*C.shape):
        plus, minus = C.copy(), C.copy()
        plus[idx] += h
        minus[idx] -= h
        gc[idx] = (swav(zs, plus, codes) - swav(zs, minus, codes)) / (2 * h)
    print(f"  d/dz = {fmt(gz)}")
    print(f"  d/dC = {fmt(gc)}")
    if n_views > 2:
        continue
    # ... and, for contrast, recomputing the codes from the perturbed inputs.
    gz_through = grad_views(lambda views: swav(views, C, codes_of(views, C, 2)), zs)
    print(f"  d/dz if the gradient went through the codes = {fmt(gz_through)}")
