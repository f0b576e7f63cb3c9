//! [`EpochRecord`]: one row of `metrics.csv`, where an arm stood at the end of one epoch.

use burn_weight_decay::DecayMode;
use serde::{Deserialize, Serialize};

/// One row of `metrics.csv`: where an arm stood at the end of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The run's name as training wrote it ([`RunKey::name`](super::RunKey::name), e.g.
    /// `decoupled-wd0.1`, or `decoupled-wd0.1-seed43` with several seeds per arm), unique in a
    /// run folder: the `arm` column, which joins a row to its run's [`ArmSummary`](super::ArmSummary)
    /// (whose [`key`](super::ArmSummary::key) holds the seed; `metrics.csv` has no seed column
    /// and nothing parses the name back).
    pub arm: String,
    /// The arm's weight decay `λ`.
    pub wd: f64,
    /// The arm's decay mode (`coupled`, `decoupled` or `none` in `metrics.csv`).
    #[serde(with = "super::mode_name")]
    pub mode: DecayMode,
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
    /// (see [`ConfusionMatrix::macro_f1`](crate::records::ConfusionMatrix::macro_f1)).
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
