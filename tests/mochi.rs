//! MoCHi's hard-negative selection, mixing and extended InfoNCE against
//! `tests/golden/mochi.py` (NumPy, float64, written from the formulas).

#![allow(clippy::excessive_precision)] // golden values are pasted verbatim from NumPy

use dfdx::prelude::*;
use rand::SeedableRng;
use selfsup::methods::infonce::{info_nce, info_nce_with_extra};
use selfsup::methods::mochi::{hardest_negatives, mix, synthesize, synthesize_batch, Mixing};

mod common;
use common::normalized;

fn q() -> Vec<f32> {
    normalized(&[[1.0, 0.2, 0.0], [0.0, 1.0, 0.5]])
}
fn k() -> Vec<f32> {
    normalized(&[[0.9, 0.3, 0.1], [0.1, 0.8, 0.6]])
}
fn queue() -> Vec<f32> {
    normalized(&[[0.0, 0.0, 1.0], [1.0, -1.0, 0.0], [-0.5, 0.5, 0.5], [0.8, 0.1, 0.1], [0.2, 0.9, 0.0]])
}
fn row(v: &[f32], i: usize) -> &[f32] {
    &v[i * 3..(i + 1) * 3]
}
fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < tol, "{what}: got {got:?}, numpy says {want:?}");
    }
}

#[test]
fn hardest_negatives_are_the_most_similar_keys_in_order() {
    let (q, queue) = (q(), queue());
    assert_eq!(hardest_negatives(row(&q, 0), &queue, 3, 3), vec![3, 1, 4]);
    assert_eq!(hardest_negatives(row(&q, 1), &queue, 3, 3), vec![4, 2, 0]);
    assert_eq!(hardest_negatives(row(&q, 1), &queue, 3, 99).len(), 5, "N larger than the queue keeps all");
}

#[test]
fn mixes_match_numpy_and_are_unit_vectors() {
    let (q, queue) = (q(), queue());
    close(&mix(row(&queue, 3), row(&queue, 4), 0.3), &[0.52704536, 0.84872242, 0.04351376], 1e-6, "mix of two negatives");
    close(&mix(row(&q, 0), row(&queue, 3), 0.25), &[0.98559024, 0.14162011, 0.09249657], 1e-6, "mix with the query");
    let zero = mix(&[1.0, 0.0, 0.0], &[-1.0, 0.0, 0.0], 0.5);
    assert!(zero.iter().all(|v| v.is_finite()), "opposite vectors mixed half-half must not give NaN: {zero:?}");
}

/// Every synthetic point is exactly (bit for bit) `mix` of its sources, drawn from the
/// generator in this order: `i`, `j` (again while equal), `α` for each of the `s` pair mixes,
/// then `j`, `β` for each of the `s'` query mixes; a batch draws query after query from one
/// generator (its hard sets are ranked in parallel, which must not change the result).
#[test]
fn synthetic_points_are_the_bits_of_mix_in_the_order_of_the_draws() {
    use rand::{rngs::StdRng, Rng};
    let (q, queue) = (q(), queue());
    let mixing = Mixing { n_hard: 3, s: 20, s_prime: 10 };
    let hard = hardest_negatives(row(&q, 0), &queue, 3, mixing.n_hard);
    let got = synthesize(row(&q, 0), &queue, 3, &hard, &mixing, &mut StdRng::seed_from_u64(11));
    let mut rng = StdRng::seed_from_u64(11);
    let mut want = Vec::new();
    let pick = |rng: &mut StdRng| hard[rng.gen_range(0..hard.len())];
    for _ in 0..mixing.s {
        let i = pick(&mut rng);
        let mut j = pick(&mut rng);
        while j == i {
            j = pick(&mut rng);
        }
        want.extend(mix(row(&queue, i), row(&queue, j), rng.gen_range(0.0..1.0)));
    }
    for _ in 0..mixing.s_prime {
        let j = pick(&mut rng);
        want.extend(mix(row(&q, 0), row(&queue, j), rng.gen_range(0.0..0.5)));
    }
    assert_eq!(got, want);

    let batch = synthesize_batch(&q, &queue, 3, &mixing, &mut StdRng::seed_from_u64(5));
    let mut rng = StdRng::seed_from_u64(5);
    let one_by_one: Vec<f32> = q.chunks(3).flat_map(|qi| synthesize(qi, &queue, 3, &hardest_negatives(qi, &queue, 3, mixing.n_hard), &mixing, &mut rng)).collect();
    assert_eq!(batch, one_by_one);
}

#[test]
fn synthetic_points_come_from_the_hard_set_with_the_right_weights() {
    let (q, queue) = (q(), queue());
    let mixing = Mixing { n_hard: 2, s: 50, s_prime: 50 };
    let hard = hardest_negatives(row(&q, 0), &queue, 3, mixing.n_hard); // rows 3 and 1
    let out = synthesize(row(&q, 0), &queue, 3, &hard, &mixing, &mut rand::rngs::StdRng::seed_from_u64(7));
    assert_eq!(out.len(), (mixing.s + mixing.s_prime) * 3);
    let (n3, n1) = (row(&queue, 3), row(&queue, 1));
    for (t, h) in out.chunks(3).enumerate() {
        let norm: f32 = h.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "point {t} is not unit-norm: {norm}");
        // every point lies in the plane of its two sources: h · (a × b) = 0
        let off_plane = |a: &[f32], b: &[f32]| {
            let cross = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
            h.iter().zip(cross).map(|(x, y)| x * y).sum::<f32>().abs()
        };
        let (a, b) = if t < mixing.s {
            (n3, n1)
        } else if off_plane(row(&q, 0), n3) < off_plane(row(&q, 0), n1) {
            (row(&q, 0), n3)
        } else {
            (row(&q, 0), n1)
        };
        assert!(off_plane(a, b) < 1e-4, "point {t} is not a mix of two hard negatives / of q and one: {h:?}");
        if t >= mixing.s {
            // β < 0.5: the mix stays closer to the negative than to the query
            let (to_q, to_b): (f32, f32) = (h.iter().zip(a).map(|(x, y)| x * y).sum(), h.iter().zip(b).map(|(x, y)| x * y).sum());
            assert!(to_b >= to_q - 1e-5, "query mix {t} leans towards the query: q·h {to_q} > n·h {to_b}");
        }
    }
}

#[test]
fn info_nce_with_extra_negatives_matches_numpy() {
    let dev = Cpu::default();
    let (qv, kv, queue) = (q(), k(), queue());
    let extra: Vec<f32> = [
        mix(row(&queue, 3), row(&queue, 4), 0.3),
        mix(row(&qv, 0), row(&queue, 3), 0.25),
        mix(row(&queue, 4), row(&queue, 2), 0.6),
        mix(row(&qv, 1), row(&queue, 4), 0.1),
    ]
    .concat();
    for (tau, want) in [(1.0f32, 1.742574183f32), (0.2, 1.270521304), (0.05, 0.992969828)] {
        let got = info_nce_with_extra(
            dev.tensor_from_vec(qv.clone(), (2, 3)),
            dev.tensor_from_vec(kv.clone(), (2, 3)),
            dev.tensor_from_vec(queue.clone(), (5, 3)),
            dev.tensor_from_vec(extra.clone(), (2, 2, 3)),
            tau,
        )
        .as_vec()[0];
        assert!((got - want).abs() < 1e-5, "tau={tau}: got {got}, numpy says {want}");
    }
}

#[test]
fn extra_negatives_only_add_to_the_loss_and_keep_gradients_finite() {
    let dev = Cpu::default();
    let (qv, kv, queue) = (q(), k(), queue());
    let qt: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(qv, (2, 3));
    let extra = dev.tensor_from_vec(vec![0.6f32; 2 * 4 * 3], (2, 4, 3));
    let plain = info_nce(qt.clone(), dev.tensor_from_vec(kv.clone(), (2, 3)), dev.tensor_from_vec(queue.clone(), (5, 3)), 1e-3).as_vec()[0];
    let g = info_nce_with_extra(qt.leaky_trace(), dev.tensor_from_vec(kv, (2, 3)), dev.tensor_from_vec(queue, (5, 3)), extra, 1e-3).backward();
    let gq = g.get(&qt).as_vec();
    assert!(gq.iter().all(|v| v.is_finite()), "τ = 0.001 (logits near 1000): gradient {gq:?}");
    assert!(plain.is_finite());
}

/// MoCHi's default run is MoCo v2's default run plus the synthetic negatives: the same MoCo
/// settings (τ, m, queue, head, views) and the same budget. CI trains MoCHi's default run, not
/// MoCo v2's (`docs/results.md` has both at three seeds), so this equality is what lets
/// MoCHi's margin speak for MoCo v2's settings.
#[test]
fn mochis_default_run_is_moco_v2s_plus_mixing() {
    use selfsup::methods::{mochi, moco};
    use selfsup::train::RunConfig;
    let (moco_run, mochi_run) = (RunConfig::for_method("moco").unwrap(), RunConfig::for_method("mochi").unwrap());
    assert_eq!(&mochi_run.settings::<mochi::Config>().moco, moco_run.settings::<moco::Config>());
    assert_eq!(mochi_run.train, moco_run.train);
    assert_eq!(mochi_run.recipe, moco_run.recipe);
    assert!(mochi_run.settings::<mochi::Config>().mixing.s > 0, "and it mixes");
}
