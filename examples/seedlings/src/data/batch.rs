//! Deterministic batches: the per-epoch order of samples and the making of one batch.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::ImageStore;
use super::augment::{Augment, Normalization};
use super::seed::{STREAM_AUGMENT, STREAM_EPOCH_ORDER, derive_seed};

/// The order of the samples in one epoch, cut into batches.
///
/// Every batch has `batch_size` samples except possibly the last, which keeps the remainder
/// (no sample is dropped). A `batch_size` of 0 is taken as 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochPlan {
    /// Sample indices in the order they are used.
    pub order: Vec<usize>,
    /// Samples per batch (≥ 1).
    pub batch_size: usize,
}

impl EpochPlan {
    /// Training order for `epoch`: `0..len` shuffled by a ChaCha8 generator seeded from
    /// `(seed, epoch)`. The same arguments always give the same plan.
    pub fn shuffled(len: usize, batch_size: usize, seed: u64, epoch: u64) -> Self {
        let mut order: Vec<usize> = (0..len).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&[STREAM_EPOCH_ORDER, seed, epoch]));
        order.shuffle(&mut rng);
        EpochPlan {
            order,
            batch_size: batch_size.max(1),
        }
    }

    /// Fixed order `0..len` (for validation).
    pub fn sequential(len: usize, batch_size: usize) -> Self {
        EpochPlan {
            order: (0..len).collect(),
            batch_size: batch_size.max(1),
        }
    }

    /// Number of batches, the last one possibly partial.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Sample indices of batch `k`, or `None` past the end.
    pub fn batch(&self, k: usize) -> Option<&[usize]> {
        self.order.chunks(self.batch_size).nth(k)
    }

    /// All batches in order.
    pub fn batches(&self) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }
}

/// Seed material for training augmentation. The augmentation of sample `i` in `epoch` comes
/// from a generator seeded by `(seed, epoch, i)`, so it does not depend on the batch the
/// sample lands in nor on the thread that makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AugmentSeed {
    /// The run's seed.
    pub seed: u64,
    /// The epoch.
    pub epoch: u64,
}

impl AugmentSeed {
    /// The augmentation drawn for sample `index`.
    pub fn for_sample(&self, index: usize) -> Augment {
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&[
            STREAM_AUGMENT,
            self.seed,
            self.epoch,
            index as u64,
        ]));
        Augment::sample(&mut rng)
    }
}

/// One batch ready for a tensor of shape `[len, 3, image_size, image_size]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Normalized pixels, NCHW, `len * 3 * image_size * image_size` values.
    pub images: Vec<f32>,
    /// Class index of each image.
    pub labels: Vec<i64>,
    /// Number of images.
    pub len: usize,
    /// Side length of every image.
    pub image_size: usize,
}

impl Batch {
    /// `[len, 3, image_size, image_size]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.len, 3, self.image_size, self.image_size]
    }
}

/// Makes the batch of the samples `indices` of `store`: optional augmentation (see
/// [`AugmentSeed`]), then normalization, laid out NCHW.
///
/// # Panics
///
/// When an index is out of range for `store` (a programming error: indices come from an
/// [`EpochPlan`] of the same store).
pub fn make_batch(
    store: &ImageStore,
    indices: &[usize],
    normalization: &Normalization,
    augment: Option<AugmentSeed>,
) -> Batch {
    let size = store.image_size();
    let plane = size * size;
    let mut images = vec![0f32; indices.len() * 3 * plane];
    let mut labels = Vec::with_capacity(indices.len());
    for (b, &i) in indices.iter().enumerate() {
        let (Some(src), Some(label)) = (store.image(i), store.label(i)) else {
            panic!("sample {i} is out of range for a store of {}", store.len());
        };
        let augmented;
        let pixels = match augment {
            Some(seed) => {
                augmented = seed.for_sample(i).apply(src, size);
                &augmented[..]
            }
            None => src,
        };
        let out = &mut images[b * 3 * plane..(b + 1) * 3 * plane];
        for (p, px) in pixels.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * plane + p] = normalization.apply(px[c], c);
            }
        }
        labels.push(label as i64);
    }
    Batch {
        images,
        labels,
        len: indices.len(),
        image_size: size,
    }
}
