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

use super::cpu::{self, GradPtr};
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

/// Fast CPU batch normalisation: two passes forward, two passes backward.
pub(super) fn batchnorm2d_cpu<T: Tape<f32, Cpu>>(
    x: Img<Cpu, T>,
    gamma: Vector<Cpu>,
    beta: Vector<Cpu>,
    eps: f32,
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

    let mut mean = vec![0.0f64; c];
    let mut var = vec![0.0f64; c];
    for bi in 0..b {
        for ch in 0..c {
            let p = &xs[(bi * c + ch) * hw..][..hw];
            mean[ch] += p.iter().map(|&v| v as f64).sum::<f64>();
        }
    }
    mean.iter_mut().for_each(|m| *m /= count as f64);
    for bi in 0..b {
        for ch in 0..c {
            let p = &xs[(bi * c + ch) * hw..][..hw];
            let m = mean[ch];
            var[ch] += p.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>();
        }
    }
    var.iter_mut().for_each(|v| *v /= count as f64);
    let inv_std: Vec<f32> = var.iter().map(|&v| 1.0 / ((v as f32) + eps).sqrt()).collect();
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();

    let mut y = vec![0.0f32; xs.len()];
    for bi in 0..b {
        for ch in 0..c {
            let o = (bi * c + ch) * hw;
            let (m, s, gg, bb) = (mean32[ch], inv_std[ch], g[ch], bt[ch]);
            for (yv, &xv) in y[o..o + hw].iter_mut().zip(&xs[o..o + hw]) {
                *yv = (xv - m) * s * gg + bb;
            }
        }
    }
    let y = cpu::tensor(&dev, y, shape);
    let stats = BatchStats {
        mean: cpu::tensor(&dev, mean32.clone(), (c,)),
        var: cpu::tensor(&dev, var.iter().map(|&v| v as f32).collect(), (c,)),
        count,
    };

    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            let gg = GradPtr::of(grads, &gamma)?;
            let gb = GradPtr::of(grads, &beta)?;
            // SAFETY: four distinct tensors, four distinct gradient buffers.
            let (gy, gx, gg, gb) = unsafe { (gy.slice(), gx.slice_mut(), gg.slice_mut(), gb.slice_mut()) };
            let xs = cpu::data(&x);
            // Σ dy and Σ dy·x̂ per channel
            let mut sum_dy = vec![0.0f64; c];
            let mut sum_dy_xhat = vec![0.0f64; c];
            for bi in 0..b {
                for ch in 0..c {
                    let o = (bi * c + ch) * hw;
                    let (m, s) = (mean32[ch], inv_std[ch]);
                    for (&d, &xv) in gy[o..o + hw].iter().zip(&xs[o..o + hw]) {
                        sum_dy[ch] += d as f64;
                        sum_dy_xhat[ch] += (d * (xv - m) * s) as f64;
                    }
                }
            }
            for ch in 0..c {
                gb[ch] += sum_dy[ch] as f32;
                gg[ch] += sum_dy_xhat[ch] as f32;
            }
            for bi in 0..b {
                for ch in 0..c {
                    let o = (bi * c + ch) * hw;
                    let (m, s) = (mean32[ch], inv_std[ch]);
                    let k = g[ch] * s;
                    let mean_dy = (sum_dy[ch] / count as f64) as f32;
                    let mean_dy_xhat = (sum_dy_xhat[ch] / count as f64) as f32;
                    for ((dx, &d), &xv) in gx[o..o + hw].iter_mut().zip(&gy[o..o + hw]).zip(&xs[o..o + hw]) {
                        let xhat = (xv - m) * s;
                        *dx += k * (d - mean_dy - xhat * mean_dy_xhat);
                    }
                }
            }
            Ok(())
        });
    }
    (y.put_tape(tape), stats)
}
