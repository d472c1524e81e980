//! Hidden tests of the `info_nce` exercise (graders only; never copied into `exercises/`).

use dfdx::prelude::*;
use info_nce::*;

mod check;

fn mat(dev: &Cpu, rows: usize, cols: usize, values: Vec<f32>) -> Tensor<(usize, usize), f32, Cpu> {
    dev.tensor_from_vec(values, (rows, cols))
}

/// Unit rows (in f32) of a pseudo-random `(rows, cols)` matrix.
fn unit_rows(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let v = check::pseudo_random(rows * cols, seed);
    v.chunks(cols).flat_map(|r| check::normalized(r).into_iter().map(|x| x as f32)).collect()
}

/// The reference logits in f64: row i = [q_i·k⁺_i, q_i·n_1, …] / τ.
fn reference_logits(q: &[f32], k_pos: &[f32], neg: &[f32], d: usize, tau: f64) -> Vec<Vec<f64>> {
    q.chunks(d)
        .zip(k_pos.chunks(d))
        .map(|(qi, ki)| std::iter::once(check::dot(qi, ki)).chain(neg.chunks(d).map(|n| check::dot(qi, n))).map(|x| x / tau).collect())
        .collect()
}

// points: 2
#[test]
fn cosine_matrix_of_unnormalised_batches() {
    let dev = Cpu::default();
    let (a, b) = (check::pseudo_random(4 * 5, 1), check::pseudo_random(3 * 5, 2));
    let a: Vec<f32> = a.iter().map(|x| 3.0 * x).collect();
    let got = dot_matrix(l2_normalize(mat(&dev, 4, 5, a.clone())), l2_normalize(mat(&dev, 3, 5, b.clone())));
    assert_eq!(got.shape(), &(4, 3), "cosine matrix of (4, D) and (3, D) batches must be (4, 3)");
    let want: Vec<f32> = a
        .chunks(5)
        .flat_map(|ai| b.chunks(5).map(move |bj| (check::dot(ai, bj) / (check::dot(ai, ai) * check::dot(bj, bj)).sqrt()) as f32))
        .collect();
    check::all_close("cos(a_i, b_j) = a_i·b_j / (‖a_i‖‖b_j‖)", &got.as_vec(), &want, 3, 1e-4);
}

#[test]
fn l2_normalize_keeps_a_zero_row_finite() {
    let dev = Cpu::default();
    let got = l2_normalize(mat(&dev, 2, 3, vec![0.0, 0.0, 0.0, 1.0, 2.0, 2.0])).as_vec();
    assert!(got.iter().all(|x| x.is_finite()), "a zero row must stay finite (add a small ε inside the square root), got {got:?}");
    check::all_close("l2_normalize([[0,0,0],[1,2,2]])", &got, &[0.0, 0.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0], 3, 1e-5);
}

// points: 2
#[test]
fn contrastive_logits_match_the_formula() {
    let dev = Cpu::default();
    let (n, k, d, tau) = (3, 5, 4, 0.07);
    let (q, kp, neg) = (unit_rows(n, d, 3), unit_rows(n, d, 4), unit_rows(k, d, 5));
    let got = contrastive_logits(mat(&dev, n, d, q.clone()), mat(&dev, n, d, kp.clone()), mat(&dev, k, d, neg.clone()), tau as f32);
    assert_eq!(got.shape(), &(n, 1 + k), "logits for N queries and K negatives must be (N, 1 + K)");
    let want: Vec<f32> = reference_logits(&q, &kp, &neg, d, tau).concat().iter().map(|x| *x as f32).collect();
    check::all_close("logits [q·k⁺ | q·k⁻] / τ (τ = 0.07)", &got.as_vec(), &want, 1 + k, 1e-4);
}

// points: 2
#[test]
fn info_nce_matches_the_formula() {
    let dev = Cpu::default();
    let (n, k, d, tau) = (4, 6, 3, 0.2);
    let (q, kp, neg) = (unit_rows(n, d, 6), unit_rows(n, d, 7), unit_rows(k, d, 8));
    let got = info_nce(mat(&dev, n, d, q.clone()), mat(&dev, n, d, kp.clone()), mat(&dev, k, d, neg.clone()), tau as f32).array();
    let rows = reference_logits(&q, &kp, &neg, d, tau);
    let want = rows.iter().map(|r| check::logsumexp(r) - r[0]).sum::<f64>() / n as f64;
    check::close("InfoNCE = mean_i [ logsumexp(logits_i) − logits_i[0] ]", got, want as f32, 1e-4);
}

// points: 2
#[test]
fn info_nce_is_stable_for_large_logits() {
    let dev = Cpu::default();
    // Logits of cosines / τ with τ = 0.01 reach 100: e¹⁰⁰ overflows f32.
    let rows = [[100.0f64, 95.0, 20.0], [90.0, 99.0, -100.0]];
    let logits = mat(&dev, 2, 3, rows.concat().iter().map(|x| *x as f32).collect());
    let want = rows.iter().map(|r| check::logsumexp(r) - r[0]).sum::<f64>() / 2.0;
    check::close("InfoNCE of logits up to 100 (a naive exp() overflows: subtract the max)", info_nce_from_logits(logits).array(), want as f32, 1e-4);
}

// points: 2
#[test]
fn info_nce_gradient_reaches_the_queries() {
    let dev = Cpu::default();
    let (n, k, d, tau) = (2, 3, 3, 0.5);
    let (q, kp, neg) = (unit_rows(n, d, 9), unit_rows(n, d, 10), unit_rows(k, d, 11));
    let qt = mat(&dev, n, d, q.clone());
    let loss = info_nce(qt.leaky_trace(), mat(&dev, n, d, kp.clone()), mat(&dev, k, d, neg.clone()), tau as f32);
    let grads = loss.backward();
    // ∂L/∂q_i = (1 / (N τ)) (Σ_j p_ij c_j − k⁺_i), with c_0 = k⁺_i, c_j = k⁻_j, p_i = softmax(logits_i).
    let rows = reference_logits(&q, &kp, &neg, d, tau);
    let mut want = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let lse = check::logsumexp(r);
        let p: Vec<f64> = r.iter().map(|x| (x - lse).exp()).collect();
        for c in 0..d {
            let mut g = p[0] * kp[i * d + c] as f64 - kp[i * d + c] as f64;
            g += (0..k).map(|j| p[1 + j] * neg[j * d + c] as f64).sum::<f64>();
            want.push((g / (n as f64 * tau)) as f32);
        }
    }
    check::all_close("∂InfoNCE/∂q (does the loss keep q's tape?)", &grads.get(&qt).as_vec(), &want, d, 1e-4);
}
