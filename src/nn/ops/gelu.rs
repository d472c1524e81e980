//! GELU, the Gaussian error linear unit (Hendrycks & Gimpel, 2016), in its tanh form (as
//! PyTorch's `nn.GELU(approximate="tanh")`, GPT-2, and dfdx's `fast_gelu`):
//!
//! ```text
//! GELU(x) = x·Φ(x) ≈ ½x·(1 + tanh(u)),   u = √(2/π)·(x + 0.044715·x³)
//! GELU'(x) = ½(1 + tanh u) + ½x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)
//! ```
//!
//! The tanh form differs from the exact `x·Φ(x)` by less than 10⁻³. It is used rather than
//! the exact one because dfdx 0.13's `accurate_gelu` has a wrong derivative (its `φ` lacks a
//! factor 1/√2), so it could not serve as the reference. dfdx's `fast_gelu` calls the scalar
//! `tanh` per element; the fast kernel uses the vectorised `exp` of [`super::vmath`].

use super::cpu::{self, Disjoint, GradPtr};
use super::vmath;
use super::Mat;
use dfdx::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 16;

/// Reference GELU: dfdx's `fast_gelu` (the same tanh form).
pub fn gelu_reference<D: Device<f32>, T: Tape<f32, D>>(x: Mat<D, T>) -> Mat<D, T> {
    x.fast_gelu()
}

/// Fast CPU GELU: one vectorised pass forward, one backward, in chunks across threads.
pub(super) fn gelu_cpu<T: Tape<f32, Cpu>>(x: Mat<Cpu, T>) -> Mat<Cpu, T> {
    let shape = *x.shape();
    let (x, mut tape) = x.contiguous().split_tape();
    let dev = x.device().clone();
    let xs = cpu::data(&x);
    let mut y = vec![0.0f32; xs.len()];
    {
        let yd = Disjoint::new(&mut y);
        cpu::parallel_for(xs.len().div_ceil(CHUNK), |i| {
            let r = i * CHUNK..xs.len().min((i + 1) * CHUNK);
            // SAFETY: task `i` owns its chunk of `y`.
            vmath::gelu_forward(&xs[r.clone()], unsafe { yd.chunk_at(r.start, r.len()) });
        });
    }
    let y = cpu::tensor(&dev, y, shape);
    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("gelu backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            // SAFETY: two distinct tensors, two distinct gradient buffers.
            let (gy, gx) = unsafe { (gy.slice(), gx.slice_mut()) };
            let (xs, gxd) = (cpu::data(&x), Disjoint::new(gx));
            cpu::parallel_for(xs.len().div_ceil(CHUNK), |i| {
                let r = i * CHUNK..xs.len().min((i + 1) * CHUNK);
                // SAFETY: task `i` owns its chunk of ∂L/∂x.
                vmath::gelu_backward(&xs[r.clone()], &gy[r.clone()], unsafe { gxd.chunk_at(r.start, r.len()) });
            });
            Ok(())
        });
    }
    y.put_tape(tape)
}
