//! Loading a folder of photos into a [`SeedlingSet`]: layout → decode once → split → stores.

use std::path::{Path, PathBuf};

use super::decode::{DEFAULT_MAX_PIXELS, decode_many};
use super::layout::{Candidate, LayoutKind, detect_layout};
use super::split::{DEFAULT_VALID_FRACTION, stratified_split};
use super::{DataError, ImageStore};

/// Default image side length: that of the prepared 96×96 copy of the data.
pub const DEFAULT_IMAGE_SIZE: usize = 96;

/// Largest accepted `image_size`.
pub const MAX_IMAGE_SIZE: usize = 1024;

/// A candidate image file that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was skipped (read error, not an image, truncated, too large, …).
    pub reason: String,
}

/// How the valid split of a folder was made.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitRule {
    /// Given by the folder: its `valid/` split.
    Given,
    /// Drawn from the images by [`stratified_split`] with this share and seed.
    Drawn {
        /// Share of each class put into valid.
        valid_fraction: f64,
        /// Seed of the split.
        seed: u64,
    },
}

/// Where the images of a [`SeedlingSet`] came from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// Photos read from a folder.
    Real {
        /// The folder holding `train/` or the class folders (after entering wrapper folders).
        root: PathBuf,
        /// The layout found, in words.
        layout: String,
        /// How the valid split was made.
        split: SplitRule,
    },
    /// The built-in procedural images of [`synthetic`](super::synthetic()).
    Synthetic,
}

/// A loaded data set: every image decoded once and kept in memory.
#[derive(Debug, Clone)]
pub struct SeedlingSet {
    /// Class names; label `i` means `class_names[i]`.
    pub class_names: Vec<String>,
    /// Side length of every image.
    pub image_size: usize,
    /// Training images.
    pub train: ImageStore,
    /// Validation images.
    pub valid: ImageStore,
    /// Where the images came from.
    pub source: DataSource,
    /// Candidate files that could not be used.
    pub skipped: Vec<Skipped>,
    /// Files not considered at all (other extensions, hidden files).
    pub ignored: Vec<PathBuf>,
    /// Warnings for the user (classes missing from a split, dropped classes, nested folders).
    pub warnings: Vec<String>,
}

impl SeedlingSet {
    /// True for the built-in procedural set.
    pub fn is_synthetic(&self) -> bool {
        matches!(self.source, DataSource::Synthetic)
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// One line describing the set, e.g.
    /// `12 classes, 2363 train + 591 valid images of 96x96 from data/ (train/ + valid/ folders); 0 skipped, 0 ignored`.
    pub fn summary(&self) -> String {
        let from = match &self.source {
            DataSource::Real { root, layout, .. } => format!("{} ({layout})", root.display()),
            DataSource::Synthetic => "the built-in synthetic generator".to_string(),
        };
        format!(
            "{} classes, {} train + {} valid images of {s}x{s} from {from}; {} skipped, {} ignored",
            self.num_classes(),
            self.train.len(),
            self.valid.len(),
            self.skipped.len(),
            self.ignored.len(),
            s = self.image_size,
        )
    }
}

/// Settings of [`load`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Side length the images are brought to (shorter side resized, then centre crop).
    pub image_size: usize,
    /// Share of each class put into valid when the data has no `valid/` folder; in `[0, 1)`.
    pub valid_fraction: f64,
    /// Seed of that split.
    pub split_seed: u64,
    /// Decoding threads; 0 = one per available core.
    pub threads: usize,
    /// Images whose header declares more pixels than this are skipped.
    pub max_pixels: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            image_size: DEFAULT_IMAGE_SIZE,
            valid_fraction: DEFAULT_VALID_FRACTION,
            split_seed: 0,
            threads: 0,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Loads the photos under `root`.
///
/// Steps: [`detect_layout`] finds classes and candidate files; every candidate is decoded once,
/// in parallel ([`decode_many`]); files that fail are recorded in [`SeedlingSet::skipped`].
/// A class none of whose files decoded (in any split) is dropped, with a warning, and the
/// remaining labels are renumbered in sorted-name order. With a `valid/` folder the given split
/// is kept (`valid_fraction` is unused); otherwise [`stratified_split`] draws the valid split
/// from the decoded images.
///
/// # Errors
///
/// [`DataError::InvalidOption`] for an `image_size` outside `1..=1024` or a `valid_fraction`
/// outside `[0, 1)`; the errors of [`detect_layout`]; [`DataError::NoImages`] when not a single
/// image decoded.
pub fn load(root: &Path, options: &LoadOptions) -> Result<SeedlingSet, DataError> {
    if options.image_size == 0 || options.image_size > MAX_IMAGE_SIZE {
        return Err(DataError::InvalidOption(format!(
            "image size {} is not in 1..={MAX_IMAGE_SIZE}",
            options.image_size
        )));
    }
    if !(0.0..1.0).contains(&options.valid_fraction) {
        return Err(DataError::InvalidOption(format!(
            "valid fraction {} is not in [0, 1)",
            options.valid_fraction
        )));
    }
    let layout = detect_layout(root)?;
    let mut warnings = layout.warnings.clone();
    let n_train_candidates = layout.train.len();
    let all: Vec<&Candidate> = layout.train.iter().chain(&layout.valid).collect();
    let paths: Vec<PathBuf> = all.iter().map(|c| c.path.clone()).collect();
    let decoded = decode_many(
        &paths,
        options.image_size,
        options.max_pixels,
        options.threads,
    );

    let mut skipped = Vec::new();
    // (class, path, pixels) of the decoded images, per split.
    let mut good: [Vec<(usize, PathBuf, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    for (i, (candidate, result)) in all.iter().zip(decoded).enumerate() {
        match result {
            Ok(pixels) => {
                let split = usize::from(i >= n_train_candidates);
                good[split].push((candidate.class, candidate.path.clone(), pixels));
            }
            Err(reason) => skipped.push(Skipped {
                path: candidate.path.clone(),
                reason,
            }),
        }
    }

    // Keep the classes that have at least one decoded image somewhere.
    let n_classes = layout.class_names.len();
    let mut count = vec![[0usize; 2]; n_classes];
    for (split, items) in good.iter().enumerate() {
        for (class, _, _) in items {
            count[*class][split] += 1;
        }
    }
    let mut remap = vec![usize::MAX; n_classes];
    let mut class_names = Vec::new();
    for (class, name) in layout.class_names.iter().enumerate() {
        if count[class][0] + count[class][1] == 0 {
            warnings.push(format!("class \"{name}\" dropped: no usable image"));
        } else {
            remap[class] = class_names.len();
            class_names.push(name.clone());
        }
    }
    if class_names.is_empty() {
        return Err(DataError::NoImages {
            root: layout.root.clone(),
            skipped: skipped.len(),
            ignored: layout.ignored.len(),
        });
    }

    let size = options.image_size;
    let mut train = ImageStore::new(size);
    let mut valid = ImageStore::new(size);
    let [train_items, valid_items] = good;
    if layout.kind == LayoutKind::TrainValid {
        for (class, path, pixels) in train_items {
            train.push(remap[class], &pixels, path);
        }
        for (class, path, pixels) in valid_items {
            valid.push(remap[class], &pixels, path);
        }
        for (class, name) in layout.class_names.iter().enumerate() {
            if remap[class] == usize::MAX {
                continue;
            }
            for (split, split_name) in [(0, "train"), (1, "valid")] {
                if count[class][split] == 0 {
                    warnings.push(format!("class \"{name}\" has no usable {split_name} image"));
                }
            }
        }
    } else {
        let labels: Vec<usize> = train_items.iter().map(|(c, _, _)| remap[*c]).collect();
        let (train_idx, valid_idx) =
            stratified_split(&labels, options.valid_fraction, options.split_seed);
        let mut items: Vec<Option<(usize, PathBuf, Vec<u8>)>> =
            train_items.into_iter().map(Some).collect();
        for (store, indices) in [(&mut train, train_idx), (&mut valid, valid_idx)] {
            for i in indices {
                if let Some((class, path, pixels)) = items[i].take() {
                    store.push(remap[class], &pixels, path);
                }
            }
        }
    }

    Ok(SeedlingSet {
        class_names,
        image_size: size,
        train,
        valid,
        source: DataSource::Real {
            root: layout.root.clone(),
            layout: layout.describe(),
            split: if layout.kind == LayoutKind::TrainValid {
                SplitRule::Given
            } else {
                SplitRule::Drawn {
                    valid_fraction: options.valid_fraction,
                    seed: options.split_seed,
                }
            },
        },
        skipped,
        ignored: layout.ignored,
        warnings,
    })
}
