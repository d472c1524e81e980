//! The exercises, in course order: where each one's reference code lives and what its crate
//! imports. Everything else about an exercise is a file under `course/spec/<name>/`
//! (`README.md`, `public.rs`, `mutants.txt`) or `tests/hidden/<name>.rs`.

/// One library file holding anchored code of an exercise, and the text the generated crate
/// puts around that code (e.g. `impl KeyQueue {` … `}` when the anchor is a method).
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// Relative to the repository root.
    pub file: &'static str,
    pub before: &'static str,
    pub after: &'static str,
}

/// A source whose anchored code stands on its own.
pub const fn plain(file: &'static str) -> Source {
    Source { file, before: "", after: "" }
}

/// One graded exercise.
#[derive(Debug, Clone, Copy)]
pub struct Exercise {
    /// Folder name under `exercises/`, `solutions/`, `course/spec/` (the slides link to it).
    pub name: &'static str,
    /// One line shown at the top of the generated `src/lib.rs`.
    pub title: &'static str,
    /// Library files holding this exercise's `// ANCHOR: <name>` … `// ANCHOR_END: <name>`
    /// regions, concatenated in this order.
    pub sources: &'static [Source],
    /// What the generated crate starts with: the anchored code's imports (written against
    /// `selfsup::` instead of `crate::`) and any private helper it calls.
    pub prelude: &'static str,
    /// Earlier exercises whose library code this exercise's crate or tests call (`nt_xent`
    /// imports `info_nce`'s `dot_matrix` and `l2_normalize`): it is graded against a library in
    /// which their references are present (see [`crate::library`]).
    pub uses: &'static [&'static str],
}

/// The anchor of `moco_momentum_queue` in `moco.rs` is the method `KeyQueue::push`; a crate
/// cannot add methods to the library's type, so the exercise has its own `KeyQueue` with the
/// same fields, built from the library's random initial queue.
const KEY_QUEUE: &str = "/// The FIFO queue of keys (the library's `selfsup::methods::moco::KeyQueue`, as a type of
/// this crate): a ring buffer of `capacity` rows of `dim` values.
pub struct KeyQueue {
    pub keys: Vec<f32>,
    pub dim: usize,
    /// Row where the next key goes.
    pub ptr: usize,
}

impl KeyQueue {
    /// A queue of `capacity` random unit vectors (as MoCo initialises it).
    pub fn random(capacity: usize, dim: usize, seed: u64) -> Self {
        let q = selfsup::methods::moco::KeyQueue::random(capacity, dim, seed);
        Self { keys: q.keys, dim: q.dim, ptr: q.ptr }
    }

    pub fn capacity(&self) -> usize {
        self.keys.len() / self.dim
    }

";

/// The exercises in course order: the order of the lectures' "Try it" slides. Part 1,
/// introduction and contrastive learning: the crop in the introduction; then InstDisc,
/// InfoNCE, MoCo, SimCLR, MoCHi. Part 2, learning without negatives: Barlow Twins, knowledge
/// distillation, BYOL. Every list of the exercises (the exercises' README, the grades,
/// `course-check`) follows it.
///
/// Library copies (see [`crate::library::groups`]): each exercise joins the first copy holding
/// no exercise it uses or that uses it, so the order above and `uses` decide the grouping.
/// Part 2 adds no copy. `barlow_twins` and `distillation_loss` call nothing of another
/// exercise (dfdx's `normalize`, the library's `STANDARDISE_EPS` and `Distillation` are not
/// exercise code), so they join the first copy with most of part 1. `byol` calls `info_nce`'s
/// `l2_normalize`, so it cannot be graded against that copy (the helper would be a `todo!()`
/// there); it joins `nt_xent` in the second, where `info_nce`'s references are present. Part 3,
/// clustering: k-means (DeepCluster), then SwAV's Sinkhorn-Knopp codes and its swapped
/// prediction; none calls another exercise's code, so they join the first copy too. Part 4,
/// ViT and DINO: DINO's loss (the teacher's centred, sharpened targets and the pairs of
/// different crops), its centre and teacher-temperature schedule, then the ViT's attention by
/// hand. DINO's loss writes its pair loop out instead of calling SwAV's (exercise 12), and the
/// attention is plain slices, so all three call nothing of another exercise and join the first
/// copy as well. Two copies remain, each compiled once (minutes on a small machine) and shared
/// by its exercises.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "augment_crop",
        title: "Random resized crop: cropping a region and resizing it with bilinear interpolation",
        sources: &[plain("src/augment/crop.rs")],
        prelude: "use selfsup::augment::CropBox;\nuse selfsup::image::Image;\n",
        uses: &[],
    },
    Exercise {
        name: "memory_bank",
        title: "InstDisc's memory bank: the momentum update of the bank entries",
        sources: &[plain("src/methods/instdisc.rs")],
        prelude: "",
        uses: &[],
    },
    Exercise {
        name: "info_nce",
        title: "Cosine-similarity matrix and InfoNCE with a numerically stable log-sum-exp",
        sources: &[plain("src/nn/functional.rs"), plain("src/methods/infonce.rs")],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::ops::Mat;\n",
        uses: &[],
    },
    Exercise {
        name: "moco_momentum_queue",
        title: "MoCo's momentum update of the key encoder and its FIFO queue of keys",
        sources: &[plain("src/nn/ema.rs"), Source { file: "src/methods/moco.rs", before: KEY_QUEUE, after: "}\n" }],
        prelude: "use dfdx::nn::tensor_collection::*;\nuse dfdx::prelude::*;\n",
        uses: &[],
    },
    Exercise {
        name: "nt_xent",
        title: "SimCLR's NT-Xent loss over 2N views, with the self-similarity mask",
        sources: &[plain("src/methods/simclr.rs")],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::functional::{dot_matrix, fresh_copy, l2_normalize};\nuse selfsup::nn::ops::Mat;\n",
        uses: &["info_nce"],
    },
    Exercise {
        name: "mochi",
        title: "MoCHi: selecting the hardest negatives and mixing them",
        sources: &[plain("src/methods/mochi.rs")],
        prelude: "",
        uses: &[],
    },
    Exercise {
        name: "barlow_twins",
        title: "Barlow Twins: standardising each dimension over the batch and the cross-correlation loss",
        sources: &[plain("src/methods/barlow.rs")],
        prelude: "use dfdx::prelude::*;\nuse selfsup::methods::barlow::STANDARDISE_EPS;\nuse selfsup::nn::ops::Mat;\n",
        uses: &[],
    },
    Exercise {
        name: "distillation_loss",
        title: "Knowledge distillation: soft targets at temperature T, the T² factor and the labels",
        sources: &[plain("src/methods/distill.rs")],
        prelude: "use dfdx::prelude::*;\npub use selfsup::methods::distill::Distillation;\nuse selfsup::nn::ops::Mat;\n",
        uses: &[],
    },
    Exercise {
        name: "byol",
        title: "BYOL: the loss 2 − 2·cos(p, sg(z′)) and the target's cosine EMA-rate schedule",
        sources: &[plain("src/methods/byol.rs")],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::functional::l2_normalize;\nuse selfsup::nn::ops::Mat;\n",
        uses: &["info_nce"],
    },
    Exercise {
        name: "kmeans",
        title: "k-means, DeepCluster's pseudo-labeller: the assignment step and the update step",
        sources: &[plain("src/eval/kmeans.rs")],
        prelude: "use selfsup::eval::kmeans::{cluster_sizes, sq_dist};\n",
        uses: &[],
    },
    Exercise {
        name: "sinkhorn_knopp",
        title: "SwAV's codes: Sinkhorn-Knopp in log space, an equal share of the batch for every prototype",
        sources: &[plain("src/methods/swav.rs")],
        prelude: "use selfsup::error::{Error, Result};\npub use selfsup::methods::swav::SinkhornConfig;\n",
        uses: &[],
    },
    Exercise {
        name: "swav_loss",
        title: "SwAV's swapped prediction: every view predicts the codes of the other views",
        sources: &[plain("src/methods/swav.rs")],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::ops::Mat;\n",
        uses: &[],
    },
    Exercise {
        name: "dino_loss",
        title: "DINO's loss: the teacher's centred, sharpened targets, predicted by every other crop",
        sources: &[plain("src/methods/dino.rs")],
        prelude: "use dfdx::prelude::*;\nuse selfsup::nn::ops::Mat;\n",
        uses: &[],
    },
    Exercise {
        name: "dino_centre",
        title: "DINO's centre (a moving average of the teacher's outputs) and the teacher temperature's warm-up",
        sources: &[plain("src/methods/dino.rs")],
        prelude: "",
        uses: &[],
    },
    Exercise {
        name: "vit_attention",
        title: "The ViT's self-attention by hand: softmax(Q·Kᵀ/√d)·V, one head and several",
        sources: &[plain("src/nn/attention.rs")],
        prelude: "",
        uses: &[],
    },
];

/// The exercise called `name`, or an error listing the known ones.
pub fn find(name: &str) -> Result<&'static Exercise, String> {
    EXERCISES.iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
        format!("unknown exercise `{name}` (known: {})", known.join(", "))
    })
}
