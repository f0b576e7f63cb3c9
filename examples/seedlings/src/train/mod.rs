//! One arm of the sweep: what it is ([`ArmSpec`]), the settings all arms share
//! ([`TrainSettings`]; the inner optimizer, [`OptimizerKind`], in `optimizer.rs`), and the
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
use burn_fused_conv::BlockKernel;
use burn_weight_decay::{ConfigError, DecayConfig, DecayMode, DecayMonitor, LargeDecay};
use serde::{Deserialize, Serialize};

use crate::data::{ImageStore, Normalization};
use crate::schedule::OneCycle;

mod arm;
mod arm_run;
mod epoch;
mod equilibrium;
mod evaluate;
mod optimizer;
pub mod progress;
mod run_spec;

pub use crate::run::ArmPaths;
pub use arm::{ArmJob, ArmOutcome, train_arm};
pub use equilibrium::{EQUILIBRIUM_STEPS_PER_EPOCH, EquilibriumSums, is_measured_batch};
pub(crate) use evaluate::tensors;
pub use evaluate::{Evaluation, evaluate};
pub use optimizer::{InnerConfig, OptimizerKind};
pub use progress::{ArmEnd, ArmProgress};
pub use run_spec::{RunSpec, runs, seed_list};

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

/// Settings shared by every arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Epochs per arm.
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// The inner optimizer.
    pub optimizer: OptimizerKind,
    /// Seed of initial weights, data order and augmentation. In a [`Sweep`](crate::sweep::Sweep)
    /// the base seed: run `k` of each arm trains with `seed + k` ([`RunSpec`]).
    pub seed: u64,
    /// Also decay the parameters of rank ≤ 1, biases and batch-norm scales and shifts
    /// ([`DecayConfig::decay_rank_le_1`]).
    pub decay_rank_le_1: bool,
    /// Threads that make batches ahead of the training step.
    pub loader_workers: usize,
    /// The network's block widths.
    pub channels: Vec<usize>,
    /// Which code runs the conv blocks (run folders from before this setting were fused-free
    /// and read as `fused`: both train the same network).
    #[serde(default = "default_block")]
    pub block: BlockKernel,
}

fn default_block() -> BlockKernel {
    BlockKernel::Fused
}

impl TrainSettings {
    /// The decay configuration of `arm`. A step with `s_t·λ_t ≥ 1` is applied as written
    /// (`LargeDecay::Allow`), not refused: the sweep watches the loss itself and reports such an
    /// arm as diverged while the other arms go on (see `train/epoch.rs`).
    pub fn decay(&self, arm: &ArmSpec) -> DecayConfig {
        DecayConfig::new()
            .with_mode(arm.mode)
            .with_rate(arm.wd)
            .with_decay_rank_le_1(self.decay_rank_le_1)
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
        self.optimizer.config().build(self.decay(arm), monitor)
    }

    /// Optimizer steps per epoch for `train_len` images (the last batch may be partial).
    pub fn steps_per_epoch(&self, train_len: usize) -> usize {
        train_len.div_ceil(self.batch_size)
    }

    /// The schedule over the whole run.
    pub fn schedule(&self, train_len: usize) -> OneCycle {
        OneCycle::new(self.lr, self.epochs * self.steps_per_epoch(train_len))
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
