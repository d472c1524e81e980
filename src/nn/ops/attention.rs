//! Multi-head scaled dot-product attention (Vaswani et al., 2017), fused: from the packed
//! `[Q | K | V]` projections of a batch of token sequences to the heads' outputs, concatenated.
//!
//! For `B` sequences of `N` tokens, model width `D = H·d` (`H` heads of size `d`), the input is
//! the `(B·N, 3D)` matrix `[Q | K | V]` and, for every sequence `b` and head `h`:
//!
//! ```text
//! S = Q_bh·K_bhᵀ / √d   (N × N),   P = softmax(S) row-wise,   O_bh = P·V_bh   (N × d)
//! dV = Pᵀ·dO,   dP = dO·Vᵀ,   dS = P ⊙ (dP − rowsum(dP ⊙ P)),   dQ = dS·K / √d,   dK = dSᵀ·Q / √d
//! ```
//!
//! The output is `(B·N, D)` with head `h` in columns `h·d..(h+1)·d`. The fast kernel reads the
//! heads in place through strides (no split, permute or copy), keeps `P` for the backward pass
//! and runs the sequences of the batch in parallel.

use super::cpu::{self, Disjoint, GradPtr, Scratch};
use super::vmath;
use super::Mat;
use dfdx::prelude::*;

/// Attention maps `P`: `(B, H, N, N)`, row `i` of `P[b, h]` the weights token `i` gives to each token.
pub type Maps<D, T = NoneTape> = Tensor<(usize, usize, usize, usize), f32, D, T>;

/// Sizes of one attention call, checked against the input.
#[derive(Debug, Clone, Copy)]
struct Geom {
    batch: usize,
    tokens: usize,
    heads: usize,
    /// D = H·d
    width: usize,
    /// d
    head_dim: usize,
}

impl Geom {
    fn new(qkv: &(usize, usize), tokens: usize, heads: usize) -> Self {
        let (rows, three_d) = *qkv;
        assert!(tokens > 0 && heads > 0, "attention: tokens and heads must be positive");
        assert_eq!(rows % tokens, 0, "attention: {rows} rows is not a whole number of {tokens}-token sequences");
        assert_eq!(three_d % (3 * heads), 0, "attention: {three_d} columns is not [Q | K | V] for {heads} heads");
        let width = three_d / 3;
        Self { batch: rows / tokens, tokens, heads, width, head_dim: width / heads }
    }
    fn scale(&self) -> f32 {
        1.0 / (self.head_dim as f32).sqrt()
    }
}

/// One of Q (0), K (1), V (2) as `(B, H, N, d)`, composed from dfdx ops.
fn split<D: Device<f32>, T: Tape<f32, D>>(qkv: Mat<D, T>, g: &Geom, which: usize) -> Maps<D, T> {
    let cols = which * g.width..(which + 1) * g.width;
    qkv.slice((.., cols))
        .reshape_like(&(g.batch, g.tokens, g.heads, g.head_dim))
        .permute::<_, Axes4<0, 2, 1, 3>>()
}

/// `P = softmax(Q·Kᵀ/√d)` from dfdx ops; `qkv` is consumed for Q, K is taken from a retaped copy.
fn maps_from<D: Device<f32>, T: Tape<f32, D>>(qkv: Mat<D, T>, g: &Geom) -> Maps<D, T> {
    let k = split(qkv.retaped::<T>(), g, 1);
    let q = split(qkv, g, 0);
    (q.matmul(k.permute::<_, Axes4<0, 1, 3, 2>>()) * g.scale()).softmax::<Axis<3>>()
}

/// The attention maps `P` for `qkv` (no gradient): what each token attends to, per head.
pub fn attention_maps<D: Device<f32>>(qkv: Mat<D>, tokens: usize, heads: usize) -> Maps<D> {
    let g = Geom::new(qkv.shape(), tokens, heads);
    maps_from(qkv, &g)
}

/// Reference attention from dfdx ops: slices, reshapes, permutes, batched matmuls, softmax.
pub fn attention_reference<D: Device<f32>, T: Tape<f32, D>>(qkv: Mat<D, T>, tokens: usize, heads: usize) -> Mat<D, T> {
    let g = Geom::new(qkv.shape(), tokens, heads);
    let v = split(qkv.retaped::<T>(), &g, 2);
    maps_from(qkv, &g)
        .matmul(v)
        .permute::<_, Axes4<0, 2, 1, 3>>()
        .reshape_like(&(g.batch * g.tokens, g.width))
}

/// Fast CPU attention: per sequence and head, `gemm`s on strided views and a vectorised
/// softmax; sequences in parallel.
pub(super) fn attention_cpu<T: Tape<f32, Cpu>>(qkv: Mat<Cpu, T>, tokens: usize, heads: usize) -> Mat<Cpu, T> {
    let g = Geom::new(qkv.shape(), tokens, heads);
    let (n, d, dh, three_d) = (g.tokens, g.width, g.head_dim, 3 * g.width);
    let scale = g.scale();
    let (qkv, mut tape) = qkv.contiguous().split_tape();
    let dev = qkv.device().clone();
    let src = cpu::data(&qkv);
    let mut y = vec![0.0f32; g.batch * n * d];
    let mut probs = vec![0.0f32; g.batch * g.heads * n * n];
    {
        let (yd, pd) = (Disjoint::new(&mut y), Disjoint::new(&mut probs));
        cpu::parallel_for(g.batch, |b| {
            // SAFETY: sequence `b` owns its rows of `y` and its maps.
            let (yb, pb) = unsafe { (yd.chunk(b, n * d), pd.chunk(b, g.heads * n * n)) };
            let xb = &src[b * n * three_d..][..n * three_d];
            for h in 0..g.heads {
                let p = &mut pb[h * n * n..][..n * n];
                let (q, k, v) = (&xb[h * dh..], &xb[d + h * dh..], &xb[2 * d + h * dh..]);
                // S = Q·Kᵀ (the 1/√d goes into the softmax)
                cpu::matmul_serial(n, n, dh, p, (n, 1), false, q, (three_d, 1), k, (1, three_d));
                p.chunks_exact_mut(n).for_each(|row| vmath::softmax_row(row, scale));
                // O = P·V
                cpu::matmul_serial(n, dh, n, &mut yb[h * dh..], (d, 1), false, p, (n, 1), v, (three_d, 1));
            }
        });
    }
    let y = cpu::tensor(&dev, y, (g.batch * n, d));

    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("attention backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &qkv)?;
            // SAFETY: two distinct tensors, two distinct gradient buffers.
            let (gy, gx) = unsafe { (gy.slice(), gx.slice_mut()) };
            let src = cpu::data(&qkv);
            let gxd = Disjoint::new(gx);
            cpu::parallel_for(g.batch, |b| {
                // SAFETY: sequence `b` owns its rows of ∂L/∂qkv.
                let gb = unsafe { gxd.chunk(b, n * three_d) };
                let xb = &src[b * n * three_d..][..n * three_d];
                let dyb = &gy[b * n * d..][..n * d];
                let mut ds = Scratch::new(n * n);
                for h in 0..g.heads {
                    let p = &probs[(b * g.heads + h) * n * n..][..n * n];
                    let (q, k, v, dout) = (&xb[h * dh..], &xb[d + h * dh..], &xb[2 * d + h * dh..], &dyb[h * dh..]);
                    // dV += Pᵀ·dO
                    cpu::matmul_serial(n, dh, n, &mut gb[2 * d + h * dh..], (three_d, 1), true, p, (1, n), dout, (d, 1));
                    // dP = dO·Vᵀ
                    cpu::matmul_serial(n, n, dh, &mut ds, (n, 1), false, dout, (d, 1), v, (1, three_d));
                    // dS/√d = P ⊙ (dP − rowsum(dP ⊙ P)) / √d
                    for (dsr, pr) in ds.chunks_exact_mut(n).zip(p.chunks_exact(n)) {
                        let c = vmath::dot(dsr, pr);
                        dsr.iter_mut().zip(pr).for_each(|(s, &pv)| *s = scale * pv * (*s - c));
                    }
                    // dQ += dS·K,  dK += dSᵀ·Q
                    cpu::matmul_serial(n, dh, n, &mut gb[h * dh..], (three_d, 1), true, &ds, (n, 1), k, (three_d, 1));
                    cpu::matmul_serial(n, dh, n, &mut gb[d + h * dh..], (three_d, 1), true, &ds, (1, n), q, (three_d, 1));
                }
            });
            Ok(())
        });
    }
    y.put_tape(tape)
}
