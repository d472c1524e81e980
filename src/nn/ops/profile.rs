//! A per-op profiler for the CPU kernels, off unless [`enable`]d (`selfsup bench --profile`).
//!
//! Two kinds of records, both keyed by a static name:
//! - **spans**: wall time of a region on the thread that runs it ([`span`]), e.g. each layer's
//!   forward and backward kernel, and the bench's forward, backward and optimizer phases;
//! - **GEMM**: every product the kernels hand to `gemm` (`cpu::matmul_in`), with its FLOPs (`2·m·n·k`) and its
//!   core-seconds (wall time × the threads `gemm` was given), so that
//!   `FLOPs / core-seconds / (peak per core)` is the share of the machine's peak that the
//!   matrix products reach while they run.
//!
//! Disabled, a span costs one relaxed atomic load. Enabled, each record takes a global mutex:
//! fine for the hundreds of records of a training step, not for per-element work.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static RECORDS: Mutex<BTreeMap<&'static str, Record>> = Mutex::new(BTreeMap::new());

/// What the profiler accumulated for one name.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Record {
    /// Times the region ran.
    pub calls: usize,
    /// Wall seconds, summed over calls (over threads, for regions run on several at once).
    pub seconds: f64,
    /// Floating-point operations (GEMM records only).
    pub flops: f64,
    /// Wall seconds × threads used (GEMM records only).
    pub core_seconds: f64,
}

/// Starts (`true`) or stops recording.
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the profiler records.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Returns what was recorded since the last call (name → record) and clears it.
pub fn take() -> BTreeMap<&'static str, Record> {
    std::mem::take(&mut *RECORDS.lock().unwrap_or_else(|e| e.into_inner()))
}

fn add(name: &'static str, seconds: f64, flops: f64, core_seconds: f64) {
    let mut records = RECORDS.lock().unwrap_or_else(|e| e.into_inner());
    let r = records.entry(name).or_default();
    r.calls += 1;
    r.seconds += seconds;
    r.flops += flops;
    r.core_seconds += core_seconds;
}

/// Times the region until the returned guard drops, under `name`.
pub fn span(name: &'static str) -> Span {
    Span { name, started: enabled().then(Instant::now) }
}

/// A region being timed by [`span`]; records on drop.
#[must_use = "the span records when it is dropped"]
pub struct Span {
    name: &'static str,
    started: Option<Instant>,
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(t) = self.started {
            add(self.name, t.elapsed().as_secs_f64(), 0.0, 0.0);
        }
    }
}

/// The name GEMM records go under.
pub const GEMM: &str = "gemm";

/// Runs `f`, a product of `2·m·n·k` FLOPs on `threads` threads, recording it under [`GEMM`]
/// when the profiler is on.
pub(crate) fn gemm<R>(m: usize, n: usize, k: usize, threads: usize, f: impl FnOnce() -> R) -> R {
    if !enabled() {
        return f();
    }
    let t = Instant::now();
    let out = f();
    let s = t.elapsed().as_secs_f64();
    add(GEMM, s, 2.0 * (m * n * k) as f64, s * threads as f64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_spans_and_gemm_only_when_enabled() {
        // The only test that enables the profiler; kernels of tests running meanwhile may add
        // GEMM records, hence the lower bounds on those.
        drop(span("profile-test-off"));
        assert!(!take().contains_key("profile-test-off"), "a disabled profiler records nothing");
        enable(true);
        drop(span("profile-test-region"));
        drop(span("profile-test-region"));
        gemm(2, 3, 4, 2, || std::thread::sleep(std::time::Duration::from_millis(2)));
        enable(false);
        let r = take();
        assert_eq!(r["profile-test-region"].calls, 2);
        assert!(r[GEMM].calls >= 1 && r[GEMM].flops >= 48.0);
        assert!(r[GEMM].seconds >= 0.002 && r[GEMM].core_seconds >= 2.0 * 0.002);
        assert!(!take().contains_key("profile-test-region"), "take clears");
    }
}
