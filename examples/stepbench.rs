use dfdx::prelude::*;
use selfsup::augment::ViewBatch;
use selfsup::methods::{Method, SimClr};
use selfsup::nn::TinyConvNet;
use selfsup::train::{Optimizer, OptimizerKind};
use std::time::Instant;
fn main() {
    type M = SimClr<TinyConvNet<Cpu>, 128, 512, 128, f32, Cpu>;
    let dev = Cpu::seed_from_u64(0);
    if std::env::var("CACHE").is_ok() { dev.enable_cache(); }
    let mut m = M::build(&dev);
    let mut opt = Optimizer::new(&m, OptimizerKind::AdamW, 1e-3, 1e-4);
    let b = 256;
    let views: Vec<ViewBatch> = (0..2).map(|v| {
        let x: Tensor<(usize, usize, usize, usize), f32, Cpu> = Cpu::seed_from_u64(v).sample_uniform_like(&(b, 3, 32, 32));
        ViewBatch { data: x.as_vec(), batch: b, channels: 3, height: 32, width: 32 }
    }).collect();
    let mut grads = m.alloc_grads();
    for _ in 0..5 {
        let t = Instant::now();
        let loss = m.loss(&views, &dev, std::mem::replace(&mut grads, Gradients::leaky()));
        let t1 = t.elapsed();
        grads = loss.backward();
        let t2 = t.elapsed();
        opt.step(&mut m, &grads).unwrap();
        m.zero_grads(&mut grads);
        println!("fwd {:?} bwd {:?} total {:?}", t1, t2 - t1, t.elapsed());
    }
}
