//! Conformance replay: one optimizer on one parameter tensor, from a JSON case.
//!
//! Used by the `replay` example (`cargo run --release -p burn-weight-decay --example replay --
//! CASE.json`) and by the golden tests, so that any other implementation (PyTorch, optax, a
//! hand computation) can be compared with this crate step by step.
//!
//! ```json
//! {
//!   "optimizer": {"kind": "sgd", "momentum": 0.9, "dampening": 0.0, "nesterov": false},
//!   "decay": {"mode": "decoupled", "rate": 0.1, "exclude_rank_le_1": true},
//!   "shape": [2, 2],
//!   "param": [1.0, -2.0, 3.0, 0.5],
//!   "grads": [[0.1, 0.2, -0.3, 0.0]],
//!   "lr": [0.1]
//! }
//! ```
//!
//! `kind` is `"sgd"` (`momentum`, `dampening`, `nesterov`) or `"adam"` (`beta1`, `beta2`,
//! `epsilon`, `amsgrad`); omitted fields take PyTorch's defaults. `mode` is `"none"`,
//! `"coupled"` or `"decoupled"`; optional decay fields: `cautious`, `lr_max` (switches the decay
//! scale to `lr_t / lr_max`). Unknown fields are ignored.

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::{AdamDecayConfig, DecayConfig, DecayMode, DecayScale, SgdDecayConfig};

/// One replay case.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// The inner optimizer.
    pub optimizer: OptimizerSpec,
    /// The decay around it.
    pub decay: DecaySpec,
    /// The parameter's shape (rank 1 to 4).
    pub shape: Vec<usize>,
    /// The parameter's initial values, flat, row-major.
    pub param: Vec<f32>,
    /// One gradient per step, each flat like `param`.
    pub grads: Vec<Vec<f32>>,
    /// One learning rate per step.
    pub lr: Vec<f64>,
}

/// The inner optimizer of a [`Case`].
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerSpec {
    /// PyTorch's SGD.
    Sgd {
        /// Momentum factor.
        #[serde(default)]
        momentum: f64,
        /// Dampening.
        #[serde(default)]
        dampening: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
    /// PyTorch's Adam.
    Adam {
        /// β1.
        #[serde(default = "default_beta1")]
        beta1: f32,
        /// β2.
        #[serde(default = "default_beta2")]
        beta2: f32,
        /// ε.
        #[serde(default = "default_epsilon")]
        epsilon: f32,
        /// AMSGrad.
        #[serde(default)]
        amsgrad: bool,
    },
}

fn default_beta1() -> f32 {
    0.9
}
fn default_beta2() -> f32 {
    0.999
}
fn default_epsilon() -> f32 {
    1e-8
}
fn default_true() -> bool {
    true
}

/// The decay of a [`Case`].
#[derive(Debug, Clone, Deserialize)]
pub struct DecaySpec {
    /// `"none"`, `"coupled"` or `"decoupled"`.
    pub mode: String,
    /// `λ`.
    #[serde(default)]
    pub rate: f64,
    /// Leave parameters of rank ≤ 1 undecayed (default true).
    #[serde(default = "default_true")]
    pub exclude_rank_le_1: bool,
    /// Cautious weight decay.
    #[serde(default)]
    pub cautious: bool,
    /// When set, `s_t = lr_t / lr_max` instead of `lr_t`.
    #[serde(default)]
    pub lr_max: Option<f64>,
}

/// The replay's output: the flat parameter after each step.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trajectory {
    /// `params[t]` is the parameter after step `t + 1`.
    pub params: Vec<Vec<f32>>,
}

/// Why a case cannot run.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseError(pub String);

impl core::fmt::Display for CaseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaseError {}

impl Case {
    /// Parses a case from JSON text.
    pub fn from_json(text: &str) -> Result<Self, CaseError> {
        let case: Case = serde_json::from_str(text)
            .map_err(|err| CaseError(format!("malformed case: {err}")))?;
        case.check()?;
        Ok(case)
    }

    /// Checks sizes agree and the settings are valid.
    pub fn check(&self) -> Result<(), CaseError> {
        if self.shape.is_empty() || self.shape.len() > 4 {
            return Err(CaseError(format!(
                "shape {:?} must have 1 to 4 dimensions",
                self.shape
            )));
        }
        let n: usize = self.shape.iter().product();
        if self.param.len() != n {
            return Err(CaseError(format!(
                "param has {} values but shape {:?} holds {n}",
                self.param.len(),
                self.shape
            )));
        }
        if self.grads.len() != self.lr.len() {
            return Err(CaseError(format!(
                "{} gradients but {} learning rates: give one of each per step",
                self.grads.len(),
                self.lr.len()
            )));
        }
        if let Some((step, grad)) = self.grads.iter().enumerate().find(|(_, g)| g.len() != n) {
            return Err(CaseError(format!(
                "gradient of step {} has {} values, expected {n}",
                step + 1,
                grad.len()
            )));
        }
        if let Some(lr) = self.lr.iter().find(|lr| !(lr.is_finite() && **lr >= 0.0)) {
            return Err(CaseError(format!(
                "learning rate {lr} must be finite and ≥ 0"
            )));
        }
        self.optimizer_config().map(|_| ())
    }

    fn decay_config(&self) -> Result<DecayConfig, CaseError> {
        let mode: DecayMode = self
            .decay
            .mode
            .parse()
            .map_err(|err| CaseError(format!("{err}")))?;
        let mut config = DecayConfig::new()
            .with_mode(mode)
            .with_rate(self.decay.rate)
            .with_decay_rank_le_1(!self.decay.exclude_rank_le_1)
            .with_cautious(self.decay.cautious);
        if let Some(lr_max) = self.decay.lr_max {
            config = config.with_scale(DecayScale::Schedule { lr_max });
        }
        config
            .validate()
            .map_err(|err| CaseError(err.to_string()))?;
        Ok(config)
    }

    fn optimizer_config(&self) -> Result<ModuleOptimizer, CaseError> {
        let decay = self.decay_config()?;
        let optim = match self.optimizer {
            OptimizerSpec::Sgd {
                momentum,
                dampening,
                nesterov,
            } => SgdDecayConfig::new()
                .with_momentum(momentum)
                .with_dampening(dampening)
                .with_nesterov(nesterov)
                .with_decay(decay)
                .try_build()
                .map(Into::into),
            OptimizerSpec::Adam {
                beta1,
                beta2,
                epsilon,
                amsgrad,
            } => AdamDecayConfig::new()
                .with_beta_1(beta1)
                .with_beta_2(beta2)
                .with_epsilon(epsilon)
                .with_amsgrad(amsgrad)
                .with_decay(decay)
                .try_build()
                .map(Into::into),
        };
        optim.map_err(|err| CaseError(err.to_string()))
    }

    /// Runs the case on `device` and returns the parameter after every step.
    pub fn run(&self, device: &Device) -> Result<Trajectory, CaseError> {
        self.check()?;
        match self.shape.len() {
            1 => self.run_rank::<1>(device),
            2 => self.run_rank::<2>(device),
            3 => self.run_rank::<3>(device),
            _ => self.run_rank::<4>(device),
        }
    }

    fn run_rank<const D: usize>(&self, device: &Device) -> Result<Trajectory, CaseError> {
        // Parameters live on the autodiff device, as in training; gradients on the plain one.
        let plain = device.clone().inner();
        let device = &device.clone().autodiff();
        let mut optim = self.optimizer_config()?;
        let shape: [usize; D] = self.shape.clone().try_into().expect("rank checked");
        let tensor = Tensor::<D>::from_data(TensorData::new(self.param.clone(), shape), device);
        let mut holder = Holder {
            value: Param::from_tensor(tensor),
        };
        let mut params = Vec::with_capacity(self.grads.len());
        for (grad, lr) in self.grads.iter().zip(&self.lr) {
            let grad = Tensor::<D>::from_data(TensorData::new(grad.clone(), shape), &plain);
            let mut grads = GradientsParams::new();
            grads.register(holder.value.id, grad);
            holder = optim.step(*lr, holder, grads);
            let values = holder
                .value
                .val()
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|err| CaseError(format!("reading the parameter back: {err:?}")))?;
            params.push(values);
        }
        Ok(Trajectory { params })
    }
}

/// A module holding the one parameter of a case.
#[derive(Module, Debug)]
struct Holder<const D: usize> {
    value: Param<Tensor<D>>,
}
