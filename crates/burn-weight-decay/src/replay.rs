//! Conformance replay: one optimizer on one parameter tensor, from a JSON case.
//!
//! Used by the `replay` example (`cargo run --release -p burn-weight-decay --example replay --
//! CASE.json`) and by the golden tests, so that any other implementation (PyTorch, optax, a
//! hand computation) can be compared with this crate step by step.
//!
//! ```json
//! {
//!   "optimizer": {"kind": "sgd", "momentum": 0.9, "dampening": 0.0, "nesterov": false},
//!   "decay": {"mode": "decoupled", "rate": 0.1, "decay_rank_le_1": false},
//!   "shape": [2, 2],
//!   "param": [1.0, -2.0, 3.0, 0.5],
//!   "grads": [[0.1, 0.2, -0.3, 0.0]],
//!   "lr": [0.1]
//! }
//! ```
//!
//! `kind` is `"sgd"` (`momentum`, `dampening`, `nesterov`) or `"adam"` (`beta1`, `beta2`,
//! `epsilon`, `amsgrad`); omitted fields take PyTorch's defaults. `mode` is `"none"`,
//! `"coupled"` or `"decoupled"`. The other decay fields are optional:
//!
//! - `rate`: `λ ≥ 0` of every step (default 0).
//! - `decay_rank_le_1`: also decay a parameter of rank ≤ 1, a bias or norm parameter (default
//!   false; [`DecayConfig::decay_rank_le_1`]). The field's older name `exclude_rank_le_1`, with
//!   the inverted meaning, is still read: `"exclude_rank_le_1": true` is
//!   `"decay_rank_le_1": false`. Both given with contradicting values are an error naming both.
//! - `cautious`: cautious decay (default false; [`DecayConfig::cautious`]).
//! - `scale`: decoupled decay's `s_t` ([`DecayScale`]): `"lr"` (`lr_t`, the default),
//!   `"schedule"` (`lr_t / lr_max`) or `"corrected"` (`lr_t² / lr_max`).
//! - `lr_max`: the learning-rate schedule's peak, `> 0`, needed by `"schedule"` and
//!   `"corrected"`.
//! - `rates`: `λ_t` of each step, one per step, overriding `rate` ([`RateSchedule::PerStep`]).
//! - `toward`: `"zero"` (the default), `"initial"`: decay toward the case's own `param`
//!   (L2-SP, [`DecayTarget`]), `"norm"`: toward the norm `target_norm`
//!   ([`DecayTarget::Norm`], Weight Norm Control), or `"norm_ratio"`: toward `target_norm_ratio`
//!   times the norm of `param` ([`DecayTarget::NormRatio`]).
//! - `target_norm`, `target_norm_ratio`: the target of `"norm"` and of `"norm_ratio"`, finite
//!   and `≥ 0`; each needs its `toward` and is needed by it.
//! - `form`: decoupled decay's form ([`DecayForm`]), `"multiplicative"` (`u_t − f_t·w_t`, the
//!   default) or `"proximal"` (`u_t / (1 + f_t)`).
//! - `stable`: stable weight decay (default false; [`DecayConfig::stable`], AdamS): decoupled
//!   decay's factor divided by `√(mean v̂_t)` of the case's tensor. Adam and decoupled only.
//! - `large_decay`: `"panic"` (the default) or `"allow"` ([`LargeDecay`]): whether a step of
//!   decoupled multiplicative decay with `f_t = s_t·λ_t ≥ 1` is an error (the case is refused,
//!   naming the step) or applied as written.
//!
//! For example, two steps of proximal L2-SP with the corrected scale and a per-step `λ`:
//!
//! ```json
//! "decay": {"mode": "decoupled", "scale": "corrected", "lr_max": 0.01, "rates": [0.5, 0.1],
//!           "toward": "initial", "form": "proximal"}
//! ```
//!
//! Without `scale`, `lr_max` alone selects `"schedule"` (as before `scale` existed); with
//! `"scale": "lr"` it is ignored. An unknown `scale`, `toward` or `form`, a target norm missing
//! or given without its `toward`, `"schedule"` or `"corrected"` without `lr_max`, a
//! `large_decay` other than `panic` or `allow`, a step with `f_t ≥ 1` under `"panic"`, a `rates`
//! list whose length is not the number of steps, and the proximal form with coupled decay or
//! toward a target norm are errors naming the field and the value. Unknown fields are ignored.

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::{
    AdamDecayConfig, DecayConfig, DecayForm, DecayMode, DecayScale, DecayTarget, LargeDecay,
    RateSchedule, SgdDecayConfig,
};

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

/// The decay of a [`Case`].
#[derive(Debug, Clone, Deserialize)]
pub struct DecaySpec {
    /// `"none"`, `"coupled"` or `"decoupled"`.
    pub mode: String,
    /// `λ`.
    #[serde(default)]
    pub rate: f64,
    /// Also decay parameters of rank ≤ 1 (default false). Read it, with the older field, through
    /// [`DecaySpec::decay_rank_le_1`].
    #[serde(default)]
    pub decay_rank_le_1: Option<bool>,
    /// The older name of `decay_rank_le_1`, inverted: leave parameters of rank ≤ 1 undecayed.
    #[serde(default)]
    pub exclude_rank_le_1: Option<bool>,
    /// Cautious weight decay.
    #[serde(default)]
    pub cautious: bool,
    /// The schedule's peak learning rate, for `scale` `"schedule"` and `"corrected"`. Without
    /// `scale`, setting it selects `"schedule"`: `s_t = lr_t / lr_max` instead of `lr_t`.
    #[serde(default)]
    pub lr_max: Option<f64>,
    /// `s_t` of decoupled decay: `"lr"` (`lr_t`), `"schedule"` (`lr_t / lr_max`) or
    /// `"corrected"` (`lr_t² / lr_max`); absent: `"schedule"` if `lr_max` is set, else `"lr"`.
    #[serde(default)]
    pub scale: Option<String>,
    /// `λ_t` of each step, overriding `rate`: as many values as the case has steps.
    #[serde(default)]
    pub rates: Option<Vec<f64>>,
    /// `"zero"` (default), `"initial"` (toward the case's `param`, L2-SP), `"norm"` (toward
    /// `target_norm`) or `"norm_ratio"` (toward `target_norm_ratio` times the norm of `param`).
    #[serde(default)]
    pub toward: Option<String>,
    /// The target norm of `toward` `"norm"`.
    #[serde(default)]
    pub target_norm: Option<f64>,
    /// The ratio to the initial norm of `toward` `"norm_ratio"`.
    #[serde(default)]
    pub target_norm_ratio: Option<f64>,
    /// `"multiplicative"` (default) or `"proximal"` (decoupled decay only).
    #[serde(default)]
    pub form: Option<String>,
    /// Stable weight decay (AdamS): `s_t·λ_t / √(mean v̂_t)`.
    #[serde(default)]
    pub stable: bool,
    /// `"panic"` (default: a step with `s_t·λ_t ≥ 1` is an error) or `"allow"`.
    #[serde(default)]
    pub large_decay: Option<String>,
}

impl DecaySpec {
    /// Whether parameters of rank ≤ 1 decay: `decay_rank_le_1`, else the older
    /// `exclude_rank_le_1` inverted, else not (both fields' default). Both given with
    /// contradicting values are an error naming both.
    ///
    /// ```
    /// # use burn_weight_decay::replay::Case;
    /// let decay = |fields: &str| {
    ///     let text = format!(
    ///         r#"{{"optimizer": {{"kind": "sgd"}}, "decay": {{"mode": "decoupled"{fields}}},
    ///             "shape": [1], "param": [1], "grads": [], "lr": []}}"#
    ///     );
    ///     Case::from_json(&text).map(|case| case.decay.decay_rank_le_1().unwrap())
    /// };
    /// assert_eq!(decay(""), Ok(false));
    /// assert_eq!(decay(r#", "decay_rank_le_1": true"#), Ok(true));
    /// assert_eq!(decay(r#", "exclude_rank_le_1": false"#), Ok(true));
    /// let err = decay(r#", "decay_rank_le_1": true, "exclude_rank_le_1": true"#).unwrap_err();
    /// assert!(err.0.contains("decay.decay_rank_le_1 true"), "{err}");
    /// assert!(err.0.contains("decay.exclude_rank_le_1 true"), "{err}");
    /// ```
    pub fn decay_rank_le_1(&self) -> Result<bool, CaseError> {
        match (self.decay_rank_le_1, self.exclude_rank_le_1) {
            (Some(decay), Some(exclude)) if decay == exclude => Err(CaseError(format!(
                "decay.decay_rank_le_1 {decay} contradicts decay.exclude_rank_le_1 {exclude} \
                 (its older name, inverted): give one of them, or both with opposite values"
            ))),
            (Some(decay), _) => Ok(decay),
            (None, exclude) => Ok(exclude == Some(false)),
        }
    }
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
        let decay = &self.decay;
        let mode: DecayMode = decay
            .mode
            .parse()
            .map_err(|err| CaseError(format!("{err}")))?;
        let mut config = DecayConfig::new()
            .with_mode(mode)
            .with_rate(decay.rate)
            .with_decay_rank_le_1(decay.decay_rank_le_1()?)
            .with_cautious(decay.cautious)
            .with_scale(self.decay_scale()?)
            .with_toward(self.decay_target()?)
            .with_form(self.decay_form(mode)?)
            .with_large_decay(self.large_decay()?)
            .with_stable(decay.stable);
        if let Some(rates) = &decay.rates {
            let steps = self.grads.len();
            if rates.len() != steps {
                return Err(CaseError(format!(
                    "decay.rates has {} values but the case has {steps} steps: give one λ per step",
                    rates.len()
                )));
            }
            if let Some((step, rate)) = rates
                .iter()
                .enumerate()
                .find(|(_, r)| !(r.is_finite() && **r >= 0.0))
            {
                return Err(CaseError(format!(
                    "decay.rates value {rate} of step {} must be finite and ≥ 0",
                    step + 1
                )));
            }
            config = config.with_schedule(RateSchedule::PerStep(rates.clone()));
        }
        config
            .validate()
            .map_err(|err| CaseError(err.to_string()))?;
        if config.decays_rank(self.shape.len()) {
            for (step, lr) in self.lr.iter().enumerate() {
                config
                    .check_factor(*lr, step as u64)
                    .map_err(|err| CaseError(format!("step {}: {err}", step + 1)))?;
            }
        }
        Ok(config)
    }

    /// `decay.large_decay`.
    fn large_decay(&self) -> Result<LargeDecay, CaseError> {
        match self.decay.large_decay.as_deref() {
            None | Some("panic") => Ok(LargeDecay::Panic),
            Some("allow") => Ok(LargeDecay::Allow),
            Some(other) => Err(CaseError(format!(
                "unknown decay.large_decay `{other}` (expected panic or allow)"
            ))),
        }
    }

    /// `decay.scale`, with `lr_max` alone meaning `"schedule"`.
    fn decay_scale(&self) -> Result<DecayScale, CaseError> {
        let lr_max = self.decay.lr_max;
        let Some(name) = self.decay.scale.as_deref() else {
            return Ok(match lr_max {
                Some(lr_max) => DecayScale::Schedule { lr_max },
                None => DecayScale::LearningRate,
            });
        };
        let needs_lr_max = || {
            lr_max.ok_or_else(|| {
                CaseError(format!(
                    "decay.scale `{name}` needs decay.lr_max (the learning-rate schedule's peak)"
                ))
            })
        };
        match name {
            "lr" => Ok(DecayScale::LearningRate),
            "schedule" => Ok(DecayScale::Schedule {
                lr_max: needs_lr_max()?,
            }),
            "corrected" => Ok(DecayScale::Corrected {
                lr_max: needs_lr_max()?,
            }),
            _ => Err(CaseError(format!(
                "unknown decay.scale `{name}` (expected lr, schedule or corrected)"
            ))),
        }
    }

    /// `decay.toward`, with `decay.target_norm` or `decay.target_norm_ratio`.
    fn decay_target(&self) -> Result<DecayTarget, CaseError> {
        let toward = self.decay.toward.as_deref().unwrap_or("zero");
        let (norm, ratio) = (self.decay.target_norm, self.decay.target_norm_ratio);
        let needs = |field: &str| {
            CaseError(format!(
                "decay.toward `{toward}` needs decay.{field} (the target)"
            ))
        };
        let target = match toward {
            "zero" => DecayTarget::Zero,
            "initial" => DecayTarget::Initial,
            "norm" => DecayTarget::Norm(norm.ok_or_else(|| needs("target_norm"))?),
            "norm_ratio" => {
                DecayTarget::NormRatio(ratio.ok_or_else(|| needs("target_norm_ratio"))?)
            }
            other => {
                return Err(CaseError(format!(
                    "unknown decay.toward `{other}` (expected zero, initial, norm or norm_ratio)"
                )));
            }
        };
        for (field, value, own) in [
            ("target_norm", norm, "norm"),
            ("target_norm_ratio", ratio, "norm_ratio"),
        ] {
            if value.is_some() && toward != own {
                return Err(CaseError(format!(
                    "decay.{field} is the target of decay.toward `{own}`, not `{toward}`"
                )));
            }
        }
        Ok(target)
    }

    /// `decay.form`, which only decoupled decay has.
    fn decay_form(&self, mode: DecayMode) -> Result<DecayForm, CaseError> {
        let form = match self.decay.form.as_deref() {
            None | Some("multiplicative") => DecayForm::Multiplicative,
            Some("proximal") => DecayForm::Proximal,
            Some(other) => {
                return Err(CaseError(format!(
                    "unknown decay.form `{other}` (expected multiplicative or proximal)"
                )));
            }
        };
        if form == DecayForm::Proximal && mode == DecayMode::Coupled {
            return Err(CaseError(
                "decay.form `proximal` needs decay.mode `decoupled`, not `coupled` \
                 (coupled L2 decays through the gradient)"
                    .to_string(),
            ));
        }
        Ok(form)
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
