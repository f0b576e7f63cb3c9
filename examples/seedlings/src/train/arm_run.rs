//! [`ArmRun`]: what every epoch of one call of [`train_arm`](super::train_arm) shares, the
//! context `arm.rs` builds and `epoch.rs` reads (its own file, so that neither imports the
//! other's types).

use burn::nn::loss::CrossEntropyLoss;
use burn::tensor::Device;
use burn_weight_decay::{DecayConfig, DecayMonitor};

use super::{ArmData, ArmSpec, TrainSettings};
use crate::interrupt::Interrupt;
use crate::run::ArmPaths;
use crate::schedule::OneCycle;

/// What every epoch of one call of [`train_arm`](super::train_arm) shares.
pub(super) struct ArmRun<'a> {
    pub(super) settings: &'a TrainSettings,
    pub(super) arm: &'a ArmSpec,
    pub(super) data: &'a ArmData<'a>,
    pub(super) device: &'a Device,
    pub(super) paths: &'a ArmPaths,
    pub(super) stop: &'a Interrupt,
    pub(super) name: String,
    pub(super) decay: DecayConfig,
    pub(super) schedule: OneCycle,
    pub(super) steps_per_epoch: usize,
    pub(super) monitor: DecayMonitor,
    pub(super) loss_fn: CrossEntropyLoss,
}
