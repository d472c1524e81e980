//! The ViT's fast CPU ops (linear, LayerNorm, attention, GELU) against their references composed
//! from dfdx ops, forward and backward, on odd sizes; and against central finite differences.
//! Then the ViT encoder itself: shapes, gradients to every parameter, attention maps.

use dfdx::prelude::*;
use selfsup::nn::ops::{self, Backend, Mat, Vector};

type Dev = Cpu;
type Traced = OwnedTape<f32, Dev>;

#[path = "common/op_check.rs"]
mod op_check;
use op_check::{assert_close, finite_diff};

fn normal<S: Shape>(seed: u64, shape: S) -> Tensor<S, f32, Dev> {
    Cpu::seed_from_u64(seed).sample_normal_like(&shape)
}

/// An op under test: its input `x` and its parameters (flattened, to perturb them one by one).
struct Case<'a> {
    x: &'a Mat<Dev>,
    params: Vec<&'a Vector<Dev>>,
    weight: Option<&'a Mat<Dev>>,
}

impl Case<'_> {
    /// `y = f(x)` and the gradients of `L = Σ y ⊙ r` (fixed random `r`) w.r.t. x, the weight
    /// matrix (if any) and each parameter vector, in that order.
    fn eval<F: Fn(Mat<Dev, Traced>) -> Mat<Dev, Traced>>(&self, f: F) -> (Vec<f32>, Vec<Vec<f32>>) {
        let y = f(self.x.leaky_trace());
        let r: Mat<Dev> = normal(99, *y.shape());
        let yv = y.retaped::<NoneTape>().as_vec();
        let g = (y * r).sum().backward();
        let mut grads = vec![g.get(self.x).as_vec()];
        grads.extend(self.weight.map(|w| g.get(w).as_vec()));
        grads.extend(self.params.iter().map(|p| g.get(*p).as_vec()));
        (yv, grads)
    }

    /// Fast and reference agree forward and for every gradient.
    fn fast_matches_reference<F, R>(&self, what: &str, fast: F, reference: R, tol: f32)
    where
        F: Fn(Mat<Dev, Traced>) -> Mat<Dev, Traced>,
        R: Fn(Mat<Dev, Traced>) -> Mat<Dev, Traced>,
    {
        let (yf, gf) = self.eval(fast);
        let (yr, gr) = self.eval(reference);
        assert_close(&format!("{what} forward"), &yf, &yr, tol);
        for (i, (a, b)) in gf.iter().zip(&gr).enumerate() {
            assert_close(&format!("{what} gradient {i}"), a, b, tol);
        }
    }
}

/// Central finite differences of `L = Σ f(v) ⊙ r` at some coordinates of `v`, against `grad`.
fn check_finite_differences<S: Shape, F>(what: &str, v: &Tensor<S, f32, Dev>, grad: &[f32], f: F)
where
    F: Fn(Tensor<S, f32, Dev>) -> Mat<Dev>,
{
    let eps = 1e-2f32;
    let coords: Vec<usize> = (0..10).map(|i| (i * 7919 + 13) % v.shape().num_elements()).collect();
    let fd = finite_diff(f, v, &coords, eps);
    let picked: Vec<f32> = coords.iter().map(|&i| grad[i]).collect();
    // f32 forward passes and a 1e-2 step: a few 1e-3 of relative error is rounding.
    assert_close(&format!("{what} vs finite differences"), &picked, &fd, 5e-3);
}

#[test]
fn linear_fast_matches_reference_and_finite_differences() {
    for (i, (n, fan_in, fan_out)) in [(7, 5, 3), (1, 13, 9), (33, 17, 31)].into_iter().enumerate() {
        let x = normal(i as u64, (n, fan_in));
        let w = normal(10 + i as u64, (fan_out, fan_in));
        let b = normal(20 + i as u64, (fan_out,));
        let case = Case { x: &x, params: vec![&b], weight: Some(&w) };
        case.fast_matches_reference(
            &format!("linear {n}x{fan_in}->{fan_out}"),
            |x| Cpu::linear(x, w.clone(), b.clone()),
            |x| ops::linear_reference(x, w.clone(), b.clone()),
            1e-5,
        );
        let (_, g) = case.eval(|x| Cpu::linear(x, w.clone(), b.clone()));
        check_finite_differences("linear dL/dx", &x, &g[0], |x| Cpu::linear(x, w.clone(), b.clone()));
        check_finite_differences("linear dL/dW", &w, &g[1], |w| Cpu::linear(x.clone(), w, b.clone()));
        check_finite_differences("linear dL/db", &b, &g[2], |b| Cpu::linear(x.clone(), w.clone(), b));
    }
    // by hand: y = x·Wᵀ + b
    let dev = Cpu::default();
    let x: Mat<Dev> = dev.tensor_from_vec(vec![1.0, 2.0], (1, 2));
    let w: Mat<Dev> = dev.tensor_from_vec(vec![1.0, 0.0, 3.0, -1.0], (2, 2));
    let b: Vector<Dev> = dev.tensor_from_vec(vec![0.5, -0.5], (2,));
    assert_eq!(Cpu::linear(x, w, b).as_vec(), vec![1.5, 0.5]);
}

#[test]
fn layer_norm_fast_matches_reference_and_finite_differences() {
    // 130 rows: more than one parallel task of 64 rows, and a partial last one.
    for (i, (rows, d)) in [(5, 7), (130, 33), (3, 1)].into_iter().enumerate() {
        let x = normal(30 + i as u64, (rows, d));
        let gamma = normal(40 + i as u64, (d,));
        let beta = normal(50 + i as u64, (d,));
        let case = Case { x: &x, params: vec![&gamma, &beta], weight: None };
        case.fast_matches_reference(
            &format!("layer_norm {rows}x{d}"),
            |x| Cpu::layer_norm(x, gamma.clone(), beta.clone(), 1e-5),
            |x| ops::layer_norm_reference(x, gamma.clone(), beta.clone(), 1e-5),
            1e-4,
        );
        if d > 1 {
            let (y, g) = case.eval(|x| Cpu::layer_norm(x, gamma.clone(), beta.clone(), 1e-5));
            check_finite_differences("layer_norm dL/dx", &x, &g[0], |x| Cpu::layer_norm(x, gamma.clone(), beta.clone(), 1e-5));
            check_finite_differences("layer_norm dL/dγ", &gamma, &g[1], |gm| Cpu::layer_norm(x.clone(), gm, beta.clone(), 1e-5));
            // every row of (y − β)/γ has mean 0 and variance 1 (up to ε)
            let (gv, bv) = (gamma.as_vec(), beta.as_vec());
            for row in y.chunks(d) {
                let z: Vec<f32> = row.iter().zip(&gv).zip(&bv).map(|((y, g), b)| (y - b) / g).collect();
                let m = z.iter().sum::<f32>() / d as f32;
                let v = z.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / d as f32;
                assert!(m.abs() < 1e-4 && (v - 1.0).abs() < 1e-3, "normalised row: mean {m}, var {v}");
            }
        }
    }
}

#[test]
fn attention_fast_matches_reference_and_finite_differences() {
    // (sequences, tokens, heads, head size): odd token counts, one head, one token.
    for (i, (b, n, h, dh)) in [(2, 5, 2, 3), (3, 7, 1, 4), (1, 1, 3, 2), (2, 65, 4, 8)].into_iter().enumerate() {
        let qkv = normal(60 + i as u64, (b * n, 3 * h * dh));
        let case = Case { x: &qkv, params: vec![], weight: None };
        case.fast_matches_reference(
            &format!("attention b{b} n{n} h{h} d{dh}"),
            |x| Cpu::attention(x, n, h),
            |x| ops::attention_reference(x, n, h),
            1e-5,
        );
        let (_, g) = case.eval(|x| Cpu::attention(x, n, h));
        check_finite_differences("attention dL/dqkv", &qkv, &g[0], |x| Cpu::attention(x, n, h));
    }
}

#[test]
fn attention_with_one_key_copies_its_value_and_maps_are_distributions() {
    // One token: softmax over a single key is 1, so the output is V itself.
    let qkv = normal(70, (4, 6));
    let y = Cpu::attention(qkv.clone(), 1, 2);
    assert_eq!(y.as_vec(), qkv.as_vec().chunks(6).flat_map(|r| r[4..6].to_vec()).collect::<Vec<_>>());
    let maps = ops::attention_maps(normal(71, (2 * 9, 3 * 8)), 9, 2);
    assert_eq!(maps.shape(), &(2, 2, 9, 9));
    for row in maps.as_vec().chunks(9) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5 && row.iter().all(|p| *p >= 0.0));
    }
}

#[test]
fn gelu_fast_matches_reference_and_finite_differences() {
    // Wide inputs: the tails (|x| up to ~12) and the kink near 0. The second size spans
    // several parallel chunks of the fast kernel, the last one partial.
    for (i, shape) in [(9, 37), (301, 499)].into_iter().enumerate() {
        let x = normal(80 + i as u64, shape) * 4.0;
        let case = Case { x: &x, params: vec![], weight: None };
        case.fast_matches_reference(&format!("gelu {shape:?}"), Cpu::gelu, ops::gelu_reference, 1e-5);
    }
    let x = normal(80, (9, 37)) * 4.0;
    let case = Case { x: &x, params: vec![], weight: None };
    let (y, g) = case.eval(Cpu::gelu);
    check_finite_differences("gelu dL/dx", &x, &g[0], Cpu::gelu);
    // GELU(0) = 0, GELU(x) → x for large x, → 0 for very negative x
    let dev = Cpu::default();
    let probe: Mat<Dev> = dev.tensor_from_vec(vec![0.0, 10.0, -10.0, 1.0], (1, 4));
    let v = Cpu::gelu(probe).as_vec();
    assert!(v[0].abs() < 1e-7 && (v[1] - 10.0).abs() < 1e-5 && v[2].abs() < 1e-5);
    // tanh form at 1: ½(1 + tanh(√(2/π)·1.044715)) = 0.8411920, within 2e-4 of Φ(1) = 0.8413447
    assert!((v[3] - 0.841_192).abs() < 1e-6, "GELU(1) = 0.841192, got {}", v[3]);
    assert!(y.iter().all(|v| v.is_finite()));
}

mod vit {
    use super::*;
    use dfdx::nn::BuildModule;
    use selfsup::nn::vit::{position_resampling, TOKENS, WIDTH};
    use selfsup::nn::{Encoder, SmallVit};

    #[test]
    fn tokens_are_linear_maps_of_flattened_patches_plus_positions() {
        let dev = Cpu::seed_from_u64(0);
        let vit = SmallVit::<Dev>::build(&dev);
        let x: ops::Img<Dev> = dev.sample_normal_like(&(2, 3, 32, 32));
        let t = vit.tokens(x.clone()).as_vec();
        let (xv, w, bias, pos, cls) =
            (x.as_vec(), vit.patch_embed.weight.as_vec(), vit.patch_embed.bias.as_vec(), vit.pos_embed.as_vec(), vit.cls_token.as_vec());
        for (b, p) in [(0, 0), (1, 9), (1, 63)] {
            let (r, c) = (p / 8, p % 8);
            // the patch flattened in (channel, row, column) order
            let mut patch = Vec::new();
            for ch in 0..3 {
                for u in 0..4 {
                    for v in 0..4 {
                        patch.push(xv[((b * 3 + ch) * 32 + 4 * r + u) * 32 + 4 * c + v]);
                    }
                }
            }
            for o in [0, 77, WIDTH - 1] {
                let want = (0..48).map(|k| w[o * 48 + k] * patch[k]).sum::<f32>() + bias[o] + pos[(p + 1) * WIDTH + o];
                let got = t[(b * TOKENS + p + 1) * WIDTH + o];
                assert!((got - want).abs() < 1e-5, "token {p} of image {b}, feature {o}: {got} vs {want}");
            }
        }
        // token 0 of every image is the class token plus position 0
        for o in 0..WIDTH {
            assert!((t[TOKENS * WIDTH + o] - (cls[o] + pos[o])).abs() < 1e-6);
        }
    }

    #[test]
    fn vit_trains_end_to_end_and_exposes_attention_maps() {
        let dev = Cpu::seed_from_u64(1);
        let mut vit = SmallVit::<Dev>::build(&dev);
        let x: ops::Img<Dev> = dev.sample_normal_like(&(3, 3, 32, 32));
        let h = vit.forward_train(x.leaky_trace());
        assert_eq!(h.shape(), &(3, 128));
        let g = h.square().mean().backward();
        let reaches = |name: &str, v: Vec<f32>| {
            assert!(v.iter().all(|g| g.is_finite()), "{name}: non-finite gradient");
            assert!(v.iter().any(|g| *g != 0.0), "{name}: no gradient");
        };
        reaches("patch_embed", g.get(&vit.patch_embed.weight).as_vec());
        reaches("cls_token", g.get(&vit.cls_token).as_vec());
        reaches("pos_embed", g.get(&vit.pos_embed).as_vec());
        for (i, block) in [&vit.block1, &vit.block2, &vit.block3, &vit.block4].into_iter().enumerate() {
            reaches(&format!("block{} qkv", i + 1), g.get(&block.qkv.weight).as_vec());
            reaches(&format!("block{} fc1", i + 1), g.get(&block.fc1.weight).as_vec());
            reaches(&format!("block{} norm1", i + 1), g.get(&block.norm1.gamma).as_vec());
        }
        reaches("final norm", g.get(&vit.norm.gamma).as_vec());
        // no BatchNorm: evaluation is the same function
        assert_close("eval vs train", &vit.forward_eval(x.clone()).as_vec(), &vit.forward_train(x.clone()).as_vec(), 0.0);

        let maps = vit.last_attention_maps(x);
        assert_eq!(maps.shape(), &(3, 4, TOKENS, TOKENS));
        for row in maps.as_vec().chunks(TOKENS) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    #[should_panic(expected = "positive multiple of 4")]
    fn vit_rejects_images_not_cut_into_whole_patches_with_a_clear_message() {
        let dev = Cpu::seed_from_u64(2);
        let vit = SmallVit::<Dev>::build(&dev);
        let _ = vit.forward(dev.sample_normal_like(&(1, 3, 18, 18)) as ops::Img<Dev>);
    }

    #[test]
    fn position_resampling_is_the_identity_on_the_learnt_grid_and_bilinear_elsewhere() {
        let r8 = position_resampling(8);
        for i in 0..TOKENS {
            for j in 0..TOKENS {
                assert_eq!(r8[i * TOKENS + j], if i == j { 1.0 } else { 0.0 }, "R(8)[{i}][{j}]");
            }
        }
        // 4×4 grid: each new patch is the mean of a 2×2 block of the old one.
        let r4 = position_resampling(4);
        for (r, c) in [(0, 0), (1, 2), (3, 3)] {
            let row = &r4[(1 + 4 * r + c) * TOKENS..(2 + 4 * r + c) * TOKENS];
            let mut want = vec![0.0; TOKENS];
            for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                want[1 + (2 * r + dr) * 8 + 2 * c + dc] = 0.25;
            }
            assert_eq!(row, &want[..], "R(4), patch ({r}, {c})");
        }
        // 3×3 grid, by hand: centres at u = (i + 1/2)·8/3 − 1/2 = 5/6, 7/2, 37/6 of the old
        // grid; the middle patch (1, 1) takes 1/4 of each of the old (3..4) × (3..4) block.
        let r3 = position_resampling(3);
        let middle = &r3[(1 + 4) * TOKENS..(2 + 4) * TOKENS];
        for (k, &w) in middle.iter().enumerate() {
            let want = if [1 + 3 * 8 + 3, 1 + 3 * 8 + 4, 1 + 4 * 8 + 3, 1 + 4 * 8 + 4].contains(&k) { 0.25 } else { 0.0 };
            assert!((w - want).abs() < 1e-6, "R(3), middle patch, weight {k}: {w} vs {want}");
        }
        // patch (0, 2): rows 5/6 → 1/6 of row 0 and 5/6 of row 1; columns 37/6 → 5/6 of
        // column 6 and 1/6 of column 7.
        let corner = &r3[3 * TOKENS..4 * TOKENS];
        for (gr, wr) in [(0, 1.0 / 6.0), (1, 5.0 / 6.0)] {
            for (gc, wc) in [(6, 5.0 / 6.0), (7, 1.0 / 6.0)] {
                let got = corner[1 + gr * 8 + gc];
                assert!((got as f64 - wr * wc).abs() < 1e-6, "R(3), patch (0, 2), old ({gr}, {gc}): {got} vs {}", wr * wc);
            }
        }
        for s in 1..=12 {
            let r = position_resampling(s);
            assert_eq!(r.len(), (s * s + 1) * TOKENS);
            assert_eq!(r[0], 1.0, "the class token keeps its position embedding");
            for (i, row) in r.chunks(TOKENS).enumerate() {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "R({s}) row {i} sums to {}", row.iter().sum::<f32>());
            }
        }
    }

    #[test]
    fn a_16px_image_gets_the_resampled_positions_and_their_gradient_reaches_the_learnt_grid() {
        let dev = Cpu::seed_from_u64(3);
        let vit = SmallVit::<Dev>::build(&dev);
        let x: ops::Img<Dev> = dev.sample_normal_like(&(2, 3, 16, 16));
        let n = 17;
        let t = vit.tokens(x.clone()).as_vec();
        assert_eq!(t.len(), 2 * n * WIDTH);
        let (xv, w, bias, pos, cls) =
            (x.as_vec(), vit.patch_embed.weight.as_vec(), vit.patch_embed.bias.as_vec(), vit.pos_embed.as_vec(), vit.cls_token.as_vec());
        for (b, p) in [(0, 0), (1, 6), (1, 15)] {
            let (r, c) = (p / 4, p % 4);
            let mut patch = Vec::new();
            for ch in 0..3 {
                for u in 0..4 {
                    for v in 0..4 {
                        patch.push(xv[((b * 3 + ch) * 16 + 4 * r + u) * 16 + 4 * c + v]);
                    }
                }
            }
            for o in [0, 50, WIDTH - 1] {
                // the mean of the 2×2 block of learnt positions under the patch
                let block = [(0, 0), (0, 1), (1, 0), (1, 1)].iter().map(|(dr, dc)| pos[(1 + (2 * r + dr) * 8 + 2 * c + dc) * WIDTH + o]).sum::<f32>() / 4.0;
                let want = (0..48).map(|k| w[o * 48 + k] * patch[k]).sum::<f32>() + bias[o] + block;
                let got = t[(b * n + p + 1) * WIDTH + o];
                assert!((got - want).abs() < 1e-5, "token {p} of image {b}, feature {o}: {got} vs {want}");
            }
        }
        for o in 0..WIDTH {
            assert!((t[n * WIDTH + o] - (cls[o] + pos[o])).abs() < 1e-6, "class token");
        }
        // L = Σ tokens ⊙ ρ: dL/dpos = Rᵀ · Σ_b ρ_b, with R = position_resampling(4).
        let rho: Mat<Dev> = normal(7, (2 * n, WIDTH));
        let g = (vit.tokens(x.leaky_trace()) * rho.clone()).sum().backward();
        let got = g.get(&vit.pos_embed).as_vec();
        let (r, rho) = (position_resampling(4), rho.as_vec());
        for (j, o) in [(0, 3), (1, 0), (10, 64), (64, WIDTH - 1), (37, 100)] {
            let want: f32 = (0..n).map(|i| r[i * TOKENS + j] * (rho[i * WIDTH + o] + rho[(n + i) * WIDTH + o])).sum();
            let have = got[j * WIDTH + o];
            assert!((have - want).abs() < 1e-5, "dL/dpos[{j}][{o}]: {have} vs {want}");
        }
        // the whole encoder on 16-px crops: a class token per image, attention over 17 tokens
        assert_eq!(vit.forward(x.clone()).shape(), &(2, WIDTH));
        assert_eq!(vit.last_attention_maps(x).shape(), &(2, 4, n, n));
    }
}
