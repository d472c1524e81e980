//! Hidden tests of the `memory_bank` exercise (graders only; never copied into `exercises/`).

use memory_bank::update_memory_bank;

mod check;

/// The rule in f64: normalize(m·v + (1 − m)·q).
fn rule(v: &[f32], q: &[f32], m: f64) -> Vec<f32> {
    let mixed: Vec<f32> = v.iter().zip(q).map(|(a, b)| (m * *a as f64 + (1.0 - m) * *b as f64) as f32).collect();
    check::normalized(&mixed).into_iter().map(|x| x as f32).collect()
}

// points: 3
#[test]
fn updates_only_the_given_rows_with_momentum_on_the_old_entry() {
    let d = 3;
    let bank0: Vec<f32> = (0..4).flat_map(|r| check::normalized(&check::pseudo_random(d, 30 + r)).into_iter().map(|x| x as f32)).collect();
    let q: Vec<f32> = (0..2).flat_map(|r| check::normalized(&check::pseudo_random(d, 40 + r)).into_iter().map(|x| x as f32)).collect();
    let mut bank = bank0.clone();
    // Batch rows 0 and 1 are images 3 and 1.
    update_memory_bank(&mut bank, d, &[3, 1], &q, 0.9);
    let mut want = bank0.clone();
    want[9..12].copy_from_slice(&rule(&bank0[9..12], &q[0..3], 0.9));
    want[3..6].copy_from_slice(&rule(&bank0[3..6], &q[3..6], 0.9));
    check::all_close("bank after updating images [3, 1] with m = 0.9 (rows 0 and 2 must not move)", &bank, &want, d, 1e-5);
}

#[test]
fn updated_rows_are_unit_vectors() {
    let d = 4;
    let mut bank = vec![0.5; 3 * d];
    let q = check::pseudo_random(2 * d, 50);
    update_memory_bank(&mut bank, d, &[0, 2], &q, 0.5);
    for i in [0, 2] {
        let norm = check::dot(&bank[i * d..(i + 1) * d], &bank[i * d..(i + 1) * d]).sqrt();
        check::close(&format!("‖V_{i}‖ after the update (renormalise!)"), norm as f32, 1.0, 1e-5);
    }
}

#[test]
fn an_entry_that_cancels_out_stays_finite() {
    // m·V + (1 − m)·q = 0 when q = −V and m = 0.5: the norm must be guarded.
    let mut bank = vec![0.6, 0.8];
    update_memory_bank(&mut bank, 2, &[0], &[-0.6, -0.8], 0.5);
    assert!(bank.iter().all(|x| x.is_finite()), "V ← normalize(0) must stay finite (guard the norm, e.g. max(1e-12)), got {bank:?}");
}
