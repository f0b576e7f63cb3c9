//! One arm of the sweep: what it is ([`ArmSpec`]), the settings all arms share
//! ([`TrainSettings`]: the sweep's [`SweepSettings`] and what the flags do not set; the inner
//! optimizer's hyper-parameters, [`OptimizerKind::config`], in `optimizer.rs`), and the
//! training loop ([`train_arm`] in `arm.rs`: a loop over `epoch.rs`'s one-epoch step and the
//! end-of-epoch step), with per-epoch evaluation (`evaluate.rs`). With several seeds per arm
//! each arm runs once per seed ([`RunSpec`], `run_spec.rs`). The run folder's paths and the
//! resumable state are in [`crate::run`].
//!
//! A few steps of every epoch ([`EQUILIBRIUM_STEPS_PER_EPOCH`], spread over it) are measured
//! through the optimizer's [`DecayMonitor`]: how far each conv weight turned, against the
//! rotational equilibrium's prediction (Kosson et al. 2024, see
//! [`burn_weight_decay::equilibrium`]). Those steps are not fused (burn-weight-decay's
//! `src/fused/flex/mod.rs` lists what its fused kernel covers); the epoch's means go into its
//! [`EpochRecord`](crate::report::EpochRecord).

use burn::optim::ModuleOptimizer;
use burn_weight_decay::{ConfigError, DecayConfig, DecayMode, DecayMonitor, LargeDecay};
use serde::{Deserialize, Serialize};

use crate::data::{ImageStore, Normalization};
use crate::model::CnnConfig;
use crate::schedule::OneCycle;
use crate::settings::SweepSettings;

mod arm;
mod arm_run;
mod epoch;
mod equilibrium;
mod evaluate;
mod optimizer;
pub mod progress;
mod run_spec;

pub use crate::run::ArmPaths;
pub use crate::settings::OptimizerKind;
pub use crate::settings::checks::seed_list;
pub use arm::{ArmJob, ArmOutcome, train_arm};
pub use equilibrium::{EQUILIBRIUM_STEPS_PER_EPOCH, EquilibriumSums, is_measured_batch};
pub(crate) use evaluate::tensors;
pub use evaluate::{Evaluation, evaluate};
pub use optimizer::InnerConfig;
pub use progress::{ArmEnd, ArmProgress};
pub use run_spec::{RunSpec, runs};

/// One arm: a weight decay and a mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmSpec {
    /// λ: decoupled `w ← w − lr·λ·w`, or coupled `g ← g + λ·w` (fastai's `wd` in both modes).
    pub wd: f64,
    /// Coupled or decoupled.
    pub mode: DecayMode,
}

impl ArmSpec {
    /// A file-name-safe name, e.g. `decoupled-wd0.1`: its [`RunKey`](crate::records::RunKey)'s.
    pub fn name(&self) -> String {
        crate::records::RunKey {
            mode: self.mode,
            wd: self.wd,
            seed: None,
        }
        .name()
    }
}

/// What every arm trains with: the sweep's settings, the one struct the flags, `state/sweep.json`
/// and training share, and what the flags do not set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// The sweep's settings ([`SweepSettings`]): training reads the recipe (epochs, batch size,
    /// peak lr, optimizer, blocks, decay of rank ≤ 1 parameters) from here. `sweep.seed` is
    /// the seed of initial weights, data order and augmentation: in a
    /// [`Sweep`](crate::sweep::Sweep) the base seed, run `k` of each arm training with
    /// `seed + k` ([`RunSpec`]).
    pub sweep: SweepSettings,
    /// Threads that make batches ahead of the training step.
    pub loader_workers: usize,
    /// The network's block widths.
    pub channels: Vec<usize>,
}

impl TrainSettings {
    /// The decay configuration of `arm`. A step with `s_t·λ_t ≥ 1` is applied as written
    /// (`LargeDecay::Allow`), not refused: the sweep watches the loss itself and reports such an
    /// arm as diverged while the other arms go on (see `train/epoch.rs`).
    pub fn decay(&self, arm: &ArmSpec) -> DecayConfig {
        DecayConfig::new()
            .with_mode(arm.mode)
            .with_rate(arm.wd)
            .with_decay_rank_le_1(self.sweep.decay_rank_le_1)
            .with_large_decay(LargeDecay::Allow)
    }

    /// The optimizer of `arm`, or the setting that makes it impossible.
    pub fn optimizer(&self, arm: &ArmSpec) -> Result<ModuleOptimizer, ConfigError> {
        self.optimizer_monitored(arm, DecayMonitor::default())
    }

    /// [`optimizer`](Self::optimizer) reporting to `monitor` (which parameter updates were
    /// fused, skipped, made at all).
    pub fn optimizer_monitored(
        &self,
        arm: &ArmSpec,
        monitor: DecayMonitor,
    ) -> Result<ModuleOptimizer, ConfigError> {
        self.sweep
            .optimizer
            .config()
            .build(self.decay(arm), monitor)
    }

    /// Optimizer steps per epoch for `train_len` images (the last batch may be partial).
    pub fn steps_per_epoch(&self, train_len: usize) -> usize {
        train_len.div_ceil(self.sweep.batch_size)
    }

    /// The schedule over the whole run.
    pub fn schedule(&self, train_len: usize) -> OneCycle {
        OneCycle::new(
            self.sweep.lr,
            self.sweep.epochs * self.steps_per_epoch(train_len),
        )
    }
}

/// What the sweep's settings make of training: the arms and every arm's settings. (Here, not
/// in [`crate::settings`], which training imports and which imports nothing of training.)
impl SweepSettings {
    /// The arms: every mode × every weight decay, modes outermost.
    ///
    /// ```
    /// use burn_weight_decay::DecayMode;
    /// use seedlings::settings::SweepSettings;
    /// let settings = SweepSettings {
    ///     modes: vec![DecayMode::Coupled, DecayMode::Decoupled],
    ///     wd: vec![0.1, 10.0],
    ///     ..SweepSettings::default()
    /// };
    /// let names: Vec<String> = settings.arms().iter().map(|arm| arm.name()).collect();
    /// assert_eq!(names, ["coupled-wd0.1", "coupled-wd10", "decoupled-wd0.1", "decoupled-wd10"]);
    /// ```
    pub fn arms(&self) -> Vec<ArmSpec> {
        self.modes
            .iter()
            .flat_map(|&mode| self.wd.iter().map(move |&wd| ArmSpec { wd, mode }))
            .collect()
    }

    /// What every arm trains with: these settings with the default network's widths and two
    /// batch-making threads.
    pub fn train_settings(&self) -> TrainSettings {
        TrainSettings {
            sweep: self.clone(),
            loader_workers: 2,
            channels: CnnConfig::new(1).channels,
        }
    }
}

/// What an arm trains on, shared by all arms.
pub struct ArmData<'a> {
    /// Training images.
    pub train: &'a ImageStore,
    /// Validation images.
    pub valid: &'a ImageStore,
    /// Class names in label order.
    pub class_names: &'a [String],
    /// Input normalization from the train split.
    pub normalization: Normalization,
    /// Whether these are the synthetic images.
    pub synthetic: bool,
    /// The folder and split of real photos, recorded in every checkpoint.
    pub trained_on: Option<crate::checkpoint::TrainedOn>,
}
