//! [`DecayConfig`]: which decay, how strong, on which parameters; and [`NonFiniteGrad`].

use burn::config::Config;
use burn::optim::{ModuleOptimizer, Optimizer};
use serde::{Deserialize, Serialize};

use crate::error::{non_negative, positive};
use crate::{
    ConfigError, DecayForm, DecayMode, DecayScale, DecayTarget, RateSchedule, Selection,
    WeightDecay,
};

/// What the wrapper does with a gradient that holds NaN or ±∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NonFiniteGrad {
    /// Leave that parameter's weight *and* optimizer state as they were for this step, and count
    /// the skip in the [`DecayMonitor`](crate::DecayMonitor). Costs one read-back per parameter per step. The default:
    /// a NaN never reaches the weights through this optimizer.
    Skip,
    /// Pass the gradient on unchecked (fastest): NaN and ∞ then reach the weights. Use it when the
    /// training loop already stops on a non-finite loss.
    Propagate,
}

/// What the wrapper does at a step where decoupled decay's multiplicative factor
/// `f_t = s_t·λ_t` reaches 1.
///
/// `w_{t+1} = u_t − f_t·w_t` sets a weight that gets no gradient to `(1 − f_t)·w_t`: at `f_t = 1`
/// every weight is wiped to its update alone, beyond it every weight flips its sign, and beyond
/// `f_t = 2` the weights grow in magnitude each step until they reach ±∞ (`λ = 1e4` at
/// `lr = 1e-2` gives `f_t = 100`). That is never what a `λ` was chosen for, so by default it is an
/// error. The proximal form ([`DecayForm::Proximal`], `u_t/(1 + f_t)`) has no such limit and is
/// never checked; neither is coupled L2, whose decay goes through the inner optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LargeDecay {
    /// Panic at the first such step, with a message naming `f_t`, `s_t`, `λ_t`, the step and
    /// the two ways out (a smaller `λ` or learning rate, or the proximal form). The default.
    /// [`DecayConfig::check_step`] gives the same check as a value, before training.
    Panic,
    /// Apply `u_t − f_t·w_t` as written, whatever `f_t` (as PyTorch and optax do).
    Allow,
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
    /// `s_t` of decoupled decay: the learning rate (default), its schedule alone, or corrected
    /// (`lr_t²/lr_max`, AdamC).
    #[config(default = "DecayScale::LearningRate")]
    pub scale: DecayScale,
    /// How `λ` changes over the steps (constant at `rate` by default); see [`RateSchedule`].
    #[config(default = "RateSchedule::Constant")]
    pub schedule: RateSchedule,
    /// What decay pulls toward: zero (default), the initial weights (L2-SP), or a target norm per
    /// tensor (Weight Norm Control, AdamWN); see [`DecayTarget`].
    #[config(default = "DecayTarget::Zero")]
    pub toward: DecayTarget,
    /// Decoupled decay's form: subtract `s_t·λ·w` (default) or divide by `1 + s_t·λ` (proximal).
    #[config(default = "DecayForm::Multiplicative")]
    pub form: DecayForm,
    /// Also decay parameters of rank ≤ 1 (biases, norm scales and shifts). Off by default, as
    /// fastai v2 (`wd_bn_bias=False`) and timm; fastai v1 and PyTorch's defaults decayed them.
    #[config(default = false)]
    pub decay_rank_le_1: bool,
    /// Cautious weight decay: decay a coordinate only where it agrees in sign with the update
    /// (see [`rule::cautious_mask`](crate::rule::cautious_mask)).
    #[config(default = false)]
    pub cautious: bool,
    /// What to do with a gradient holding NaN or ±∞.
    #[config(default = "NonFiniteGrad::Skip")]
    pub non_finite: NonFiniteGrad,
    /// Stable weight decay (Xie et al., "On the overlooked pitfalls of weight decay and how to
    /// mitigate them", NeurIPS 2023; AdamS): decoupled decay's factor is divided by the square
    /// root of the mean of Adam's bias-corrected second moment `v̂_t`,
    /// `w_{t+1} = u_t − s_t·λ_t/√(mean v̂_t)·w_t`, so that its strength does not drift with the
    /// gradients' scale. The mean is taken **per parameter tensor** (the reference,
    /// zeke-xie/stable-weight-decay-regularization's `AdamS`, takes it over every parameter of
    /// the model): Burn's `Optimizer::step` sees one tensor at a time, and a mean over all of
    /// them would need every tensor's new moments before the first is decayed. For a model of one
    /// tensor the two are the same; the golden cases are such. A tensor whose `v̂` is all zero
    /// (no gradient yet) is not decayed that step (the reference would divide by zero). Needs
    /// the Adam of [`AdamDecayConfig`](crate::AdamDecayConfig) (its `β2` and state) and decoupled
    /// decay; it takes Burn's tensor ops, not the fused kernel.
    #[config(default = false)]
    pub stable: bool,
    /// What to do at a step where decoupled multiplicative decay's `s_t·λ_t ≥ 1` (it would wipe,
    /// flip or blow up the weights): panic (the default) or apply it. See [`LargeDecay`].
    #[config(default = "LargeDecay::Panic")]
    pub large_decay: LargeDecay,
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

    /// Checks every value: `λ` finite and `≥ 0`, `lr_max` finite and `> 0`, the schedule's
    /// values, a target norm or ratio finite and `≥ 0`, that the proximal form is asked of
    /// decoupled decay only and not toward a target norm other than 0, and that stable decay is
    /// decoupled.
    ///
    /// ```
    /// use burn_weight_decay::{DecayConfig, DecayForm, DecayTarget};
    ///
    /// let err = DecayConfig::decoupled(0.1).with_toward(DecayTarget::Norm(-1.0)).validate();
    /// assert!(err.unwrap_err().to_string().contains("target norm"));
    /// let err = DecayConfig::decoupled(0.1)
    ///     .with_toward(DecayTarget::NormRatio(0.5))
    ///     .with_form(DecayForm::Proximal)
    ///     .validate();
    /// assert!(err.unwrap_err().to_string().contains("toward a target norm"));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        non_negative("weight decay rate", self.rate)?;
        if let Some(lr_max) = self.scale.lr_max() {
            positive("decay scale lr_max", lr_max)?;
        }
        self.schedule.validate()?;
        self.toward.validate()?;
        if self.form == DecayForm::Proximal && self.toward.is_norm() {
            return Err(ConfigError::Incompatible {
                setting: "decay form proximal",
                reason: "has no rule toward a target norm (Weight Norm Control defines the \
                         multiplicative one only): use DecayForm::Multiplicative",
            });
        }
        if self.stable && self.mode != DecayMode::Decoupled {
            return Err(ConfigError::Incompatible {
                setting: "stable decay",
                reason: "applies to decoupled decay only (it rescales s_t·λ_t)",
            });
        }
        if self.form == DecayForm::Proximal && self.mode == DecayMode::Coupled {
            return Err(ConfigError::Incompatible {
                setting: "decay form proximal",
                reason: "applies to decoupled decay only (coupled L2 decays through the gradient)",
            });
        }
        Ok(())
    }

    /// Whether a parameter of this rank is decayed at all (the mode is not `None`, some `λ_t` of
    /// the schedule is not zero, and the rank is ≥ 2 or [`decay_rank_le_1`](Self::decay_rank_le_1)
    /// is set).
    pub fn decays_rank(&self, rank: usize) -> bool {
        self.mode != DecayMode::None
            && !self.schedule.is_zero(self.rate)
            && self.selection().includes_rank(rank).unwrap_or(false)
    }

    /// The parameters this config decays, as a [`Selection`]: [`Selection::All`] with
    /// [`decay_rank_le_1`](Self::decay_rank_le_1), [`Selection::RankAtLeast2`] without (whatever
    /// the mode: see [`decays_rank`](Self::decays_rank) for whether anything decays at all).
    pub fn selection(&self) -> Selection {
        if self.decay_rank_le_1 {
            Selection::All
        } else {
            Selection::RankAtLeast2
        }
    }

    /// `λ_t` at step `t` of a parameter: the schedule's value (the constant `rate` by default).
    pub fn rate_at(&self, step: u64) -> f64 {
        self.schedule.at(self.rate, step)
    }

    /// Whether a step at learning rate `lr` and position `step` (a parameter's step count, `0`
    /// first) can be taken: `lr` finite and `≥ 0`, and, for decoupled multiplicative decay with
    /// [`LargeDecay::Panic`], `f_t = s_t·λ_t < 1`. [`WeightDecay`]'s step panics with this error's
    /// message where it fails, before anything is written: a NaN, infinite or negative learning
    /// rate (a broken scheduler, a sign slip) never reaches the weights. Call it yourself to
    /// check a whole schedule before training.
    ///
    /// ```
    /// use burn_weight_decay::{DecayConfig, DecayForm, LargeDecay};
    ///
    /// let adamw = DecayConfig::decoupled(0.1);
    /// assert!(adamw.check_step(1e-3, 0).is_ok());
    /// assert!(adamw.check_step(f64::NAN, 0).is_err());
    /// assert!(adamw.check_step(-1e-3, 0).is_err());
    /// // λ = 1e4 at lr = 1e-2: s_t·λ = 100, every weight would flip and grow.
    /// let err = DecayConfig::decoupled(1e4).check_step(1e-2, 0).unwrap_err();
    /// assert!(err.to_string().contains("s_t·λ_t = 100"));
    /// // The proximal form divides by 1 + s_t·λ instead; or allow it explicitly.
    /// assert!(DecayConfig::decoupled(1e4).with_form(DecayForm::Proximal).check_step(1e-2, 0).is_ok());
    /// assert!(DecayConfig::decoupled(1e4).with_large_decay(LargeDecay::Allow).check_step(1e-2, 0).is_ok());
    /// ```
    pub fn check_step(&self, lr: f64, step: u64) -> Result<(), ConfigError> {
        self.check_lr(lr)?;
        self.check_factor(lr, step)
    }

    /// `lr` finite and `≥ 0`.
    pub(crate) fn check_lr(&self, lr: f64) -> Result<(), ConfigError> {
        non_negative("learning rate", lr)
    }

    /// `s_t·λ_t < 1` where it must be (decoupled, multiplicative, [`LargeDecay::Panic`]).
    pub(crate) fn check_factor(&self, lr: f64, step: u64) -> Result<(), ConfigError> {
        if self.stable {
            // Its s_t depends on the step's second moment: checked in the step.
            return Ok(());
        }
        let (scale, rate) = (self.scale.at(lr), self.rate_at(step));
        self.check_decoupled_factor(scale, rate, step)
    }

    /// `s_t·λ_t < 1` for a step's own `s_t` and `λ_t`, where it must be.
    pub(crate) fn check_decoupled_factor(
        &self,
        scale: f64,
        rate: f64,
        step: u64,
    ) -> Result<(), ConfigError> {
        if self.mode != DecayMode::Decoupled
            || self.form != DecayForm::Multiplicative
            || self.large_decay == LargeDecay::Allow
        {
            return Ok(());
        }
        let factor = scale * rate;
        if factor < 1.0 {
            return Ok(());
        }
        Err(ConfigError::DecayTooLarge {
            factor,
            scale,
            rate,
            step,
        })
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
    ///
    /// [`stable`](Self::stable) decay is an error here: it reads Adam's `β2`, which Burn's
    /// `Adam` keeps private; [`AdamDecayConfig`](crate::AdamDecayConfig) builds it.
    pub fn try_wrap<O: Optimizer>(&self, inner: O) -> Result<WeightDecay<O>, ConfigError> {
        self.validate()?;
        if self.stable {
            return Err(ConfigError::Incompatible {
                setting: "stable decay",
                reason: "needs Adam's second moment and β2: build it with AdamDecayConfig",
            });
        }
        Ok(WeightDecay::new(inner, self.clone()))
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
