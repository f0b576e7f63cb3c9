//! One arm of the sweep: what it is ([`ArmSpec`]), the settings all arms share
//! ([`TrainSettings`], [`OptimizerKind`]), and the training loop ([`train_arm`] in `arm.rs`: a
//! loop over `epoch.rs`'s one-epoch step and the end-of-epoch step), with per-epoch evaluation
//! (`evaluate.rs`). With several seeds per arm each arm runs once per seed ([`RunSpec`],
//! `run_spec.rs`). The run folder's paths and the resumable state are in [`crate::run`].
//!
//! A few steps of every epoch ([`EQUILIBRIUM_STEPS_PER_EPOCH`], spread over it) are measured
//! through the optimizer's [`DecayMonitor`]: how far each conv weight turned, against the
//! rotational equilibrium's prediction (Kosson et al. 2024, see
//! [`burn_weight_decay::equilibrium`]). Those steps take Burn's tensor ops instead of the fused
//! optimizer kernel; the epoch's means go into its [`EpochRecord`](crate::report::EpochRecord).

use burn::optim::ModuleOptimizer;
use burn_fused_conv::BlockKernel;
use burn_weight_decay::{
    AdamDecayConfig, ConfigError, DecayConfig, DecayMode, DecayMonitor, SgdDecayConfig,
};
use serde::{Deserialize, Serialize};

use crate::data::{ImageStore, Normalization};
use crate::schedule::OneCycle;

mod arm;
mod epoch;
mod equilibrium;
mod evaluate;
mod run_spec;

pub use crate::run::{ArmPaths, ArmProgress};
pub use arm::{ArmOutcome, train_arm};
pub use equilibrium::{EQUILIBRIUM_STEPS_PER_EPOCH, EquilibriumSums, is_measured_batch};
pub(crate) use evaluate::tensors;
pub use evaluate::{Evaluation, evaluate};
pub use run_spec::{RunSpec, runs, seed_list};

/// The inner optimizer of every arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam, β = (0.9, 0.99) and ε = 1e-5 as fastai's defaults.
    Adam,
    /// SGD with momentum 0.9.
    Sgd,
}

impl std::str::FromStr for OptimizerKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "adam" => Ok(Self::Adam),
            "sgd" => Ok(Self::Sgd),
            _ => Err(ConfigError::UnknownName {
                what: "optimizer",
                value: s.to_string(),
                expected: "adam or sgd",
            }),
        }
    }
}

impl OptimizerKind {
    /// The optimizer in words, for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Adam => "Adam (β1 0.9, β2 0.99, ε 1e-5, fastai's defaults)",
            Self::Sgd => "SGD (momentum 0.9, dampening 0)",
        }
    }
}

/// One arm: a weight decay and a mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmSpec {
    /// λ: decoupled `w ← w − lr·λ·w`, or coupled `g ← g + λ·w` (fastai's `wd` in both modes).
    pub wd: f64,
    /// Coupled or decoupled.
    pub mode: DecayMode,
}

impl ArmSpec {
    /// A file-name-safe name, e.g. `decoupled-wd0.1` ([`arm_name`](crate::report::arm_name)).
    pub fn name(&self) -> String {
        crate::report::arm_name(self.mode.name(), self.wd)
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
    /// Also decay biases and batch-norm scales and shifts.
    pub decay_norm_and_bias: bool,
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
    /// The decay configuration of `arm`.
    pub fn decay(&self, arm: &ArmSpec) -> DecayConfig {
        DecayConfig::new()
            .with_mode(arm.mode)
            .with_rate(arm.wd)
            .with_decay_rank_le_1(self.decay_norm_and_bias)
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
        let decay = self.decay(arm);
        Ok(match self.optimizer {
            OptimizerKind::Adam => AdamDecayConfig::new()
                .with_beta_1(0.9)
                .with_beta_2(0.99)
                .with_epsilon(1e-5)
                .with_decay(decay)
                .try_build()?
                .with_monitor(monitor)
                .into(),
            OptimizerKind::Sgd => SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(decay)
                .try_build()?
                .with_monitor(monitor)
                .into(),
        })
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
}
