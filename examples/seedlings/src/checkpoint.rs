//! Model checkpoints that carry what `seedlings evaluate` needs: class names, image size,
//! normalization and the network's shape, next to the weights.
//!
//! A checkpoint is a folder: `model.bpk` (Burn's burnpack record of the network, batch-norm
//! running statistics included) and `meta.json` ([`CheckpointMeta`]). Both are written
//! atomically, `model.bpk` first, so `meta.json` only ever describes complete weights.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use crate::data::{DataSource, Normalization, SeedlingSet, SplitRule};
use crate::model::{Cnn, CnnConfig};
use crate::run::atomic::{write_atomic, write_atomic_str};

/// Everything besides the weights that evaluating a checkpoint needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The arm that trained it, e.g. `decoupled-wd0.1`.
    pub arm: String,
    /// The weight decay of that arm.
    pub wd: f64,
    /// The decay mode of that arm.
    pub mode: String,
    /// The epoch (from 1) after which it was saved.
    pub epoch: usize,
    /// Validation accuracy at that epoch.
    pub valid_accuracy: f64,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// Side of the square input images.
    pub image_size: usize,
    /// Input normalization (train-split statistics).
    pub normalization: Normalization,
    /// Output channels of each block.
    pub channels: Vec<usize>,
    /// Whether it was trained on the built-in synthetic images.
    pub synthetic: bool,
    /// The folder of photos it was trained on, and its split: what lets `seedlings evaluate`
    /// score only images it did not train on. Absent for synthetic images and in checkpoints
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_on: Option<TrainedOn>,
}

/// The photos a checkpoint was trained on: the folder and how its valid split was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedOn {
    /// The folder holding `train/` or the class folders, canonical.
    pub root: PathBuf,
    /// How the valid split was made (given by `valid/`, or drawn with a share and seed).
    pub split: SplitRule,
    /// Training images (the split's train side).
    pub train_images: usize,
    /// Validation images: never trained on.
    pub valid_images: usize,
}

impl TrainedOn {
    /// What `set` says of itself; `None` for the synthetic images.
    pub fn of(set: &SeedlingSet) -> Option<TrainedOn> {
        match &set.source {
            DataSource::Real { root, split, .. } => Some(TrainedOn {
                root: std::fs::canonicalize(root).unwrap_or_else(|_| root.clone()),
                split: *split,
                train_images: set.train.len(),
                valid_images: set.valid.len(),
            }),
            DataSource::Synthetic => None,
        }
    }
}

impl CheckpointMeta {
    /// The network configuration this checkpoint's weights belong to.
    pub fn cnn_config(&self) -> CnnConfig {
        CnnConfig::new(self.class_names.len()).with_channels(self.channels.clone())
    }
}

/// Writes `model` and `meta` into the folder `dir` (created if missing).
pub fn save(dir: &Path, model: &Cnn, meta: &CheckpointMeta) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    save_model(&dir.join("model.bpk"), model)?;
    let json = serde_json::to_string_pretty(meta)?;
    let path = dir.join("meta.json");
    write_atomic_str(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes the network's record (weights and batch-norm statistics) to `path`, atomically.
pub fn save_model(path: &Path, model: &Cnn) -> Result<()> {
    // Burn's `RunningState` (batch-norm statistics) keeps its latest update aside until the
    // next read; a record taken mid-epoch would hold the value one step old. `valid()` folds
    // the pending update in (in the shared state, so `model` itself is synced too).
    let _ = model.valid();
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|err| anyhow::anyhow!("encoding the model: {err}"))?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Loads a network record from `path` into `model` (which fixes the shapes).
pub fn load_model(path: &Path, model: Cnn) -> Result<Cnn> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|err| anyhow::anyhow!("{} is not a model record: {err}", path.display()))?;
    model
        .try_load_record(record)
        .map_err(|err| anyhow::anyhow!("{} does not fit the network: {err}", path.display()))
}

/// Finds the checkpoint folder from a path to the folder, its `meta.json` or its `model.bpk`.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_file() {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.to_path_buf()
    }
}

/// Loads a checkpoint folder (or a file inside it) onto `device`.
pub fn load(path: &Path, device: &Device) -> Result<(Cnn, CheckpointMeta)> {
    let dir = resolve(path);
    let meta_path = dir.join("meta.json");
    if !meta_path.is_file() {
        bail!(
            "{} is not a checkpoint: it has no meta.json (give a folder such as runs/NAME/checkpoints/ARM/best)",
            dir.display()
        );
    }
    let text = std::fs::read_to_string(&meta_path)
        .with_context(|| format!("reading {}", meta_path.display()))?;
    let meta: CheckpointMeta = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a checkpoint description", meta_path.display()))?;
    let model = load_model(&dir.join("model.bpk"), meta.cnn_config().init(device))?;
    Ok((model, meta))
}
