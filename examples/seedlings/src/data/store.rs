//! Decoded images of one split, packed in memory, and the `burn` dataset view of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};

/// The decoded images of one split: `len()` images of `image_size`×`image_size` RGB, stored
/// back to back as HWC bytes in one buffer, with one label each.
///
/// Cloning shares the pixel buffer (only labels and paths are copied), so a store can be
/// handed to worker threads cheaply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageStore {
    image_size: usize,
    pixels: Arc<Vec<u8>>,
    labels: Vec<usize>,
    paths: Vec<PathBuf>,
}

impl ImageStore {
    /// An empty store for images of `image_size`×`image_size`.
    pub fn new(image_size: usize) -> Self {
        ImageStore {
            image_size,
            ..Default::default()
        }
    }

    /// Side length of every image, in pixels.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// Bytes per image: `image_size * image_size * 3`.
    pub fn image_bytes(&self) -> usize {
        self.image_size * self.image_size * 3
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the store holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Appends one image. `pixels` must hold exactly [`image_bytes`](Self::image_bytes) bytes.
    ///
    /// # Panics
    ///
    /// When `pixels` has the wrong length (a programming error, never bad input: decoded
    /// images always have the right size).
    pub fn push(&mut self, label: usize, pixels: &[u8], path: impl Into<PathBuf>) {
        assert_eq!(
            pixels.len(),
            self.image_bytes(),
            "image has {} bytes, the store expects {}",
            pixels.len(),
            self.image_bytes()
        );
        Arc::make_mut(&mut self.pixels).extend_from_slice(pixels);
        self.labels.push(label);
        self.paths.push(path.into());
    }

    /// The HWC RGB bytes of image `index`, or `None` when out of range.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        let n = self.image_bytes();
        let start = index.checked_mul(n)?;
        self.pixels.get(start..start.checked_add(n)?)
    }

    /// The label of image `index`, or `None` when out of range.
    pub fn label(&self, index: usize) -> Option<usize> {
        self.labels.get(index).copied()
    }

    /// All labels, one per image.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The file each image came from (a made-up `synthetic/...` path for synthetic images).
    pub fn path(&self, index: usize) -> Option<&Path> {
        self.paths.get(index).map(PathBuf::as_path)
    }

    /// All pixels, image after image (HWC RGB).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// How many images each of `n_classes` classes has (labels ≥ `n_classes` are not counted).
    pub fn class_counts(&self, n_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; n_classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }
}

/// One item of an [`ImageStore`] seen as a `burn` [`Dataset`]: an owned copy of the pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedlingItem {
    /// Class index.
    pub label: usize,
    /// `image_size * image_size * 3` bytes, HWC RGB.
    pub pixels: Vec<u8>,
    /// Side length in pixels.
    pub image_size: usize,
}

impl Dataset<SeedlingItem> for ImageStore {
    /// # Panics
    ///
    /// When `index >= len()`, as the `Dataset` trait requires.
    fn get(&self, index: usize) -> Result<SeedlingItem, DatasetError> {
        let (Some(pixels), Some(label)) = (self.image(index), self.label(index)) else {
            panic!(
                "index out of bounds for ImageStore: {index} >= {}",
                self.len()
            );
        };
        Ok(SeedlingItem {
            label,
            pixels: pixels.to_vec(),
            image_size: self.image_size,
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}
