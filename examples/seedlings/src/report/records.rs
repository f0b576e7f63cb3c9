//! What the training loop hands to the report: one [`EpochRecord`] per arm and epoch, one
//! [`ArmSummary`] per arm and one [`RunInfo`] per run.
//!
//! In `summary.json` every float that is not finite (a diverged loss, a metric with no samples)
//! is written as `null`, and `null` reads back as `NaN` (see [`nullable_f64`]).

use serde::{Deserialize, Serialize};

/// One row of `metrics.csv`: where an arm stood at the end of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The arm's name, unique in a run (e.g. `wd0.1-decoupled`).
    pub arm: String,
    /// The arm's weight decay `λ`.
    pub wd: f64,
    /// The arm's decay mode: `coupled`, `decoupled` or `none`.
    pub mode: String,
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The learning rate at the end of the epoch.
    pub lr: f64,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean loss on the validation set after the epoch.
    pub valid_loss: f64,
    /// Validation accuracy after the epoch, a fraction in `[0, 1]`.
    pub valid_accuracy: f64,
    /// Validation macro-F1 after the epoch, a fraction in `[0, 1]`
    /// (see [`ConfusionMatrix::macro_f1`](super::ConfusionMatrix::macro_f1)).
    pub valid_macro_f1: f64,
    /// The L2 norm of the model's weights after the epoch.
    pub weight_norm: f64,
    /// Wall-clock seconds this epoch took (training and validation), not cumulative.
    pub seconds: f64,
    /// `ok` for a complete epoch; `diverged at step S` for the row of the epoch in which the
    /// loss became non-finite (its losses are the non-finite values, its validation numbers NaN:
    /// the arm stopped there, keeping its last finite checkpoint).
    #[serde(default = "ok_status")]
    pub status: String,
    /// The angle (radians) one optimizer step turned each conv weight tensor by, averaged over
    /// the conv weights (4-D tensors) and the epoch's measured steps (a few per epoch, spread
    /// over it; `train::EQUILIBRIUM_STEPS_PER_EPOCH`). `None`: not measured (an empty cell;
    /// files from before this column have none).
    #[serde(default)]
    pub conv_angle: Option<f64>,
    /// The rotational equilibrium's predicted angle at the same steps (`√(2·η·λ·(1−β1)/(1+β1))` for AdamW),
    /// averaged the same way. `None`: not measured, or no prediction (Adam + coupled L2).
    #[serde(default)]
    pub conv_angle_predicted: Option<f64>,
    /// `√(Σ ‖w‖²)` over the conv weights after the measured steps, averaged over those steps.
    #[serde(default)]
    pub conv_norm: Option<f64>,
    /// The predicted equilibrium norm of the same weights, `√(Σ predicted ‖w‖²)`, averaged the
    /// same way (for AdamW `√(η·C/(2·λ))` with `C` the conv weights' element count).
    #[serde(default)]
    pub conv_norm_predicted: Option<f64>,
}

fn ok_status() -> String {
    EpochRecord::OK.to_string()
}

impl EpochRecord {
    /// The status of a complete epoch.
    pub const OK: &'static str = "ok";

    /// Whether this row is a complete epoch (not the row of a divergence).
    pub fn is_ok(&self) -> bool {
        self.status == Self::OK
    }

    /// `conv_angle / conv_angle_predicted`: 1 at equilibrium; `None` unless both were measured
    /// and the prediction is positive.
    pub fn angle_ratio(&self) -> Option<f64> {
        let measured = self.conv_angle.filter(|v| v.is_finite())?;
        let predicted = self
            .conv_angle_predicted
            .filter(|v| v.is_finite() && *v > 0.0)?;
        Some(measured / predicted)
    }
}

/// How an arm ended.
///
/// Serialized as the bare lower-case name: `"finished"`, `"diverged"`, `"interrupted"`,
/// `"failed"`. The extra fields travel next to it in `summary.json` (`"diverged_at"`,
/// `"failure"`) — see [`ArmSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ArmStatus {
    /// Ran all its epochs.
    #[default]
    Finished,
    /// A loss or a weight became non-finite and the arm was stopped.
    Diverged {
        /// The epoch (from 1) in which it happened.
        epoch: usize,
        /// The optimizer step (from 1, counted over the whole run) at which it happened.
        step: usize,
    },
    /// Stopped early by the user (Ctrl-C) or a time limit; the records are partial.
    Interrupted,
    /// Still training: the report was written after one of its epochs.
    Running,
    /// Stopped by an error.
    Failed {
        /// What went wrong, in words.
        reason: String,
    },
}

impl ArmStatus {
    /// The lower-case name written to files: `finished`, `diverged`, `interrupted`, `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Diverged { .. } => "diverged",
            Self::Interrupted => "interrupted",
            Self::Running => "running",
            Self::Failed { .. } => "failed",
        }
    }
}

impl std::fmt::Display for ArmStatus {
    /// `finished`, `diverged at epoch E, step S`, `interrupted`, `failed: REASON`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Diverged { epoch, step } => write!(f, "diverged at epoch {epoch}, step {step}"),
            Self::Failed { reason } => write!(f, "failed: {reason}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Where an arm diverged, as written to `summary.json` under `"diverged_at"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivergedAt {
    /// The epoch (from 1).
    pub epoch: usize,
    /// The optimizer step (from 1).
    pub step: usize,
}

/// The flat form of [`ArmStatus`] inside an arm's JSON object.
#[derive(Serialize, Deserialize)]
struct StatusFields {
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    diverged_at: Option<DivergedAt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

impl From<ArmStatus> for StatusFields {
    fn from(status: ArmStatus) -> Self {
        let name = status.name().to_string();
        match status {
            ArmStatus::Diverged { epoch, step } => Self {
                status: name,
                diverged_at: Some(DivergedAt { epoch, step }),
                failure: None,
            },
            ArmStatus::Failed { reason } => Self {
                status: name,
                diverged_at: None,
                failure: Some(reason),
            },
            _ => Self {
                status: name,
                diverged_at: None,
                failure: None,
            },
        }
    }
}

impl TryFrom<StatusFields> for ArmStatus {
    type Error = String;

    fn try_from(fields: StatusFields) -> Result<Self, Self::Error> {
        match fields.status.as_str() {
            "finished" => Ok(Self::Finished),
            "interrupted" => Ok(Self::Interrupted),
            "running" => Ok(Self::Running),
            "diverged" => {
                let at = fields
                    .diverged_at
                    .ok_or("status \"diverged\" needs a \"diverged_at\" object")?;
                Ok(Self::Diverged {
                    epoch: at.epoch,
                    step: at.step,
                })
            }
            "failed" => Ok(Self::Failed {
                reason: fields.failure.unwrap_or_default(),
            }),
            other => Err(format!(
                "unknown arm status {other:?} (expected finished, diverged, interrupted or failed)"
            )),
        }
    }
}

impl Serialize for ArmStatus {
    /// As the bare name (`"diverged"`); [`ArmSummary`] adds the details next to it.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ArmStatus {
    /// From the bare name; `"diverged"` alone reads as epoch 0, step 0 and `"failed"` with an
    /// empty reason (the details live next to the status in [`ArmSummary`]'s JSON).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let fields = StatusFields {
            status: name,
            diverged_at: Some(DivergedAt { epoch: 0, step: 0 }),
            failure: None,
        };
        Self::try_from(fields).map_err(serde::de::Error::custom)
    }
}

/// Serde helpers for an `f64` that may be non-finite: written as `null` when NaN or infinite
/// (JSON has no such numbers), and `null` reads back as NaN.
///
/// Use with `#[serde(with = "nullable_f64")]`.
pub mod nullable_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a finite `value` as a number and anything else as `null`.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_none()
        }
    }

    /// Reads a number, or `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

/// The outcome of one arm, one entry of `summary.json`'s `"arms"`.
///
/// The JSON object is flat: `"status"` is the bare name, followed by `"diverged_at":
/// {"epoch", "step"}` for a diverged arm and `"failure"` for a failed one. Non-finite floats are
/// `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// The arm's name.
    pub arm: String,
    /// The arm's weight decay `λ`.
    #[serde(with = "nullable_f64")]
    pub wd: f64,
    /// The arm's decay mode.
    pub mode: String,
    /// How the arm ended.
    #[serde(flatten, with = "status_fields")]
    pub status: ArmStatus,
    /// The highest validation accuracy of any epoch (NaN if no epoch had a finite one).
    #[serde(with = "nullable_f64")]
    pub best_valid_accuracy: f64,
    /// The epoch of [`best_valid_accuracy`](Self::best_valid_accuracy); the earliest on a tie,
    /// 0 if there is none.
    pub best_epoch: usize,
    /// The highest validation macro-F1 of any epoch (not necessarily at `best_epoch`).
    #[serde(with = "nullable_f64")]
    pub best_valid_macro_f1: f64,
    /// Training loss of the last recorded epoch.
    #[serde(with = "nullable_f64")]
    pub final_train_loss: f64,
    /// Validation loss of the last recorded epoch.
    #[serde(with = "nullable_f64")]
    pub final_valid_loss: f64,
    /// Validation accuracy of the last recorded epoch.
    #[serde(with = "nullable_f64")]
    pub final_valid_accuracy: f64,
    /// `final_valid_loss − final_train_loss`: how much worse the model does on images it did not
    /// train on.
    #[serde(with = "nullable_f64")]
    pub train_valid_gap: f64,
    /// `Π_t (1 − s_t·λ)` over the run's steps: what decay alone would have multiplied a weight by.
    #[serde(with = "nullable_f64")]
    pub decay_shrink: f64,
    /// `Σ_t f_t` over the run's steps, `f_t = s_t·λ` (`lr_t·λ` for coupled decay): the steps run
    /// ÷ the `1/f` steps rotational equilibrium needs (`burn_weight_decay::equilibrium::progress`,
    /// Kosson et al. 2024). Below 1 the weights never reached
    /// equilibrium. NaN (`null`) when unknown: a running or failed arm, or a summary written
    /// before this field.
    #[serde(default = "nan", with = "nullable_f64")]
    pub equilibrium_progress: f64,
    /// The weight norm of the last recorded epoch.
    #[serde(with = "nullable_f64")]
    pub final_weight_norm: f64,
    /// The best-accuracy checkpoint, relative to the run folder (`None` if none was written).
    pub best_checkpoint: Option<String>,
    /// The last checkpoint, relative to the run folder (`None` if none was written).
    pub final_checkpoint: Option<String>,
    /// Wall-clock seconds of all the arm's recorded epochs together.
    #[serde(with = "nullable_f64")]
    pub seconds: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// `#[serde(flatten)]` glue: writes [`ArmStatus`] as `status` (+ `diverged_at` / `failure`).
mod status_fields {
    use super::{ArmStatus, StatusFields};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(status: &ArmStatus, serializer: S) -> Result<S::Ok, S::Error> {
        StatusFields::from(status.clone()).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ArmStatus, D::Error> {
        ArmStatus::try_from(StatusFields::deserialize(deserializer)?)
            .map_err(serde::de::Error::custom)
    }
}

impl ArmSummary {
    /// Derives an arm's best and final numbers from its epoch records.
    ///
    /// `records` may hold every arm of the run: only those whose `arm` equals `arm` count, taken
    /// in epoch order. "Final" means the last recorded epoch (for a diverged or interrupted arm,
    /// the last one it recorded). "Best" ignores non-finite values; with no usable value the
    /// number is NaN and `best_epoch` is 0. Checkpoint paths are relative to the run folder.
    #[allow(clippy::too_many_arguments)]
    pub fn from_records(
        arm: &str,
        wd: f64,
        mode: &str,
        status: ArmStatus,
        records: &[EpochRecord],
        decay_shrink: f64,
        best_checkpoint: Option<String>,
        final_checkpoint: Option<String>,
    ) -> Self {
        // The row of a divergence (non-finite by definition) is left out: the numbers are those
        // of the complete epochs, and `status` says how the arm ended.
        let mut own: Vec<&EpochRecord> = records
            .iter()
            .filter(|r| r.arm == arm && r.is_ok())
            .collect();
        own.sort_by_key(|r| r.epoch);

        let mut best_valid_accuracy = f64::NAN;
        let mut best_epoch = 0;
        for r in &own {
            if r.valid_accuracy.is_finite()
                && (best_valid_accuracy.is_nan() || r.valid_accuracy > best_valid_accuracy)
            {
                best_valid_accuracy = r.valid_accuracy;
                best_epoch = r.epoch;
            }
        }
        let best_valid_macro_f1 = own
            .iter()
            .map(|r| r.valid_macro_f1)
            .filter(|v| v.is_finite())
            .fold(f64::NAN, f64::max);
        let last = own.last();
        let pick = |f: fn(&EpochRecord) -> f64| last.map_or(f64::NAN, |r| f(r));
        let final_train_loss = pick(|r| r.train_loss);
        let final_valid_loss = pick(|r| r.valid_loss);

        Self {
            arm: arm.to_string(),
            wd,
            mode: mode.to_string(),
            status,
            best_valid_accuracy,
            best_epoch,
            best_valid_macro_f1,
            final_train_loss,
            final_valid_loss,
            final_valid_accuracy: pick(|r| r.valid_accuracy),
            train_valid_gap: final_valid_loss - final_train_loss,
            decay_shrink,
            equilibrium_progress: f64::NAN,
            final_weight_norm: pick(|r| r.weight_norm),
            best_checkpoint,
            final_checkpoint,
            seconds: own.iter().map(|r| r.seconds).sum(),
        }
    }
}

impl ArmSummary {
    /// The same summary with [`equilibrium_progress`](Self::equilibrium_progress) set.
    pub fn with_equilibrium_progress(mut self, progress: f64) -> Self {
        self.equilibrium_progress = progress;
        self
    }
}

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
    /// The Burn backend, in words.
    pub backend: String,
    /// The inner optimizer, in words (e.g. `Adam(β1=0.9, β2=0.999)`).
    pub optimizer: String,
    /// Which code ran the conv blocks: `fused` (burn-fused-conv's op) or `stock` (Burn's layers).
    #[serde(default)]
    pub block: String,
    /// The learning-rate schedule, in words.
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
    /// The random seed.
    pub seed: u64,
    /// Whether decay also applies to normalization parameters and biases.
    pub decay_norm_and_bias: bool,
    /// When the run started (RFC 3339 or any readable time stamp).
    pub started: String,
    /// Wall-clock seconds of the whole run so far.
    #[serde(with = "nullable_f64")]
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(arm: &str, epoch: usize, train: f64, valid: f64, acc: f64, f1: f64) -> EpochRecord {
        EpochRecord {
            arm: arm.into(),
            wd: 0.1,
            mode: "decoupled".into(),
            epoch,
            lr: 0.001,
            train_loss: train,
            valid_loss: valid,
            valid_accuracy: acc,
            valid_macro_f1: f1,
            weight_norm: 10.0 + epoch as f64,
            seconds: 2.0,
            status: "ok".into(),
            conv_angle: None,
            conv_angle_predicted: None,
            conv_norm: None,
            conv_norm_predicted: None,
        }
    }

    #[test]
    fn from_records_takes_best_and_final_of_its_own_arm_only() {
        let records = vec![
            rec("a", 2, 1.0, 1.5, 0.6, 0.55),
            rec("a", 1, 2.0, 2.1, 0.4, 0.30),
            rec("b", 1, 0.1, 0.2, 0.99, 0.99),
            rec("a", 3, 0.5, 1.7, 0.6, 0.58),
            rec("a", 4, 0.4, 1.9, f64::NAN, f64::NAN),
        ];
        let s = ArmSummary::from_records(
            "a",
            0.1,
            "decoupled",
            ArmStatus::Finished,
            &records,
            0.25,
            Some("checkpoints/a/best".into()),
            None,
        );
        assert_eq!(s.best_valid_accuracy, 0.6);
        assert_eq!(s.best_epoch, 2, "a tie keeps the earliest epoch");
        assert_eq!(s.best_valid_macro_f1, 0.58);
        assert_eq!(s.final_train_loss, 0.4);
        assert_eq!(s.final_valid_loss, 1.9);
        assert!(s.final_valid_accuracy.is_nan());
        assert!((s.train_valid_gap - 1.5).abs() < 1e-12);
        assert_eq!(s.final_weight_norm, 14.0);
        assert_eq!(s.seconds, 8.0);
        assert_eq!(s.decay_shrink, 0.25);
    }

    #[test]
    fn from_records_without_records_is_nan_not_zero() {
        let s = ArmSummary::from_records(
            "x",
            1.0,
            "coupled",
            ArmStatus::Interrupted,
            &[],
            1.0,
            None,
            None,
        );
        assert!(s.best_valid_accuracy.is_nan());
        assert_eq!(s.best_epoch, 0);
        assert!(s.final_train_loss.is_nan());
        assert_eq!(s.seconds, 0.0);
    }

    #[test]
    fn status_json_round_trip_with_details() {
        for status in [
            ArmStatus::Finished,
            ArmStatus::Interrupted,
            ArmStatus::Diverged {
                epoch: 3,
                step: 417,
            },
            ArmStatus::Failed {
                reason: "out of memory".into(),
            },
        ] {
            let mut s = ArmSummary::from_records(
                "a",
                10.0,
                "coupled",
                status.clone(),
                &[],
                0.0,
                None,
                None,
            );
            s.best_valid_accuracy = 0.5;
            let json = serde_json::to_value(&s).unwrap();
            assert_eq!(json["status"], status.name());
            assert!(json["final_train_loss"].is_null(), "NaN is written as null");
            let back: ArmSummary = serde_json::from_value(json).unwrap();
            assert_eq!(back.status, status);
            assert_eq!(back.best_valid_accuracy, 0.5);
            assert!(back.final_train_loss.is_nan(), "null reads back as NaN");
        }
        assert_eq!(
            serde_json::to_string(&ArmStatus::Interrupted).unwrap(),
            "\"interrupted\""
        );
        let d: ArmStatus = serde_json::from_str("\"finished\"").unwrap();
        assert_eq!(d, ArmStatus::Finished);
        assert!(serde_json::from_str::<ArmStatus>("\"exploded\"").is_err());
    }

    #[test]
    fn status_display() {
        assert_eq!(
            ArmStatus::Diverged { epoch: 2, step: 9 }.to_string(),
            "diverged at epoch 2, step 9"
        );
        assert_eq!(
            ArmStatus::Failed {
                reason: "disk full".into()
            }
            .to_string(),
            "failed: disk full"
        );
        assert_eq!(ArmStatus::Finished.to_string(), "finished");
    }
}
