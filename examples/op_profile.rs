//! Per-layer timing of the default encoder's CPU ops (tiny-convnet 16-32-64-128, or the
//! 32-64-128-256 convnet with `--wide`) at the SimCLR bench's batch (2 × 256 images of 32×32):
//! forward alone, and forward + backward (the loss is `Σ y`, whose own backward is one fill).
//!
//! `SELFSUP_THREADS=2 cargo run --release --example op_profile -- [--wide] [--fused] [--reps N]`
//! (`--fused`: BatchNorm + ReLU as the one fused op the conv blocks use, instead of two ops)
//!
//! Each figure is the fastest of N repetitions (default 5) after one warm-up, in ms: the least
//! disturbed by other load on the machine.

use dfdx::prelude::*;
use selfsup::nn::ops::{self, Backend, Img, Vector};
use std::time::Instant;

fn min_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[0]
}

fn main() {
    ops::tune_allocator();
    let args: Vec<String> = std::env::args().collect();
    let wide = args.iter().any(|a| a == "--wide");
    let fused = args.iter().any(|a| a == "--fused");
    let reps = args.iter().position(|a| a == "--reps").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(5);
    let widths = if wide { [32, 64, 128, 256] } else { [16, 32, 64, 128] };
    let batch = 512;
    let dev = Cpu::seed_from_u64(0);
    println!("threads {}, batch {batch}, widths {widths:?}, fastest of {reps} (ms)", ops::threads());
    println!("{:<26} {:>9} {:>9}", "op", "forward", "fwd+bwd");
    let mut total = (0.0, 0.0);
    let mut report = |name: String, f: f64, fb: f64| {
        println!("{name:<26} {f:>9.1} {fb:>9.1}");
        total.0 += f;
        total.1 += fb;
    };
    let mut cin = 3;
    let mut side = 32;
    for (l, &o) in widths.iter().enumerate() {
        let x: Img<Cpu> = dev.sample_normal_like(&(batch, cin, side, side));
        let w: Img<Cpu> = dev.sample_normal_like(&(o, cin, 3, 3));
        let f = min_ms(reps, || drop(Cpu::conv2d(x.clone(), w.clone(), 1, 1)));
        let fb = min_ms(reps, || drop(Cpu::conv2d(x.leaky_trace(), w.clone(), 1, 1).sum().backward()));
        report(format!("conv{} {cin}->{o} @{side}", l + 1), f, fb);

        let y: Img<Cpu> = dev.sample_normal_like(&(batch, o, side, side));
        let g: Vector<Cpu> = dev.sample_normal_like(&(o,));
        let b: Vector<Cpu> = dev.sample_normal_like(&(o,));
        if fused {
            let f = min_ms(reps, || drop(Cpu::batchnorm2d_relu_train(y.clone(), g.clone(), b.clone(), 1e-5)));
            let fb = min_ms(reps, || drop(Cpu::batchnorm2d_relu_train(y.leaky_trace(), g.clone(), b.clone(), 1e-5).0.sum().backward()));
            report(format!("bn+relu{} {o} @{side}", l + 1), f, fb);
        } else {
            let f = min_ms(reps, || drop(Cpu::batchnorm2d_train(y.clone(), g.clone(), b.clone(), 1e-5)));
            let fb = min_ms(reps, || drop(Cpu::batchnorm2d_train(y.leaky_trace(), g.clone(), b.clone(), 1e-5).0.sum().backward()));
            report(format!("bn{} {o} @{side}", l + 1), f, fb);
            let f = min_ms(reps, || drop(y.clone().relu()));
            let fb = min_ms(reps, || drop(y.leaky_trace().relu().sum().backward()));
            report(format!("relu{} {o} @{side}", l + 1), f, fb);
        }
        if l < 3 {
            let f = min_ms(reps, || drop(Cpu::max_pool2d(y.clone(), 2, 2)));
            let fb = min_ms(reps, || drop(Cpu::max_pool2d(y.leaky_trace(), 2, 2).sum().backward()));
            report(format!("maxpool{} {o} @{side}", l + 1), f, fb);
            side /= 2;
        } else {
            let f = min_ms(reps, || drop(Cpu::global_avg_pool(y.clone())));
            let fb = min_ms(reps, || drop(Cpu::global_avg_pool(y.leaky_trace()).sum().backward()));
            report(format!("avgpool {o} @{side}"), f, fb);
        }
        cin = o;
    }
    let (f, fb) = total;
    println!("{:<26} {f:>9.1} {fb:>9.1}", "total");
}
