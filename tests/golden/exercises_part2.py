"""Independent NumPy references for the hidden tests of part 2's graded exercises
(tests/hidden/barlow_twins.rs, distillation_loss.rs, byol.rs paste the values it prints).

Written from the lecture's formulas in float64, not from the library's Rust code, on inputs of
their own (not those of tests/golden/{barlow,distill,byol}.py):

* Barlow Twins: each column of each view standardised over the batch on its own,
  (z - mean) / sqrt(var + 1e-5) with the biased variance; C = za^T zb / N;
  L = sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2.
* Distillation: L = alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(y, s),
  KL summed over the classes and averaged over the batch, CE averaged over the batch.
* BYOL: mean over rows of 2 - 2 cos(p_b, z_b); tau(progress) = 1 - (1 - base)(cos(pi progress) + 1)/2.

Run:  python3 tests/golden/exercises_part2.py
"""
import numpy as np


# ---------------------------------------------------------------- Barlow Twins
def standardise(z, eps=1e-5):
    centred = z - z.mean(axis=0)
    return centred / np.sqrt((centred ** 2).mean(axis=0) + eps)


def barlow(za, zb, lam):
    c = standardise(za).T @ standardise(zb) / za.shape[0]
    on = ((1.0 - np.diag(c)) ** 2).sum()
    off = (c ** 2).sum() - (np.diag(c) ** 2).sum()
    return on + lam * off


# 5 images, 3 dimensions (N != D, so an N x N "C" cannot pass for the D x D one).
ZA = np.array([[0.9, -0.2, 1.4], [0.1, 0.8, -0.6], [-1.1, 0.5, 0.3], [0.4, -1.3, 0.7], [1.6, 0.2, -0.9]])
ZB = np.array([[1.2, 0.1, 0.9], [-0.3, 0.6, -0.2], [-0.8, 1.0, 0.8], [0.5, -0.9, 0.1], [1.1, -0.4, -1.3]])
print("barlow_twins")
for lam in [0.0, 0.25]:
    print(f"  lambda={lam}: loss={barlow(ZA, ZB, lam):.9f}")
# Dimension 1 of view A constant (0.5 for every image): variance 0, standardised to 0.
ZA_CONST = ZA.copy()
ZA_CONST[:, 1] = 0.5
print(f"  constant dimension, lambda=0: loss={barlow(ZA_CONST, ZB, 0.0):.9f}")
print(f"  constant dimension, lambda=0.25: loss={barlow(ZA_CONST, ZB, 0.25):.9f}")


# ---------------------------------------------------------------- distillation
def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def kl_teacher_student(s, t, temp):
    log_pt, log_ps = log_softmax(t / temp), log_softmax(s / temp)
    return (np.exp(log_pt) * (log_pt - log_ps)).sum(axis=1).mean()


def distill(s, t, y, temp, alpha):
    ce = -log_softmax(s)[np.arange(len(y)), y].mean()
    return alpha * temp ** 2 * kl_teacher_student(s, t, temp) + (1.0 - alpha) * ce


# 3 images, 4 classes.
S = np.array([[1.5, -0.5, 0.2, 0.9], [-1.0, 2.0, 0.4, 0.0], [0.3, 0.3, -0.7, 1.8]])
T = np.array([[2.5, -1.5, 0.0, 2.0], [-2.0, 3.0, 1.5, -0.5], [1.0, 0.0, -2.0, 3.5]])
Y = np.array([2, 1, 3])
print("distillation_loss")
for temp, alpha in [(1.0, 1.0), (1.0, 0.0), (4.0, 1.0), (3.0, 0.7)]:
    print(f"  T={temp} alpha={alpha}: loss={distill(S, T, Y, temp, alpha):.9f}")
# The other orientation, to show the two differ on these logits.
print(f"  KL(student || teacher) at T=1 (the wrong orientation): {kl_teacher_student(T, S, 1.0):.9f}")
# Logits x100 (up to 350): exp overflows float32 without the max subtracted.
print(f"  logits x100, T=2 alpha=0.5: loss={distill(S * 100.0, T * 100.0, Y, 2.0, 0.5):.9f}")


# ---------------------------------------------------------------- BYOL
def byol(p, z):
    pn = p / np.linalg.norm(p, axis=1, keepdims=True)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    return (2.0 - 2.0 * (pn * zn).sum(axis=1)).mean()


def cosine_tau(base, progress):
    return 1.0 - (1.0 - base) * (np.cos(np.pi * progress) + 1.0) / 2.0


# 4 rows of 3 values, of different norms.
P = np.array([[2.0, -1.0, 0.5], [0.3, 0.4, -1.2], [-1.5, 2.5, 1.0], [0.1, -0.2, 0.05]])
Z = np.array([[1.0, 0.5, 0.5], [-0.6, 0.9, -0.3], [-2.0, 1.0, 3.0], [0.4, -0.1, 0.2]])
print("byol")
print(f"  loss={byol(P, Z):.9f}")
for base, progress in [(0.99, 0.25), (0.99, 0.75), (0.9, 0.1)]:
    print(f"  tau_base={base} progress={progress}: tau={cosine_tau(base, progress):.12f}")
