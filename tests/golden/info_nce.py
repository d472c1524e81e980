"""Independent NumPy reference for InfoNCE and InstDisc's memory-bank update
(tests/instdisc.rs embeds the printed values).

Run:  python3 tests/golden/info_nce.py
"""
import numpy as np


def normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def info_nce(q, k_pos, negatives, tau):
    """-log exp(q.k+/tau) / (exp(q.k+/tau) + sum_k- exp(q.k-/tau)), averaged over queries."""
    total = 0.0
    for i in range(q.shape[0]):
        logits = [q[i] @ k_pos[i] / tau] + [q[i] @ n / tau for n in negatives]
        m = max(logits)
        total += m + np.log(sum(np.exp(l - m) for l in logits)) - logits[0]
    return total / q.shape[0]


Q = normalize(np.array([[1.0, 0.2, 0.0], [0.0, 1.0, 0.5]]))
K_POS = normalize(np.array([[0.9, 0.3, 0.1], [0.1, 0.8, 0.6]]))
NEG = normalize(np.array([[0.0, 0.0, 1.0], [1.0, -1.0, 0.0], [-0.5, 0.5, 0.5]]))
for tau in [1.0, 0.2, 0.05, 0.001]:
    print(f"tau={tau}: info_nce={info_nce(Q, K_POS, NEG, tau):.9f}")

# memory bank update V_i <- normalize(m V_i + (1 - m) q) on row 1 of a 3-row bank, m = 0.5
bank = normalize(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
q = normalize(np.array([1.0, 1.0, 1.0]))
bank[1] = normalize(0.5 * bank[1] + 0.5 * q)
print("bank row 1 after update:", ", ".join(f"{v:.9f}" for v in bank[1]))
