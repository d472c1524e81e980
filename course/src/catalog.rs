//! The exercises, in course order: where each one's reference code lives and what its crate
//! imports. Everything else about an exercise is a file under `course/spec/<name>/`
//! (`README.md`, `public.rs`, `mutants.txt`) or `tests/hidden/<name>.rs`.

/// One graded exercise.
#[derive(Debug, Clone, Copy)]
pub struct Exercise {
    /// Folder name under `exercises/`, `solutions/`, `course/spec/` (the slides link to it).
    pub name: &'static str,
    /// One line shown at the top of the generated `src/lib.rs`.
    pub title: &'static str,
    /// Library files (relative to the repository root) holding this exercise's
    /// `// ANCHOR: <name>` … `// ANCHOR_END: <name>` regions, concatenated in this order.
    pub sources: &'static [&'static str],
    /// The `use` lines the generated crate starts with (the anchored code's imports,
    /// written against `selfsup::` instead of `crate::`).
    pub prelude: &'static str,
}

/// Part 1: introduction and contrastive learning.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "info_nce",
        title: "Cosine-similarity matrix and InfoNCE with a numerically stable log-sum-exp",
        sources: &["src/nn/functional.rs", "src/methods/infonce.rs"],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::ops::Mat;\n",
    },
    Exercise {
        name: "nt_xent",
        title: "SimCLR's NT-Xent loss over 2N views, with the self-similarity mask",
        sources: &["src/methods/simclr.rs"],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::functional::{dot_matrix, fresh_copy, l2_normalize};\nuse selfsup::nn::ops::Mat;\n",
    },
    Exercise {
        name: "memory_bank",
        title: "InstDisc's memory bank: the momentum update of the bank entries",
        sources: &["src/methods/instdisc.rs"],
        prelude: "",
    },
    Exercise {
        name: "augment_crop",
        title: "Random resized crop: cropping a region and resizing it with bilinear interpolation",
        sources: &["src/augment/crop.rs"],
        prelude: "use selfsup::augment::CropBox;\nuse selfsup::image::Image;\n",
    },
    Exercise {
        name: "moco_momentum_queue",
        title: "MoCo's momentum update of the key encoder and its FIFO queue of keys",
        sources: &["src/nn/ema.rs", "course/spec/moco_momentum_queue/queue.rs"],
        prelude: "use dfdx::nn::tensor_collection::*;\nuse dfdx::prelude::*;\nuse rand::{Rng, SeedableRng};\n",
    },
    Exercise {
        name: "mochi",
        title: "MoCHi: selecting the hardest negatives and mixing them",
        sources: &["course/spec/mochi/reference.rs"],
        prelude: "",
    },
];

/// The exercise called `name`, or an error listing the known ones.
pub fn find(name: &str) -> Result<&'static Exercise, String> {
    EXERCISES.iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
        format!("unknown exercise `{name}` (known: {})", known.join(", "))
    })
}
