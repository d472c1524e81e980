"""Independent NumPy references for the hidden tests of part 4's graded exercises
(tests/hidden/dino_loss.rs, dino_centre.rs and vit_attention.rs paste the values it prints).

Written from the papers' formulas in float64, not from the library's Rust code:

* DINO's loss (Caron et al. 2021, Algorithm 1 and the official multi-crop DINOLoss): the
  teacher's targets P_t(x_i) = softmax((t_i - c) / tau_t) for the two global crops i, the
  student's log P_s(x_v) = log_softmax(s_v / tau_s) for every crop v, and
  L = 1 / (2 (V - 1)) * sum_i sum_{v != i} mean_b [-sum_k P_t(x_i)_k log P_s(x_v)_k], written
  as the paper's double loop over (teacher crop, student crop) pairs; its gradient with respect
  to the student's outputs by central differences.
* DINO's centre: c <- m_c c + (1 - m_c) mean over the rows (images x global crops) of t; the
  teacher temperature's linear warm-up tau_t(step) = from + (to - from) step / warmup for
  step < warmup, then to.
* Scaled dot-product attention (Vaswani et al. 2017): A = softmax_rows(Q K^T / sqrt(d)),
  out = A V; multi-head on the packed rows [Q | K | V] of the ViT (Dosovitskiy et al. 2021),
  head h in columns h*d .. (h+1)*d of each block, outputs concatenated.

Run:  python3 tests/golden/exercises_part4.py [dino|centre|attention]   (no argument: all three)
"""
import sys

import numpy as np

WHICH = sys.argv[1:] or ["dino", "centre", "attention"]


def fmt(values):
    return " ".join(f"{v:.9f}" for v in np.ravel(values))


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


# ---------------------------------------------------------------- DINO's loss
def dino(student, teacher, centre, tau_s, tau_t):
    """student: the V crops' (B, K) outputs, global crops first; teacher: the 2 global crops'."""
    total, pairs = 0.0, 0
    for i, t in enumerate(teacher):
        p_t = softmax((t - centre) / tau_t)
        for v, s in enumerate(student):
            if v == i:
                continue
            total += -(p_t * log_softmax(s / tau_s)).sum(axis=1).mean()
            pairs += 1
    return total / pairs


# B = 2 images, K = 3 outputs; 2 global crops (S1, S2) and 2 local ones (S3, S4).
S1 = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]])
S2 = np.array([[-0.2, 0.6, 0.3], [0.7, -0.1, 0.0]])
S3 = np.array([[0.3, 0.3, -0.5], [-0.4, 0.2, 0.8]])
S4 = np.array([[0.9, -0.7, 0.1], [0.0, -0.3, 0.4]])
T1 = np.array([[0.6, 0.1, -0.2], [-0.3, 0.5, 0.2]])
T2 = np.array([[0.2, 0.4, 0.0], [0.3, -0.2, 0.6]])
C = np.array([0.1, -0.05, 0.15])
if "dino" in WHICH:
    print("dino")
    print(f"  teacher targets, tau_t=0.04: {fmt(softmax((np.vstack([T1, T2]) - C) / 0.04))}")
    print(f"  teacher targets, tau_t=0.07: {fmt(softmax((np.vstack([T1, T2]) - C) / 0.07))}")
    # Large outputs: a softmax without its maximum subtracted overflows (25 000 / 0.04 ...).
    big, big_c = np.array([[1000.0, 1000.5, 999.0]]), np.array([0.0, 0.3, -0.4])
    print(f"  teacher targets of large outputs, tau_t=0.04: {fmt(softmax((big - big_c) / 0.04))}")
    print(f"  two global crops, tau_s=0.1 tau_t=0.04: {fmt([dino([S1, S2], [T1, T2], C, 0.1, 0.04)])}")
    print(f"  four crops, tau_s=0.1 tau_t=0.04: {fmt([dino([S1, S2, S3, S4], [T1, T2], C, 0.1, 0.04)])}")
    print(f"  four crops, tau_s=0.2 tau_t=0.07: {fmt([dino([S1, S2, S3, S4], [T1, T2], C, 0.2, 0.07)])}")
    print(f"  three crops, tau_s=0.1 tau_t=0.04: {fmt([dino([S1, S2, S3], [T1, T2], C, 0.1, 0.04)])}")
    # Gradient of the four-crop loss (tau_s = 0.1, tau_t = 0.04) with respect to every output.
    crops, h = [S1, S2, S3, S4], 1e-6
    for u in range(4):
        g = np.zeros_like(crops[u])
        for idx in np.ndindex(*crops[u].shape):
            plus = [w.copy() for w in crops]
            minus = [w.copy() for w in crops]
            plus[u][idx] += h
            minus[u][idx] -= h
            g[idx] = (dino(plus, [T1, T2], C, 0.1, 0.04) - dino(minus, [T1, T2], C, 0.1, 0.04)) / (2 * h)
        print(f"  gradient of crop {u + 1}: {fmt(g)}")


# ---------------------------------------------------------------- DINO's centre and tau_t
def update_centre(c, t, m):
    return m * c + (1 - m) * t.mean(axis=0)


def teacher_temperature(start, end, warmup, step):
    return end if step >= warmup else start + (end - start) * step / warmup


# The teacher's raw outputs of both global crops of 3 images: 6 rows of K = 4.
TC = np.array([[0.8, -0.2, 0.1, 0.5], [0.3, 0.6, -0.4, 0.0], [-0.1, 0.2, 0.9, -0.3],
               [0.5, 0.1, 0.2, 0.7], [0.0, 0.4, -0.6, 0.2], [0.6, -0.5, 0.3, 0.1]])
TC2 = np.array([[0.2, 0.2, -0.1, 0.4], [-0.6, 0.3, 0.5, 0.1]])
C0 = np.array([0.05, -0.1, 0.2, 0.0])
if "centre" in WHICH:
    print("centre")
    print(f"  batch mean: {fmt(TC.mean(axis=0))}")
    print(f"  m_c=0.9: {fmt(update_centre(C0, TC, 0.9))}")
    print(f"  m_c=0.5: {fmt(update_centre(C0, TC, 0.5))}")
    print(f"  m_c=0.9, then 2 rows at m_c=0.9: {fmt(update_centre(update_centre(C0, TC, 0.9), TC2, 0.9))}")
    steps = [0, 1, 7, 15, 29, 30, 31, 1000]
    print(f"  tau_t 0.04 -> 0.07 over 30 steps at steps {steps}: {fmt([teacher_temperature(0.04, 0.07, 30, s) for s in steps])}")
    steps = [0, 3, 9, 10]
    print(f"  tau_t 0.07 -> 0.04 over 10 steps at steps {steps}: {fmt([teacher_temperature(0.07, 0.04, 10, s) for s in steps])}")


# ---------------------------------------------------------------- attention
def attention(q, k, v):
    a = softmax(q @ k.T / np.sqrt(q.shape[1]))
    return a @ v, a


def multi_head(qkv, heads):
    d_model = qkv.shape[1] // 3
    d = d_model // heads
    outs, maps = [], []
    for h in range(heads):
        q, k, v = (qkv[:, w * d_model + h * d: w * d_model + (h + 1) * d] for w in range(3))
        o, a = attention(q, k, v)
        outs.append(o)
        maps.append(a)
    return np.concatenate(outs, axis=1), np.stack(maps)


# n = 4 tokens, d = 3.
Q = np.array([[0.9, -0.4, 0.3], [0.1, 0.8, -0.5], [-0.7, 0.2, 0.6], [0.4, 0.4, -0.9]])
K = np.array([[0.5, 0.2, -0.8], [-0.3, 0.9, 0.1], [0.6, -0.6, 0.4], [0.0, 0.3, 0.7]])
V = np.array([[1.0, -0.5, 0.2], [0.3, 0.8, -1.1], [-0.6, 0.4, 0.9], [0.2, -0.9, 0.5]])
# n = 3 tokens, 2 heads of d = 2 (d_model = 4): rows [q (4) | k (4) | v (4)].
QKV = np.array([[0.6, -0.2, 0.9, 0.1, 0.3, 0.8, -0.5, 0.2, 1.0, -0.4, 0.5, 0.7],
                [-0.3, 0.7, 0.2, -0.8, 0.9, -0.1, 0.4, 0.6, -0.2, 0.3, -0.9, 0.1],
                [0.5, 0.4, -0.6, 0.3, -0.7, 0.2, 0.8, -0.3, 0.6, 0.9, 0.0, -0.5]])
if "attention" in WHICH:
    print("attention")
    out, a = attention(Q, K, V)
    print(f"  one head, n=4 d=3: weights {fmt(a)}")
    print(f"    output {fmt(out)}")
    # Every score raised by 800 (a fourth feature of 40 in every query and key: 40 * 40 / sqrt(4)):
    # the same softmax as the scores q.k / 2 without it, but exp(800) overflows unless the row
    # maximum is subtracted.
    Q4, K4 = (np.hstack([m, np.full((4, 1), 40.0)]) for m in (Q, K))
    V4 = np.hstack([V, np.array([[0.5], [-0.2], [0.1], [0.7]])])
    out, a = attention(Q4, K4, V4)
    print(f"  large scores (a fourth feature of 40), n=4 d=4: weights {fmt(a)}")
    print(f"    output {fmt(out)}")
    out, a = multi_head(QKV, 2)
    print(f"  two heads, n=3 d_model=4: weights {fmt(a)}")
    print(f"    output {fmt(out)}")
