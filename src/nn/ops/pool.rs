//! Pooling: max pooling over `k × k` windows and global average pooling.
//!
//! ```text
//! max pool:   y[b, c, i, j] = max_{0≤u,v<k} x[b, c, s·i + u, s·j + v]
//!             ∂L/∂x at the arg-max of each window = ∂L/∂y, elsewhere 0
//! global avg: y[b, c] = (1 / HW) Σ_{h,w} x[b, c, h, w]
//! ```

use super::cpu::{self, Disjoint, GradPtr};
use super::{Img, Mat};
use dfdx::prelude::*;

fn pooled_size(n: usize, k: usize, s: usize) -> usize {
    assert!(k > 0 && s > 0, "max_pool2d: kernel and stride must be positive");
    assert!(n >= k, "max_pool2d: a {k}x{k} window does not fit a side of {n}");
    (n - k) / s + 1
}

/// Reference max pooling from dfdx ops (gather each window, then `max` over it).
pub fn max_pool2d_reference<D: Device<f32>, T: Tape<f32, D>>(x: Img<D, T>, kernel: usize, stride: usize) -> Img<D, T> {
    let (b, c, h, w) = *x.shape();
    let (ho, wo) = (pooled_size(h, kernel, stride), pooled_size(w, kernel, stride));
    let mut idx = Vec::with_capacity(b * c * ho * wo * kernel * kernel);
    for plane in 0..b * c {
        for i in 0..ho {
            for j in 0..wo {
                for u in 0..kernel {
                    for v in 0..kernel {
                        idx.push(plane * h * w + (i * stride + u) * w + j * stride + v);
                    }
                }
            }
        }
    }
    let n_windows = b * c * ho * wo;
    let idx = x.device().tensor_from_vec(idx, (n_windows * kernel * kernel,));
    x.reshape_like(&(b * c * h * w,))
        .gather(idx)
        .reshape_like(&(n_windows, kernel * kernel))
        .max::<(usize,), Axis<1>>()
        .reshape_like(&(b, c, ho, wo))
}

/// Reference global average pooling: dfdx's `mean` over the two spatial axes.
pub fn global_avg_pool_reference<D: Device<f32>, T: Tape<f32, D>>(x: Img<D, T>) -> Mat<D, T> {
    x.mean::<(usize, usize), Axes2<2, 3>>()
}

/// Max pooling of one `h × w` plane (`w` wide) with a 2 × 2 window and stride 2 into `ho × wo`
/// values, and each window's arg-max (index in the plane) when `arg` is given: the first of
/// the window's values in row-major order that is strictly greater than all before it (from
/// −∞), as the general loop of [`max_pool2d_cpu`] picks it, but with selects instead of branches.
fn max_pool_2x2(src: &[f32], w: usize, ho: usize, wo: usize, y: &mut [f32], arg: Option<&mut [u32]>) {
    let mut arg = arg;
    for i in 0..ho {
        let (r0, r1) = (2 * i * w, (2 * i + 1) * w);
        let (top, bottom) = (&src[r0..r0 + 2 * wo], &src[r1..r1 + 2 * wo]);
        let y = &mut y[i * wo..][..wo];
        match arg.as_deref_mut() {
            None => {
                for j in 0..wo {
                    let (a, b, c, d) = (top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]);
                    let mut best = f32::NEG_INFINITY;
                    for v in [a, b, c, d] {
                        best = if v > best { v } else { best };
                    }
                    y[j] = best;
                }
            }
            Some(arg) => {
                let arg = &mut arg[i * wo..][..wo];
                for j in 0..wo {
                    let at = [r0 + 2 * j, r0 + 2 * j + 1, r1 + 2 * j, r1 + 2 * j + 1];
                    let vals = [top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]];
                    let (mut best, mut best_at) = (f32::NEG_INFINITY, at[0]);
                    for (v, a) in vals.into_iter().zip(at) {
                        let gt = v > best;
                        best = if gt { v } else { best };
                        best_at = if gt { a } else { best_at };
                    }
                    y[j] = best;
                    arg[j] = best_at as u32;
                }
            }
        }
    }
}

/// Fast CPU max pooling: one pass that records each window's arg-max (its index inside the
/// `H × W` plane) for the backward pass. Both passes split the `B·C` planes into contiguous
/// blocks, one per thread ([`cpu::threads`]); a plane's arg-maxes stay inside that plane, so
/// the backward scatter of each block touches only its own part of `dx`.
pub(super) fn max_pool2d_cpu<T: Tape<f32, Cpu>>(x: Img<Cpu, T>, kernel: usize, stride: usize) -> Img<Cpu, T> {
    let (b, c, h, w) = *x.shape();
    let (ho, wo) = (pooled_size(h, kernel, stride), pooled_size(w, kernel, stride));
    let (x, mut tape) = x.contiguous().split_tape();
    let dev = x.device().clone();
    let xs = cpu::data(&x);
    let (plane_in, plane_out) = (h * w, ho * wo);
    let mut y = vec![0.0f32; b * c * plane_out];
    let mut arg = vec![0u32; if T::OWNS_TAPE { y.len() } else { 0 }];
    {
        let (yd, ad) = (Disjoint::new(&mut y), Disjoint::new(&mut arg));
        cpu::split_map(b * c, |planes| {
            // SAFETY: each task writes only its own planes.
            let y = unsafe { yd.chunk_at(planes.start * plane_out, planes.len() * plane_out) };
            let mut arg = T::OWNS_TAPE.then(|| unsafe { ad.chunk_at(planes.start * plane_out, planes.len() * plane_out) });
            for (pi, plane) in planes.enumerate() {
                let src = &xs[plane * plane_in..][..plane_in];
                if kernel == 2 && stride == 2 {
                    // The encoders' only pooling: branch-free, so that random data does not
                    // mispredict on every comparison (same arg-max and tie rule as below).
                    let (y, arg) = (&mut y[pi * plane_out..][..plane_out], arg.as_mut().map(|a| &mut a[pi * plane_out..][..plane_out]));
                    max_pool_2x2(src, w, ho, wo, y, arg);
                    continue;
                }
                for i in 0..ho {
                    for j in 0..wo {
                        let mut best = f32::NEG_INFINITY;
                        let mut best_at = (i * stride) * w + j * stride;
                        for u in 0..kernel {
                            let row = (i * stride + u) * w + j * stride;
                            for (v, &val) in src[row..row + kernel].iter().enumerate() {
                                if val > best {
                                    best = val;
                                    best_at = row + v;
                                }
                            }
                        }
                        let o = (pi * ho + i) * wo + j;
                        y[o] = best;
                        if let Some(arg) = arg.as_mut() {
                            arg[o] = best_at as u32;
                        }
                    }
                }
            }
        });
    }
    let y = cpu::tensor(&dev, y, (b, c, ho, wo));
    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("max_pool2d backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            // SAFETY: x and y are distinct tensors, so their gradient buffers are distinct.
            let (gy, gx) = unsafe { (gy.slice(), gx.slice_mut()) };
            let dx = Disjoint::new(gx);
            cpu::split_map(b * c, |planes| {
                // SAFETY: each task writes only its own planes.
                let dx = unsafe { dx.chunk_at(planes.start * plane_in, planes.len() * plane_in) };
                let at = planes.start * plane_out;
                let (gy, arg) = (&gy[at..][..planes.len() * plane_out], &arg[at..][..planes.len() * plane_out]);
                for ((dxp, gyp), argp) in dx.chunks_exact_mut(plane_in).zip(gy.chunks_exact(plane_out)).zip(arg.chunks_exact(plane_out)) {
                    for (g, &a) in gyp.iter().zip(argp) {
                        dxp[a as usize] += g;
                    }
                }
            });
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// Fast CPU global average pooling, split by blocks of `B·C` planes across threads.
pub(super) fn global_avg_pool_cpu<T: Tape<f32, Cpu>>(x: Img<Cpu, T>) -> Mat<Cpu, T> {
    let (b, c, h, w) = *x.shape();
    let hw = h * w;
    let (x, mut tape) = x.contiguous().split_tape();
    let dev = x.device().clone();
    let xs = cpu::data(&x);
    let y: Vec<f32> = cpu::split_map(b * c, |planes| {
        planes.map(|p| xs[p * hw..(p + 1) * hw].iter().sum::<f32>() / hw as f32).collect::<Vec<_>>()
    })
    .concat();
    let y = cpu::tensor(&dev, y, (b, c));
    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("global_avg_pool backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            // SAFETY: distinct tensors, distinct gradient buffers.
            let (gy, gx) = unsafe { (gy.slice(), gx.slice_mut()) };
            let dx = Disjoint::new(gx);
            cpu::split_map(b * c, |planes| {
                // SAFETY: each task writes only its own planes.
                let dx = unsafe { dx.chunk_at(planes.start * hw, planes.len() * hw) };
                for (dxp, g) in dx.chunks_exact_mut(hw).zip(&gy[planes]) {
                    let share = g / hw as f32;
                    dxp.iter_mut().for_each(|d| *d += share);
                }
            });
            Ok(())
        });
    }
    y.put_tape(tape)
}
