//! Layer normalisation (Ba, Kiros & Hinton, 2016) over the features of each row, as in
//! transformers:
//!
//! ```text
//! μ_n = mean(x[n, :]),   σ²_n = mean((x[n, :] − μ_n)²)
//! x̂ = (x − μ_n) / sqrt(σ²_n + ε),   y = γ ⊙ x̂ + β
//! ∂L/∂β = Σ_n dy,   ∂L/∂γ = Σ_n dy ⊙ x̂
//! ∂L/∂x = 1/sqrt(σ²_n + ε) · (g − mean(g) − x̂ · mean(g ⊙ x̂)),   g = dy ⊙ γ
//! ```
//!
//! Unlike BatchNorm it has no running statistics: training and evaluation are the same.

use super::cpu::{self, Disjoint, GradPtr, Scratch};
use super::vmath;
use super::{Mat, Vector};
use dfdx::prelude::*;

/// Reference layer normalisation from dfdx ops (the formula above, op by op).
pub fn layer_norm_reference<D: Device<f32>, T: Tape<f32, D>>(x: Mat<D, T>, gamma: Vector<D>, beta: Vector<D>, eps: f32) -> Mat<D, T> {
    let shape = *x.shape();
    assert_eq!(gamma.shape().0, shape.1, "layer_norm: {} features but γ has {}", shape.1, gamma.shape().0);
    let mean = x.retaped::<T>().mean::<(usize,), Axis<1>>();
    let centered = x - mean.broadcast_like::<_, Axis<1>>(&shape);
    let var = centered.retaped::<T>().square().mean::<(usize,), Axis<1>>();
    let xhat = centered / (var + eps).sqrt().broadcast_like::<_, Axis<1>>(&shape);
    xhat * gamma.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape) + beta.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape)
}

/// Rows per parallel task: enough work per task to amortise the hand-off.
const ROWS_PER_TASK: usize = 64;

/// Fast CPU layer normalisation: one pass over each row forward (statistics, then output),
/// one backward; rows split across threads.
pub(super) fn layer_norm_cpu<T: Tape<f32, Cpu>>(x: Mat<Cpu, T>, gamma: Vector<Cpu>, beta: Vector<Cpu>, eps: f32) -> Mat<Cpu, T> {
    let (rows, d) = *x.shape();
    assert_eq!(gamma.shape().0, d, "layer_norm: {d} features but γ has {}", gamma.shape().0);
    assert!(d > 0, "layer_norm: rows must not be empty");
    let (x, mut tape) = x.contiguous().split_tape();
    let dev = x.device().clone();
    let (g, bt) = (gamma.as_vec(), beta.as_vec());
    let xs = cpu::data(&x);
    let mut y = vec![0.0f32; rows * d];
    // 1/sqrt(σ² + ε) and μ of every row, kept for the backward pass
    let mut inv_std = vec![0.0f32; rows];
    let mut mean = vec![0.0f32; rows];
    let tasks = rows.div_ceil(ROWS_PER_TASK);
    {
        let (yd, sd, md) = (Disjoint::new(&mut y), Disjoint::new(&mut inv_std), Disjoint::new(&mut mean));
        cpu::parallel_for(tasks, |t| {
            let r0 = t * ROWS_PER_TASK;
            let nr = ROWS_PER_TASK.min(rows - r0);
            // SAFETY: task `t` owns rows r0..r0 + nr of every output.
            let (ys, ss, ms) = unsafe { (yd.chunk_at(r0 * d, nr * d), sd.chunk_at(r0, nr), md.chunk_at(r0, nr)) };
            for r in 0..nr {
                let xr = &xs[(r0 + r) * d..][..d];
                let m = vmath::sum(xr) / d as f32;
                let var = xr.iter().map(|&v| (v - m) * (v - m)).sum::<f32>() / d as f32;
                let s = 1.0 / (var + eps).sqrt();
                (ms[r], ss[r]) = (m, s);
                for (((yv, &xv), &gv), &bv) in ys[r * d..][..d].iter_mut().zip(xr).zip(&g).zip(&bt) {
                    *yv = (xv - m) * s * gv + bv;
                }
            }
        });
    }
    let y = cpu::tensor(&dev, y, (rows, d));

    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("layer_norm backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            let gg = GradPtr::of(grads, &gamma)?;
            let gb = GradPtr::of(grads, &beta)?;
            // SAFETY: four distinct tensors, four distinct gradient buffers.
            let (gy, gx, gg, gb) = unsafe { (gy.slice(), gx.slice_mut(), gg.slice_mut(), gb.slice_mut()) };
            let xs = cpu::data(&x);
            // Per task: ∂L/∂x of its rows, and its partial sums of ∂L/∂γ, ∂L/∂β (2·d values).
            let mut partial = vec![0.0f32; tasks * 2 * d];
            {
                let (dxd, pd) = (Disjoint::new(gx), Disjoint::new(&mut partial));
                cpu::parallel_for(tasks, |t| {
                    let r0 = t * ROWS_PER_TASK;
                    let nr = ROWS_PER_TASK.min(rows - r0);
                    // SAFETY: task `t` owns rows r0..r0 + nr of ∂L/∂x and its own partial sums.
                    let (dx, part) = unsafe { (dxd.chunk_at(r0 * d, nr * d), pd.chunk(t, 2 * d)) };
                    let (pg, pb) = part.split_at_mut(d);
                    let mut gxhat = Scratch::new(d);
                    let mut xhat = Scratch::new(d);
                    for r in 0..nr {
                        let (xr, dyr) = (&xs[(r0 + r) * d..][..d], &gy[(r0 + r) * d..][..d]);
                        let (m, s) = (mean[r0 + r], inv_std[r0 + r]);
                        for j in 0..d {
                            xhat[j] = (xr[j] - m) * s;
                            gxhat[j] = dyr[j] * g[j];
                            pg[j] += dyr[j] * xhat[j];
                            pb[j] += dyr[j];
                        }
                        let mean_g = vmath::sum(&gxhat) / d as f32;
                        let mean_gx = vmath::dot(&gxhat, &xhat) / d as f32;
                        for ((dxv, &gv), &xh) in dx[r * d..][..d].iter_mut().zip(gxhat.iter()).zip(xhat.iter()) {
                            *dxv += s * (gv - mean_g - xh * mean_gx);
                        }
                    }
                });
            }
            for part in partial.chunks_exact(2 * d) {
                gg.iter_mut().zip(&part[..d]).for_each(|(a, b)| *a += b);
                gb.iter_mut().zip(&part[d..]).for_each(|(a, b)| *a += b);
            }
            Ok(())
        });
    }
    y.put_tape(tape)
}
