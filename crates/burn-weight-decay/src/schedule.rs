//! A weight-decay schedule: `λ_t`, the decay rate at step `t`.

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::error::non_negative;

/// How the decay rate `λ` changes over the run; `t` counts the steps this parameter has taken
/// (0 on the first), and is saved in the optimizer's record, so a resumed run continues the
/// schedule where it stopped.
///
/// ```text
/// Constant:           λ_t = rate                                   (DecayConfig::rate)
/// Linear{a, b, T}:    λ_t = a + (b − a)·min(t, T)/T
/// Cosine{a, b, T}:    λ_t = b + (a − b)·(1 + cos(π·min(t, T)/T))/2
/// PerStep(values):    λ_t = values[min(t, len − 1)]
/// ```
///
/// `Linear` with `a = 0` is a linear warm-up of the decay; `Cosine` from `0.04` to `0.4` over the
/// whole run is DINO's schedule (Caron et al. 2021), which fastai and optax can express only by
/// scheduling a generic hyper-parameter. After `T` steps (or the last listed value) the rate
/// stays where the schedule ended. The schedule gives `λ_t`; decoupled decay still multiplies it
/// by its scale `s_t` ([`DecayScale`](crate::DecayScale)), coupled decay adds `λ_t·w` to the
/// gradient.
///
/// ```
/// use burn_weight_decay::RateSchedule;
/// let warmup = RateSchedule::Linear { start: 0.0, end: 0.1, steps: 10 };
/// assert!((warmup.at(0.5, 5) - 0.05).abs() < 1e-12);
/// assert_eq!(warmup.at(0.5, 20), 0.1); // held after the end
/// let cosine = RateSchedule::Cosine { start: 0.04, end: 0.4, steps: 100 };
/// assert!((cosine.at(0.0, 0) - 0.04).abs() < 1e-12);
/// assert!((cosine.at(0.0, 50) - 0.22).abs() < 1e-12);
/// assert_eq!(RateSchedule::Constant.at(0.01, 1_000), 0.01);
/// assert_eq!(RateSchedule::PerStep(vec![0.3, 0.2]).at(0.0, 7), 0.2);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum RateSchedule {
    /// `λ_t = rate`, the config's own rate. The default.
    #[default]
    Constant,
    /// From `start` to `end` in a straight line over `steps` steps, then `end`.
    Linear {
        /// `λ` at step 0.
        start: f64,
        /// `λ` from step `steps` on.
        end: f64,
        /// Length of the ramp, `> 0`.
        steps: u64,
    },
    /// From `start` to `end` along half a cosine over `steps` steps, then `end`.
    Cosine {
        /// `λ` at step 0.
        start: f64,
        /// `λ` from step `steps` on.
        end: f64,
        /// Length of the curve, `> 0`.
        steps: u64,
    },
    /// One `λ` per step, given by the user; the last one holds after the list ends.
    PerStep(Vec<f64>),
}

impl RateSchedule {
    /// `λ_t` at step `t` (0-based), where `rate` is the config's constant rate.
    pub fn at(&self, rate: f64, t: u64) -> f64 {
        match self {
            Self::Constant => rate,
            Self::Linear { start, end, steps } => {
                let p = t.min(*steps) as f64 / *steps as f64;
                start + (end - start) * p
            }
            Self::Cosine { start, end, steps } => {
                let p = t.min(*steps) as f64 / *steps as f64;
                end + (start - end) * (1.0 + (core::f64::consts::PI * p).cos()) / 2.0
            }
            Self::PerStep(values) => {
                let i = (t as usize).min(values.len().saturating_sub(1));
                values.get(i).copied().unwrap_or(rate)
            }
        }
    }

    /// Whether every `λ_t` is zero, given the config's `rate` (nothing to decay, ever).
    pub fn is_zero(&self, rate: f64) -> bool {
        match self {
            Self::Constant => rate == 0.0,
            Self::Linear { start, end, .. } | Self::Cosine { start, end, .. } => {
                *start == 0.0 && *end == 0.0
            }
            Self::PerStep(values) => values.iter().all(|v| *v == 0.0),
        }
    }

    /// Checks every value is finite and `≥ 0`, the ramps have `steps > 0` and a per-step list is
    /// not empty.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Constant => Ok(()),
            Self::Linear { start, end, steps } | Self::Cosine { start, end, steps } => {
                non_negative("decay schedule start", *start)?;
                non_negative("decay schedule end", *end)?;
                if *steps == 0 {
                    return Err(ConfigError::OutOfRange {
                        name: "decay schedule steps",
                        value: 0.0,
                        expected: "> 0",
                    });
                }
                Ok(())
            }
            Self::PerStep(values) => {
                if values.is_empty() {
                    return Err(ConfigError::OutOfRange {
                        name: "decay schedule length",
                        value: 0.0,
                        expected: "at least one value",
                    });
                }
                values
                    .iter()
                    .try_for_each(|v| non_negative("decay schedule value", *v))
            }
        }
    }
}
