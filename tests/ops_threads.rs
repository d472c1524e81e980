//! The batch- and channel-parallel CPU kernels of the convnets (conv, max pool, global average
//! pool, BatchNorm, the fused BatchNorm + ReLU) at 1, 2 and 3 threads: against their references composed from dfdx ops and
//! against central finite differences, forward and backward, on odd sizes — batches of one
//! image and batches that do not divide evenly by the thread count — and against themselves
//! at one thread (the thread count may change results only by float rounding).
//!
//! The thread setting is global, so the tests of this file take one lock and run one at a time.

use dfdx::prelude::*;
use selfsup::nn::ops::{self, Backend, Img, Mat, Vector};
use std::sync::Mutex;

type Dev = Cpu;
type Traced = OwnedTape<f32, Dev>;

#[path = "common/op_check.rs"]
mod op_check;
use op_check::{assert_close, finite_diff, sample, some_coords};

static THREAD_SETTING: Mutex<()> = Mutex::new(());

const THREADS: [usize; 3] = [1, 2, 3];

/// `y = f(x)` and the gradients of `L = Σ y ⊙ r` (fixed random `r`) w.r.t. `x` and `params`.
fn eval<S: Shape, F>(f: F, x: &Img<Dev>, params: &[&Tensor<S, f32, Dev>]) -> (Vec<f32>, Vec<Vec<f32>>)
where
    F: Fn(Img<Dev, Traced>) -> Img<Dev, Traced>,
{
    let y = f(x.leaky_trace());
    let r: Img<Dev> = Cpu::seed_from_u64(99).sample_normal_like(y.shape());
    let yv = y.retaped::<NoneTape>().as_vec();
    let g = (y * r).sum().backward();
    let mut grads = vec![g.get(x).as_vec()];
    grads.extend(params.iter().map(|p| g.get(*p).as_vec()));
    (yv, grads)
}

/// Runs `check(threads)` at every thread count, restoring the default afterwards.
fn at_each_thread_count(mut check: impl FnMut(usize)) {
    let _lock = THREAD_SETTING.lock().unwrap_or_else(|e| e.into_inner());
    for t in THREADS {
        ops::set_threads(t);
        check(t);
    }
    ops::set_threads(0);
}

/// Compares `got` at `t` threads with what the same kernel gave at one thread.
fn same_as_one_thread(what: &str, t: usize, one: &mut Vec<Vec<f32>>, got: Vec<Vec<f32>>) {
    if t == 1 {
        *one = got;
    } else {
        for (i, (a, b)) in got.iter().zip(one.iter()).enumerate() {
            assert_close(&format!("{what} at {t} threads vs 1 thread, output {i}"), a, b, 1e-5);
        }
    }
}

#[test]
fn conv2d_parallel_matches_reference_and_finite_differences() {
    // batch 1, odd batches (3, 5, 37 over 2 and 3 threads), several images per gemm block
    // (4×4 and 3×3 outputs), stride 2, 1×1 kernels.
    let cases = [
        ((1, 3, 7, 5), (4, 3, 3, 3), 1, 1),
        ((3, 2, 9, 6), (5, 2, 3, 3), 2, 1),
        ((5, 3, 6, 5), (4, 3, 3, 3), 1, 1),
        ((37, 5, 4, 4), (6, 5, 3, 3), 1, 1),
        ((7, 8, 3, 3), (16, 8, 3, 3), 1, 1),
        ((5, 6, 5, 4), (3, 6, 1, 1), 1, 0),
        ((2, 3, 8, 8), (2, 3, 4, 4), 3, 0),
    ];
    for (i, (xs, ws, s, p)) in cases.into_iter().enumerate() {
        let x = sample(10 + i as u64, xs);
        let w = sample(20 + i as u64, ws);
        let reference = eval(|x| ops::conv2d_reference(x, w.clone(), s, p), &x, &[&w]);
        let mut one = Vec::new();
        at_each_thread_count(|t| {
            let what = format!("conv case {i}, {t} threads");
            let fast = eval(|x| Cpu::conv2d(x, w.clone(), s, p), &x, &[&w]);
            assert_close(&format!("{what}: forward"), &fast.0, &reference.0, 1e-4);
            assert_close(&format!("{what}: dL/dx"), &fast.1[0], &reference.1[0], 1e-4);
            assert_close(&format!("{what}: dL/dw"), &fast.1[1], &reference.1[1], 1e-4);
            assert!(fast.1[1].iter().any(|v| v.abs() > 1e-3), "{what}: weight gradient is all zeros");
            if i < 3 {
                let coords = some_coords(x.shape().num_elements());
                let fd = finite_diff(|x| Cpu::conv2d(x, w.clone(), s, p), &x, &coords, 1e-2);
                let picked: Vec<f32> = coords.iter().map(|&c| fast.1[0][c]).collect();
                assert_close(&format!("{what}: dL/dx vs finite differences"), &picked, &fd, 2e-3);
                let wc = some_coords(w.shape().num_elements());
                let fdw = finite_diff(|w| Cpu::conv2d(x.clone(), w, s, p), &w, &wc, 1e-2);
                let picked: Vec<f32> = wc.iter().map(|&c| fast.1[1][c]).collect();
                assert_close(&format!("{what}: dL/dw vs finite differences"), &picked, &fdw, 2e-3);
            }
            let mut all = vec![fast.0];
            all.extend(fast.1);
            same_as_one_thread(&format!("conv case {i}"), t, &mut one, all);
        });
    }
}

#[test]
fn max_pool_parallel_matches_reference_and_finite_differences() {
    let cases = [((1, 2, 7, 5), 3, 2), ((5, 3, 8, 8), 2, 2), ((7, 1, 5, 6), 2, 1), ((3, 4, 9, 9), 2, 2)];
    for (i, (shape, k, s)) in cases.into_iter().enumerate() {
        let x = sample(30 + i as u64, shape);
        let none: [&Img<Dev>; 0] = [];
        let reference = eval(|x| ops::max_pool2d_reference(x, k, s), &x, &none);
        let mut one = Vec::new();
        at_each_thread_count(|t| {
            let what = format!("pool case {i}, {t} threads");
            let fast = eval(|x| Cpu::max_pool2d(x, k, s), &x, &none);
            assert_close(&format!("{what}: forward"), &fast.0, &reference.0, 1e-6);
            assert_close(&format!("{what}: backward"), &fast.1[0], &reference.1[0], 1e-6);
            let coords = some_coords(x.shape().num_elements());
            let fd = finite_diff(|x| Cpu::max_pool2d(x, k, s), &x, &coords, 1e-3);
            let picked: Vec<f32> = coords.iter().map(|&c| fast.1[0][c]).collect();
            assert_close(&format!("{what}: vs finite differences"), &picked, &fd, 5e-3);
            same_as_one_thread(&format!("pool case {i}"), t, &mut one, vec![fast.0, fast.1[0].clone()]);
        });
    }
}

#[test]
fn global_avg_pool_parallel_matches_reference() {
    for (i, shape) in [(1, 4, 5, 3), (5, 3, 2, 2), (7, 6, 4, 4)].into_iter().enumerate() {
        let x = sample(40 + i as u64, shape);
        let eval_gap = |f: &dyn Fn(Img<Dev, Traced>) -> Mat<Dev, Traced>| {
            let y = f(x.leaky_trace());
            let r: Mat<Dev> = Cpu::seed_from_u64(5).sample_normal_like(y.shape());
            let yv = y.retaped::<NoneTape>().as_vec();
            let g = (y * r).sum().backward();
            vec![yv, g.get(&x).as_vec()]
        };
        let reference = eval_gap(&|x| ops::global_avg_pool_reference(x));
        let mut one = Vec::new();
        at_each_thread_count(|t| {
            let fast = eval_gap(&|x| Cpu::global_avg_pool(x));
            assert_close(&format!("gap case {i}, {t} threads: forward"), &fast[0], &reference[0], 1e-5);
            assert_close(&format!("gap case {i}, {t} threads: backward"), &fast[1], &reference[1], 1e-5);
            same_as_one_thread(&format!("gap case {i}"), t, &mut one, fast);
        });
    }
}

#[test]
fn batchnorm_parallel_matches_reference_and_finite_differences() {
    check_batchnorm(false);
}

#[test]
fn fused_batchnorm_relu_matches_reference_and_finite_differences() {
    check_batchnorm(true);
}

/// BatchNorm (with `relu`: the fused `relu(bn(x))`) against its reference and finite differences.
fn check_batchnorm(relu: bool) {
    let name = if relu { "bn+relu" } else { "bn" };
    let mut clipped = 0;
    for (i, shape) in [(1, 4, 5, 3), (5, 3, 4, 4), (7, 5, 3, 3), (3, 1, 6, 7)].into_iter().enumerate() {
        let dev = Cpu::seed_from_u64(3 + i as u64);
        let x = sample(50 + i as u64, shape);
        let gamma: Vector<Dev> = dev.sample_normal_like(&(shape.1,));
        let beta: Vector<Dev> = dev.sample_normal_like(&(shape.1,));
        let fast_op = |x: Img<Dev, Traced>| match relu {
            true => Cpu::batchnorm2d_relu_train(x, gamma.clone(), beta.clone(), 1e-5),
            false => Cpu::batchnorm2d_train(x, gamma.clone(), beta.clone(), 1e-5),
        };
        let run = |fast: bool| {
            let xt = x.leaky_trace();
            let (y, stats) = match (fast, relu) {
                (true, _) => fast_op(xt),
                (false, true) => ops::batchnorm2d_relu_reference(xt, gamma.clone(), beta.clone(), 1e-5),
                (false, false) => ops::batchnorm2d_reference(xt, gamma.clone(), beta.clone(), 1e-5),
            };
            let r: Img<Dev> = Cpu::seed_from_u64(99).sample_normal_like(y.shape());
            let yv = y.retaped::<NoneTape>().as_vec();
            let g = (y * r).sum().backward();
            vec![yv, g.get(&x).as_vec(), g.get(&gamma).as_vec(), g.get(&beta).as_vec(), stats.mean.as_vec(), stats.var.as_vec()]
        };
        let reference = run(false);
        clipped += reference[0].iter().filter(|&&v| v == 0.0).count();
        let mut one = Vec::new();
        at_each_thread_count(|t| {
            let fast = run(true);
            for (j, what) in ["forward", "dL/dx", "dL/dγ", "dL/dβ", "mean", "var"].iter().enumerate() {
                assert_close(&format!("{name} case {i}, {t} threads: {what}"), &fast[j], &reference[j], 1e-4);
            }
            let coords = some_coords(x.shape().num_elements());
            let fd = finite_diff(|x| fast_op(x.leaky_trace()).0.retaped::<NoneTape>(), &x, &coords, 1e-3);
            let picked: Vec<f32> = coords.iter().map(|&c| fast[1][c]).collect();
            assert_close(&format!("{name} case {i}, {t} threads: vs finite differences"), &picked, &fd, 5e-3);
            same_as_one_thread(&format!("{name} case {i}"), t, &mut one, fast);
        });
    }
    assert_eq!(clipped > 0, relu, "{name}: outputs clipped at zero");
}
