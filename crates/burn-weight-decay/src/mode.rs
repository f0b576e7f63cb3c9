//! Which of the two things called "weight decay" is applied.

use serde::{Deserialize, Serialize};

/// The decay mode: coupled L2, decoupled weight decay, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DecayMode {
    /// No decay: the wrapper is exactly the inner optimizer.
    None,
    /// Coupled L2: `g ← g + λ·w` before the inner optimizer ([`rule::coupled`](crate::rule::coupled)).
    /// Equal to adding `λ/2·Σw²` to the loss.
    Coupled,
    /// Decoupled ("SGDW/AdamW"): `w_{t+1} = inner_update(w_t, g_t) − s_t·λ·w_t`
    /// ([`rule::decoupled`](crate::rule::decoupled)).
    Decoupled,
}

impl DecayMode {
    /// The lower-case name used on command lines and in files: `none`, `coupled`, `decoupled`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Coupled => "coupled",
            Self::Decoupled => "decoupled",
        }
    }
}

impl core::fmt::Display for DecayMode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for DecayMode {
    type Err = crate::ConfigError;

    /// Parses `none`, `coupled` (also `l2`) or `decoupled` (also `decoupled-wd`, `w`), ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Self::None),
            "coupled" | "l2" => Ok(Self::Coupled),
            "decoupled" | "decoupled-wd" | "w" => Ok(Self::Decoupled),
            _ => Err(crate::ConfigError::UnknownName {
                what: "decay mode",
                value: s.to_string(),
                expected: "none, coupled or decoupled",
            }),
        }
    }
}
