//! Ready-made SGD and Adam with either decay mode, following PyTorch's update formulas.
//!
//! | what | one line |
//! | --- | --- |
//! | SGD + L2 | `SgdDecayConfig::new().with_decay(DecayConfig::coupled(λ)).init()` |
//! | SGDW | `SgdDecayConfig::new().with_decay(DecayConfig::decoupled(λ)).init()` |
//! | Adam + L2 | `AdamDecayConfig::new().with_decay(DecayConfig::coupled(λ)).init()` |
//! | AdamW | `AdamDecayConfig::new().with_decay(DecayConfig::decoupled(λ)).init()` |
//!
//! The inner optimizers are Burn's own [`Sgd`] and [`Adam`] with PyTorch's defaults, which
//! differ from Burn's in two places: Burn's [`MomentumConfig`] damps by 0.1 by default (PyTorch
//! 0), and Burn's Adam and AdamW use `ε = 1e-5` (PyTorch `1e-8`). Term by term:
//!
//! - SGD: `b_1 = g_1`, `b_t = μ·b_{t−1} + (1 − dampening)·g_t`; the step is `b_t`, or
//!   `g_t + μ·b_t` with Nesterov; `w ← w − lr·step`.
//! - Adam: `m_t = β1·m + (1 − β1)·g`, `v_t = β2·v + (1 − β2)·g²` (AMSGrad: `v̂ = max(v̂, v_t)`),
//!   `w ← w − lr·(m_t / (1 − β1^t)) / (√v_t / √(1 − β2^t) + ε)`.
//!
//! where `g` is the gradient after coupled decay, if any.
//!
//! On the flex backend both update each parameter in one fused pass where they can (`fused`, on
//! by default): the same f32 operations in the same order as the tensor ops, so the same bits.

use burn::config::Config;
use burn::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{Adam, AdamConfig, ModuleOptimizer, Sgd, SgdConfig};
use burn::tensor::ElementConversion;

use crate::equilibrium::InnerKind;
use crate::error::{positive, unit_interval};
use crate::fused::{AdamHyper, Fused, SgdMomentum};
use crate::{ConfigError, DecayConfig, WeightDecay};

/// SGD with optional momentum (PyTorch's `torch.optim.SGD`) and weight decay in either mode.
///
/// ```
/// use burn_weight_decay::{DecayConfig, SgdDecayConfig};
/// let sgdw = SgdDecayConfig::new()
///     .with_momentum(0.9)
///     .with_decay(DecayConfig::decoupled(5e-4))
///     .init();
/// # let _ = sgdw;
/// ```
#[derive(Config, Debug)]
pub struct SgdDecayConfig {
    /// Momentum factor `μ` in `[0, 1)`; 0 is plain SGD.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Dampening in `[0, 1)` (PyTorch's default 0; Burn's `MomentumConfig` defaults to 0.1).
    #[config(default = 0.0)]
    pub dampening: f64,
    /// Nesterov momentum.
    #[config(default = false)]
    pub nesterov: bool,
    /// The weight decay.
    #[config(default = "DecayConfig::new()")]
    pub decay: DecayConfig,
    /// Gradient clipping, applied by the [`ModuleOptimizer`] before the step.
    pub grad_clipping: Option<GradientClippingConfig>,
    /// Update each parameter on the flex backend in one fused pass (the default), as
    /// [`AdamDecayConfig::fused`] does; `false` forces Burn's tensor ops everywhere.
    #[config(default = true)]
    pub fused: bool,
}

impl SgdDecayConfig {
    /// Checks momentum and dampening are in `[0, 1)` and the decay settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        unit_interval("momentum", self.momentum)?;
        unit_interval("dampening", self.dampening)?;
        self.decay.validate()
    }

    /// The bare optimizer, for [`ModuleOptimizer::with_group`].
    ///
    /// # Panics
    ///
    /// If [`validate`](Self::validate) fails.
    pub fn build(&self) -> WeightDecay<Sgd> {
        self.try_build()
            .unwrap_or_else(|err| panic!("invalid SgdDecayConfig: {err}"))
    }

    /// Like [`build`](Self::build), returning the validation error instead.
    pub fn try_build(&self) -> Result<WeightDecay<Sgd>, ConfigError> {
        self.validate()?;
        let mut sgd = SgdConfig::new();
        if self.momentum > 0.0 {
            sgd = sgd.with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(self.momentum)
                    .with_dampening(self.dampening)
                    .with_nesterov(self.nesterov),
            ));
        }
        // What Burn's `Momentum::new` keeps: μ as f32, dampening as is.
        let momentum = (self.momentum > 0.0).then(|| SgdMomentum {
            momentum: self.momentum.elem(),
            dampening: self.dampening,
            nesterov: self.nesterov,
        });
        let fused = self.fused.then_some(Fused::Sgd(momentum));
        let kind = InnerKind::Sgd {
            momentum: self.momentum,
        };
        Ok(self
            .decay
            .try_wrap(sgd.build())?
            .with_fused(fused)
            .with_inner_kind(kind))
    }

    /// The whole-module optimizer, with gradient clipping if configured.
    ///
    /// # Panics
    ///
    /// If [`validate`](Self::validate) fails.
    pub fn init(&self) -> ModuleOptimizer {
        with_clipping(self.build().into(), &self.grad_clipping)
    }
}

/// Adam (PyTorch's `torch.optim.Adam`, AMSGrad optional) with weight decay in either mode;
/// decoupled mode is PyTorch's `AdamW`.
///
/// ```
/// use burn_weight_decay::{AdamDecayConfig, DecayConfig};
/// let adamw = AdamDecayConfig::new().with_decay(DecayConfig::decoupled(0.01)).init();
/// # let _ = adamw;
/// ```
#[derive(Config, Debug)]
pub struct AdamDecayConfig {
    /// `β1` in `[0, 1)`.
    #[config(default = 0.9)]
    pub beta_1: f32,
    /// `β2` in `[0, 1)`.
    #[config(default = 0.999)]
    pub beta_2: f32,
    /// `ε > 0` (PyTorch's default `1e-8`; Burn's Adam uses `1e-5`).
    #[config(default = 1e-8)]
    pub epsilon: f32,
    /// AMSGrad: divide by the running maximum of `v`.
    #[config(default = false)]
    pub amsgrad: bool,
    /// The weight decay.
    #[config(default = "DecayConfig::new()")]
    pub decay: DecayConfig,
    /// Gradient clipping, applied by the [`ModuleOptimizer`] before the step.
    pub grad_clipping: Option<GradientClippingConfig>,
    /// Update each parameter on the flex backend in one fused pass (the default): weight,
    /// gradient and moments read once and written once, in place where uniquely owned, over all
    /// cores, with the same f32 results as the tensor ops. Applies without AMSGrad, to non-cautious
    /// decay toward zero, while the [`DecayMonitor`](crate::DecayMonitor) is not armed, and to plain
    /// contiguous f32 flex tensors; everything else goes through Burn's tensor ops, as all of it
    /// does with `false`.
    #[config(default = true)]
    pub fused: bool,
}

impl AdamDecayConfig {
    /// Checks the betas are in `[0, 1)`, `ε > 0` and the decay settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        unit_interval("beta_1", self.beta_1 as f64)?;
        unit_interval("beta_2", self.beta_2 as f64)?;
        positive("epsilon", self.epsilon as f64)?;
        self.decay.validate()
    }

    /// The bare optimizer, for [`ModuleOptimizer::with_group`].
    ///
    /// # Panics
    ///
    /// If [`validate`](Self::validate) fails.
    pub fn build(&self) -> WeightDecay<Adam> {
        self.try_build()
            .unwrap_or_else(|err| panic!("invalid AdamDecayConfig: {err}"))
    }

    /// Like [`build`](Self::build), returning the validation error instead.
    pub fn try_build(&self) -> Result<WeightDecay<Adam>, ConfigError> {
        self.validate()?;
        let adam = AdamConfig::new()
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
            .with_amsgrad(self.amsgrad)
            .build();
        let fused = (self.fused && !self.amsgrad).then_some(Fused::Adam(AdamHyper {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
        }));
        Ok(self
            .decay
            .try_wrap(adam)?
            .with_fused(fused)
            .with_inner_kind(InnerKind::Adam))
    }

    /// The whole-module optimizer, with gradient clipping if configured.
    ///
    /// # Panics
    ///
    /// If [`validate`](Self::validate) fails.
    pub fn init(&self) -> ModuleOptimizer {
        with_clipping(self.build().into(), &self.grad_clipping)
    }
}

fn with_clipping(
    optim: ModuleOptimizer,
    clipping: &Option<GradientClippingConfig>,
) -> ModuleOptimizer {
    match clipping {
        Some(config) => optim.with_grad_clipping(config.init()),
        None => optim,
    }
}
