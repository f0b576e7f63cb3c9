//! A training run: one arm trained from one seed ([`RunSpec`]), and the runs of a sweep with
//! `N` seeds per arm ([`runs`]).
//!
//! Run `k` of an arm (k = 0 … N − 1) uses seed `seed_k = seed + k` for its initial weights, its
//! data order and its augmentation ([`seed_list`]). The train/valid split is not a run's: it
//! comes from the base seed, so every run is scored on the same validation images. With one
//! seed a run is its arm and has the arm's name (`decoupled-wd0.1`); with several it is named
//! after its seed too (`decoupled-wd0.1-seed43`), its own folder under `checkpoints/` and
//! `state/`, resumed on its own.
//!
//! ```
//! use burn_weight_decay::DecayMode;
//! use seedlings::train::{ArmSpec, runs};
//!
//! let arm = ArmSpec { wd: 0.1, mode: DecayMode::Decoupled };
//! let names: Vec<String> = runs(&[arm], 42, 2).unwrap().iter().map(|r| r.name()).collect();
//! assert_eq!(names, ["decoupled-wd0.1-seed42", "decoupled-wd0.1-seed43"]);
//! assert_eq!(runs(&[arm], 42, 1).unwrap()[0].name(), "decoupled-wd0.1");
//! ```

use anyhow::Result;

use super::ArmSpec;
use crate::records::RunKey;
use crate::settings::checks::seed_list;

/// One training run: an arm and the seed of its initial weights, data order and augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSpec {
    /// The arm (weight decay × mode).
    pub arm: ArmSpec,
    /// The run's seed.
    pub seed: u64,
    /// Whether its arm runs with several seeds (then the name carries the seed).
    pub seeded: bool,
}

impl RunSpec {
    /// The run's name: the arm's ([`ArmSpec::name`]), with `-seedSEED` when seeded.
    pub fn name(&self) -> String {
        self.key().name()
    }

    /// The run's identity: its arm's mode and wd, and its seed when seeded
    /// ([`summary_seed`](Self::summary_seed)).
    pub fn key(&self) -> RunKey {
        RunKey {
            mode: self.arm.mode,
            wd: self.arm.wd,
            seed: self.summary_seed(),
        }
    }

    /// The seed the run's summary carries: `Some` when its arm runs with several seeds.
    pub fn summary_seed(&self) -> Option<u64> {
        self.seeded.then_some(self.seed)
    }
}

/// Every run of a sweep of `arms` with `seeds` seeds per arm from `base`: for each seed in
/// turn, every arm in order, so the runs of the first seed make a complete one-seed sweep
/// before the second seed starts.
pub fn runs(arms: &[ArmSpec], base: u64, seeds: usize) -> Result<Vec<RunSpec>> {
    let seeded = seeds > 1;
    Ok(seed_list(base, seeds)?
        .into_iter()
        .flat_map(|seed| arms.iter().map(move |&arm| RunSpec { arm, seed, seeded }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_weight_decay::DecayMode;

    #[test]
    fn seeds_count_up_from_the_base_and_overflow_is_an_error() {
        assert_eq!(seed_list(42, 3).unwrap(), [42, 43, 44]);
        assert_eq!(seed_list(u64::MAX, 1).unwrap(), [u64::MAX]);
        let err = seed_list(u64::MAX, 2).unwrap_err().to_string();
        assert!(
            err.contains("--seed 18446744073709551615 with --seeds 2"),
            "{err}"
        );
        assert!(
            seed_list(1, 0)
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
    }

    #[test]
    fn runs_go_seed_by_seed_over_the_arms() {
        let arms = [
            ArmSpec {
                wd: 0.1,
                mode: DecayMode::Coupled,
            },
            ArmSpec {
                wd: 10.0,
                mode: DecayMode::Decoupled,
            },
        ];
        let names: Vec<String> = runs(&arms, 7, 2)
            .unwrap()
            .iter()
            .map(RunSpec::name)
            .collect();
        assert_eq!(
            names,
            [
                "coupled-wd0.1-seed7",
                "decoupled-wd10-seed7",
                "coupled-wd0.1-seed8",
                "decoupled-wd10-seed8"
            ]
        );
        let one = runs(&arms, 7, 1).unwrap();
        assert_eq!(
            one.iter().map(RunSpec::name).collect::<Vec<_>>(),
            ["coupled-wd0.1", "decoupled-wd10"]
        );
        assert_eq!(one[0].summary_seed(), None);
    }
}
