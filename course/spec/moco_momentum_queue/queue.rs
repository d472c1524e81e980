//! The queue half of the `moco_momentum_queue` exercise's reference, kept here until the
//! library's `src/methods/moco.rs` carries the `// ANCHOR: moco_momentum_queue` markers
//! (then the catalogue points there and this goes). The momentum half is `src/nn/ema.rs`.

// ANCHOR: moco_momentum_queue
/// MoCo's dictionary: `K` keys of dimension `dim` in a ring buffer (row-major). The newest
/// batch of keys replaces the oldest one, so the queue always holds the last `K` keys.
pub struct KeyQueue {
    pub keys: Vec<f32>,
    pub dim: usize,
    /// Row where the next key goes (the oldest key).
    pub ptr: usize,
}

impl KeyQueue {
    /// A queue of `capacity` random unit vectors (as MoCo initialises it).
    pub fn random(capacity: usize, dim: usize, seed: u64) -> Self {
        assert!(capacity > 0 && dim > 0, "KeyQueue: capacity and dimension must be positive");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut keys: Vec<f32> = (0..capacity * dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        for row in keys.chunks_mut(dim) {
            let n = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= n);
        }
        Self { keys, dim, ptr: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.keys.len() / self.dim
    }

    /// Enqueues a batch of keys (row-major, `n × dim`), dequeuing the oldest `n`.
    pub fn push(&mut self, batch: &[f32]) {
        assert_eq!(batch.len() % self.dim, 0, "KeyQueue::push: rows of {} values expected", self.dim);
        // BEGIN SOLUTION
        // HINT: copy each row of `batch` into row `ptr` of `keys`, then advance `ptr` by one,
        // HINT: wrapping back to row 0 after the last row (the ring buffer).
        for row in batch.chunks(self.dim) {
            self.keys[self.ptr * self.dim..(self.ptr + 1) * self.dim].copy_from_slice(row);
            self.ptr = (self.ptr + 1) % self.capacity();
        }
        // END SOLUTION
    }
}
// ANCHOR_END: moco_momentum_queue
