//! [`WeightDecay`]: coupled or decoupled decay around any Burn [`Optimizer`].

use burn::config::Config;
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{non_negative, positive};
use crate::fused::Fused;
use crate::{ConfigError, DecayMode, DecayMonitor, DecayScale, rule};

/// What the wrapper does with a gradient that holds NaN or ±∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NonFiniteGrad {
    /// Leave that parameter's weight *and* optimizer state as they were for this step, and count
    /// the skip in the [`DecayMonitor`]. Costs one read-back per parameter per step. The default:
    /// a NaN never reaches the weights through this optimizer.
    Skip,
    /// Pass the gradient on unchecked (fastest): NaN and ∞ then reach the weights. Use it when the
    /// training loop already stops on a non-finite loss.
    Propagate,
}

/// Configuration of [`WeightDecay`]: which decay, how strong, on which parameters.
///
/// ```
/// use burn_weight_decay::{DecayConfig, DecayMode};
/// use burn::optim::{AdamConfig, ModuleOptimizer};
///
/// // AdamW with λ = 0.01 around Burn's own Adam (biases and norm parameters not decayed):
/// let optim: ModuleOptimizer = DecayConfig::decoupled(0.01).init(AdamConfig::new().build());
/// // Adam + coupled L2, decaying every parameter:
/// let config = DecayConfig::coupled(0.01).with_decay_rank_le_1(true);
/// assert_eq!(config.mode, DecayMode::Coupled);
/// # let _ = optim;
/// ```
#[derive(Config, Debug)]
pub struct DecayConfig {
    /// Coupled L2, decoupled, or none.
    #[config(default = "DecayMode::Decoupled")]
    pub mode: DecayMode,
    /// `λ ≥ 0`. Coupled: the gradient gets `λ·w` (the loss `λ/2·Σw²`). Decoupled: each step
    /// removes `s_t·λ·w`. fastai's default is 0.01.
    #[config(default = 0.01)]
    pub rate: f64,
    /// `s_t` of decoupled decay: the learning rate (default) or its schedule alone.
    #[config(default = "DecayScale::LearningRate")]
    pub scale: DecayScale,
    /// Also decay parameters of rank ≤ 1 (biases, norm scales and shifts). Off by default, as
    /// fastai v2 (`wd_bn_bias=False`) and timm; fastai v1 and PyTorch's defaults decayed them.
    #[config(default = false)]
    pub decay_rank_le_1: bool,
    /// Cautious weight decay: decay a coordinate only where it agrees in sign with the update
    /// (see [`rule::cautious_mask`]).
    #[config(default = false)]
    pub cautious: bool,
    /// What to do with a gradient holding NaN or ±∞.
    #[config(default = "NonFiniteGrad::Skip")]
    pub non_finite: NonFiniteGrad,
}

impl DecayConfig {
    /// Coupled L2 with rate `λ`: `g ← g + λ·w`.
    pub fn coupled(rate: f64) -> Self {
        Self::new().with_mode(DecayMode::Coupled).with_rate(rate)
    }

    /// Decoupled decay with rate `λ`: `w ← inner_update(w) − s_t·λ·w`.
    pub fn decoupled(rate: f64) -> Self {
        Self::new().with_mode(DecayMode::Decoupled).with_rate(rate)
    }

    /// No decay at all.
    pub fn none() -> Self {
        Self::new().with_mode(DecayMode::None).with_rate(0.0)
    }

    /// Checks every value: `λ` finite and `≥ 0`, `lr_max` finite and `> 0`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        non_negative("weight decay rate", self.rate)?;
        if let DecayScale::Schedule { lr_max } = self.scale {
            positive("decay scale lr_max", lr_max)?;
        }
        Ok(())
    }

    /// Whether a parameter of this rank is decayed at all.
    pub fn decays_rank(&self, rank: usize) -> bool {
        self.mode != DecayMode::None && self.rate != 0.0 && (rank > 1 || self.decay_rank_le_1)
    }

    /// Wraps `inner` with this decay, for [`ModuleOptimizer::with_group`] or further setup.
    ///
    /// # Panics
    ///
    /// If [`validate`](Self::validate) fails; call it first to get the error as a value.
    pub fn wrap<O: Optimizer>(&self, inner: O) -> WeightDecay<O> {
        self.try_wrap(inner)
            .unwrap_or_else(|err| panic!("invalid DecayConfig: {err}"))
    }

    /// Like [`wrap`](Self::wrap), returning the validation error instead of panicking.
    pub fn try_wrap<O: Optimizer>(&self, inner: O) -> Result<WeightDecay<O>, ConfigError> {
        self.validate()?;
        Ok(WeightDecay {
            inner,
            config: self.clone(),
            monitor: DecayMonitor::default(),
            fused: None,
        })
    }

    /// Wraps `inner` and returns the whole-module optimizer, as Burn's own configs' `init()` do.
    ///
    /// # Panics
    ///
    /// If [`validate`](Self::validate) fails.
    pub fn init<O: Optimizer>(&self, inner: O) -> ModuleOptimizer {
        ModuleOptimizer::from(self.wrap(inner))
    }
}

/// Weight decay around any [`Optimizer`]: itself an [`Optimizer`], so it works with
/// [`ModuleOptimizer`], parameter groups, gradient clipping, learning-rate schedulers, optimizer
/// records and burn-train's `Learner` unchanged.
///
/// Its per-parameter state *is* the inner optimizer's state: records saved with or without the
/// wrapper load into each other, and decay adds no memory.
///
/// Built by [`AdamDecayConfig`](crate::AdamDecayConfig) or [`SgdDecayConfig`](crate::SgdDecayConfig)
/// (with `fused` on, the default), it updates each parameter on the flex backend in one fused
/// pass where it can (see the crate documentation); the results are those of the tensor ops,
/// bit for bit. Wrapping an optimizer with [`DecayConfig::wrap`] always uses tensor ops.
///
/// Which parameters decay: those of rank ≥ 2 by default (see [`DecayConfig::decay_rank_le_1`]);
/// to exclude or override others by path or id, add a group with another config:
///
/// ```
/// use burn::module::ParamGroup;
/// use burn::optim::SgdConfig;
/// use burn_weight_decay::DecayConfig;
///
/// let sgd = SgdConfig::new().build();
/// let optim = DecayConfig::decoupled(0.1)
///     .init(sgd.clone())
///     // the head gets a stronger decay, the embedding none
///     .with_group(ParamGroup::from_predicate("head"), DecayConfig::decoupled(1.0).wrap(sgd.clone()), None)
///     .with_group(ParamGroup::from_predicate("embedding"), DecayConfig::none().wrap(sgd), None);
/// # let _ = optim;
/// ```
#[derive(Clone, Debug)]
pub struct WeightDecay<O> {
    inner: O,
    config: DecayConfig,
    monitor: DecayMonitor,
    /// The inner optimizer's hyper-parameters for the fused kernel, set by this crate's configs.
    fused: Option<Fused>,
}

impl<O: Optimizer> WeightDecay<O> {
    /// Reports to `monitor` (keep a clone of it) instead of the wrapper's own.
    pub fn with_monitor(mut self, monitor: DecayMonitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// The monitor this wrapper reports to.
    pub fn monitor(&self) -> &DecayMonitor {
        &self.monitor
    }

    /// The decay settings.
    pub fn config(&self) -> &DecayConfig {
        &self.config
    }

    /// The wrapped optimizer.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// Enables the fused kernel for `inner`, which `fused` must describe exactly.
    pub(crate) fn with_fused(mut self, fused: Option<Fused>) -> Self {
        self.fused = fused;
        self
    }

    /// One step by the fused flex kernel, or the arguments back for the tensor-op path when it
    /// does not apply: no kernel for this optimizer, an armed monitor (it measures with tensor
    /// ops), cautious decay, or tensors the kernel does not cover.
    #[cfg(feature = "flex")]
    fn try_fused<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<O::State<D>>,
    ) -> crate::fused::Outcome<D, O::State<D>> {
        use crate::fused::{Decay, Outcome::Declined, step};
        let Some(fused) = self.fused else {
            return Declined(tensor, grad, state);
        };
        if self.monitor.is_armed() {
            return Declined(tensor, grad, state);
        }
        let decay = if !self.config.decays_rank(D) {
            Decay::None
        } else if self.config.cautious {
            return Declined(tensor, grad, state);
        } else {
            match self.config.mode {
                DecayMode::None => Decay::None,
                DecayMode::Coupled => Decay::Coupled(self.config.rate),
                DecayMode::Decoupled => {
                    Decay::Decoupled(self.config.scale.at(lr) * self.config.rate)
                }
            }
        };
        let ctx = crate::fused::Context {
            decay,
            skip_non_finite: self.config.non_finite == NonFiniteGrad::Skip,
            monitor: &self.monitor,
            lr,
        };
        step::<O, D>(fused, &ctx, tensor, grad, state)
    }

    fn coupled_rule<const D: usize>(&self, grad: Tensor<D>, tensor: Tensor<D>) -> Tensor<D> {
        if self.config.cautious {
            rule::coupled_cautious(grad, tensor, self.config.rate)
        } else {
            rule::coupled(grad, tensor, self.config.rate)
        }
    }

    fn decoupled_rule<const D: usize>(
        &self,
        updated: Tensor<D>,
        previous: Tensor<D>,
        factor: f64,
    ) -> Tensor<D> {
        if self.config.cautious {
            rule::decoupled_cautious(updated, previous, factor)
        } else {
            rule::decoupled(updated, previous, factor)
        }
    }

    /// Whether `grad` holds a NaN or an infinity. One reduction pass: a NaN or infinite
    /// element makes the sum non-finite, so a finite sum proves every element finite; only a
    /// non-finite sum (which an overflow of large finite values can also give) is confirmed
    /// element by element.
    fn has_non_finite<const D: usize>(grad: &Tensor<D>) -> bool {
        let sum: f64 = grad.clone().sum().into_scalar::<f64>();
        !sum.is_finite() && !grad.clone().is_finite().all().into_scalar::<bool>()
    }

    fn record_removed<const D: usize>(&self, removed: Tensor<D>) {
        if self.monitor.is_armed() {
            let sq: f64 = removed.square().sum().into_scalar::<f64>();
            self.monitor.add_removed_sq(sq);
        }
    }
}

impl<O: Optimizer> Optimizer for WeightDecay<O> {
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        self.monitor.count_update();
        // The fused kernel checks the gradient itself (one read, before any write).
        #[cfg(feature = "flex")]
        let (tensor, grad, state) = match self.try_fused(lr, tensor, grad, state) {
            crate::fused::Outcome::Stepped(tensor, state) => return (tensor, state),
            crate::fused::Outcome::Declined(tensor, grad, state) => (tensor, grad, state),
        };
        if self.config.non_finite == NonFiniteGrad::Skip && Self::has_non_finite(&grad) {
            self.monitor.count_skipped();
            return (tensor, state);
        }
        if !self.config.decays_rank(D) {
            return self.inner.step(lr, tensor, grad, state);
        }
        let rate = self.config.rate;
        match self.config.mode {
            DecayMode::None => self.inner.step(lr, tensor, grad, state),
            DecayMode::Coupled => {
                if self.monitor.is_armed() {
                    let term = self.coupled_rule(grad.clone(), tensor.clone()) - grad.clone();
                    self.record_removed(term.mul_scalar(lr));
                }
                let decayed = self.coupled_rule(grad, tensor.clone());
                self.inner.step(lr, tensor, decayed, state)
            }
            DecayMode::Decoupled => {
                let factor = self.config.scale.at(lr) * rate;
                let (updated, state) = self.inner.step(lr, tensor.clone(), grad, state);
                if self.monitor.is_armed() {
                    let out = self.decoupled_rule(updated.clone(), tensor, factor);
                    self.record_removed(updated - out.clone());
                    (out, state)
                } else {
                    (self.decoupled_rule(updated, tensor, factor), state)
                }
            }
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}
