//! [`ArmSummary`]: the outcome of one arm, one entry of `summary.json`'s `"arms"`, derived from
//! its epoch records.

use burn_weight_decay::DecayMode;
use serde::{Deserialize, Serialize};

use super::status::status_fields;
use super::{ArmStatus, EpochRecord, RunKey, nullable_f64};

/// The outcome of one arm (with several seeds per arm, of one run), one entry of
/// `summary.json`'s `"arms"`.
///
/// The JSON object is flat and keeps the fields it always had, in order (`"arm"`, `"wd"`,
/// `"mode"`, the status, the numbers, `"seed"` last): [`key`](Self::key) is written as its
/// parts (see the private `ArmSummaryJson`). `"status"` is the bare name, followed by
/// `"diverged_at": {"epoch", "step"}` for a diverged arm and `"failure"` for a failed one.
/// Non-finite floats are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ArmSummaryJson", into = "ArmSummaryJson")]
pub struct ArmSummary {
    /// The run's name as training wrote it ([`RunKey::name`], e.g. `decoupled-wd0.1`, or
    /// `decoupled-wd0.1-seed43` with several seeds per arm): shown in the report, and the
    /// `arm` of the run's rows in `metrics.csv`. The report groups and compares by
    /// [`key`](Self::key), never by this name.
    pub arm: String,
    /// The run's identity: its decay mode, weight decay `λ` and, with several seeds per arm
    /// (`--seeds N > 1`), its seed (`None`, and `"seed"` not written, with one).
    pub key: RunKey,
    /// How the arm ended.
    pub status: ArmStatus,
    /// The highest validation accuracy of any epoch (NaN if no epoch had a finite one).
    pub best_valid_accuracy: f64,
    /// The epoch of [`best_valid_accuracy`](Self::best_valid_accuracy); the earliest on a tie,
    /// 0 if there is none.
    pub best_epoch: usize,
    /// The highest validation macro-F1 of any epoch (not necessarily at `best_epoch`).
    pub best_valid_macro_f1: f64,
    /// Training loss of the last recorded epoch.
    pub final_train_loss: f64,
    /// Validation loss of the last recorded epoch.
    pub final_valid_loss: f64,
    /// Validation accuracy of the last recorded epoch.
    pub final_valid_accuracy: f64,
    /// `final_valid_loss − final_train_loss`: how much worse the model does on images it did not
    /// train on.
    pub train_valid_gap: f64,
    /// `Π_t (1 − s_t·λ)` over the run's steps: what decay alone would have multiplied a weight by.
    pub decay_shrink: f64,
    /// `Σ_t f_t` over the run's steps, `f_t = s_t·λ` (`lr_t·λ` for coupled decay): the steps run
    /// ÷ the `1/f` steps rotational equilibrium needs (`burn_weight_decay::equilibrium::progress`,
    /// Kosson et al. 2024). Below 1 the weights never reached
    /// equilibrium. NaN (`null`) when unknown: a running or failed arm, or a summary written
    /// before this field.
    pub equilibrium_progress: f64,
    /// The weight norm of the last recorded epoch.
    pub final_weight_norm: f64,
    /// The best-accuracy checkpoint, relative to the run folder (`None` if none was written).
    pub best_checkpoint: Option<String>,
    /// The last checkpoint, relative to the run folder (`None` if none was written).
    pub final_checkpoint: Option<String>,
    /// Wall-clock seconds of all the arm's recorded epochs together.
    pub seconds: f64,
}

/// [`ArmSummary`] as `summary.json` writes it: the key's parts where the fields always were.
#[derive(Serialize, Deserialize)]
struct ArmSummaryJson {
    arm: String,
    #[serde(with = "nullable_f64")]
    wd: f64,
    #[serde(with = "super::mode_name")]
    mode: DecayMode,
    #[serde(flatten, with = "status_fields")]
    status: ArmStatus,
    #[serde(with = "nullable_f64")]
    best_valid_accuracy: f64,
    best_epoch: usize,
    #[serde(with = "nullable_f64")]
    best_valid_macro_f1: f64,
    #[serde(with = "nullable_f64")]
    final_train_loss: f64,
    #[serde(with = "nullable_f64")]
    final_valid_loss: f64,
    #[serde(with = "nullable_f64")]
    final_valid_accuracy: f64,
    #[serde(with = "nullable_f64")]
    train_valid_gap: f64,
    #[serde(with = "nullable_f64")]
    decay_shrink: f64,
    #[serde(default = "nan", with = "nullable_f64")]
    equilibrium_progress: f64,
    #[serde(with = "nullable_f64")]
    final_weight_norm: f64,
    best_checkpoint: Option<String>,
    final_checkpoint: Option<String>,
    #[serde(with = "nullable_f64")]
    seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

/// `$to { .. }` with the fields both summary structs share taken from `$from`, then `$rest`.
macro_rules! shared_fields {
    ($from:ident => $to:ident { $($rest:tt)* }) => {
        $to {
            arm: $from.arm,
            status: $from.status,
            best_valid_accuracy: $from.best_valid_accuracy,
            best_epoch: $from.best_epoch,
            best_valid_macro_f1: $from.best_valid_macro_f1,
            final_train_loss: $from.final_train_loss,
            final_valid_loss: $from.final_valid_loss,
            final_valid_accuracy: $from.final_valid_accuracy,
            train_valid_gap: $from.train_valid_gap,
            decay_shrink: $from.decay_shrink,
            equilibrium_progress: $from.equilibrium_progress,
            final_weight_norm: $from.final_weight_norm,
            best_checkpoint: $from.best_checkpoint,
            final_checkpoint: $from.final_checkpoint,
            seconds: $from.seconds,
            $($rest)*
        }
    };
}

impl From<ArmSummaryJson> for ArmSummary {
    fn from(json: ArmSummaryJson) -> Self {
        let key = RunKey {
            mode: json.mode,
            wd: json.wd,
            seed: json.seed,
        };
        shared_fields!(json => ArmSummary { key })
    }
}

impl From<ArmSummary> for ArmSummaryJson {
    fn from(summary: ArmSummary) -> Self {
        let RunKey { mode, wd, seed } = summary.key;
        shared_fields!(summary => ArmSummaryJson { wd, mode, seed })
    }
}

fn nan() -> f64 {
    f64::NAN
}

/// How a run ended, besides its epoch records: what [`ArmSummary::from_records`] takes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    /// The run's name, the `arm` of its records ([`RunEnd::new`] derives it from the key).
    pub name: String,
    /// The run's identity.
    pub key: RunKey,
    /// How it ended.
    pub status: ArmStatus,
    /// `Π_t (1 − s_t·λ)` over its steps ([`ArmSummary::decay_shrink`]); NaN when unknown.
    pub decay_shrink: f64,
    /// Its best-accuracy checkpoint, relative to the run folder.
    pub best_checkpoint: Option<String>,
    /// Its last checkpoint, relative to the run folder.
    pub final_checkpoint: Option<String>,
}

impl RunEnd {
    /// A run named after its key that ended with `status`, with nothing known beyond its
    /// records: no decay shrink (NaN), no checkpoint.
    pub fn new(key: RunKey, status: ArmStatus) -> Self {
        Self {
            name: key.name(),
            key,
            status,
            decay_shrink: f64::NAN,
            best_checkpoint: None,
            final_checkpoint: None,
        }
    }
}

impl ArmSummary {
    /// Derives an arm's best and final numbers from its epoch records.
    ///
    /// `records` may hold every run of the sweep: only those whose `arm` is the run's name
    /// (`end.name`) count, taken in epoch order. "Final" means the last recorded epoch (for a diverged or interrupted arm,
    /// the last one it recorded). "Best" ignores non-finite values; with no usable value the
    /// number is NaN and `best_epoch` is 0. Checkpoint paths are relative to the run folder.
    pub fn from_records(end: RunEnd, records: &[EpochRecord]) -> Self {
        let RunEnd {
            name,
            key,
            status,
            decay_shrink,
            best_checkpoint,
            final_checkpoint,
        } = end;
        // The row of a divergence (non-finite by definition) is left out: the numbers are those
        // of the complete epochs, and `status` says how the arm ended.
        let mut own: Vec<&EpochRecord> = records
            .iter()
            .filter(|r| r.arm == name && r.is_ok())
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
            arm: name,
            key,
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

    /// The same summary with its key's seed set: `Some` for a run of a sweep with several seeds
    /// per arm, `None` with one.
    pub fn with_seed(mut self, seed: Option<u64>) -> Self {
        self.key.seed = seed;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::EpochRecord;

    fn rec(arm: &str, epoch: usize, train: f64, valid: f64, acc: f64, f1: f64) -> EpochRecord {
        EpochRecord {
            arm: arm.into(),
            wd: 0.1,
            mode: DecayMode::Decoupled,
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
            RunEnd {
                name: "a".to_string(),
                key: RunKey {
                    mode: DecayMode::Decoupled,
                    wd: 0.1,
                    seed: None,
                },
                status: ArmStatus::Finished,
                decay_shrink: 0.25,
                best_checkpoint: Some("checkpoints/a/best".into()),
                final_checkpoint: None,
            },
            &records,
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
            RunEnd {
                name: "x".to_string(),
                key: RunKey {
                    mode: DecayMode::Coupled,
                    wd: 1.0,
                    seed: None,
                },
                status: ArmStatus::Interrupted,
                decay_shrink: 1.0,
                best_checkpoint: None,
                final_checkpoint: None,
            },
            &[],
        );
        assert!(s.best_valid_accuracy.is_nan());
        assert_eq!(s.best_epoch, 0);
        assert!(s.final_train_loss.is_nan());
        assert_eq!(s.seconds, 0.0);
    }
}
