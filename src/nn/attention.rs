//! # Scaled dot-product attention, written by hand
//!
//! The self-attention of a Transformer (Vaswani et al., *Attention Is All You Need*, NeurIPS
//! 2017), as the Vision Transformer uses it on its tokens (Dosovitskiy et al., *An Image is
//! Worth 16x16 Words*, ICLR 2021). For `n` tokens whose queries, keys and values are the rows
//! of `Q`, `K`, `V` (each `n × d`):
//!
//! ```text
//! S = Q·Kᵀ / √d                 n × n: S_ij = q_i · k_j / √d, how well token i's query matches token j's key
//! A = softmax_rows(S)           row i sums to 1: how token i spreads its attention over the n tokens
//! out = A·V                     n × d: token i's output is the A_i-weighted mean of the values
//! ```
//!
//! The `1/√d` keeps the scores' spread independent of `d` (a dot product of `d` independent
//! unit-variance terms has variance `d`), so the softmax does not saturate for wide heads.
//! **Multi-head** attention cuts the model width `D = H·d` into `H` heads of `d` features, runs
//! the attention above in each head on its own columns, and concatenates the heads' outputs.
//!
//! These are plain loops over slices in `f64`, one sequence at a time: the version to read (the
//! notebook of part 4 calls it) and the reference `tests/attention_reference.rs` checks the
//! kit's fused attention op against (the one the ViT's blocks call,
//! [`crate::nn::ops::Backend::attention`], and [`crate::nn::Vit::last_attention_maps`]).
//! Training uses the fused op: it reads the heads in place and has a backward pass.

// ANCHOR: vit_attention
/// Scaled dot-product attention of one sequence of `n` tokens (Vaswani et al. 2017, Eq. 1):
///
/// ```text
/// A = softmax_rows(Q·Kᵀ / √d)      (n × n)
/// out = A·V                        (n × d)
/// ```
///
/// `q`, `k`, `v` are `n × d`, row-major (row `i` is token `i`). Returns `(out, A)`: the output
/// (`n × d`) and the attention weights (`n × n`, row `i` the weights token `i` gives to each
/// token, summing to 1), both row-major. Computed in `f64`; the softmax subtracts each row's
/// maximum first, so large scores do not overflow.
pub fn scaled_dot_product_attention(q: &[f32], k: &[f32], v: &[f32], n: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    assert!(n > 0 && d > 0, "scaled_dot_product_attention: n = {n} tokens and d = {d} features must be positive");
    for (name, m) in [("Q", q), ("K", k), ("V", v)] {
        assert!(m.len() == n * d, "scaled_dot_product_attention: {name} has {} values, not n × d = {n} × {d}", m.len());
    }
    // BEGIN SOLUTION
    // HINT: row i of Q is `&q[i * d..(i + 1) * d]` (or `q.chunks(d)`); S_ij = (q_i · k_j) / √d, accumulated in f64.
    // HINT: the softmax runs along each row i, over the keys j (entry [i * n + j]): A_i sums to 1, not the columns.
    // HINT: subtract the row's maximum before `exp`: softmax(x) = softmax(x − max x), and exp(1000) overflows.
    // HINT: out_i = Σ_j A_ij · v_j, a weighted sum of the rows of V.
    let scale = 1.0 / (d as f64).sqrt();
    let mut weights = vec![0.0f64; n * n];
    for (i, q_i) in q.chunks(d).enumerate() {
        for (j, k_j) in k.chunks(d).enumerate() {
            weights[i * n + j] = q_i.iter().zip(k_j).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>() * scale;
        }
    }
    // Softmax of row i over the keys j.
    let idx = |i: usize, j: usize| i * n + j;
    for i in 0..n {
        let max = (0..n).map(|j| weights[idx(i, j)]).fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for j in 0..n {
            weights[idx(i, j)] = (weights[idx(i, j)] - max).exp();
            sum += weights[idx(i, j)];
        }
        for j in 0..n {
            weights[idx(i, j)] /= sum;
        }
    }
    let mut out = vec![0.0f32; n * d];
    for (out_i, a_i) in out.chunks_mut(d).zip(weights.chunks(n)) {
        for (c, o) in out_i.iter_mut().enumerate() {
            *o = a_i.iter().zip(v.chunks(d)).map(|(&a, v_j)| a * v_j[c] as f64).sum::<f64>() as f32;
        }
    }
    (out, weights.iter().map(|&a| a as f32).collect())
    // END SOLUTION
}

/// Multi-head self-attention of one sequence of `n` tokens from its packed projections, as the
/// kit's ViT computes them (`Block::qkv`, a linear layer to `3·D` features, then
/// [`crate::nn::ops::Backend::attention`]):
///
/// * `qkv` is `n × 3·d_model`, row-major: row `t` is `[q_t | k_t | v_t]`, each `d_model = H·d`
///   wide; head `h` owns columns `h·d .. (h + 1)·d` of each of the three blocks. So `Q_h` is
///   columns `h·d ..` of the row, `K_h` columns `d_model + h·d ..`, `V_h` columns
///   `2·d_model + h·d ..`.
/// * For every head, `(out_h, A_h) = `[`scaled_dot_product_attention`]`(Q_h, K_h, V_h)` with
///   `d = d_model / heads`.
///
/// Returns `(out, A)`: the heads' outputs concatenated, `n × d_model` (head `h` in columns
/// `h·d .. (h + 1)·d`, as the ViT's output projection expects them), and the weights,
/// `heads × n × n` (head `h`'s `n × n` block after head `h − 1`'s).
pub fn multi_head_attention(qkv: &[f32], n: usize, heads: usize, d_model: usize) -> (Vec<f32>, Vec<f32>) {
    assert!(n > 0 && heads > 0 && d_model > 0 && d_model % heads == 0, "multi_head_attention: d_model = {d_model} must be a positive multiple of heads = {heads} (and n = {n} positive)");
    assert!(qkv.len() == n * 3 * d_model, "multi_head_attention: qkv has {} values, not n × 3·d_model = {n} × {}", qkv.len(), 3 * d_model);
    let d = d_model / heads;
    // BEGIN SOLUTION
    // HINT: each row of `qkv` has 3·d_model values: Q's d_model, then K's, then V's; inside each block, head h's d values start at h·d.
    // HINT: gather head h's Q_h, K_h, V_h as n × d matrices (one row per token), run `scaled_dot_product_attention` on them.
    // HINT: write head h's output into columns h·d .. (h + 1)·d of every output row; append its n × n weights after the previous heads'.
    // First column of Q (which = 0), K (1) or V (2) for head h, within a row of qkv.
    let column = |which: usize, h: usize| which * d_model + h * d;
    let gather = |which: usize, h: usize| -> Vec<f32> { qkv.chunks(3 * d_model).flat_map(|row| row[column(which, h)..][..d].iter().copied()).collect() };
    let mut out = vec![0.0f32; n * d_model];
    let mut weights = Vec::with_capacity(heads * n * n);
    for h in 0..heads {
        let (out_h, a_h) = scaled_dot_product_attention(&gather(0, h), &gather(1, h), &gather(2, h), n, d);
        for (row, row_h) in out.chunks_mut(d_model).zip(out_h.chunks(d)) {
            row[h * d..(h + 1) * d].copy_from_slice(row_h);
        }
        weights.extend(a_h);
    }
    (out, weights)
    // END SOLUTION
}
// ANCHOR_END: vit_attention
