//! Fully connected layer on a batch of row vectors, `y = x·Wᵀ + b`:
//!
//! ```text
//! x: (N, I),  W: (O, I),  b: (O,)   →   y: (N, O),   y[n, o] = Σ_i x[n, i]·W[o, i] + b[o]
//! ∂L/∂x = dY·W,   ∂L/∂W = dYᵀ·x,   ∂L/∂b = Σ_n dY[n, :]
//! ```
//!
//! dfdx's `Linear` needs the feature count as a type and adds the bias with a broadcast op
//! (one more pass forward, a strided reduction backward); the fast kernel writes the bias into
//! the output first and lets one `gemm` accumulate onto it.

use super::cpu::{self, GradPtr};
use super::{Mat, Vector};
use dfdx::prelude::*;

fn check(x: &(usize, usize), w: &(usize, usize), b: &(usize,)) -> (usize, usize, usize) {
    let ((n, i), (o, wi)) = (*x, *w);
    assert_eq!(i, wi, "linear: input has {i} features but the weight expects {wi}");
    assert_eq!(b.0, o, "linear: {o} outputs but the bias has {}", b.0);
    (n, i, o)
}

/// Reference from dfdx ops: `matmul` then a broadcast add.
pub fn linear_reference<D: Device<f32>, T: Tape<f32, D>>(x: Mat<D, T>, w: Mat<D>, b: Vector<D>) -> Mat<D, T> {
    let (n, _, o) = check(x.shape(), w.shape(), b.shape());
    x.matmul(w.retaped::<T>().permute::<_, Axes2<1, 0>>()) + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&(n, o))
}

/// Fast CPU path: bias rows, then one accumulating `gemm`; two `gemm`s and a column sum backward.
pub(super) fn linear_cpu<T: Tape<f32, Cpu>>(x: Mat<Cpu, T>, w: Mat<Cpu>, b: Vector<Cpu>) -> Mat<Cpu, T> {
    let (n, i, o) = check(x.shape(), w.shape(), b.shape());
    let (x, mut tape) = x.contiguous().split_tape();
    let (w, b) = (w.contiguous(), b.contiguous());
    let dev = x.device().clone();
    // every row starts as the bias (written once, no zero-fill first)
    let bias = cpu::data(&b);
    let mut y = Vec::with_capacity(n * o);
    (0..n).for_each(|_| y.extend_from_slice(bias));
    // y (N×O) += x (N×I) · Wᵀ (I×O)
    cpu::matmul(n, o, i, &mut y, (o, 1), true, cpu::data(&x), (i, 1), cpu::data(&w), (1, i));
    let y = cpu::tensor(&dev, y, (n, o));

    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("linear backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            let gw = GradPtr::of(grads, &w)?;
            let gb = GradPtr::of(grads, &b)?;
            // SAFETY: four distinct tensors, four distinct gradient buffers.
            let (gy, gx, gw, gb) = unsafe { (gy.slice(), gx.slice_mut(), gw.slice_mut(), gb.slice_mut()) };
            // dx (N×I) += dY (N×O) · W (O×I)
            cpu::matmul(n, i, o, gx, (i, 1), true, gy, (o, 1), cpu::data(&w), (i, 1));
            // dW (O×I) += dYᵀ (O×N) · x (N×I)
            cpu::matmul(o, i, n, gw, (i, 1), true, gy, (1, o), cpu::data(&x), (i, 1));
            for row in gy.chunks_exact(o.max(1)) {
                gb.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
            Ok(())
        });
    }
    y.put_tape(tape)
}
