//! The names of arms and runs, for people: the folder names under `checkpoints/` and `state/`,
//! and the `arm` of `metrics.csv`, `summary.json` and the report. Each is derived from a
//! [`RunKey`] (the typed identity of a run) or its parts; nothing parses a name back.
//!
//! An arm is a weight decay × a mode, named `MODE-wdWD` ([`arm_name`]). With one seed per arm
//! (the default) an arm is one run and the run has the arm's name; with several seeds each
//! run is named `MODE-wdWD-seedSEED` ([`run_name`]), and the report groups runs into arms by
//! their `wd` and `mode`.
//!
//! ```
//! use burn_weight_decay::DecayMode;
//! use seedlings::report::{RunKey, arm_name, run_name};
//!
//! assert_eq!(arm_name("decoupled", 0.1), "decoupled-wd0.1");
//! assert_eq!(run_name("decoupled", 0.1, None), "decoupled-wd0.1");
//! assert_eq!(run_name("coupled", 10.0, Some(43)), "coupled-wd10-seed43");
//! let key = RunKey { mode: DecayMode::Coupled, wd: 10.0, seed: Some(43) };
//! assert_eq!(key.name(), "coupled-wd10-seed43");
//! assert_eq!(key.arm().name(), "coupled-wd10");
//! ```

use burn_weight_decay::DecayMode;

/// A run's identity: its arm (a decay mode × a weight decay) and, when its arm runs with
/// several seeds, its seed. Equal when the modes, the weight decays' bits and the seeds are.
#[derive(Debug, Clone, Copy)]
pub struct RunKey {
    /// The decay mode.
    pub mode: DecayMode,
    /// The weight decay `λ`.
    pub wd: f64,
    /// The run's seed when its arm runs with several (`--seeds N > 1`), else `None`.
    pub seed: Option<u64>,
}

impl PartialEq for RunKey {
    fn eq(&self, other: &Self) -> bool {
        self.mode == other.mode
            && self.wd.to_bits() == other.wd.to_bits()
            && self.seed == other.seed
    }
}

impl Eq for RunKey {}

impl std::hash::Hash for RunKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.mode, self.wd.to_bits(), self.seed).hash(state);
    }
}

impl RunKey {
    /// The key of the run's arm: the same mode and weight decay, no seed.
    pub fn arm(&self) -> Self {
        Self {
            seed: None,
            ..*self
        }
    }

    /// The run's name ([`run_name`]): `MODE-wdWD`, with `-seedSEED` when it has a seed.
    pub fn name(&self) -> String {
        run_name(self.mode.name(), self.wd, self.seed)
    }
}

/// An arm's name, `MODE-wdWD` (e.g. `decoupled-wd0.1`; `wd` as Rust prints it).
pub fn arm_name(mode: &str, wd: f64) -> String {
    format!("{mode}-wd{wd}")
}

/// A run's name: the arm's name, followed by `-seedSEED` when the arm runs with several seeds
/// (`seed` is `Some`).
pub fn run_name(mode: &str, wd: f64, seed: Option<u64>) -> String {
    match seed {
        None => arm_name(mode, wd),
        Some(seed) => format!("{}-seed{seed}", arm_name(mode, wd)),
    }
}

/// [`DecayMode`] as its lower-case name (`coupled`, `decoupled`, `none`): the `mode` of
/// `metrics.csv` and `summary.json`, the one place a mode's text becomes a [`DecayMode`].
///
/// Use with `#[serde(with = "crate::records::mode_name")]`.
pub mod mode_name {
    use burn_weight_decay::DecayMode;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the mode's name.
    pub fn serialize<S: Serializer>(mode: &DecayMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(mode.name())
    }

    /// Reads a mode's name (as `DecayMode`'s `FromStr` does, ignoring case).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DecayMode, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
