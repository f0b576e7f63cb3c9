//! The optimizers benched: their hyperparameters, the two families (Adam, SGD with momentum)
//! with the bytes a step must move, and [`cases`], every configuration with the case the tables
//! compare it with.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, NonFiniteGrad, SgdDecayConfig};

pub(super) const LAMBDA: f64 = 0.01;
pub(super) const ADAM_LR: f64 = 1e-3;
pub(super) const SGD_LR: f64 = 1e-2;
pub(super) const MOMENTUM: f64 = 0.9;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Family {
    Adam,
    Sgd,
}

impl Family {
    /// f32 tensors that must cross memory per step and per element: Adam reads w, g, m, v and
    /// writes w, m, v; SGD with momentum reads w, g, b and writes w, b.
    pub(super) fn passes(self) -> u64 {
        match self {
            Family::Adam => 7,
            Family::Sgd => 5,
        }
    }

    pub(super) fn lr(self) -> f64 {
        match self {
            Family::Adam => ADAM_LR,
            Family::Sgd => SGD_LR,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Family::Adam => "adam",
            Family::Sgd => "sgd",
        }
    }
}

pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) what: &'static str,
    pub(super) family: Family,
    /// The case this one is compared with in the table.
    pub(super) baseline: Option<&'static str>,
    pub(super) build: fn() -> ModuleOptimizer,
}

fn ours_adam(decay: DecayConfig) -> ModuleOptimizer {
    AdamDecayConfig::new().with_decay(decay).init()
}

fn ours_sgd(decay: DecayConfig) -> ModuleOptimizer {
    SgdDecayConfig::new()
        .with_momentum(MOMENTUM)
        .with_decay(decay)
        .init()
}

/// This crate's Adam with the fused kernel off: Burn's tensor ops, as before the kernel.
fn ours_adam_tensor(decay: DecayConfig) -> ModuleOptimizer {
    AdamDecayConfig::new()
        .with_decay(decay)
        .with_fused(false)
        .init()
}

/// This crate's SGD with momentum and the fused kernel off.
fn ours_sgd_tensor(decay: DecayConfig) -> ModuleOptimizer {
    SgdDecayConfig::new()
        .with_momentum(MOMENTUM)
        .with_decay(decay)
        .with_fused(false)
        .init()
}

fn propagate(decay: DecayConfig) -> DecayConfig {
    decay.with_non_finite(NonFiniteGrad::Propagate)
}

/// Burn's momentum with PyTorch's dampening 0, as this crate's SGD uses.
fn burn_momentum() -> MomentumConfig {
    MomentumConfig::new()
        .with_momentum(MOMENTUM)
        .with_dampening(0.0)
}

pub(super) fn cases() -> Vec<Case> {
    use Family::{Adam, Sgd};
    vec![
        Case {
            name: "burn_adam",
            what: "Burn Adam, no decay",
            family: Adam,
            baseline: None,
            build: || AdamConfig::new().with_epsilon(1e-8).init(),
        },
        Case {
            name: "burn_adam_l2",
            what: "Burn Adam + WeightDecayConfig (coupled)",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || {
                AdamConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(Some(WeightDecayConfig::new(LAMBDA as f32)))
                    .init()
            },
        },
        Case {
            name: "burn_adamw",
            what: "Burn AdamW",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || {
                AdamWConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(LAMBDA as f32)
                    .init()
            },
        },
        Case {
            name: "adam_none",
            what: "ours Adam, DecayConfig::none() (fused)",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || ours_adam(DecayConfig::none()),
        },
        Case {
            name: "adam_l2",
            what: "ours Adam + coupled L2 (fused)",
            family: Adam,
            baseline: Some("burn_adam_l2"),
            build: || ours_adam(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "adamw",
            what: "ours AdamW, decoupled (fused)",
            family: Adam,
            baseline: Some("burn_adamw"),
            build: || ours_adam(DecayConfig::decoupled(LAMBDA)),
        },
        Case {
            name: "adam_none_prop",
            what: "ours Adam none, Propagate (fused)",
            family: Adam,
            baseline: Some("adam_none"),
            build: || ours_adam(propagate(DecayConfig::none())),
        },
        Case {
            name: "adam_l2_prop",
            what: "ours Adam + coupled L2, Propagate (fused)",
            family: Adam,
            baseline: Some("adam_l2"),
            build: || ours_adam(propagate(DecayConfig::coupled(LAMBDA))),
        },
        Case {
            name: "adamw_prop",
            what: "ours AdamW, Propagate (fused)",
            family: Adam,
            baseline: Some("adamw"),
            build: || ours_adam(propagate(DecayConfig::decoupled(LAMBDA))),
        },
        Case {
            name: "adam_none_tensor",
            what: "ours Adam, DecayConfig::none(), tensor ops (fused off)",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || ours_adam_tensor(DecayConfig::none()),
        },
        Case {
            name: "adam_l2_tensor",
            what: "ours Adam + coupled L2, tensor ops (fused off)",
            family: Adam,
            baseline: Some("burn_adam_l2"),
            build: || ours_adam_tensor(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "adamw_tensor",
            what: "ours AdamW, tensor ops (fused off)",
            family: Adam,
            baseline: Some("burn_adamw"),
            build: || ours_adam_tensor(DecayConfig::decoupled(LAMBDA)),
        },
        Case {
            name: "burn_sgd",
            what: "Burn SGD + momentum, no decay",
            family: Sgd,
            baseline: None,
            build: || SgdConfig::new().with_momentum(Some(burn_momentum())).init(),
        },
        Case {
            name: "burn_sgd_l2",
            what: "Burn SGD + momentum + WeightDecayConfig",
            family: Sgd,
            baseline: Some("burn_sgd"),
            build: || {
                SgdConfig::new()
                    .with_momentum(Some(burn_momentum()))
                    .with_weight_decay(Some(WeightDecayConfig::new(LAMBDA as f32)))
                    .init()
            },
        },
        Case {
            name: "sgd_none",
            what: "ours SGD + momentum, DecayConfig::none() (fused)",
            family: Sgd,
            baseline: Some("burn_sgd"),
            build: || ours_sgd(DecayConfig::none()),
        },
        Case {
            name: "sgd_l2",
            what: "ours SGD + momentum + coupled L2 (fused)",
            family: Sgd,
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "sgdw",
            what: "ours SGDW, momentum, decoupled (fused)",
            family: Sgd,
            // Burn has no SGDW; its coupled SGD is the closest.
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd(DecayConfig::decoupled(LAMBDA)),
        },
        Case {
            name: "sgd_none_prop",
            what: "ours SGD none, Propagate (fused)",
            family: Sgd,
            baseline: Some("sgd_none"),
            build: || ours_sgd(propagate(DecayConfig::none())),
        },
        Case {
            name: "sgd_l2_prop",
            what: "ours SGD + coupled L2, Propagate (fused)",
            family: Sgd,
            baseline: Some("sgd_l2"),
            build: || ours_sgd(propagate(DecayConfig::coupled(LAMBDA))),
        },
        Case {
            name: "sgdw_prop",
            what: "ours SGDW, Propagate (fused)",
            family: Sgd,
            baseline: Some("sgdw"),
            build: || ours_sgd(propagate(DecayConfig::decoupled(LAMBDA))),
        },
        Case {
            name: "sgd_none_tensor",
            what: "ours SGD + momentum, DecayConfig::none(), tensor ops (fused off)",
            family: Sgd,
            baseline: Some("burn_sgd"),
            build: || ours_sgd_tensor(DecayConfig::none()),
        },
        Case {
            name: "sgd_l2_tensor",
            what: "ours SGD + momentum + coupled L2, tensor ops (fused off)",
            family: Sgd,
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd_tensor(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "sgdw_tensor",
            what: "ours SGDW, tensor ops (fused off)",
            family: Sgd,
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd_tensor(DecayConfig::decoupled(LAMBDA)),
        },
    ]
}
