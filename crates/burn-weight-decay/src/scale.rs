//! The decay scale `s_t` of decoupled decay, and normalized weight decay.

use serde::{Deserialize, Serialize};

/// How decoupled decay is scaled at step `t`: `w ← w − s_t·λ·w`.
///
/// Coupled L2 has no scale of its own: its decay term goes through the inner optimizer, which
/// multiplies it by the learning rate like any gradient.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum DecayScale {
    /// `s_t = lr_t`: PyTorch's `AdamW`/`SGD`, optax's `add_decayed_weights` followed by the
    /// learning rate, and fastai all multiply decay by the current learning rate. The default.
    #[default]
    LearningRate,
    /// `s_t = lr_t / lr_max`: independent of the learning rate's size but following its schedule,
    /// as Loshchilov & Hutter's `η_t` schedule multiplier. `λ` then means "fraction of the weight
    /// removed per step at the schedule's peak".
    Schedule {
        /// The peak learning rate of the schedule, `lr_max > 0`.
        lr_max: f64,
    },
    /// `s_t = lr_t² / lr_max`: corrected decay (AdamC; Defazio et al. 2025, "Why Gradients
    /// Rapidly Increase Near the End of Training"; timm's `corrected_weight_decay`). The decay's
    /// `λ` follows the learning-rate schedule twice over, so that at the end of training, when the
    /// learning rate is small, decay no longer outweighs the shrunken updates of normalized layers
    /// and the gradient norm stays flat instead of rising. At the schedule's peak it equals
    /// [`LearningRate`](Self::LearningRate).
    Corrected {
        /// The peak learning rate of the schedule, `lr_max > 0`.
        lr_max: f64,
    },
}

impl DecayScale {
    /// `s_t` for the scheduled learning rate `lr`.
    ///
    /// ```
    /// use burn_weight_decay::DecayScale;
    /// assert_eq!(DecayScale::LearningRate.at(0.01), 0.01);
    /// assert_eq!(DecayScale::Schedule { lr_max: 0.02 }.at(0.01), 0.5);
    /// assert_eq!(DecayScale::Corrected { lr_max: 0.02 }.at(0.01), 0.005);
    /// ```
    pub fn at(&self, lr: f64) -> f64 {
        match self {
            Self::LearningRate => lr,
            Self::Schedule { lr_max } => lr / lr_max,
            Self::Corrected { lr_max } => lr * lr / lr_max,
        }
    }

    /// The schedule's peak learning rate, for the scales that need one.
    pub fn lr_max(&self) -> Option<f64> {
        match self {
            Self::LearningRate => None,
            Self::Schedule { lr_max } | Self::Corrected { lr_max } => Some(*lr_max),
        }
    }

    /// The lower-case name used in files: `lr`, `schedule`, `corrected`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LearningRate => "lr",
            Self::Schedule { .. } => "schedule",
            Self::Corrected { .. } => "corrected",
        }
    }
}

/// Normalized weight decay (Loshchilov & Hutter, 2019, appendix): `λ = λ_norm·√(b / (B·T))`.
///
/// `b` is the batch size, `B` the number of training examples and `T` the number of epochs, so
/// that one `λ_norm` suits runs of different lengths and batch sizes.
///
/// ```
/// let rate = burn_weight_decay::normalized_rate(0.05, 32, 2000, 10);
/// assert!((rate - 0.05 * (32.0f64 / 20_000.0).sqrt()).abs() < 1e-15);
/// ```
pub fn normalized_rate(
    lambda_norm: f64,
    batch_size: usize,
    train_size: usize,
    epochs: usize,
) -> f64 {
    lambda_norm * (batch_size as f64 / (train_size as f64 * epochs as f64)).sqrt()
}

/// The total shrink that decoupled decay alone applies over a schedule: `Π_t (1 − s_t·λ)`.
///
/// It answers "what would decay have left of a weight that got no gradient?" — with `λ = 10` and a
/// typical learning-rate schedule it is astronomically small, which is why such a run cannot fit.
/// Returns `0.0` once a factor reaches zero or below (the weight is wiped or flips sign).
///
/// ```
/// use burn_weight_decay::{decay_shrink, DecayScale};
/// let shrink = decay_shrink([0.1, 0.1].into_iter(), 0.5, DecayScale::LearningRate);
/// assert!((shrink - 0.95f64 * 0.95).abs() < 1e-15);
/// ```
pub fn decay_shrink(lrs: impl Iterator<Item = f64>, rate: f64, scale: DecayScale) -> f64 {
    let mut product = 1.0f64;
    for lr in lrs {
        let factor = 1.0 - scale.at(lr) * rate;
        if factor <= 0.0 {
            return 0.0;
        }
        product *= factor;
    }
    product
}
