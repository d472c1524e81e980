//! Vectorisable `f32` math for the element-wise parts of the kernels (softmax, GELU).
//!
//! `f32::exp` and `f32::tanh` are scalar libm calls: at tens of millions of elements per training
//! step they cost more than the matrix products around them. The approximations below use only
//! `+ − × ÷`, comparisons and integer bit tricks, so LLVM turns their loops into SIMD code.
//! Each slice kernel is compiled twice, for the baseline target and with AVX2 + FMA, and the
//! faster one is picked at run time. Both copies compute exactly the same values (Rust never
//! fuses `a·b + c` on its own), so results do not depend on the machine.
//!
//! - `exp(x)`: Cephes' `expf` — `x = n·ln2 + r` with `|r| ≤ ln2/2`, a degree-6 polynomial for
//!   `eʳ`, and `2ⁿ` built from the exponent bits. Relative error below 2·10⁻⁷ on `[−87, 88]`
//!   (inputs are clamped there: `exp(−87) ≈ 1.6·10⁻³⁸`).
//! - `tanh(u) = 1 − 2/(e^{2u} + 1)`: absolute error of a few 10⁻⁸.

/// `1.5·2²³`: adding it to a float in `[−2²², 2²²]` rounds it to an integer, in the low bits.
const ROUND: f32 = 12_582_912.0;

#[inline(always)]
fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    er * f32::from_bits(((ni + 127) << 23) as u32)
}

#[inline(always)]
fn tanh(u: f32) -> f32 {
    // tanh(u) = 1 − 2/(e^{2u} + 1): exact in the limits (±1), absolute error ~1e-7 near 0.
    1.0 - 2.0 / (exp(2.0 * u) + 1.0)
}

/// Defines `pub(crate) fn $name` that runs `$body` with AVX2 + FMA code when the CPU has them.
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the features `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

multiversion! {
    /// Sum of a slice, in eight interleaved partial sums (vectorisable, and more accurate than
    /// one running sum).
    fn sum(xs: &[f32]) -> f32 {
        let mut acc = [0.0f32; 8];
        let chunks = xs.chunks_exact(8);
        let tail: f32 = chunks.remainder().iter().sum();
        for c in chunks {
            for i in 0..8 {
                acc[i] += c[i];
            }
        }
        acc.iter().sum::<f32>() + tail
    }
}

multiversion! {
    /// Dot product of two slices of the same length (eight partial sums).
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let mut acc = [0.0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ca.zip(cb) {
            for i in 0..8 {
                acc[i] += x[i] * y[i];
            }
        }
        acc.iter().sum::<f32>() + tail
    }
}

multiversion! {
    /// In-place softmax of one row: `x_i ← exp(s·x_i − max_j s·x_j) / Σ_j exp(…)`.
    fn softmax_row(xs: &mut [f32], scale: f32) {
        let max = xs.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) * scale;
        // (for s > 0, max(s·x) = s·max(x); every caller passes s = 1/√d > 0)
        xs.iter_mut().for_each(|v| *v = exp(*v * scale - max));
        let mut acc = [0.0f32; 8];
        let chunks = xs.chunks_exact(8);
        let tail: f32 = chunks.remainder().iter().sum();
        for c in chunks {
            for i in 0..8 {
                acc[i] += c[i];
            }
        }
        let inv = 1.0 / (acc.iter().sum::<f32>() + tail);
        xs.iter_mut().for_each(|v| *v *= inv);
    }
}

/// √(2/π)
const GELU_BETA: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh approximation of GELU.
const GELU_KAPPA: f32 = 0.044_715;

multiversion! {
    /// `y = GELU(x) ≈ ½x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, element-wise.
    fn gelu_forward(x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = 0.5 * x * (1.0 + tanh(GELU_BETA * (x + GELU_KAPPA * x * x * x)));
        }
    }
}

multiversion! {
    /// `dx += dy · GELU'(x)`, with `t = tanh(u)`, `u = √(2/π)(x + κx³)`:
    /// `GELU'(x) = ½(1 + t) + ½x·(1 − t²)·√(2/π)(1 + 3κx²)`.
    fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            let x2 = x * x;
            let t = tanh(GELU_BETA * (x + GELU_KAPPA * x2 * x));
            let du = GELU_BETA * (1.0 + 3.0 * GELU_KAPPA * x2);
            *dx += dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_to_a_few_ulps() {
        let mut worst = 0.0f64;
        for i in -8700..=8800 {
            let x = i as f32 * 0.01;
            let want = (x as f64).exp();
            worst = worst.max(((exp(x) as f64 - want) / want).abs());
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
    }

    #[test]
    fn tanh_matches_std() {
        for i in -2000..=2000 {
            let u = i as f32 * 0.01;
            let err = (tanh(u) - u.tanh()).abs();
            assert!(err < 2e-7, "tanh({u}) off by {err:e}");
        }
    }

    #[test]
    fn softmax_row_sums_to_one_and_is_shift_invariant() {
        let mut a: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 5.0).collect();
        let mut b: Vec<f32> = a.iter().map(|v| v + 100.0).collect();
        softmax_row(&mut a, 1.0);
        softmax_row(&mut b, 1.0);
        assert!((sum(&a) - 1.0).abs() < 1e-6);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6);
        }
    }
}
