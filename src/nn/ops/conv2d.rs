//! 2-D convolution (cross-correlation, as in every deep-learning library), without bias.
//!
//! For an input `x: (B, C, H, W)` and filters `w: (O, C, K, K)` with stride `s` and zero
//! padding `p`:
//!
//! ```text
//! y[b, o, i, j] = Σ_c Σ_u Σ_v  w[o, c, u, v] · x[b, c, s·i + u − p, s·j + v − p]
//! H_out = (H + 2p − K) / s + 1,   W_out = (W + 2p − K) / s + 1
//! ```
//!
//! Both implementations lower it to one matrix product with **im2col**: every receptive field
//! becomes a column of a `(C·K·K) × (B·H_out·W_out)` matrix, and `Y = W · cols`. The backward
//! pass is two more products, `dW = dY · colsᵀ` and `dcols = Wᵀ · dY`, and **col2im** adds
//! `dcols` back onto the input positions each column came from.

use super::cpu::{self, GradPtr, Scratch};
use super::Img;
use dfdx::prelude::*;

/// Shape and hyper-parameters of one convolution, all known at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl ConvGeom {
    /// Geometry for `x` and `w` with the given stride and padding.
    ///
    /// Panics with a readable message if the channels disagree or the kernel does not fit.
    pub fn new(x: &(usize, usize, usize, usize), w: &(usize, usize, usize, usize), stride: usize, padding: usize) -> Self {
        let (batch, in_channels, height, width) = *x;
        let (out_channels, wc, kh, kw) = *w;
        assert_eq!(in_channels, wc, "conv2d: input has {in_channels} channels but the filters expect {wc}");
        assert_eq!(kh, kw, "conv2d: only square kernels are supported");
        assert!(stride > 0, "conv2d: stride must be positive");
        assert!(
            height + 2 * padding >= kh && width + 2 * padding >= kw,
            "conv2d: a {kh}x{kw} kernel does not fit a {height}x{width} input with padding {padding}"
        );
        Self { batch, in_channels, height, width, out_channels, kernel: kh, stride, padding }
    }
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }
    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }
    /// Rows of the im2col matrix: `C·K·K`.
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }
    /// Columns of the im2col matrix: `B·H_out·W_out`.
    pub fn n_cols(&self) -> usize {
        self.batch * self.out_height() * self.out_width()
    }
    pub fn out_shape(&self) -> (usize, usize, usize, usize) {
        (self.batch, self.out_channels, self.out_height(), self.out_width())
    }
    /// Multiply-adds of the forward pass, times two: the usual FLOP count.
    pub fn forward_flops(&self) -> f64 {
        2.0 * (self.out_channels * self.patch_len() * self.n_cols()) as f64
    }

    /// For im2col row `r = (c·K + u)·K + v` and column `n = (b·H_out + i)·W_out + j`: the
    /// flat input index it reads, or `None` where it falls in the zero padding.
    fn source(&self, r: usize, n: usize) -> Option<usize> {
        let (k, ho, wo) = (self.kernel, self.out_height(), self.out_width());
        let (c, u, v) = (r / (k * k), (r / k) % k, r % k);
        let (b, i, j) = (n / (ho * wo), (n / wo) % ho, n % wo);
        let y = (i * self.stride + u) as isize - self.padding as isize;
        let x = (j * self.stride + v) as isize - self.padding as isize;
        if y < 0 || x < 0 || y >= self.height as isize || x >= self.width as isize {
            return None;
        }
        Some(((b * self.in_channels + c) * self.height + y as usize) * self.width + x as usize)
    }
}

/// Reference convolution from dfdx ops only (gather + matmul), for every device.
///
/// The input is flattened with one zero appended; a host-built index tensor gathers each
/// receptive field (padding positions read the zero), and a matmul with the flattened filters
/// does the rest. dfdx records the backward pass of each op.
pub fn conv2d_reference<D: Device<f32>, T: Tape<f32, D>>(x: Img<D, T>, w: Img<D>, stride: usize, padding: usize) -> Img<D, T> {
    let g = ConvGeom::new(x.shape(), w.shape(), stride, padding);
    let dev = x.device().clone();
    let numel = g.batch * g.in_channels * g.height * g.width;
    let (kk, n) = (g.patch_len(), g.n_cols());
    // Column-major im2col indices: entry (n, r) = source of row r for output position n.
    let mut idx = Vec::with_capacity(n * kk);
    for col in 0..n {
        for r in 0..kk {
            idx.push(g.source(r, col).unwrap_or(numel));
        }
    }
    let idx = dev.tensor_from_vec(idx, (n * kk,));
    let zero: Tensor<(usize,), f32, D> = dev.zeros_like(&(1,));
    let flat = (x.reshape_like(&(numel,)), zero).concat_along(Axis::<0>);
    let cols = flat.gather(idx).reshape_like(&(n, kk)); // (B·Ho·Wo, C·K·K)
    let wmat = w.retaped::<T>().reshape_like(&(g.out_channels, kk)).permute::<_, Axes2<1, 0>>(); // (CKK, O)
    let (ho, wo) = (g.out_height(), g.out_width());
    cols.matmul(wmat) // (B·Ho·Wo, O)
        .reshape_like(&(g.batch, ho * wo, g.out_channels))
        .permute::<_, Axes3<0, 2, 1>>()
        .reshape_like(&(g.batch, g.out_channels, ho, wo))
}

/// The output columns `j` in `lo..hi` whose input column `j·s + v − p` lies inside the image.
fn valid_range(g: &ConvGeom, v: usize, wo: usize) -> (usize, usize) {
    // j·s + v ≥ p  ⇔  j ≥ ceil((p − v) / s)
    let lo = if g.padding > v { (g.padding - v).div_ceil(g.stride) } else { 0 };
    // j·s + v − p ≤ W − 1  ⇔  j ≤ (W − 1 + p − v) / s
    let hi = if g.width + g.padding > v { ((g.width - 1 + g.padding - v) / g.stride + 1).min(wo) } else { 0 };
    (lo.min(wo), hi)
}

/// im2col: `cols[r, n]` (row-major, `C·K·K × B·H_out·W_out`) from `x` (NCHW).
fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let (k, ho, wo) = (g.kernel, g.out_height(), g.out_width());
    let n_cols = g.n_cols();
    for c in 0..g.in_channels {
        for u in 0..k {
            for v in 0..k {
                let r = (c * k + u) * k + v;
                let row = &mut cols[r * n_cols..(r + 1) * n_cols];
                for b in 0..g.batch {
                    let plane = &x[(b * g.in_channels + c) * g.height * g.width..][..g.height * g.width];
                    for i in 0..ho {
                        let out = &mut row[(b * ho + i) * wo..][..wo];
                        let y = (i * g.stride + u) as isize - g.padding as isize;
                        if y < 0 || y >= g.height as isize {
                            out.iter_mut().for_each(|o| *o = 0.0);
                            continue;
                        }
                        let line = &plane[y as usize * g.width..][..g.width];
                        let (lo, hi) = valid_range(g, v, wo);
                        out[..lo].iter_mut().for_each(|o| *o = 0.0);
                        out[hi.max(lo)..].iter_mut().for_each(|o| *o = 0.0);
                        if g.stride == 1 {
                            let start = lo + v - g.padding;
                            out[lo..hi].copy_from_slice(&line[start..start + hi - lo]);
                        } else {
                            for (j, o) in out.iter_mut().enumerate().take(hi).skip(lo) {
                                *o = line[j * g.stride + v - g.padding];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// col2im: adds `cols[r, n]` back onto the input position it was read from.
fn col2im(g: &ConvGeom, cols: &[f32], dx: &mut [f32]) {
    let (k, ho, wo) = (g.kernel, g.out_height(), g.out_width());
    let n_cols = g.n_cols();
    for c in 0..g.in_channels {
        for u in 0..k {
            for v in 0..k {
                let r = (c * k + u) * k + v;
                let row = &cols[r * n_cols..(r + 1) * n_cols];
                for b in 0..g.batch {
                    let plane = &mut dx[(b * g.in_channels + c) * g.height * g.width..][..g.height * g.width];
                    for i in 0..ho {
                        let y = (i * g.stride + u) as isize - g.padding as isize;
                        if y < 0 || y >= g.height as isize {
                            continue;
                        }
                        let src = &row[(b * ho + i) * wo..][..wo];
                        let line = &mut plane[y as usize * g.width..][..g.width];
                        let (lo, hi) = valid_range(g, v, wo);
                        if g.stride == 1 {
                            let start = lo + v - g.padding;
                            line[start..start + hi - lo].iter_mut().zip(&src[lo..hi]).for_each(|(d, s)| *d += s);
                        } else {
                            for (j, s) in src.iter().enumerate().take(hi).skip(lo) {
                                line[j * g.stride + v - g.padding] += s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The fast CPU path: im2col + one `gemm` forward, two `gemm`s + col2im backward.
pub(super) fn conv2d_cpu<T: Tape<f32, Cpu>>(x: Img<Cpu, T>, w: Img<Cpu>, stride: usize, padding: usize) -> Img<Cpu, T> {
    let g = ConvGeom::new(x.shape(), w.shape(), stride, padding);
    let (x, tape) = x.contiguous().split_tape();
    let w = w.contiguous();
    let dev = x.device().clone();
    let (o, kk, n) = (g.out_channels, g.patch_len(), g.n_cols());
    let hw_out = g.out_height() * g.out_width();

    let mut cols = Scratch::new(kk * n);
    im2col(&g, cpu::data(&x), &mut cols);
    let mut ymat = Scratch::new(o * n); // (O, B·Ho·Wo)
    cpu::matmul(o, n, kk, &mut ymat, (n, 1), false, cpu::data(&w), (kk, 1), &cols, (n, 1));
    drop(cols);
    // (O, B, Ho·Wo) → (B, O, Ho·Wo)
    let mut y = vec![0.0f32; o * n];
    for oc in 0..o {
        for b in 0..g.batch {
            y[(b * o + oc) * hw_out..][..hw_out].copy_from_slice(&ymat[oc * n + b * hw_out..][..hw_out]);
        }
    }
    drop(ymat);
    let y = cpu::tensor(&dev, y, g.out_shape());

    let mut tape = tape;
    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            let gw = GradPtr::of(grads, &w)?;
            // SAFETY: three distinct tensors, so three distinct live gradient buffers.
            let (gy, gx, gw) = unsafe { (gy.slice(), gx.slice_mut(), gw.slice_mut()) };
            // dY: (B, O, Ho·Wo) → (O, B·Ho·Wo)
            let mut dy = Scratch::new(o * n);
            for oc in 0..o {
                for b in 0..g.batch {
                    dy[oc * n + b * hw_out..][..hw_out].copy_from_slice(&gy[(b * o + oc) * hw_out..][..hw_out]);
                }
            }
            let mut cols = Scratch::new(kk * n);
            im2col(&g, cpu::data(&x), &mut cols);
            // dW (O × CKK) += dY (O × N) · colsᵀ (N × CKK)
            cpu::matmul(o, kk, n, gw, (kk, 1), true, &dy, (n, 1), &cols, (1, n));
            // dcols (CKK × N) = Wᵀ (CKK × O) · dY (O × N), reusing the cols buffer
            cpu::matmul(kk, n, o, &mut cols, (n, 1), false, cpu::data(&w), (1, kk), &dy, (n, 1));
            col2im(&g, &cols, gx);
            Ok(())
        });
    }
    y.put_tape(tape)
}
