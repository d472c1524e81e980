//! Batch normalisation in training mode (Ioffe & Szegedy, 2015), per channel over `(B, H, W)`:
//!
//! ```text
//! μ_c = mean(x[:, c]),   σ²_c = mean((x[:, c] − μ_c)²)          (biased, as used to normalise)
//! x̂ = (x − μ_c) / sqrt(σ²_c + ε),   y = γ_c · x̂ + β_c
//! ∂L/∂β_c = Σ dy,   ∂L/∂γ_c = Σ dy · x̂
//! ∂L/∂x = γ_c / sqrt(σ²_c + ε) · (dy − mean(dy) − x̂ · mean(dy · x̂))
//! ```
//!
//! The running averages used at evaluation time are updated by the layer
//! ([`crate::nn::BatchNorm2d`]) from the [`BatchStats`] returned here.

use super::cpu::{self, Disjoint, GradPtr};
use super::{Img, Vector};
use dfdx::prelude::*;

/// Per-channel statistics of one batch (off the tape).
#[derive(Debug, Clone)]
pub struct BatchStats<D: Storage<f32>> {
    /// μ, shape `(C,)`.
    pub mean: Vector<D>,
    /// σ² (biased: divided by the count), shape `(C,)`.
    pub var: Vector<D>,
    /// Number of values per channel, `B·H·W` (to turn σ² into the unbiased estimate).
    pub count: usize,
}

/// Reference batch normalisation from dfdx ops (the formula above, op by op).
pub fn batchnorm2d_reference<D: Device<f32>, T: Tape<f32, D>>(
    x: Img<D, T>,
    gamma: Vector<D>,
    beta: Vector<D>,
    eps: f32,
) -> (Img<D, T>, BatchStats<D>) {
    let shape = *x.shape();
    let count = shape.0 * shape.2 * shape.3;
    let mean = x.retaped::<T>().mean::<(usize,), Axes3<0, 2, 3>>();
    let stats_mean = mean.retaped::<NoneTape>();
    let centered = x - mean.broadcast_like::<_, Axes3<0, 2, 3>>(&shape);
    let var = centered.retaped::<T>().square().mean::<(usize,), Axes3<0, 2, 3>>();
    let stats_var = var.retaped::<NoneTape>();
    let scale = gamma.retaped::<T>() / (var + eps).sqrt();
    let y = centered * scale.broadcast_like::<_, Axes3<0, 2, 3>>(&shape)
        + beta.retaped::<T>().broadcast_like::<_, Axes3<0, 2, 3>>(&shape);
    (y, BatchStats { mean: stats_mean, var: stats_var, count })
}

/// Reference for the fused `relu(batchnorm(x))`: [`batchnorm2d_reference`], then dfdx's `relu`.
pub fn batchnorm2d_relu_reference<D: Device<f32>, T: Tape<f32, D>>(
    x: Img<D, T>,
    gamma: Vector<D>,
    beta: Vector<D>,
    eps: f32,
) -> (Img<D, T>, BatchStats<D>) {
    let (y, stats) = batchnorm2d_reference(x, gamma, beta, eps);
    (y.relu(), stats)
}

/// Σ of a slice in f32 with eight independent accumulators (so the loop vectorises); the
/// callers add these per-plane sums (at most a few thousand values) up in f64.
fn sum8(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] += f(c[k]);
        }
    }
    acc.iter().sum::<f32>() + rest.iter().map(|&v| f(v)).sum::<f32>()
}

/// `d` where `y > 0` (the ReLU's gradient mask) when `RELU`, else `d`; a select, so the loops
/// that use it vectorise.
#[inline(always)]
fn masked<const RELU: bool>(d: f32, y: f32) -> f32 {
    if !RELU || y > 0.0 {
        d
    } else {
        0.0
    }
}

/// `(Σ dy, Σ dy·(x − m))` over one plane, with `dy = masked::<RELU>(d, y)`.
fn plane_grad_sums<const RELU: bool>(d: &[f32], x: &[f32], y: &[f32], m: f32) -> (f32, f32) {
    let (mut acc, mut acc_x) = ([0.0f32; 8], [0.0f32; 8]);
    let (dc, xc, yc) = (d.chunks_exact(8), x.chunks_exact(8), y.chunks_exact(8));
    let (mut tail, mut tail_x) = (0.0f32, 0.0f32);
    for ((&dv, &xv), &yv) in dc.remainder().iter().zip(xc.remainder()).zip(yc.remainder()) {
        let g = masked::<RELU>(dv, yv);
        tail += g;
        tail_x += g * (xv - m);
    }
    for ((dv, xv), yv) in dc.zip(xc).zip(yc) {
        for k in 0..8 {
            let g = masked::<RELU>(dv[k], yv[k]);
            acc[k] += g;
            acc_x[k] += g * (xv[k] - m);
        }
    }
    (acc.iter().sum::<f32>() + tail, acc_x.iter().sum::<f32>() + tail_x)
}

/// Per-channel pairs of sums `Σ_{b,h,w} f(plane, ch)` over the `B·C` planes of `hw` values,
/// where `f` returns the two sums over one plane. Split by batch element: each thread walks
/// its images in memory order into its own f64 partial sums (walking one channel through all
/// images instead strides by `C·H·W` values, which starves the prefetcher when planes are
/// small), and the partials are then added in thread order.
fn channel_sums(b: usize, c: usize, f: impl Fn(usize, usize) -> (f32, f32) + Sync + Send) -> Vec<(f64, f64)> {
    let partials = cpu::split_map(b, |images| {
        let mut acc = vec![(0.0f64, 0.0f64); c];
        for bi in images {
            for (ch, a) in acc.iter_mut().enumerate() {
                let (s0, s1) = f(bi * c + ch, ch);
                a.0 += s0 as f64;
                a.1 += s1 as f64;
            }
        }
        acc
    });
    let mut total = vec![(0.0f64, 0.0f64); c];
    for part in partials {
        for (t, p) in total.iter_mut().zip(part) {
            t.0 += p.0;
            t.1 += p.1;
        }
    }
    total
}

/// Fast CPU batch normalisation: two passes forward, two passes backward, each split across
/// [`cpu::threads`] by batch element: the per-channel statistics (forward: mean, variance;
/// backward: Σ dy, Σ dy·x̂) as per-thread partial sums in f64 (see [`channel_sums`]), the
/// element-wise normalisation and `dx` by blocks of images. The thread count changes only
/// how the f64 partial sums are grouped.
///
/// With `relu`, the output is `max(0, y)` (the conv → BN → ReLU block in one op): the ReLU
/// costs nothing extra forward, and backward `dy` is masked by `y > 0` on the fly, which saves
/// dfdx's separate ReLU pass and its gradient buffer, each as large as the activation.
pub(super) fn batchnorm2d_cpu<T: Tape<f32, Cpu>>(
    x: Img<Cpu, T>,
    gamma: Vector<Cpu>,
    beta: Vector<Cpu>,
    eps: f32,
    relu: bool,
) -> (Img<Cpu, T>, BatchStats<Cpu>) {
    let shape = *x.shape();
    let (b, c, h, w) = shape;
    assert_eq!(gamma.shape().0, c, "batchnorm2d: {c} channels but γ has {}", gamma.shape().0);
    let hw = h * w;
    let count = b * hw;
    let (x, mut tape) = x.contiguous().split_tape();
    let dev = x.device().clone();
    let xs = cpu::data(&x);
    let (g, bt) = (gamma.as_vec(), beta.as_vec());

    // (mean, biased variance) per channel, in f64
    let plane = |p: usize| &xs[p * hw..][..hw];
    let means: Vec<f64> = channel_sums(b, c, |p, _| (sum8(plane(p), |v| v), 0.0)).iter().map(|s| s.0 / count as f64).collect();
    let vars = channel_sums(b, c, |p, ch| {
        let m = means[ch] as f32;
        (sum8(plane(p), |v| (v - m) * (v - m)), 0.0)
    });
    let stats: Vec<(f64, f64)> = means.iter().zip(&vars).map(|(&m, v)| (m, v.0 / count as f64)).collect();
    let inv_std: Vec<f32> = stats.iter().map(|&(_, v)| 1.0 / ((v as f32) + eps).sqrt()).collect();
    let mean32: Vec<f32> = stats.iter().map(|&(m, _)| m as f32).collect();

    let mut y = vec![0.0f32; xs.len()];
    {
        let out = Disjoint::new(&mut y);
        cpu::split_map(b, |images| {
            // SAFETY: each task writes only its own images.
            let y = unsafe { out.chunk_at(images.start * c * hw, images.len() * c * hw) };
            let xs = &xs[images.start * c * hw..][..images.len() * c * hw];
            for (p, (yp, xp)) in y.chunks_exact_mut(hw).zip(xs.chunks_exact(hw)).enumerate() {
                let ch = p % c;
                let (m, k, bb) = (mean32[ch], inv_std[ch] * g[ch], bt[ch]);
                if relu {
                    yp.iter_mut().zip(xp).for_each(|(yv, &xv)| *yv = ((xv - m) * k + bb).max(0.0));
                } else {
                    yp.iter_mut().zip(xp).for_each(|(yv, &xv)| *yv = (xv - m) * k + bb);
                }
            }
        });
    }
    let y = cpu::tensor(&dev, y, shape);
    let stats = BatchStats {
        mean: cpu::tensor(&dev, mean32.clone(), (c,)),
        var: cpu::tensor(&dev, stats.iter().map(|&(_, v)| v as f32).collect(), (c,)),
        count,
    };

    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("batchnorm2d backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            let gg = GradPtr::of(grads, &gamma)?;
            let gb = GradPtr::of(grads, &beta)?;
            // SAFETY: four distinct tensors, four distinct gradient buffers.
            let (gy, gx, gg, gb) = unsafe { (gy.slice(), gx.slice_mut(), gg.slice_mut(), gb.slice_mut()) };
            let xs = cpu::data(&x);
            // With the fused ReLU, dy is ∂L/∂y masked by y > 0 (`masked`).
            let ys = cpu::data(&y_id);
            // Σ dy and Σ dy·x̂ per channel (x̂ = (x − μ)·s, so Σ dy·x̂ = s · Σ dy·(x − μ))
            let sums: Vec<(f64, f64)> = channel_sums(b, c, |p, ch| {
                let o = p * hw;
                let (d, xp, yp) = (&gy[o..o + hw], &xs[o..o + hw], &ys[o..o + hw]);
                if relu {
                    plane_grad_sums::<true>(d, xp, yp, mean32[ch])
                } else {
                    plane_grad_sums::<false>(d, xp, yp, mean32[ch])
                }
            })
            .iter()
            .zip(&inv_std)
            .map(|(&(sum_dy, sum_dy_xc), &s)| (sum_dy, sum_dy_xc * s as f64))
            .collect();
            for (ch, &(sum_dy, sum_dy_xhat)) in sums.iter().enumerate() {
                gb[ch] += sum_dy as f32;
                gg[ch] += sum_dy_xhat as f32;
            }
            let dx = Disjoint::new(gx);
            cpu::split_map(b, |images| {
                let at = images.start * c * hw;
                let len = images.len() * c * hw;
                // SAFETY: each task writes only its own images.
                let dx = unsafe { dx.chunk_at(at, len) };
                let (gy, xs, ys) = (&gy[at..at + len], &xs[at..at + len], &ys[at..at + len]);
                let planes = dx.chunks_exact_mut(hw).zip(gy.chunks_exact(hw)).zip(xs.chunks_exact(hw)).zip(ys.chunks_exact(hw));
                for (p, (((dxp, dyp), xp), yp)) in planes.enumerate() {
                    let ch = p % c;
                    let (m, s) = (mean32[ch], inv_std[ch]);
                    let k = g[ch] * s;
                    let mean_dy = (sums[ch].0 / count as f64) as f32;
                    let mean_dy_xhat = (sums[ch].1 / count as f64) as f32;
                    // dx += k·(dy − mean_dy − (x − μ)·s·mean_dy_xhat)
                    let a = s * mean_dy_xhat;
                    let elems = dxp.iter_mut().zip(dyp).zip(xp).zip(yp);
                    if relu {
                        elems.for_each(|(((d, &dyv), &xv), &yv)| *d += k * (masked::<true>(dyv, yv) - mean_dy - (xv - m) * a));
                    } else {
                        elems.for_each(|(((d, &dyv), &xv), _)| *d += k * (dyv - mean_dy - (xv - m) * a));
                    }
                }
            });
            Ok(())
        });
    }
    (y.put_tape(tape), stats)
}
