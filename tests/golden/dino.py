"""Independent NumPy reference for DINO's loss, centre and diagnostics (tests/dino.rs embeds
the printed values). Written from the paper's Algorithm 1 and the official multi-crop loss
(facebookresearch/dino, DINOLoss), not from the Rust code:

    P_t(x_i) = softmax((t_i - C) / tau_t)      teacher, global crops i = 1, 2
    log P_s(x_v) = log_softmax(s_v / tau_s)    student, every crop v
    L = sum over i, v != i of  -mean_b sum_k P_t log P_s,  divided by the number of pairs
    C <- m C + (1 - m) mean over both global crops and the batch of t

Run:  python3 tests/golden/dino.py
"""
import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def dino(student, teacher, centre, tau_s, tau_t):
    """student: list of V arrays (B, K); teacher: list of the 2 global crops' (B, K)."""
    total, pairs = 0.0, 0
    for i, t in enumerate(teacher):
        p_t = softmax((t - centre) / tau_t)
        for v, s in enumerate(student):
            if v == i:
                continue
            total += -(p_t * log_softmax(s / tau_s)).sum(axis=1).mean()
            pairs += 1
    return total / pairs


# B = 2 images, K = 4 outputs, V = 3 crops (2 global + 1 local).
S = [np.array([[0.2, -0.5, 1.0, 0.3], [0.8, 0.1, -0.4, 0.0]]),
     np.array([[-0.3, 0.6, 0.2, 0.9], [0.5, -0.7, 0.3, 0.4]]),
     np.array([[1.1, 0.0, -0.2, 0.5], [-0.6, 0.9, 0.7, -0.1]])]
T = [np.array([[0.4, -0.2, 0.9, 0.1], [0.7, 0.3, -0.5, 0.2]]),
     np.array([[-0.1, 0.5, 0.4, 0.8], [0.6, -0.4, 0.1, 0.3]])]
C = np.array([0.05, -0.1, 0.2, 0.0])
TAU_S, TAU_T = 0.1, 0.04

print(f"loss={dino(S, T, C, TAU_S, TAU_T):.9f}")
print(f"two crops: loss={dino(S[:2], T, C, TAU_S, TAU_T):.9f}")
print(f"no sharpening (tau_t = tau_s): loss={dino(S, T, C, TAU_S, TAU_S):.9f}")
print("teacher targets:", ", ".join(f"{v:.9f}" for v in softmax((np.vstack(T) - C) / TAU_T).ravel()))

eps = 1e-6
grad = []
for v in range(len(S)):
    for idx in np.ndindex(*S[v].shape):
        plus = [s.copy() for s in S]
        minus = [s.copy() for s in S]
        plus[v][idx] += eps
        minus[v][idx] -= eps
        grad.append((dino(plus, T, C, TAU_S, TAU_T) - dino(minus, T, C, TAU_S, TAU_T)) / (2 * eps))
print("d/ds:", ", ".join(f"{g:.9f}" for g in grad))

m = 0.9
print("centre:", ", ".join(f"{c:.9f}" for c in m * C + (1 - m) * np.vstack(T).mean(axis=0)))

p = softmax((np.vstack(T) - C) / TAU_T)
q = softmax(np.vstack(S[:2]) / TAU_S)
print(f"entropy={(-(p * np.log(p)).sum(axis=1)).mean():.9f}")
print(f"kl={(p * np.log(p / q)).sum(axis=1).mean():.9f}")

# The run's diagnostics compare each global crop's target with the student's *other* global
# crop (the pairs the loss uses): mean of KL(p_1 || q_2) and KL(p_2 || q_1).
p1, p2 = p[:2], p[2:]
q1, q2 = q[:2], q[2:]
swapped = ((p1 * np.log(p1 / q2)).sum(axis=1).mean() + (p2 * np.log(p2 / q1)).sum(axis=1).mean()) / 2
print(f"swapped kl={swapped:.9f}")
