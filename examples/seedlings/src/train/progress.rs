//! An arm's saved position ([`ArmProgress`]), its typed end state ([`ArmEnd`]), and saving:
//! the model and optimizer state under names unique to the step, then `progress.json` naming
//! them (the commit point), then removing state files no position names any more.
//!
//! `progress.json`'s `"ended"` is `null` while the arm can resume, else one string:
//! `"finished"`, `"diverged: REASON"` (`"diverged: loss NaN"`, `"diverged: non-finite
//! weights"`) or `"failed: REASON"` ([`ArmEnd`] reads and writes exactly these).

use std::path::Path;

use anyhow::{Context, Result};
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::EquilibriumSums;
use crate::checkpoint;
use crate::model::Cnn;
use crate::records::{ArmStatus, EpochRecord};
use crate::run::ArmPaths;
use crate::run::atomic::{write_atomic, write_atomic_str};

/// How an arm ended; once set, the arm is not resumed.
///
/// In `progress.json` it is one string (see the [module docs](self)): `"finished"`,
/// `"diverged: "` or `"failed: "` followed by the reason. A string of none of these forms
/// (never written) reads as [`Finished`](Self::Finished), as the untyped state did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmEnd {
    /// Ran all its epochs.
    Finished,
    /// A loss or a weight became non-finite.
    Diverged {
        /// What was non-finite, e.g. `loss NaN` or `non-finite weights`.
        reason: String,
    },
    /// Stopped by an error.
    Failed {
        /// What went wrong, in words.
        reason: String,
    },
}

impl ArmEnd {
    const FINISHED: &'static str = "finished";
    const DIVERGED: &'static str = "diverged: ";
    const FAILED: &'static str = "failed: ";

    /// Reads the string form (see the type's docs).
    pub fn parse(text: &str) -> Self {
        if let Some(reason) = text.strip_prefix(Self::FAILED) {
            Self::Failed {
                reason: reason.to_string(),
            }
        } else if let Some(reason) = text.strip_prefix(Self::DIVERGED) {
            Self::Diverged {
                reason: reason.to_string(),
            }
        } else {
            Self::Finished
        }
    }
}

impl std::fmt::Display for ArmEnd {
    /// The string form written to `progress.json`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Finished => f.write_str(Self::FINISHED),
            Self::Diverged { reason } => write!(f, "{}{reason}", Self::DIVERGED),
            Self::Failed { reason } => write!(f, "{}{reason}", Self::FAILED),
        }
    }
}

impl Serialize for ArmEnd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ArmEnd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self::parse(&text))
    }
}

/// An arm's position, written with its model and optimizer state after every epoch and on an
/// interruption: enough to continue exactly where it stopped. The data order and augmentation
/// are pure functions of (seed, epoch, index), so the position *is* the random state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArmProgress {
    /// The next epoch to run (0-based).
    pub epoch: usize,
    /// The next batch of that epoch.
    pub batch: usize,
    /// Optimizer steps taken so far: the schedule position.
    pub step: usize,
    /// Sum of the training losses of this epoch so far, weighted by batch size.
    #[serde(with = "crate::exact::f64")]
    pub epoch_loss_sum: f64,
    /// Images seen in this epoch so far.
    pub epoch_images: usize,
    /// Seconds spent in this epoch so far.
    #[serde(with = "crate::exact::f64")]
    pub epoch_seconds: f64,
    /// This epoch's equilibrium measurements so far (absent in state from before them: zero).
    #[serde(default)]
    pub epoch_equilibrium: EquilibriumSums,
    /// The arm's epoch records so far.
    #[serde(with = "crate::exact::records")]
    pub records: Vec<EpochRecord>,
    /// Best validation accuracy so far.
    #[serde(with = "crate::exact::option_f64")]
    pub best_valid_accuracy: Option<f64>,
    /// Set once the arm has ended (finished, diverged or failed): it is not resumed.
    pub ended: Option<ArmEnd>,
    /// The diverged position, if it diverged: (epoch, step), both from 1.
    pub diverged_at: Option<(usize, usize)>,
    /// The file names of the model and optimizer state belonging to this position.
    pub model_file: Option<String>,
    /// See `model_file`.
    pub optimizer_file: Option<String>,
}

impl ArmProgress {
    /// Reads `progress.json` of an arm, if any.
    pub fn load(paths: &ArmPaths) -> Result<Option<Self>> {
        let path = paths.progress_file();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let progress = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an arm's progress file", path.display()))?;
        Ok(Some(progress))
    }

    /// The status this progress stands for.
    pub fn status(&self) -> ArmStatus {
        match (&self.ended, self.diverged_at) {
            (_, Some((epoch, step))) => ArmStatus::Diverged { epoch, step },
            (Some(ArmEnd::Failed { reason }), _) => ArmStatus::Failed {
                reason: reason.clone(),
            },
            (Some(_), _) => ArmStatus::Finished,
            (None, _) => ArmStatus::Interrupted,
        }
    }
}

/// Writes model and optimizer state under names unique to this step, then `progress.json`
/// naming them (the commit point), then removes older state files.
pub(crate) fn save_state(
    paths: &ArmPaths,
    model: &Cnn,
    optim: &ModuleOptimizer,
    progress: &mut ArmProgress,
) -> Result<()> {
    let dir = paths.state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let model_file = format!("model-{}.bpk", progress.step);
    let optim_file = format!("optimizer-{}.bpk", progress.step);
    checkpoint::save_model(&dir.join(&model_file), model)?;
    let bytes = optim
        .into_bytes()
        .map_err(|err| anyhow::anyhow!("encoding the optimizer state: {err}"))?;
    let optim_path = dir.join(&optim_file);
    write_atomic(&optim_path, &bytes)
        .with_context(|| format!("writing {}", optim_path.display()))?;
    progress.model_file = Some(model_file.clone());
    progress.optimizer_file = Some(optim_file.clone());
    save_progress(paths, progress)?;
    remove_stale(&dir, &[&model_file, &optim_file]);
    Ok(())
}

/// Writes `progress.json` alone, atomically (an arm that ended has no state files to name).
pub(crate) fn save_progress(paths: &ArmPaths, progress: &ArmProgress) -> Result<()> {
    let dir = paths.state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = paths.progress_file();
    let json = serde_json::to_string(progress)?;
    write_atomic_str(&path, &json).with_context(|| format!("writing {}", path.display()))
}

/// Removes the `.bpk` state files in `dir` other than `keep`, best effort.
fn remove_stale(dir: &Path, keep: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".bpk") && !keep.contains(&name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `progress.json` as the untyped state (`"ended": Option<String>`) wrote it, with `ended`.
    fn todays_progress_json(ended: &str, diverged_at: &str, files: &str) -> String {
        let records = "arm,wd,mode,epoch,lr,train_loss,valid_loss,valid_accuracy,\
                       valid_macro_f1,weight_norm,seconds,status,conv_angle,\
                       conv_angle_predicted,conv_norm,conv_norm_predicted\\n\
                       decoupled-wd0.1,0.1,decoupled,1,0.001,2.5,2.25,0.5,0.25,12.5,1.5,ok,\
                       0.01,0.02,3.5,4.5\\n";
        format!(
            r#"{{"epoch":1,"batch":0,"step":4,"epoch_loss_sum":"0","epoch_images":0,"epoch_seconds":"0","epoch_equilibrium":{{"angle":"0","angles":0,"predicted_angle":"0","predicted_angles":0,"norm":"0","norms":0,"predicted_norm":"0","predicted_norms":0}},"records":"{records}","best_valid_accuracy":"0.5","ended":{ended},"diverged_at":{diverged_at},{files}}}"#
        )
    }

    #[test]
    fn todays_progress_files_load_typed_and_are_written_back_identically() {
        let files = r#""model_file":"model-4.bpk","optimizer_file":"optimizer-4.bpk""#;
        let no_files = r#""model_file":null,"optimizer_file":null"#;
        let cases = [
            ("null", "null", files, None, ArmStatus::Interrupted),
            (
                r#""finished""#,
                "null",
                files,
                Some(ArmEnd::Finished),
                ArmStatus::Finished,
            ),
            (
                r#""diverged: loss NaN""#,
                "[2,5]",
                files,
                Some(ArmEnd::Diverged {
                    reason: "loss NaN".into(),
                }),
                ArmStatus::Diverged { epoch: 2, step: 5 },
            ),
            (
                r#""diverged: non-finite weights""#,
                "[1,4]",
                no_files,
                Some(ArmEnd::Diverged {
                    reason: "non-finite weights".into(),
                }),
                ArmStatus::Diverged { epoch: 1, step: 4 },
            ),
            (
                r#""failed: out of memory""#,
                "null",
                files,
                Some(ArmEnd::Failed {
                    reason: "out of memory".into(),
                }),
                ArmStatus::Failed {
                    reason: "out of memory".into(),
                },
            ),
        ];
        for (ended, diverged_at, files, typed, status) in cases {
            let run = tempfile::tempdir().unwrap();
            let paths = ArmPaths {
                run_dir: run.path().to_path_buf(),
                arm: "decoupled-wd0.1".into(),
            };
            std::fs::create_dir_all(paths.state_dir()).unwrap();
            let text = todays_progress_json(ended, diverged_at, files);
            std::fs::write(paths.progress_file(), &text).unwrap();

            let progress = ArmProgress::load(&paths).unwrap().unwrap();
            assert_eq!(progress.ended, typed, "{ended}");
            assert_eq!(progress.status(), status, "{ended}");
            assert_eq!(progress.records.len(), 1);

            save_progress(&paths, &progress).unwrap();
            let written = std::fs::read_to_string(paths.progress_file()).unwrap();
            assert_eq!(written, text, "{ended}");
        }
    }
}
