use dfdx::prelude::*;
use selfsup::nn::{Encoder, SmallConvNet, TinyConvNet, SmallResNet};
use selfsup::nn::ops::Img;
use std::time::Instant;

fn bench<E: Encoder<Cpu> + dfdx::nn::BuildModule<Cpu, f32>>(name: &str, b: usize) {
    let dev = Cpu::seed_from_u64(0);
    let mut m = E::build(&dev);
    let x: Img<Cpu> = dev.sample_normal_like(&(b, 3, 32, 32));
    for i in 0..4 {
        let t = Instant::now();
        let y = m.forward_train(x.leaky_trace());
        let t1 = t.elapsed();
        let g = y.square().mean().backward();
        drop(g);
        if i > 0 { println!("{name} b={b}: fwd {:?} total {:?}", t1, t.elapsed()); }
    }
}
fn main() {
    bench::<SmallConvNet<Cpu>>("small", 256);
    if std::env::args().count() > 1 {
    bench::<TinyConvNet<Cpu>>("tiny", 256);
    bench::<SmallResNet<Cpu>>("resnet", 256);
    }
}
