//! The supervised reference point: the same encoder trained with labels (cross-entropy
//! through a linear classifier). It shows what the built-in dataset allows an encoder to
//! reach, the ceiling the self-supervised methods are measured against.

use crate::data::dataset::{ImageDataset, Splits};
use crate::eval::accuracy;
use crate::methods::distill::{distillation_loss, Distillation};
use crate::nn::ops::{Backend, Img, Mat};
use crate::nn::Encoder;
use crate::train::{CosineSchedule, Optimizer, OptimizerKind};
use dfdx::losses::cross_entropy_with_logits_loss;
use dfdx::nn::tensor_collection::*;
use dfdx::nn::modules::Linear;
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_distr::uniform::SampleUniform;

/// Encoder + linear classifier over `K` classes.
#[derive(Debug, Clone)]
pub struct Classifier<Enc, const F: usize, const K: usize, E: Dtype, D: Storage<E>> {
    pub encoder: Enc,
    pub head: Linear<F, K, E, D>,
}

impl<Enc: TensorCollection<E, D>, const F: usize, const K: usize, E: Dtype + SampleUniform + num_traits::Float, D: Device<E>> TensorCollection<E, D>
    for Classifier<Enc, F, K, E, D>
{
    type To<E2: Dtype, D2: Device<E2>> = Classifier<Enc::To<E2, D2>, F, K, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (Self::module("encoder", |s| &s.encoder, |s| &mut s.encoder), Self::module("head", |s| &s.head, |s| &mut s.head)),
            |(encoder, head)| Classifier { encoder, head },
        )
    }
}

impl<Enc: Encoder<D>, const F: usize, const K: usize, D: Backend> Classifier<Enc, F, K, f32, D> {
    fn logits<T: Tape<f32, D>>(&self, h: crate::nn::ops::Mat<D, T>) -> Tensor<(usize, Const<K>), f32, D, T> {
        let b = h.shape().0;
        self.head.forward(h.reshape_like(&(b, Const::<F>)))
    }

    /// Trains with AdamW + cosine schedule for `epochs` (horizontal flips as the only
    /// augmentation) and returns the test top-1 accuracy.
    pub fn fit(&mut self, dev: &D, splits: &Splits, epochs: usize, batch: usize, lr: f64, seed: u64) -> f32 {
        self.fit_with(dev, &splits.train, epochs, batch, lr, seed, None);
        self.test_accuracy(dev, splits)
    }

    /// Trains on the images of `train` with their labels, and, with a `teacher`, on the
    /// teacher's softened outputs too (knowledge distillation, see
    /// [`crate::methods::distill`]): the same loop either way, so a student with and without a
    /// teacher differ only in the loss.
    #[allow(clippy::too_many_arguments)]
    pub fn fit_with(&mut self, dev: &D, train: &ImageDataset, epochs: usize, batch: usize, lr: f64, seed: u64, teacher: Option<(&dyn Fn(Img<D>) -> Mat<D>, Distillation)>) {
        crate::nn::ops::tune_allocator();
        assert!(train.num_classes() <= K, "Classifier: {} classes but only {K} outputs", train.num_classes());
        let n = train.len();
        let batch = batch.min(n);
        let steps_per_epoch = n / batch;
        let schedule = CosineSchedule::new(lr, steps_per_epoch, steps_per_epoch * epochs);
        let mut opt = Optimizer::new(self, OptimizerKind::AdamW, lr, 1e-4);
        let mut grads = self.alloc_grads();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let per = train.image_len();
        let mut step = 0;
        for _ in 0..epochs {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            for chunk in order.chunks_exact(batch) {
                let mut pixels = Vec::with_capacity(batch * per);
                let labels: Vec<usize> = chunk.iter().map(|&i| train.labels[i]).collect();
                for &i in chunk {
                    let img = train.image(i);
                    let img = if rand::Rng::gen_bool(&mut rng, 0.5) { crate::augment::hflip(&img) } else { img };
                    pixels.extend_from_slice(&img.data);
                }
                let x: Img<D> = dev.tensor_from_vec(pixels, (batch, train.channels, train.height, train.width));
                let soft = teacher.map(|(logits, kd)| (logits(x.clone()), kd));
                let h = self.encoder.forward_train(x.traced(std::mem::replace(&mut grads, Gradients::leaky())));
                let logits = self.logits(h);
                let loss = match soft {
                    Some((t, kd)) => distillation_loss(logits.reshape_like(&(batch, K)), t, &labels, kd),
                    // Without a teacher: cross-entropy with the labels (the same as α = 0).
                    None => {
                        let mut onehot = vec![0.0f32; batch * K];
                        labels.iter().enumerate().for_each(|(j, &y)| onehot[j * K + y] = 1.0);
                        cross_entropy_with_logits_loss(logits, dev.tensor_from_vec(onehot, (batch, Const::<K>)))
                    }
                };
                grads = loss.backward();
                opt.set_lr(schedule.lr(step));
                opt.step(self, &grads).expect("optimizer step");
                self.zero_grads(&mut grads);
                step += 1;
            }
        }
    }

    /// The logits of a batch in evaluation mode, without a tape (a teacher's outputs).
    pub fn logits_eval(&self, x: Img<D>) -> Mat<D> {
        let b = x.shape().0;
        self.logits(self.encoder.forward_eval(x)).reshape_like(&(b, K))
    }

    /// Top-1 accuracy on the test split (BatchNorm in eval mode).
    pub fn test_accuracy(&self, dev: &D, splits: &Splits) -> f32 {
        let test = &splits.test;
        let per = test.image_len();
        let mut predictions = Vec::with_capacity(test.len());
        for start in (0..test.len()).step_by(500) {
            let end = (start + 500).min(test.len());
            let x: Img<D> = dev.tensor_from_vec(test.pixels[start * per..end * per].to_vec(), (end - start, test.channels, test.height, test.width));
            let logits = self.logits(self.encoder.forward_eval(x)).as_vec();
            predictions.extend(logits.chunks(K).map(|row| {
                row.iter().enumerate().fold(0, |best, (j, &v)| if v > row[best] { j } else { best })
            }));
        }
        accuracy(&predictions, &test.labels)
    }
}
