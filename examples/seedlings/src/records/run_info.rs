//! [`RunInfo`]: the settings and data of a run, the header of `report.md` and `summary.json`'s
//! `"run"`.

use serde::{Deserialize, Serialize};

use super::nullable_f64;

/// The settings and data of a run: the header of `report.md` and `summary.json`'s `"run"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run's name, also its folder under `runs/`.
    pub name: String,
    /// The command line that started the run.
    pub command: String,
    /// Where the images came from, in words (a folder, an archive, "synthetic").
    pub data: String,
    /// Whether the images are the built-in synthetic ones rather than real photos.
    pub synthetic: bool,
    /// The class names, in label order.
    pub classes: Vec<String>,
    /// Number of training images.
    pub train_images: usize,
    /// Number of validation images.
    pub valid_images: usize,
    /// Files that were not used, as `(path, reason)`.
    pub skipped_files: Vec<(String, String)>,
    /// What reading the data warned about (links skipped, folders not read, images taken from
    /// sub-folders, classes in one split only); empty, and not written, when nothing was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_warnings: Vec<String>,
    /// The Burn backend, in words.
    pub backend: String,
    /// The inner optimizer, in words
    /// ([`OptimizerKind::describe`](crate::train::OptimizerKind::describe)).
    pub optimizer: String,
    /// Which code ran the conv blocks: `fused` (burn-fused-conv's op) or `stock` (Burn's layers).
    #[serde(default)]
    pub block: String,
    /// The learning-rate schedule, in words
    /// ([`OneCycle::describe`](crate::schedule::OneCycle::describe)).
    pub schedule: String,
    /// Epochs per arm.
    pub epochs: usize,
    /// Side of the square input images in pixels.
    pub image_size: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// The peak learning rate.
    #[serde(with = "nullable_f64")]
    pub lr: f64,
    /// The random seed (`--seed`): with several seeds per arm, the first of them, and the seed
    /// of the train/valid split.
    pub seed: u64,
    /// Every arm's seeds when there are several (`--seeds N > 1`: `seed`, `seed + 1`, …);
    /// empty, and not written, with one seed per arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
    /// How many runs the sweep plans in all (arms × seeds) when there are several seeds per
    /// arm, so that a report written while it runs counts the runs still to start; 0, and not
    /// written, with one seed per arm.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub planned_runs: usize,
    /// Whether decay also applies to the parameters of rank ≤ 1, normalization parameters and
    /// biases (`--decay-rank-le-1`). Read under its older name `decay_norm_and_bias` too.
    #[serde(alias = "decay_norm_and_bias")]
    pub decay_rank_le_1: bool,
    /// When the run started (RFC 3339 or any readable time stamp).
    pub started: String,
    /// Wall-clock seconds of the whole run so far: with `--resume`, every part's time added up.
    #[serde(with = "nullable_f64")]
    pub seconds: f64,
    /// How many times the run was interrupted and resumed (`--resume`); 0, and not written,
    /// for a run that ran in one go.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed: usize,
}

/// Whether a count is 0 (serde's `skip_serializing_if` takes a function).
fn is_zero(n: &usize) -> bool {
    *n == 0
}
