//! The custom layers against their references: the fast CPU kernels must match the versions
//! composed from dfdx ops (forward and backward), and the fast kernels must match central
//! finite differences of a scalar loss.

use dfdx::prelude::*;
use selfsup::nn::ops::{self, Backend, Img};

type Dev = Cpu;
type Traced = OwnedTape<f32, Dev>;

#[path = "common/op_check.rs"]
mod op_check;
use op_check::{assert_close, finite_diff, sample, some_coords};

/// Loss `L = Σ y ⊙ r` for a fixed random `r`, so every output element gets its own gradient.
/// Returns y, ∂L/∂x and ∂L/∂w (w may be absent).
fn run<F>(f: F, x: &Img<Dev>, w: Option<&Img<Dev>>) -> (Vec<f32>, Vec<f32>, Vec<f32>)
where
    F: Fn(Img<Dev, Traced>) -> Img<Dev, Traced>,
{
    let y = f(x.leaky_trace());
    let shape = *y.shape();
    let r: Img<Dev> = Cpu::seed_from_u64(99).sample_normal_like(&shape);
    let yv = y.retaped::<NoneTape>().as_vec();
    let g = (y * r).sum().backward();
    let gw = w.map(|w| g.get(w).as_vec()).unwrap_or_default();
    (yv, g.get(x).as_vec(), gw)
}

#[test]
fn conv2d_fast_matches_reference_on_odd_sizes() {
    // (x shape, w shape, stride, padding): odd sizes, stride 2, no padding, 1x1 kernels.
    let cases = [
        ((2, 3, 7, 5), (4, 3, 3, 3), 1, 1),
        ((3, 2, 9, 6), (5, 2, 3, 3), 2, 1),
        ((1, 4, 5, 5), (3, 4, 5, 5), 1, 2),
        ((2, 5, 6, 7), (6, 5, 1, 1), 1, 0),
        ((2, 3, 8, 8), (2, 3, 4, 4), 3, 0),
    ];
    for (i, (xs, ws, s, p)) in cases.into_iter().enumerate() {
        let x = sample(10 + i as u64, xs);
        let w = sample(20 + i as u64, ws);
        let fast = run(|x| Cpu::conv2d(x, w.clone(), s, p), &x, Some(&w));
        let reference = run(|x| ops::conv2d_reference(x, w.clone(), s, p), &x, Some(&w));
        assert_close(&format!("case {i} forward"), &fast.0, &reference.0, 1e-4);
        assert_close(&format!("case {i} dL/dx"), &fast.1, &reference.1, 1e-4);
        assert_close(&format!("case {i} dL/dw"), &fast.2, &reference.2, 1e-4);
        assert!(fast.2.iter().any(|v| v.abs() > 1e-3), "weight gradient is all zeros");
    }
}

#[test]
fn conv2d_known_values_by_hand() {
    // One 3x3 input, one 2x2 filter, stride 1, no padding: each output is a dot product.
    let dev = Cpu::default();
    let x: Img<Dev> = dev.tensor_from_vec((1..=9).map(|v| v as f32).collect(), (1, 1, 3, 3));
    let w: Img<Dev> = dev.tensor_from_vec(vec![1.0, 0.0, 0.0, -1.0], (1, 1, 2, 2));
    let y = Cpu::conv2d(x.clone(), w.clone(), 1, 0);
    // y[i,j] = x[i,j] - x[i+1,j+1] = -4 everywhere
    assert_eq!(y.as_vec(), vec![-4.0; 4]);
    // With padding 1 the corner output only sees x[0,0] through w[1,1] = -1.
    let y = Cpu::conv2d(x, w, 1, 1);
    assert_eq!(y.shape(), &(1, 1, 4, 4));
    assert_eq!(y.as_vec()[0], -1.0);
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    let x = sample(1, (2, 3, 6, 5));
    let w = sample(2, (4, 3, 3, 3));
    let (_, gx, gw) = run(|x| Cpu::conv2d(x, w.clone(), 2, 1), &x, Some(&w));
    let coords = some_coords(x.shape().num_elements());
    let fd = finite_diff(|x| Cpu::conv2d(x, w.clone(), 2, 1), &x, &coords, 1e-2);
    let picked: Vec<f32> = coords.iter().map(|&i| gx[i]).collect();
    assert_close("conv dL/dx vs finite differences", &picked, &fd, 2e-3);
    // and with respect to the filters
    let wc = some_coords(w.shape().num_elements());
    let fdw = finite_diff(|w| Cpu::conv2d(x.clone(), w, 2, 1), &w, &wc, 1e-2);
    let picked: Vec<f32> = wc.iter().map(|&i| gw[i]).collect();
    assert_close("conv dL/dw vs finite differences", &picked, &fdw, 2e-3);
}

#[test]
fn max_pool_fast_matches_reference_and_finite_differences() {
    let cases = [((2, 3, 8, 8), 2, 2), ((1, 2, 7, 5), 3, 2), ((2, 1, 5, 6), 2, 1), ((1, 2, 7, 5), 2, 2)];
    for (i, (shape, k, s)) in cases.into_iter().enumerate() {
        let x = sample(30 + i as u64, shape);
        let fast = run(|x| Cpu::max_pool2d(x, k, s), &x, None);
        let reference = run(|x| ops::max_pool2d_reference(x, k, s), &x, None);
        assert_close(&format!("pool case {i} forward"), &fast.0, &reference.0, 1e-6);
        assert_close(&format!("pool case {i} backward"), &fast.1, &reference.1, 1e-6);
        let coords = some_coords(x.shape().num_elements());
        let fd = finite_diff(|x| Cpu::max_pool2d(x, k, s), &x, &coords, 1e-3);
        let picked: Vec<f32> = coords.iter().map(|&i| fast.1[i]).collect();
        assert_close("pool vs finite differences", &picked, &fd, 5e-3);
    }
    // by hand: the max of each 2x2 block
    let dev = Cpu::default();
    let x: Img<Dev> = dev.tensor_from_vec((0..16).map(|v| v as f32).collect(), (1, 1, 4, 4));
    assert_eq!(Cpu::max_pool2d(x, 2, 2).as_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    // a tie sends the gradient to the window's first maximum in row-major order
    let x: Img<Dev> = dev.tensor_from_vec(vec![1.0, 3.0, 3.0, 3.0, 2.0, 2.0, 0.0, 2.0], (1, 1, 2, 4));
    let g = Cpu::max_pool2d(x.leaky_trace(), 2, 2).sum().backward();
    assert_eq!(g.get(&x).as_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn global_avg_pool_fast_matches_reference() {
    let x = sample(40, (3, 4, 5, 3));
    let run2 = |f: &dyn Fn(Img<Dev, Traced>) -> selfsup::nn::ops::Mat<Dev, Traced>| {
        let y = f(x.leaky_trace());
        let r: selfsup::nn::ops::Mat<Dev> = Cpu::seed_from_u64(5).sample_normal_like(y.shape());
        let yv = y.retaped::<NoneTape>().as_vec();
        let g = (y * r).sum().backward();
        (yv, g.get(&x).as_vec())
    };
    let fast = run2(&|x| Cpu::global_avg_pool(x));
    let reference = run2(&|x| ops::global_avg_pool_reference(x));
    assert_close("gap forward", &fast.0, &reference.0, 1e-5);
    assert_close("gap backward", &fast.1, &reference.1, 1e-5);
}

#[test]
fn batchnorm_fast_matches_reference_and_finite_differences() {
    let dev = Cpu::seed_from_u64(3);
    let x = sample(50, (3, 4, 5, 3));
    let gamma: ops::Vector<Dev> = dev.sample_normal_like(&(4,));
    let beta: ops::Vector<Dev> = dev.sample_normal_like(&(4,));
    let grads_of = |fast: bool| {
        let xt = x.leaky_trace();
        let (y, stats) = if fast {
            Cpu::batchnorm2d_train(xt, gamma.clone(), beta.clone(), 1e-5)
        } else {
            ops::batchnorm2d_reference(xt, gamma.clone(), beta.clone(), 1e-5)
        };
        let r: Img<Dev> = Cpu::seed_from_u64(99).sample_normal_like(y.shape());
        let yv = y.retaped::<NoneTape>().as_vec();
        let g = (y * r).sum().backward();
        (yv, g.get(&x).as_vec(), g.get(&gamma).as_vec(), g.get(&beta).as_vec(), stats.mean.as_vec(), stats.var.as_vec())
    };
    let f = grads_of(true);
    let r = grads_of(false);
    assert_close("bn forward", &f.0, &r.0, 1e-4);
    assert_close("bn dL/dx", &f.1, &r.1, 1e-4);
    assert_close("bn dL/dγ", &f.2, &r.2, 1e-4);
    assert_close("bn dL/dβ", &f.3, &r.3, 1e-4);
    assert_close("bn mean", &f.4, &r.4, 1e-5);
    assert_close("bn var", &f.5, &r.5, 1e-5);
    // each channel of the output has mean β and std |γ| (up to ε)
    let (b, c, hw) = (3, 4, 15);
    for ch in 0..c {
        let vals: Vec<f32> = (0..b).flat_map(|bi| f.0[(bi * c + ch) * hw..][..hw].to_vec()).collect();
        let m = vals.iter().sum::<f32>() / vals.len() as f32;
        assert!((m - beta.as_vec()[ch]).abs() < 1e-4, "channel {ch} mean {m}");
    }
    let coords = some_coords(x.shape().num_elements());
    let fd = finite_diff(|x| Cpu::batchnorm2d_train(x, gamma.clone(), beta.clone(), 1e-5).0, &x, &coords, 1e-2);
    let picked: Vec<f32> = coords.iter().map(|&i| f.1[i]).collect();
    assert_close("bn vs finite differences", &picked, &fd, 5e-3);
}

#[test]
fn encoders_run_forward_and_backward_on_small_and_odd_inputs() {
    use dfdx::nn::BuildModule;
    use selfsup::nn::{Encoder, SmallResNet, TinyConvNet};
    let dev = Cpu::seed_from_u64(0);
    let x: Img<Dev> = dev.sample_normal_like(&(3, 3, 20, 12));

    let mut resnet = SmallResNet::<Cpu>::build(&dev);
    let h = resnet.forward_train(x.leaky_trace());
    assert_eq!(h.shape(), &(3, 128));
    let g = h.square().mean().backward();
    let gw = g.get(&resnet.stem.conv.weight).as_vec();
    assert!(gw.iter().any(|v| *v != 0.0), "gradient reaches the ResNet stem");
    assert!(gw.iter().all(|v| v.is_finite()));
    assert_eq!(resnet.forward_eval(x.clone()).shape(), &(3, 128));

    let mut convnet = TinyConvNet::<Cpu>::build(&dev);
    let h = convnet.forward_train(x.leaky_trace());
    assert_eq!(h.shape(), &(3, 128));
    let g = h.square().mean().backward();
    assert!(g.get(&convnet.block1.conv.weight).as_vec().iter().any(|v| *v != 0.0), "gradient reaches the first conv");
}
