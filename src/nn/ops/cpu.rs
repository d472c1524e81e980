//! Plumbing shared by the CPU kernels: zero-copy views of dfdx tensors, gradient buffers, and
//! the thread setting for `gemm`.

use dfdx::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Number of threads the CPU kernels use.
///
/// How each kernel splits its work across them:
/// - convolution, max pooling, global average pooling, BatchNorm (and the fused BatchNorm +
///   ReLU): **by batch element** (blocks of images, or of `B·C` planes), each thread running
///   single-threaded `gemm`s on its own images and writing its own part of the output and of
///   `dx`; the weight gradients and BatchNorm's per-channel sums are per-thread partial sums
///   added up in thread order afterwards (`split_map`);
/// - attention, LayerNorm, GELU: by batch element or row block (`parallel_for`);
/// - the linear layers and other single products: inside `gemm` (`parallelism`).
///
/// dfdx's own element-wise ops (ReLU after a residual add, additions, the loss) stay on one
/// thread. The thread count changes results only through float rounding (the order in which
/// partial sums are added).
///
/// Default: `SELFSUP_THREADS` from the environment if set, otherwise the number of cores
/// (`std::thread::available_parallelism`). On the 2-core machines the course targets, two
/// threads measured faster than one for whole SimCLR steps (`bench/compare.sh`, quiet machine:
/// 426 vs 702 ms for the default encoder at batch 256 × 2 views; see the README's table).
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("SELFSUP_THREADS")
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Overrides the number of threads of the CPU kernels (0 restores the default).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

pub(crate) fn parallelism() -> gemm::Parallelism {
    match threads() {
        1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// A read-only view of a CPU tensor's data, without copying.
///
/// The tensor must be contiguous (call `.contiguous()` first): dfdx exposes no slice accessor,
/// so this takes the address of element 0 through its public `Index` impl and spans
/// `num_elements` values from there, which is exactly the tensor's buffer when it is contiguous.
pub(crate) fn data<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> &[f32]
where
    S::Concrete: Default,
{
    let n = t.shape().num_elements();
    if n == 0 {
        return &[];
    }
    let first: *const f32 = &t[S::Concrete::default()];
    // SAFETY: a contiguous CPU tensor stores its `n` elements in one `Vec<f32>` starting at
    // element 0, and the returned slice borrows `t`, which keeps that buffer alive.
    unsafe { std::slice::from_raw_parts(first, n) }
}

/// Wraps a host vector as a CPU tensor (no copy).
pub(crate) fn tensor<S: Shape>(dev: &Cpu, v: Vec<f32>, shape: S) -> Tensor<S, f32, Cpu> {
    dev.tensor_from_vec(v, shape)
}

/// Raw pointers to gradient buffers, so that an op can read the output's gradient while it
/// accumulates into its inputs' gradients (dfdx's own `mut_and_ref` is crate-private).
pub(crate) struct GradPtr {
    ptr: *mut f32,
    len: usize,
}

impl GradPtr {
    /// Allocates (if needed) and points at the gradient of `t`.
    pub(crate) fn of<S: Shape, T>(
        grads: &mut Gradients<f32, Cpu>,
        t: &Tensor<S, f32, Cpu, T>,
    ) -> Result<Self, CpuError> {
        let g = grads.get_or_alloc_mut(t)?;
        Ok(Self { ptr: g.as_mut_ptr(), len: g.len() })
    }
    /// # Safety
    /// The gradient buffer must still be alive and not aliased by a live `&mut`.
    pub(crate) unsafe fn slice<'a>(&self) -> &'a [f32] {
        std::slice::from_raw_parts(self.ptr, self.len)
    }
    /// # Safety
    /// As [`GradPtr::slice`], and no other reference to this buffer may be live.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice_mut<'a>(&self) -> &'a mut [f32] {
        std::slice::from_raw_parts_mut(self.ptr, self.len)
    }
}

/// `C (m×n) = alpha·C + beta·A·B` for row-major slices with arbitrary strides.
///
/// Strides are given as (row stride, column stride) so transposes cost nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    c_strides: (usize, usize),
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    matmul_in(parallelism(), m, n, k, c, c_strides, accumulate, a, a_strides, b, b_strides)
}

/// [`matmul`] on the calling thread only: for the many small products of an op that already
/// runs its batch in parallel (attention heads).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_serial(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    c_strides: (usize, usize),
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    matmul_in(gemm::Parallelism::None, m, n, k, c, c_strides, accumulate, a, a_strides, b, b_strides)
}

/// [`matmul`] with an explicit `gemm` parallelism (see [`inner_parallelism`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_in(
    par: gemm::Parallelism,
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    (c_rs, c_cs): (usize, usize),
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.iter_mut().for_each(|v| *v = 0.0);
        }
        return;
    }
    assert!(c.len() > (m - 1) * c_rs + (n - 1) * c_cs);
    assert!(a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    assert!(b.len() > (k - 1) * b_rs + (n - 1) * b_cs);
    let threads = match par {
        gemm::Parallelism::Rayon(n) => n.max(1),
        _ => 1,
    };
    // SAFETY: the asserts above keep every access inside the three slices.
    super::profile::gemm(m, n, k, threads, || unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs as isize,
            c_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            par,
        )
    })
}

/// Runs `f(i)` for `i` in `0..n` on [`threads`] threads (on the calling thread alone when that
/// is 1), in contiguous blocks of indices. For kernels whose work splits by batch element.
pub(crate) fn parallel_for<F: Fn(usize) + Sync + Send>(n: usize, f: F) {
    use rayon::prelude::*;
    let t = threads();
    if t <= 1 || n <= 1 {
        (0..n).for_each(f);
    } else {
        (0..n).into_par_iter().with_min_len(n.div_ceil(t)).for_each(f);
    }
}

/// Splits `0..n` into `min(threads(), n)` contiguous ranges of near-equal length and runs `f`
/// on each, in parallel (on the calling thread alone when that is one range). Returns the
/// results in range order, so that reductions over them add up in the same order every time.
pub(crate) fn split_map<R: Send, F: Fn(std::ops::Range<usize>) -> R + Sync + Send>(n: usize, f: F) -> Vec<R> {
    use rayon::prelude::*;
    let parts = threads().min(n).max(1);
    if parts == 1 {
        return vec![f(0..n)];
    }
    (0..parts).into_par_iter().map(|i| f(i * n / parts..(i + 1) * n / parts)).collect()
}

/// The `gemm` parallelism for the products inside the tasks of [`split_map`] over `n` items:
/// single-threaded when every thread has its own items, multi-threaded when there are fewer
/// items than threads (a batch of one image, say), so that no thread is left idle.
pub(crate) fn inner_parallelism(n: usize) -> gemm::Parallelism {
    if n >= threads() {
        gemm::Parallelism::None
    } else {
        parallelism()
    }
}

/// A mutable buffer that the tasks of [`parallel_for`] / [`split_map`] write in disjoint chunks.
pub(crate) struct Disjoint<'a, T = f32> {
    ptr: *mut T,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: `Disjoint` only hands out chunks through `chunk`, whose contract forbids overlap.
unsafe impl<T: Send> Send for Disjoint<'_, T> {}
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    pub(crate) fn new(buf: &'a mut [T]) -> Self {
        Self { ptr: buf.as_mut_ptr(), len: buf.len(), _borrow: std::marker::PhantomData }
    }
    /// Chunk `i` of size `size`.
    ///
    /// # Safety
    /// No two live chunks may overlap: each task takes only its own index.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn chunk(&self, i: usize, size: usize) -> &'a mut [T] {
        self.chunk_at(i * size, size)
    }
    /// The `len` values from `offset`.
    ///
    /// # Safety
    /// As [`Disjoint::chunk`].
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn chunk_at(&self, offset: usize, len: usize) -> &'a mut [T] {
        assert!(offset + len <= self.len, "chunk {offset}..{} out of a buffer of {}", offset + len, self.len);
        std::slice::from_raw_parts_mut(self.ptr.add(offset), len)
    }
}

thread_local! {
    static POOL: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A reusable work buffer (im2col matrices, transposes): taken from a per-thread pool and
/// returned to it on drop, so the big temporaries of every step reuse warm memory instead of
/// fresh pages. Its contents on creation are unspecified (but initialised): callers overwrite.
pub(crate) struct Scratch {
    buf: Vec<f32>,
    len: usize,
}

impl Scratch {
    pub(crate) fn new(len: usize) -> Self {
        let mut buf = POOL.with(|p| {
            let mut p = p.borrow_mut();
            // the smallest pooled buffer that is large enough, else the largest one
            let best = (0..p.len()).filter(|&i| p[i].len() >= len).min_by_key(|&i| p[i].len());
            let pick = best.or_else(|| (0..p.len()).max_by_key(|&i| p[i].len()));
            pick.map(|i| p.swap_remove(i)).unwrap_or_default()
        });
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        Self { buf, len }
    }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[..self.len]
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[..self.len]
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 4 {
                p.push(buf);
            }
        });
    }
}

/// Keeps freed memory in the process instead of returning it to the OS (glibc only).
///
/// A training step allocates and frees the same large buffers (activations, gradients) over
/// and over. By default glibc serves allocations above 128 KiB–32 MiB with fresh `mmap`s and
/// trims the heap on free, so every step pays page faults and zeroing of new pages again.
/// Raising the mmap threshold and the trim threshold lets the heap keep and reuse that
/// memory: `selfsup bench` measured a SimCLR step of the 32-64-128-256 convnet about 20% faster.
/// Called once by the training loop, the benchmark and the command line; harmless to repeat.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            extern "C" {
                fn mallopt(param: i32, value: i32) -> i32;
            }
            const M_TRIM_THRESHOLD: i32 = -1;
            const M_TOP_PAD: i32 = -2;
            const M_MMAP_THRESHOLD: i32 = -3;
            // SAFETY: mallopt only changes allocator tunables; any value is valid input.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, i32::MAX);
                mallopt(M_TRIM_THRESHOLD, i32::MAX);
                mallopt(M_TOP_PAD, 256 << 20);
            }
        });
    }
}
