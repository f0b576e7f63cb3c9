//! Validation of settings: a bad value gets an error that names it, never a panic.

use core::fmt;

/// A setting that cannot work, with the setting's name and the value given.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// A number outside its allowed range (or NaN/infinite).
    OutOfRange {
        /// The setting, e.g. `"weight decay rate"`.
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// The range it must be in, in words, e.g. `"finite and ≥ 0"`.
        expected: &'static str,
    },
    /// A name that is not one of the known choices.
    UnknownName {
        /// What kind of name, e.g. `"decay mode"`.
        what: &'static str,
        /// The name that was given.
        value: String,
        /// The names that are accepted.
        expected: &'static str,
    },
    /// A step of decoupled multiplicative decay with `f_t = s_t·λ_t ≥ 1`, which would wipe
    /// (`= 1`), flip (`> 1`) or blow up (`> 2`) every weight; see
    /// [`LargeDecay`](crate::LargeDecay).
    DecayTooLarge {
        /// `f_t = s_t·λ_t`.
        factor: f64,
        /// `s_t` (the learning rate under the default [`DecayScale`](crate::DecayScale)).
        scale: f64,
        /// `λ_t`.
        rate: f64,
        /// The parameter's step count `t` (0 for its first step).
        step: u64,
    },
    /// Two settings that do not go together.
    Incompatible {
        /// The setting that cannot apply, e.g. `"decay form proximal"`.
        setting: &'static str,
        /// Why, e.g. `"applies to decoupled decay only"`.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange {
                name,
                value,
                expected,
            } => write!(f, "invalid {name}: {value} (must be {expected})"),
            Self::UnknownName {
                what,
                value,
                expected,
            } => write!(f, "unknown {what} `{value}` (expected {expected})"),
            Self::Incompatible { setting, reason } => write!(f, "{setting} {reason}"),
            Self::DecayTooLarge {
                factor,
                scale,
                rate,
                step,
            } => write!(
                f,
                "decoupled decay at step {step} has s_t·λ_t = {factor} (s_t = {scale}, \
                 λ_t = {rate}), which must be < 1: w − s_t·λ_t·w would wipe, flip or blow up \
                 every weight. Use a smaller λ or learning rate, the proximal form \
                 (DecayForm::Proximal, w/(1 + s_t·λ_t)), or LargeDecay::Allow to apply it anyway"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Checks `value` is finite and `≥ 0`.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value,
            expected: "finite and ≥ 0",
        })
    }
}

/// Checks `value` is finite and `> 0`.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value,
            expected: "finite and > 0",
        })
    }
}

/// Checks `value` lies in `[0, 1)`.
pub(crate) fn unit_interval(name: &'static str, value: f64) -> Result<(), ConfigError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value,
            expected: "in [0, 1)",
        })
    }
}
