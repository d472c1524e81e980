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
