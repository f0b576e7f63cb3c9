//! `--preset NAME`: a named set of sweep flags, in one place ([`Preset`]).

use burn_weight_decay::DecayMode;
use clap::ValueEnum;
use seedlings::settings::SweepSettings;
use serde::{Deserialize, Serialize};

/// A named set of sweep flags. Every flag a preset does not name keeps its default (the
/// default recipe: epochs, image size, batch size, learning rate, augmentation), and a flag given
/// on the command line together with a preset wins over the preset's value (so `--preset study
/// --epochs 1` is the study at one epoch). `state/sweep.json` saves the settings the preset
/// resolved to, so `--resume` continues with them.
///
/// | preset | `--modes` | `--wd` | `--seeds` | runs |
/// |---|---|---|---|---|
/// | `study` | `coupled,decoupled` | `0.01,0.1,10` | 3 | 2 modes × 3 wd × 3 seeds = 18 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Adam + L2 against AdamW at three weight decays, three seeds each, one report.
    Study,
}

impl Preset {
    /// The preset's `--modes`.
    pub fn modes(self) -> Vec<DecayMode> {
        match self {
            Self::Study => vec![DecayMode::Coupled, DecayMode::Decoupled],
        }
    }

    /// The preset's `--wd`.
    pub fn wd(self) -> Vec<f64> {
        match self {
            Self::Study => vec![0.01, 0.1, 10.0],
        }
    }

    /// The preset's `--seeds`.
    pub fn seeds(self) -> usize {
        match self {
            Self::Study => 3,
        }
    }

    /// Sets the preset's flags in `settings`, except those given on the command line (`given`:
    /// argument ids, as [`flags_given`](super::resume::flags_given) lists them).
    pub fn apply(self, settings: &mut SweepSettings, given: &[String]) {
        let given = |id: &str| given.iter().any(|g| g == id);
        if !given("modes") {
            settings.modes = self.modes();
        }
        if !given("wd") {
            settings.wd = self.wd();
        }
        if !given("seeds") {
            settings.seeds = self.seeds();
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};
    use seedlings::train::{RunSpec, runs};

    use super::super::SweepArgs;
    use super::super::resume::flags_given;
    use super::super::sweep::settle;
    use super::*;
    use seedlings::settings::text;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        sweep: SweepArgs,
    }

    /// The settings and the run names the command line `args` resolves to.
    fn resolve(args: &[&str]) -> (SweepArgs, Vec<String>) {
        let matches = Flags::command()
            .get_matches_from(std::iter::once("seedlings").chain(args.iter().copied()));
        let given = flags_given(&matches);
        let parsed = Flags::from_arg_matches(&matches).unwrap().sweep;
        let (args, saved) = settle(parsed, &given).unwrap();
        assert!(saved.is_none());
        let settings = &args.settings;
        settings.check().unwrap();
        let names = runs(&settings.arms(), settings.seed, settings.seeds)
            .unwrap()
            .iter()
            .map(RunSpec::name)
            .collect();
        (args, names)
    }

    #[test]
    fn the_study_is_two_modes_by_three_decays_by_three_seeds() {
        let (args, names) = resolve(&["--preset", "study"]);
        let (args, settings) = (&args, &args.settings);
        let expected: Vec<String> = [42, 43, 44]
            .iter()
            .flat_map(|seed| {
                ["coupled", "decoupled"].iter().flat_map(move |mode| {
                    ["0.01", "0.1", "10"]
                        .iter()
                        .map(move |wd| format!("{mode}-wd{wd}-seed{seed}"))
                })
            })
            .collect();
        assert_eq!(names.len(), 18);
        assert_eq!(names, expected);
        assert_eq!(
            &names[..3],
            [
                "coupled-wd0.01-seed42",
                "coupled-wd0.1-seed42",
                "coupled-wd10-seed42"
            ]
        );
        // The default recipe is untouched.
        let (defaults, _) = resolve(&[]);
        let given = &defaults.settings;
        assert_eq!(
            (
                settings.epochs,
                settings.image_size,
                settings.batch_size,
                settings.lr
            ),
            (given.epochs, given.image_size, given.batch_size, given.lr)
        );
        assert_eq!((args.preset, defaults.preset), (Some(Preset::Study), None));
    }

    #[test]
    fn flags_given_with_the_preset_override_it() {
        let (args, names) = resolve(&[
            "--preset", "study", "--wd", "0.1", "--seeds", "2", "--epochs", "1",
        ]);
        let as_text = |value: serde_json::Value| value.as_str().unwrap().to_string();
        let args = &args.settings;
        let wd =
            as_text(text::wd_list::serialize(&args.wd, serde_json::value::Serializer).unwrap());
        let modes = as_text(
            text::mode_list::serialize(&args.modes, serde_json::value::Serializer).unwrap(),
        );
        assert_eq!(
            (wd.as_str(), modes.as_str(), args.seeds, args.epochs),
            ("0.1", "coupled,decoupled", 2, 1)
        );
        assert_eq!(
            names,
            [
                "coupled-wd0.1-seed42",
                "decoupled-wd0.1-seed42",
                "coupled-wd0.1-seed43",
                "decoupled-wd0.1-seed43"
            ]
        );
        let (_, names) = resolve(&["--modes", "decoupled", "--preset", "study", "--seed", "7"]);
        assert_eq!(
            names[..3],
            [
                "decoupled-wd0.01-seed7",
                "decoupled-wd0.1-seed7",
                "decoupled-wd10-seed7"
            ]
        );
        assert_eq!(names.len(), 9);
    }

    #[test]
    fn without_a_preset_one_seed_keeps_the_arm_names() {
        let (args, names) = resolve(&[]);
        assert_eq!(args.settings.seeds, 1);
        assert_eq!(
            names,
            ["decoupled-wd0.01", "decoupled-wd0.1", "decoupled-wd10"]
        );
    }
}
