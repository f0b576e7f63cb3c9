//! Ready-made SGD and Adam with either decay mode, following PyTorch's update formulas.
//!
//! | what | one line | PyTorch |
//! | --- | --- | --- |
//! | AdamW | `AdamDecayConfig::adamw(λ).init()` | `torch.optim.AdamW(weight_decay=λ)` |
//! | Adam + L2 | `AdamDecayConfig::adam_l2(λ).init()` | `torch.optim.Adam(weight_decay=λ)` |
//! | Adam | `AdamDecayConfig::adam().init()` | `torch.optim.Adam()` |
//! | SGDW | `SgdDecayConfig::sgdw(λ).init()` | — (Loshchilov & Hutter) |
//! | SGD + L2 | `SgdDecayConfig::sgd_l2(λ).init()` | `torch.optim.SGD(weight_decay=λ)` |
//! | SGD | `SgdDecayConfig::sgd().init()` | `torch.optim.SGD()` |
//!
//! Momentum, betas and the rest are set on top: `SgdDecayConfig::sgdw(5e-4).with_momentum(0.9)`.
//! **`new()` decays**: `AdamDecayConfig::new()` is `adamw(0.01)` (as `torch.optim.AdamW()`, whose
//! default `weight_decay` is 0.01) and `SgdDecayConfig::new()` is `sgdw(0.01)` — not
//! `torch.optim.Adam()` / `SGD()`, which do not decay; those are [`AdamDecayConfig::adam`] and
//! [`SgdDecayConfig::sgd`]. Unlike PyTorch, biases and other parameters of rank ≤ 1 are not
//! decayed unless [`DecayConfig::decay_rank_le_1`] is set.
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

/// `new()` is SGDW, decoupled decay with λ = 0.01 and no momentum; plain SGD, as
/// `torch.optim.SGD()`, is [`sgd()`](Self::sgd).
///
/// SGD with optional momentum (PyTorch's `torch.optim.SGD` formulas and defaults: no momentum,
/// dampening 0) and weight decay in either mode, named by [`sgdw`](Self::sgdw),
/// [`sgd_l2`](Self::sgd_l2) and [`sgd`](Self::sgd). Without momentum coupled and decoupled decay
/// are the same update; with momentum they differ.
///
/// ```
/// use burn_weight_decay::SgdDecayConfig;
/// let sgdw = SgdDecayConfig::sgdw(5e-4).with_momentum(0.9).init();
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
    /// SGDW (Loshchilov & Hutter): SGD, then `w ← w − lr·λ·w`, decoupled from the gradient.
    ///
    /// `torch.optim` has no SGDW; without momentum it is the same update as
    /// `torch.optim.SGD(weight_decay=λ)` ([`sgd_l2`](Self::sgd_l2)), with momentum
    /// (`.with_momentum(0.9)`) it is not. `SgdDecayConfig::new()` is `sgdw(0.01)`.
    ///
    /// ```
    /// use burn_weight_decay::{DecayMode, SgdDecayConfig};
    /// let config = SgdDecayConfig::sgdw(5e-4).with_momentum(0.9);
    /// assert_eq!(config.decay.mode, DecayMode::Decoupled);
    /// assert_eq!(config.decay.rate, 5e-4);
    /// let optim = config.init();
    /// # let _ = optim;
    /// ```
    pub fn sgdw(rate: f64) -> Self {
        Self::new().with_decay(DecayConfig::decoupled(rate))
    }

    /// SGD + coupled L2: `g ← g + λ·w`, then SGD, as `torch.optim.SGD(weight_decay=λ)`.
    ///
    /// The same as adding `λ/2·Σw²` to the loss (or [`l2_penalty`](crate::l2_penalty) with
    /// `wd = λ/2`) and training with [`sgd()`](Self::sgd).
    ///
    /// ```
    /// use burn_weight_decay::{DecayMode, SgdDecayConfig};
    /// let config = SgdDecayConfig::sgd_l2(5e-4).with_momentum(0.9);
    /// assert_eq!(config.decay.mode, DecayMode::Coupled);
    /// assert_eq!(config.decay.rate, 5e-4);
    /// let optim = config.init();
    /// # let _ = optim;
    /// ```
    pub fn sgd_l2(rate: f64) -> Self {
        Self::new().with_decay(DecayConfig::coupled(rate))
    }

    /// Plain SGD without weight decay, as `torch.optim.SGD()`: the wrapper is Burn's
    /// [`Sgd`] and nothing else.
    ///
    /// ```
    /// use burn_weight_decay::{DecayMode, SgdDecayConfig};
    /// let config = SgdDecayConfig::sgd();
    /// assert_eq!(config.decay.mode, DecayMode::None);
    /// assert_eq!(config.decay.rate, 0.0);
    /// let optim = config.init();
    /// # let _ = optim;
    /// ```
    pub fn sgd() -> Self {
        Self::new().with_decay(DecayConfig::none())
    }

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

/// `new()` is AdamW with λ = 0.01, like `torch.optim.AdamW()`; plain Adam, as
/// `torch.optim.Adam()`, is [`adam()`](Self::adam), and Adam + L2 is [`adam_l2`](Self::adam_l2).
///
/// Adam with PyTorch's formulas and defaults (β 0.9/0.999, ε 1e-8; AMSGrad optional) and weight
/// decay in either mode: decoupled is PyTorch's `AdamW` ([`adamw`](Self::adamw)), coupled is
/// `torch.optim.Adam(weight_decay=λ)` ([`adam_l2`](Self::adam_l2)).
///
/// ```
/// use burn_weight_decay::AdamDecayConfig;
/// let adamw = AdamDecayConfig::adamw(0.01).init();
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
    /// cores, with the same f32 results as the tensor ops. What it covers is listed in the module
    /// doc of `src/fused/flex/mod.rs`; everything else goes through Burn's tensor ops, as all of
    /// it does with `false`.
    #[config(default = true)]
    pub fused: bool,
}

impl AdamDecayConfig {
    /// AdamW (Loshchilov & Hutter): `w ← w − lr·λ·w`, then Adam's update, as
    /// `torch.optim.AdamW(weight_decay=λ)`. `AdamDecayConfig::new()` is `adamw(0.01)`.
    ///
    /// ```
    /// use burn_weight_decay::{AdamDecayConfig, DecayMode};
    /// let config = AdamDecayConfig::adamw(0.1);
    /// assert_eq!(config.decay.mode, DecayMode::Decoupled);
    /// assert_eq!(config.decay.rate, 0.1);
    /// let optim = config.init();
    /// # let _ = optim;
    /// ```
    pub fn adamw(rate: f64) -> Self {
        Self::new().with_decay(DecayConfig::decoupled(rate))
    }

    /// Adam + coupled L2: `g ← g + λ·w`, then Adam, as `torch.optim.Adam(weight_decay=λ)`.
    ///
    /// The decay term is divided by `√v` with the rest of the gradient. The same as adding
    /// `λ/2·Σw²` to the loss (or [`l2_penalty`](crate::l2_penalty) with `wd = λ/2`) and training
    /// with [`adam()`](Self::adam) — not with `new()`, which decays a second time.
    ///
    /// ```
    /// use burn_weight_decay::{AdamDecayConfig, DecayMode};
    /// let config = AdamDecayConfig::adam_l2(1e-4);
    /// assert_eq!(config.decay.mode, DecayMode::Coupled);
    /// assert_eq!(config.decay.rate, 1e-4);
    /// let optim = config.init();
    /// # let _ = optim;
    /// ```
    pub fn adam_l2(rate: f64) -> Self {
        Self::new().with_decay(DecayConfig::coupled(rate))
    }

    /// Plain Adam without weight decay, as `torch.optim.Adam()`: Burn's [`Adam`] with ε = 1e-8.
    ///
    /// ```
    /// use burn_weight_decay::{AdamDecayConfig, DecayMode};
    /// let config = AdamDecayConfig::adam();
    /// assert_eq!(config.decay.mode, DecayMode::None);
    /// assert_eq!(config.decay.rate, 0.0);
    /// let optim = config.init();
    /// # let _ = optim;
    /// ```
    pub fn adam() -> Self {
        Self::new().with_decay(DecayConfig::none())
    }

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
        // Not `try_wrap`: stable decay is allowed here, where β2 is known.
        let stable_beta_2 = self.decay.stable.then_some(self.beta_2 as f64);
        let fused = fused.filter(|_| !self.decay.stable);
        Ok(WeightDecay::new(adam, self.decay.clone())
            .with_fused(fused)
            .with_stable_beta_2(stable_beta_2)
            .with_inner_kind(InnerKind::Adam {
                beta_1: self.beta_1 as f64,
            }))
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
