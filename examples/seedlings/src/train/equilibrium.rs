//! The equilibrium diagnostics of an epoch: which steps are measured and the running sums of
//! their measurements (part of the resumable state).

use burn_weight_decay::equilibrium;
use serde::{Deserialize, Serialize};

/// How many optimizer steps of each epoch are measured for the equilibrium diagnostics: evenly
/// spread, the epoch's last step among them (every step of an epoch shorter than this).
pub const EQUILIBRIUM_STEPS_PER_EPOCH: usize = 3;

/// Whether batch `batch` (0-based) of an epoch of `steps` batches is one of the
/// [`EQUILIBRIUM_STEPS_PER_EPOCH`] measured ones: batches `⌊k·steps/K⌋ − 1` for `k = 1…K`.
///
/// ```
/// use seedlings::train::is_measured_batch;
/// let measured: Vec<usize> = (0..6).filter(|&b| is_measured_batch(b, 6)).collect();
/// assert_eq!(measured, [1, 3, 5]);
/// assert!(is_measured_batch(0, 1));
/// ```
pub fn is_measured_batch(batch: usize, steps: usize) -> bool {
    let k = EQUILIBRIUM_STEPS_PER_EPOCH;
    (1..=k).any(|i| (i * steps / k).saturating_sub(1) == batch)
}

/// The running sums of one epoch's equilibrium measurements (part of the resumable state, so an
/// epoch interrupted between two measured steps keeps the first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EquilibriumSums {
    /// Σ of the conv weights' measured angles.
    #[serde(with = "crate::exact::f64")]
    pub angle: f64,
    /// How many angles are in `angle`.
    pub angles: usize,
    /// Σ of their predicted angles.
    #[serde(with = "crate::exact::f64")]
    pub predicted_angle: f64,
    /// How many predictions are in `predicted_angle`.
    pub predicted_angles: usize,
    /// Σ over measured steps of `√(Σ ‖w‖²)` of the conv weights.
    #[serde(with = "crate::exact::f64")]
    pub norm: f64,
    /// How many steps are in `norm`.
    pub norms: usize,
    /// Σ over measured steps of `√(Σ predicted ‖w‖²)`.
    #[serde(with = "crate::exact::f64")]
    pub predicted_norm: f64,
    /// How many steps are in `predicted_norm`.
    pub predicted_norms: usize,
}

impl EquilibriumSums {
    /// Adds one measured step's samples; only the conv weights (4-D tensors) count, and
    /// non-finite values or non-positive predictions (no decay) are left out.
    pub fn add_step(&mut self, samples: &[equilibrium::EquilibriumSample]) {
        let conv: Vec<&equilibrium::EquilibriumSample> =
            samples.iter().filter(|s| s.shape.len() == 4).collect();
        if conv.is_empty() {
            return;
        }
        for sample in &conv {
            if sample.angle.is_finite() {
                self.angle += sample.angle;
                self.angles += 1;
            }
            if let Some(p) = sample.predicted_angle.filter(|p| p.is_finite() && *p > 0.0) {
                self.predicted_angle += p;
                self.predicted_angles += 1;
            }
        }
        let norm = conv.iter().map(|s| s.norm * s.norm).sum::<f64>().sqrt();
        if norm.is_finite() {
            self.norm += norm;
            self.norms += 1;
        }
        let predicted: Option<f64> = conv.iter().map(|s| s.predicted_norm.map(|p| p * p)).sum();
        if let Some(p) = predicted
            .map(f64::sqrt)
            .filter(|p| p.is_finite() && *p > 0.0)
        {
            self.predicted_norm += p;
            self.predicted_norms += 1;
        }
    }

    /// `(angle, predicted angle, norm, predicted norm)`, each the mean of its sum, `None`
    /// where nothing was added.
    pub fn means(&self) -> [Option<f64>; 4] {
        let mean = |sum: f64, n: usize| (n > 0).then(|| sum / n as f64);
        [
            mean(self.angle, self.angles),
            mean(self.predicted_angle, self.predicted_angles),
            mean(self.norm, self.norms),
            mean(self.predicted_norm, self.predicted_norms),
        ]
    }
}
