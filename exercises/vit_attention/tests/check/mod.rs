//! Readable checks shared by the exercises' tests: a failure says what was being checked,
//! where (which entry), what was expected and what your code computed.

#![allow(dead_code)]

/// Panics unless `got` and `expected` have the same length and every entry agrees within
/// `tol` (absolute, plus relative for large values). `cols > 1` reports entries as
/// `[row, col]` of a matrix with that many columns.
pub fn all_close(what: &str, got: &[f32], expected: &[f32], cols: usize, tol: f32) {
    assert!(
        got.len() == expected.len(),
        "\n{what}: wrong number of values\n  expected: {} values\n       got: {} values\n",
        expected.len(),
        got.len()
    );
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        let ok = (g - e).abs() <= tol * (1.0 + e.abs());
        if !ok {
            let at = if cols > 1 { format!("[{}, {}]", i / cols, i % cols) } else { format!("[{i}]") };
            panic!("\n{what}: entry {at} is off\n  expected: {e}\n       got: {g}\n  (all expected: {expected:?})\n  (all got:      {got:?})\n");
        }
    }
}

/// [`all_close`] for one number.
pub fn close(what: &str, got: f32, expected: f32, tol: f32) {
    assert!(
        got.is_finite() || !expected.is_finite(),
        "\n{what}: got {got}, a non-finite value (overflow? a division by zero? a log of 0?)\n  expected: {expected}\n"
    );
    assert!(
        (got - expected).abs() <= tol * (1.0 + expected.abs()),
        "\n{what}\n  expected: {expected}\n       got: {got}\n"
    );
}

/// Dot product in f64 (reference computations in the tests).
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// `v / ‖v‖` in f64.
pub fn normalized(v: &[f32]) -> Vec<f64> {
    let n = dot(v, v).sqrt().max(1e-12);
    v.iter().map(|x| *x as f64 / n).collect()
}

/// `log Σ exp(x)` computed stably in f64 (the reference the tests compare against).
pub fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// A deterministic pseudo-random vector of `n` values in [-1, 1] (no dependency needed).
pub fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
