"""Golden values for MoCHi (tests/mochi.rs), float64 NumPy, written from the formulas:
hard negatives = the N queue rows with the largest q.n; h = normalize(a*n_i + (1-a)*n_j);
InfoNCE with per-query extra negatives = CE over [q.k+, q.queue, q.extra_q] / tau, target 0."""
import numpy as np

def normalize(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)

q = normalize(np.array([[1.0, 0.2, 0.0], [0.0, 1.0, 0.5]]))
k = normalize(np.array([[0.9, 0.3, 0.1], [0.1, 0.8, 0.6]]))
queue = normalize(np.array([[0.0, 0.0, 1.0], [1.0, -1.0, 0.0], [-0.5, 0.5, 0.5], [0.8, 0.1, 0.1], [0.2, 0.9, 0.0]]))

print("q.queue =", q @ queue.T)
print("hardest 3 for q0:", list(np.argsort(-(q[0] @ queue.T), kind="stable")[:3]))
print("hardest 3 for q1:", list(np.argsort(-(q[1] @ queue.T), kind="stable")[:3]))
print("mix(queue3, queue4, 0.3) =", repr(normalize(0.3 * queue[3] + 0.7 * queue[4])))
print("mix(q0, queue3, 0.25) =", repr(normalize(0.25 * q[0] + 0.75 * queue[3])))

# extra negatives: query 0 gets [mix(queue3, queue4, 0.3), mix(q0, queue3, 0.25)],
# query 1 gets [mix(queue4, queue2, 0.6), mix(q1, queue4, 0.1)]
extra = np.stack([
    np.stack([normalize(0.3 * queue[3] + 0.7 * queue[4]), normalize(0.25 * q[0] + 0.75 * queue[3])]),
    np.stack([normalize(0.6 * queue[4] + 0.4 * queue[2]), normalize(0.1 * q[1] + 0.9 * queue[4])]),
])
for tau in [1.0, 0.2, 0.05]:
    logits = np.concatenate([np.sum(q * k, 1, keepdims=True), q @ queue.T, np.einsum("nd,nsd->ns", q, extra)], 1) / tau
    m = logits.max(1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(1))
    print(f"tau={tau}: loss with extra = {np.mean(lse - logits[:, 0]):.9f}")
