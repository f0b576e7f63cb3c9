//! The sweep's settings, typed: [`SweepSettings`] is what the flags parse into (clap, each value
//! checked once where it enters, by [`checks`]), what `state/sweep.json` saves (serde, the
//! same text as before the settings were typed, by [`text`]) and what training reads: every
//! arm's `TrainSettings` holds them whole (`settings.sweep`; `SweepSettings::arms` and
//! `SweepSettings::train_settings` are defined in `src/train/mod.rs`, so that training imports
//! this module and this module imports nothing of training).
//!
//! A new sweep flag is one field here (its clap attributes, its serde default for run folders
//! written before it, its check in `checks.rs` if it needs one), read by the code that uses it.
//! `--resume` compares and saves every field by itself. [`OptimizerKind`] (the `--optimizer`
//! value) is defined here too; its hyper-parameters are training's (`src/train/optimizer.rs`).

pub mod checks;
mod optimizer;
pub mod text;

pub use optimizer::OptimizerKind;

use anyhow::Result;
use burn_fused_conv::BlockKernel;
use burn_weight_decay::DecayMode;
use clap::{Args, Parser};
use serde::{Deserialize, Serialize};

use checks::{seed_list, typed};

/// A list of weight decays, one flag value (`--wd 0.01,0.1`): clap takes a named `Vec` as
/// one value per occurrence, and this alias as one value.
pub type WeightDecays = Vec<f64>;

/// A list of decay modes, one flag value (`--modes coupled,decoupled`), as [`WeightDecays`].
pub type DecayModes = Vec<DecayMode>;

/// The settings of a sweep: the recipe, the arms (modes × weight decays), the seeds. Flattened
/// into the sweep's flags and into `args` of `state/sweep.json`, whose field names these are.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    /// Epochs per arm. The default recipe (32 epochs at 32 px, batch 32, peak lr 3e-3) is the
    /// search's in docs/recipe-search.md: the whole default sweep within 5 minutes on 2 cores
    /// without AVX-512 (the longer recipes are not, by the measured AVX2 code path); 64 epochs
    /// score about 1.6 pp more where time allows.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| checks::at_least_one("epochs", s.parse()?)))]
    pub epochs: usize,
    /// Side of the square input images, in pixels.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| checks::image_size(s.parse()?)))]
    pub image_size: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| checks::at_least_one("batch-size", s.parse()?)))]
    pub batch_size: usize,
    /// Peak learning rate of the one-cycle schedule.
    #[arg(long, default_value_t = 3e-3, value_parser = typed(|s| checks::learning_rate(s.parse()?)))]
    #[serde(with = "crate::exact::f64")]
    pub lr: f64,
    /// Weight decays, comma-separated.
    #[arg(long, default_value = "0.01,0.1,10", value_parser = typed(checks::weight_decays))]
    #[serde(with = "text::wd_list")]
    pub wd: WeightDecays,
    /// Decay modes, comma-separated: coupled, decoupled.
    #[arg(long, default_value = "decoupled", value_parser = typed(checks::decay_modes))]
    #[serde(with = "text::mode_list")]
    pub modes: DecayModes,
    /// Inner optimizer: adam or sgd.
    #[arg(long, default_value = "adam", value_parser = typed(checks::optimizer))]
    #[serde(with = "text::optimizer_name")]
    pub optimizer: OptimizerKind,
    /// Conv blocks: winograd (burn-fused-conv's op on flex with Winograd F(2×2, 3×3) products,
    /// stock layers elsewhere), fused (the same op with direct products) or stock (Burn's layers
    /// everywhere). Same network, same record.
    #[arg(long, default_value = "winograd", value_parser = typed(checks::block_kernel))]
    #[serde(default = "fused", with = "text::block_name")]
    pub block: BlockKernel,
    /// Seed of initial weights, data order, augmentation and split. With --seeds N, the first
    /// of the N seeds, and the seed of the train/valid split for all of them.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Runs per arm, each from its own seed: run k of every arm uses --seed + k (k < N) for its
    /// initial weights, data order and augmentation, while the train/valid split stays that of
    /// --seed, so every run is scored on the same validation images. The report then gives
    /// each arm's mean, standard deviation and 95% confidence interval, and compares arms
    /// seed by seed.
    #[arg(long, default_value_t = 1, value_parser = typed(|s| checks::at_least_one("seeds", s.parse()?)))]
    #[serde(default = "one_seed")]
    pub seeds: usize,
    /// Also decay the parameters of rank ≤ 1, biases and batch-norm parameters (fastai v1); off
    /// by default as in fastai v2. `--decay-norm-and-bias`, its older name, is still accepted.
    #[arg(long, alias = "decay-norm-and-bias")]
    #[serde(alias = "decay_norm_and_bias")]
    pub decay_rank_le_1: bool,
    /// Synthetic images per class when no data is found (train; valid gets a quarter).
    #[arg(long, default_value_t = 120)]
    pub synthetic_per_class: usize,
}

/// `--block` of a run folder from before the flag: the fused blocks (the same network).
fn fused() -> BlockKernel {
    BlockKernel::Fused
}

/// `--seeds` of a run folder from before the flag: one seed per arm.
fn one_seed() -> usize {
    1
}

/// The settings alone, parsed from no flags: their defaults.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    settings: SweepSettings,
}

impl Default for SweepSettings {
    /// The flags' defaults (the default recipe and sweep): the one place they are written is
    /// the fields' clap attributes.
    ///
    /// ```
    /// use seedlings::settings::SweepSettings;
    /// let settings = SweepSettings::default();
    /// assert_eq!((settings.epochs, settings.seeds), (32, 1));
    /// assert_eq!(settings.wd, [0.01, 0.1, 10.0]);
    /// ```
    fn default() -> Self {
        Defaults::parse_from(["seedlings"]).settings
    }
}

impl SweepSettings {
    /// Checks the numbers once more (clap checked those given; `state/sweep.json`'s are read
    /// here), and that `--seed` + `--seeds` − 1 fits 64 bits.
    pub fn check(&self) -> Result<()> {
        checks::at_least_one("epochs", self.epochs)?;
        checks::at_least_one("batch-size", self.batch_size)?;
        checks::learning_rate(self.lr)?;
        checks::image_size(self.image_size)?;
        seed_list(self.seed, self.seeds)?;
        Ok(())
    }
}
