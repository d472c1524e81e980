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
//! `dcols` back onto the input positions each column came from. The fast CPU kernel does
//! this per block of a few images on each thread ([`conv2d_cpu`]), so the im2col matrix stays
//! in cache and never exists for the whole batch at once.

use super::cpu::{self, Disjoint, GradPtr, Scratch};
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
///
/// The valid column range of each kernel offset `v` is computed once per row of `cols`, and the
/// short row segments (4 to 32 values in the convnets) are copied by plain loops rather than
/// `memcpy` calls.
fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let (k, ho, wo) = (g.kernel, g.out_height(), g.out_width());
    let n_cols = g.n_cols();
    for c in 0..g.in_channels {
        for u in 0..k {
            for v in 0..k {
                let r = (c * k + u) * k + v;
                let row = &mut cols[r * n_cols..(r + 1) * n_cols];
                let (lo, hi) = valid_range(g, v, wo);
                let hi = hi.max(lo);
                for b in 0..g.batch {
                    let plane = &x[(b * g.in_channels + c) * g.height * g.width..][..g.height * g.width];
                    for i in 0..ho {
                        let out = &mut row[(b * ho + i) * wo..][..wo];
                        let y = (i * g.stride + u) as isize - g.padding as isize;
                        if y < 0 || y >= g.height as isize {
                            out.fill(0.0);
                            continue;
                        }
                        let line = &plane[y as usize * g.width..][..g.width];
                        out[..lo].fill(0.0);
                        out[hi..].fill(0.0);
                        if g.stride == 1 && hi > lo {
                            let src = &line[lo + v - g.padding..][..hi - lo];
                            for (o, &s) in out[lo..hi].iter_mut().zip(src) {
                                *o = s;
                            }
                        } else if g.stride > 1 {
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
                let (lo, hi) = valid_range(g, v, wo);
                let hi = hi.max(lo);
                for b in 0..g.batch {
                    let plane = &mut dx[(b * g.in_channels + c) * g.height * g.width..][..g.height * g.width];
                    for i in 0..ho {
                        let y = (i * g.stride + u) as isize - g.padding as isize;
                        if y < 0 || y >= g.height as isize {
                            continue;
                        }
                        let src = &row[(b * ho + i) * wo..][..wo];
                        let line = &mut plane[y as usize * g.width..][..g.width];
                        if g.stride == 1 && hi > lo {
                            let dst = &mut line[lo + v - g.padding..][..hi - lo];
                            dst.iter_mut().zip(&src[lo..hi]).for_each(|(d, s)| *d += s);
                        } else if g.stride > 1 {
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

/// Images per `gemm` call inside one thread's chunk: enough columns (`g·H_out·W_out` ≥ 256)
/// for the product to run at full speed, while the block's im2col matrix stays within about
/// 256 KiB so it is still in cache when `gemm` reads it.
fn group_size(g: &ConvGeom) -> usize {
    let hw = (g.out_height() * g.out_width()).max(1);
    let by_cols = 256usize.div_ceil(hw);
    let by_cache = (1 << 16) / (g.patch_len() * hw).max(1);
    by_cols.min(by_cache).max(1)
}

/// The fast CPU path, split by batch: each of [`cpu::threads`] threads takes a contiguous
/// chunk of images and, a few images (see [`group_size`]) at a time, does im2col into its own
/// cache-sized buffer and a single-threaded `gemm`, writing its images of the NCHW output.
/// A block of one image needs no transpose: `W · cols` is already that image's `(O, H·W)`.
///
/// Backward, the same split: each thread runs `dW_t += dY · colsᵀ` into its own partial sum
/// and `dcols = Wᵀ · dY` + col2im into its images' (disjoint) part of `dx`; the partial `dW`s
/// are then added in thread order. With fewer images than threads, the chunks are single
/// images and `gemm` itself runs multi-threaded.
pub(super) fn conv2d_cpu<T: Tape<f32, Cpu>>(x: Img<Cpu, T>, w: Img<Cpu>, stride: usize, padding: usize) -> Img<Cpu, T> {
    let g = ConvGeom::new(x.shape(), w.shape(), stride, padding);
    let (x, tape) = x.contiguous().split_tape();
    let w = w.contiguous();
    let dev = x.device().clone();
    let o = g.out_channels;
    let mut y = vec![0.0f32; o * g.n_cols()];
    {
        let out = Disjoint::new(&mut y);
        let (xs, ws) = (cpu::data(&x), cpu::data(&w));
        let par = cpu::inner_parallelism(g.batch);
        cpu::split_map(g.batch, |range| {
            for_each_block(&g, range, |gb, b0| {
                let (x_in, y_out) = block_io(&g, gb, b0, xs);
                // SAFETY: each block covers its own images, so output ranges never overlap.
                let y_out = unsafe { out.chunk_at(y_out.0, y_out.1) };
                forward_block(&gb, x_in, ws, y_out, par);
            })
        });
    }
    let y = cpu::tensor(&dev, y, g.out_shape());

    let mut tape = tape;
    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let _p = super::profile::span("conv2d backward");
            let gy = GradPtr::of(grads, &y_id)?;
            let gx = GradPtr::of(grads, &x)?;
            let gw = GradPtr::of(grads, &w)?;
            // SAFETY: three distinct tensors, so three distinct live gradient buffers.
            let (gy, gx, gw) = unsafe { (gy.slice(), gx.slice_mut(), gw.slice_mut()) };
            let (xs, ws) = (cpu::data(&x), cpu::data(&w));
            let dx = Disjoint::new(gx);
            let par = cpu::inner_parallelism(g.batch);
            let partial_dw = cpu::split_map(g.batch, |range| {
                let mut dw = Scratch::new(o * g.patch_len());
                dw.iter_mut().for_each(|v| *v = 0.0);
                for_each_block(&g, range, |gb, b0| {
                    let (x_in, y_out) = block_io(&g, gb, b0, xs);
                    let (in_at, in_len) = (b0 * g.in_channels * g.height * g.width, x_in.len());
                    // SAFETY: each block covers its own images, so input ranges never overlap.
                    let dx_out = unsafe { dx.chunk_at(in_at, in_len) };
                    backward_block(&gb, x_in, ws, &gy[y_out.0..][..y_out.1], &mut dw, dx_out, par);
                });
                dw
            });
            for part in &partial_dw {
                gw.iter_mut().zip(part.iter()).for_each(|(a, b)| *a += b);
            }
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// Calls `f(block_geometry, first_image)` for consecutive blocks of [`group_size`] images.
fn for_each_block(g: &ConvGeom, range: std::ops::Range<usize>, mut f: impl FnMut(ConvGeom, usize)) {
    let step = group_size(g);
    let mut b0 = range.start;
    while b0 < range.end {
        let n = step.min(range.end - b0);
        f(ConvGeom { batch: n, ..*g }, b0);
        b0 += n;
    }
}

/// The block's input images and its (offset, length) in the NCHW output.
fn block_io<'a>(g: &ConvGeom, gb: ConvGeom, b0: usize, xs: &'a [f32]) -> (&'a [f32], (usize, usize)) {
    let in_len = g.in_channels * g.height * g.width;
    let out_len = g.out_channels * g.out_height() * g.out_width();
    (&xs[b0 * in_len..][..gb.batch * in_len], (b0 * out_len, gb.batch * out_len))
}

/// `y (B_blk, O, Ho·Wo) = W · im2col(x)` for one block of images.
fn forward_block(g: &ConvGeom, x: &[f32], w: &[f32], y: &mut [f32], par: gemm::Parallelism) {
    let (o, kk, n) = (g.out_channels, g.patch_len(), g.n_cols());
    let hw = g.out_height() * g.out_width();
    let mut cols = Scratch::new(kk * n);
    im2col(g, x, &mut cols);
    if g.batch == 1 {
        cpu::matmul_in(par, o, n, kk, y, (n, 1), false, w, (kk, 1), &cols, (n, 1));
        return;
    }
    let mut ymat = Scratch::new(o * n); // (O, B_blk·Ho·Wo)
    cpu::matmul_in(par, o, n, kk, &mut ymat, (n, 1), false, w, (kk, 1), &cols, (n, 1));
    for b in 0..g.batch {
        for oc in 0..o {
            y[(b * o + oc) * hw..][..hw].copy_from_slice(&ymat[oc * n + b * hw..][..hw]);
        }
    }
}

/// One block's backward: `dw += dY · colsᵀ`, `dx += col2im(Wᵀ · dY)`.
fn backward_block(g: &ConvGeom, x: &[f32], w: &[f32], gy: &[f32], dw: &mut [f32], dx: &mut [f32], par: gemm::Parallelism) {
    let (o, kk, n) = (g.out_channels, g.patch_len(), g.n_cols());
    let hw = g.out_height() * g.out_width();
    let mut dy_buf;
    let dy: &[f32] = if g.batch == 1 {
        gy // (O, Ho·Wo) already
    } else {
        // (B_blk, O, Ho·Wo) → (O, B_blk·Ho·Wo)
        dy_buf = Scratch::new(o * n);
        for b in 0..g.batch {
            for oc in 0..o {
                dy_buf[oc * n + b * hw..][..hw].copy_from_slice(&gy[(b * o + oc) * hw..][..hw]);
            }
        }
        &dy_buf
    };
    let mut cols = Scratch::new(kk * n);
    im2col(g, x, &mut cols);
    // dW (O × CKK) += dY (O × N) · colsᵀ (N × CKK)
    cpu::matmul_in(par, o, kk, n, dw, (kk, 1), true, dy, (n, 1), &cols, (1, n));
    // dcols (CKK × N) = Wᵀ (CKK × O) · dY (O × N), reusing the cols buffer
    cpu::matmul_in(par, kk, n, o, &mut cols, (n, 1), false, w, (1, kk), dy, (n, 1));
    col2im(g, &cols, dx);
}
