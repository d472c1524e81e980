//! Hidden tests of the `mochi` exercise (graders only; never copied into `exercises/`).

use mochi::{hardest_negatives, mix};

mod check;

fn unit_rows(rows: usize, d: usize, seed: u64) -> Vec<f32> {
    check::pseudo_random(rows * d, seed).chunks(d).flat_map(|r| check::normalized(r).into_iter().map(|x| x as f32)).collect()
}

// points: 3
#[test]
fn hardest_negatives_rank_a_random_queue() {
    let (k, d) = (12, 5);
    let queue = unit_rows(k, d, 70);
    let q = unit_rows(1, d, 71);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| check::dot(&q, &queue[b * d..(b + 1) * d]).total_cmp(&check::dot(&q, &queue[a * d..(a + 1) * d])));
    let got = hardest_negatives(&q, &queue, d, 4);
    assert_eq!(got, order[..4].to_vec(), "the 4 keys with the largest q·n, hardest first (scores: {:?})", (0..k).map(|i| check::dot(&q, &queue[i * d..(i + 1) * d]) as f32).collect::<Vec<_>>());
}

#[test]
fn asking_for_more_than_the_queue_returns_every_key() {
    let queue = [0.0, 1.0, 1.0, 0.0, -1.0, 0.0];
    assert_eq!(hardest_negatives(&[1.0, 0.0], &queue, 2, 10), vec![1, 0, 2], "n_hard > K: every key, hardest first");
}

// points: 2
#[test]
fn mix_weighs_the_first_vector_by_alpha_and_normalises() {
    let (a, b) = (unit_rows(1, 4, 72), unit_rows(1, 4, 73));
    let h = mix(&a, &b, 0.3);
    let raw: Vec<f32> = a.iter().zip(&b).map(|(x, y)| 0.3 * x + 0.7 * y).collect();
    let want: Vec<f32> = check::normalized(&raw).into_iter().map(|x| x as f32).collect();
    check::all_close("mix(a, b, α = 0.3) = normalize(0.3·a + 0.7·b)", &h, &want, 0, 1e-5);
}

#[test]
fn mixing_opposite_vectors_stays_finite() {
    let h = mix(&[0.6, 0.8], &[-0.6, -0.8], 0.5);
    assert!(h.iter().all(|x| x.is_finite()), "normalize(0) must stay finite (guard the norm), got {h:?}");
}
