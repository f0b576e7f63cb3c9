//! [`ArmSummary`]: the outcome of one arm, one entry of `summary.json`'s `"arms"`, derived from
//! its epoch records.

use serde::{Deserialize, Serialize};

use super::status::status_fields;
use super::{ArmStatus, EpochRecord, nullable_f64};

/// The outcome of one arm, one entry of `summary.json`'s `"arms"`.
///
/// The JSON object is flat: `"status"` is the bare name, followed by `"diverged_at":
/// {"epoch", "step"}` for a diverged arm and `"failure"` for a failed one. Non-finite floats are
/// `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// The arm's name; with several seeds per arm, the run's (`decoupled-wd0.1-seed43`, see
    /// [`seed`](Self::seed)).
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
    /// The seed of this run, when every arm ran with several (`--seeds N > 1`): then `arm` is
    /// the run's name ([`run_name`](super::run_name)) and the arm is its `wd` × `mode`. Absent
    /// (not written) with one seed per arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn nan() -> f64 {
    f64::NAN
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
            seed: None,
        }
    }
}

impl ArmSummary {
    /// The same summary with [`equilibrium_progress`](Self::equilibrium_progress) set.
    pub fn with_equilibrium_progress(mut self, progress: f64) -> Self {
        self.equilibrium_progress = progress;
        self
    }

    /// The same summary with [`seed`](Self::seed) set: `Some` for a run of a sweep with several
    /// seeds per arm, `None` with one.
    pub fn with_seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
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
}
