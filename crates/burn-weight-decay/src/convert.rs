//! The same weight decay written in each library's convention.
//!
//! Every library has a number called "weight decay", and they do not all mean the same thing.
//! The functions here turn one into another. Here `λ` is this crate's
//! [`DecayConfig::rate`](crate::DecayConfig::rate) with the default
//! [`DecayScale::LearningRate`](crate::DecayScale::LearningRate), so decoupled decay removes
//! `lr_t·λ·w` per step and coupled L2 adds `λ·w` to the gradient.
//!
//! | library and setting | this crate | formula | functions |
//! | --- | --- | --- | --- |
//! | PyTorch `AdamW(weight_decay=λ)`, optax `adamw(weight_decay=λ)`, fastai `wd=λ` (`decouple_wd=True`, the default; v1's `true_wd`), Keras 3 `AdamW(weight_decay=λ)`: decay scaled by the learning rate | `DecayConfig::decoupled(λ)` | identity | none needed |
//! | PyTorch `SGD(weight_decay=λ)`, `Adam(weight_decay=λ)`, fastai `wd=λ` with `decouple_wd=False`: coupled, `g ← g + λ·w` | `DecayConfig::coupled(λ)` | identity | none needed |
//! | Loshchilov & Hutter's `λ_LH`, multiplied by the schedule `η_t = lr_t / lr_max` only | `DecayConfig::decoupled(λ_LH).with_scale(DecayScale::Schedule { lr_max })` | `λ_LH = λ·lr_max`, `λ = λ_LH / lr_max` | [`to_schedule`], [`from_schedule`] |
//! | the loss term `wd·Σw²` (fastai's article "This thing called weight decay", fastbook); Keras `regularizers.l2(c)`, which adds `c·Σw²` | `DecayConfig::coupled(λ)`, or [`l2_penalty`](crate::l2_penalty)`(wd)` | `λ = 2·wd`, `wd = λ / 2` | [`from_loss_term`], [`to_loss_term`] |
//! | the loss term `λ/2·Σw²` | `DecayConfig::coupled(λ)` | identity | none needed |
//! | PyTorch `SGD(momentum=μ, weight_decay=λ_c)` (coupled, dampening 0): its decoupled equivalent **in steady state** | `SgdDecayConfig::new().with_momentum(μ).with_decay(DecayConfig::decoupled(λ_d))` | `λ_d = λ_c / (1 − μ)`, `λ_c = λ_d·(1 − μ)` | [`coupled_to_decoupled`], [`decoupled_to_coupled`] |
//! | Loshchilov & Hutter's normalized `λ_norm` (appendix), batch `b`, `B` training examples, `T` epochs | `DecayConfig::decoupled(λ_LH).with_scale(DecayScale::Schedule { lr_max })` | `λ_LH = λ_norm·√(b/(B·T))`, `λ_norm = λ_LH / √(b/(B·T))` | [`from_normalized`], [`to_normalized`] |
//! | Wang & Aitchison's EMA timescale, in steps `τ_iter` or epochs `τ_epoch` (learning rate `η`, batch `B`, `N` training examples) | `DecayConfig::decoupled(λ)` | `τ_iter = 1/(η·λ)`, `τ_epoch = τ_iter/(N/B)`; `λ = 1/(η·τ_iter) = B/(η·τ_epoch·N)` | [`timescale_iterations`], [`timescale_epochs`], [`rate_from_timescale_iterations`], [`rate_from_timescale_epochs`], [`timescale_guidance`] |
//!
//! What each library does with its number, from its documentation and source:
//!
//! - PyTorch `torch.optim.AdamW`: `θ ← θ − γ·λ·θ`, then the Adam step, with `γ` the learning
//!   rate; `torch.optim.SGD` and `torch.optim.Adam`: `g ← g + λ·θ`, the step then multiplies by
//!   `γ` (<https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html>,
//!   <https://pytorch.org/docs/stable/generated/torch.optim.SGD.html>).
//! - optax `adamw`: `scale_by_adam`, `add_decayed_weights(weight_decay)`, then the learning rate,
//!   so the update is `−lr·(update + wd·param)`; its docs say the decay "is multiplied with the
//!   learning rate … different from (Loshchilov et al, 2019) where the weight decay is only
//!   multiplied with the 'schedule multiplier'"
//!   (<https://optax.readthedocs.io/en/latest/api/optimizers.html#optax.adamw>).
//! - Keras 3 `AdamW` (its base optimizer's `_apply_weight_decay`):
//!   `variable ← variable − variable·wd·lr` before the Adam step
//!   (<https://keras.io/api/optimizers/adamw/>); `keras.regularizers.L2(l2)` adds
//!   `l2·Σx²` to the loss (<https://keras.io/api/layers/regularizers/>).
//! - fastai's optimizers: `weight_decay` does `p ← p·(1 − lr·wd)`, `l2_reg` does
//!   `g ← g + wd·p`; the 2 of the loss term's gradient is folded into `wd` ("we can just make it
//!   twice as big", fastbook chapter 8). The article's `loss + wd·Σw²` keeps the 2: `λ = 2·wd`.
//! - Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019
//!   (<https://arxiv.org/abs/1711.05101>): AdamW's `θ_t ← θ_{t−1} − η_t·(α·m̂_t/(√v̂_t + ε) +
//!   λ·θ_{t−1})` multiplies `λ` by the schedule multiplier `η_t` but not by the learning rate
//!   `α`; normalized weight decay `λ = λ_norm·√(b/(B·T))` is in its appendix.
//!
//! - Wang & Aitchison, "How to set AdamW's weight decay as you scale model and dataset size",
//!   ICML 2025 (<https://arxiv.org/abs/2405.13698>): with decoupled decay
//!   `w_t = (1 − η·λ)·w_{t−1} − η·u_t` the weights are an exponential moving average of the
//!   updates `−u_t/λ` with timescale `τ_iter = 1/(η·λ)` steps, `τ_epoch = τ_iter/M` epochs for
//!   `M = N/B` steps per epoch. The best `τ_epoch` stays roughly constant as model and data grow,
//!   and their guidance is that it should be neither (much) shorter than one epoch (the average
//!   must cover every example) nor (much) longer than the run (early updates must be forgotten).
//!
//! A `λ` of PyTorch's SGD with momentum is coupled: it converts to a decoupled rate by
//! [`coupled_to_decoupled`] and only then, if wanted, to Loshchilov & Hutter's by [`to_schedule`].
//! Without momentum coupled and decoupled SGD are the same update, and the first row holds for
//! plain `SGD(weight_decay)` too.
//!
//! Every function checks its inputs and returns a [`ConfigError`] naming the bad value (a
//! negative rate, `lr_max ≤ 0`, `μ` outside `[0, 1)`, a batch size of 0…) rather than NaN or ∞.

use crate::error::{non_negative, positive, unit_interval};
use crate::{ConfigError, normalized_rate};

/// PyTorch's/optax's/fastai's/Keras' (this crate's
/// [`DecayScale::LearningRate`](crate::DecayScale::LearningRate)) rate `λ` as
/// Loshchilov & Hutter's schedule-only `λ_LH`, for
/// [`DecayScale::Schedule { lr_max }`](crate::DecayScale::Schedule).
///
/// ```text
/// λ_LH = λ·lr_max
/// ```
///
/// Both remove `lr_t·λ = (lr_t / lr_max)·λ_LH` of the weight at step `t`. Source: optax's `adamw`
/// docs and Loshchilov & Hutter (2019), Algorithm 2, where `λ` is multiplied by `η_t` alone.
///
/// # Errors
///
/// If `rate` is negative or not finite, or `lr_max` is not finite and `> 0`.
///
/// ```
/// use burn_weight_decay::convert::to_schedule;
/// // AdamW(lr=3e-3, weight_decay=0.01) removes 3e-5 of the weight per step at the peak.
/// assert!((to_schedule(0.01, 3e-3).unwrap() - 3e-5).abs() < 1e-18);
/// assert!(to_schedule(0.01, 0.0).is_err());
/// ```
pub fn to_schedule(rate: f64, lr_max: f64) -> Result<f64, ConfigError> {
    non_negative("weight decay rate", rate)?;
    positive("lr_max", lr_max)?;
    finite_rate(rate * lr_max)
}

/// Loshchilov & Hutter's schedule-only `λ_LH` (this crate's
/// [`DecayScale::Schedule { lr_max }`](crate::DecayScale::Schedule)) as the learning-rate-scaled
/// rate of PyTorch, optax, fastai and Keras ([`DecayScale::LearningRate`](crate::DecayScale)).
///
/// ```text
/// λ = λ_LH / lr_max
/// ```
///
/// The inverse of [`to_schedule`]. Source: as there.
///
/// # Errors
///
/// If `rate` is negative or not finite, `lr_max` is not finite and `> 0`, or the quotient
/// overflows.
///
/// ```
/// use burn_weight_decay::convert::from_schedule;
/// // The paper's λ = 3e-5 at a peak learning rate of 3e-3 is PyTorch's weight_decay = 0.01.
/// assert!((from_schedule(3e-5, 3e-3).unwrap() - 0.01).abs() < 1e-15);
/// assert!(from_schedule(3e-5, -1.0).is_err());
/// ```
pub fn from_schedule(rate: f64, lr_max: f64) -> Result<f64, ConfigError> {
    non_negative("weight decay rate", rate)?;
    positive("lr_max", lr_max)?;
    finite_rate(rate / lr_max)
}

/// The coefficient `wd` of a loss term `wd·Σw²` as coupled L2's `λ`
/// ([`DecayConfig::coupled`](crate::DecayConfig::coupled)).
///
/// ```text
/// λ = 2·wd        (∂/∂w wd·Σw² = 2·wd·w)
/// ```
///
/// This is the form of fastai's article ("This thing called weight decay", and fastbook chapter
/// 8: `loss_with_wd = loss + wd * (parameters**2).sum()`) and of Keras'
/// `regularizers.l2(c)`, which adds `c·Σw²` to the loss. [`l2_penalty`](crate::l2_penalty)
/// computes that term. fastai's *library* `wd` already has the 2 folded in: it is `λ` itself.
///
/// # Errors
///
/// If `wd` is negative or not finite.
///
/// ```
/// use burn_weight_decay::convert::from_loss_term;
/// // keras.regularizers.l2(0.01) is coupled L2 with λ = 0.02.
/// assert_eq!(from_loss_term(0.01).unwrap(), 0.02);
/// assert!(from_loss_term(-0.01).is_err());
/// ```
pub fn from_loss_term(wd: f64) -> Result<f64, ConfigError> {
    non_negative("loss-term coefficient wd", wd)?;
    finite_rate(2.0 * wd)
}

/// Coupled L2's `λ` as the coefficient `wd` of the loss term `wd·Σw²`.
///
/// ```text
/// wd = λ / 2
/// ```
///
/// The inverse of [`from_loss_term`] (the loss `λ/2·Σw²` is coupled L2 with `λ` itself). Source:
/// as there.
///
/// # Errors
///
/// If `rate` is negative or not finite.
///
/// ```
/// use burn_weight_decay::convert::to_loss_term;
/// // SGD(weight_decay=5e-4) is the loss term 2.5e-4·Σw², keras.regularizers.l2(2.5e-4).
/// assert_eq!(to_loss_term(5e-4).unwrap(), 2.5e-4);
/// assert!(to_loss_term(f64::NAN).is_err());
/// ```
pub fn to_loss_term(rate: f64) -> Result<f64, ConfigError> {
    non_negative("weight decay rate", rate)?;
    Ok(rate / 2.0)
}

/// Coupled L2's `λ_c` under SGD with momentum `μ` (dampening 0, PyTorch's
/// `SGD(momentum=μ, weight_decay=λ_c)`) as the decoupled rate `λ_d` that decays as much per step
/// **in steady state**.
///
/// ```text
/// b_t = μ·b_{t−1} + g_t + λ_c·w_t,  w_{t+1} = w_t − lr·b_t
/// steady state (w changing slowly): b → (g + λ_c·w) / (1 − μ)
/// ⇒ decay per step lr·λ_c·w / (1 − μ) = lr·λ_d·w  with  λ_d = λ_c / (1 − μ)
/// ```
///
/// The coupled decay term enters the velocity, which sums it over the last `≈ 1/(1 − μ)` steps;
/// decoupled decay (Loshchilov & Hutter's SGDW) skips the velocity. The equivalence is of the
/// steady state, **not step for step**: at the start, after a change of learning rate, or when
/// the weights move fast the two differ, and the decay per step matches only to first order in
/// `lr·λ` (relative error about `μ·lr·λ_c/(1 − μ)²`). Nesterov's step `g + μ·b` has the same
/// steady-state sum `1/(1 − μ)`. It does **not** hold under Adam, where coupled decay is divided
/// by `√v` with the rest of the gradient. Source: PyTorch's `torch.optim.SGD` algorithm, and
/// Loshchilov & Hutter (2019), section 2.
///
/// # Errors
///
/// If `rate` is negative or not finite, or `momentum` is outside `[0, 1)`.
///
/// ```
/// use burn_weight_decay::convert::coupled_to_decoupled;
/// // SGD(momentum=0.9, weight_decay=5e-4) decays in steady state like SGDW with λ = 5e-3.
/// assert!((coupled_to_decoupled(5e-4, 0.9).unwrap() - 5e-3).abs() < 1e-15);
/// assert!(coupled_to_decoupled(5e-4, 1.0).is_err());
/// ```
pub fn coupled_to_decoupled(rate: f64, momentum: f64) -> Result<f64, ConfigError> {
    non_negative("weight decay rate", rate)?;
    unit_interval("momentum", momentum)?;
    finite_rate(rate / (1.0 - momentum))
}

/// The decoupled rate `λ_d` under SGD with momentum `μ` as the coupled L2 `λ_c` (dampening 0)
/// that decays as much per step in steady state.
///
/// ```text
/// λ_c = λ_d·(1 − μ)
/// ```
///
/// The inverse of [`coupled_to_decoupled`], with the same caveats: a steady-state equivalence,
/// not step for step, and none under Adam. Source: as there.
///
/// # Errors
///
/// If `rate` is negative or not finite, or `momentum` is outside `[0, 1)`.
///
/// ```
/// use burn_weight_decay::convert::decoupled_to_coupled;
/// // SGDW with momentum 0.9 and λ = 5e-3 ≈ SGD(momentum=0.9, weight_decay=5e-4).
/// assert!((decoupled_to_coupled(5e-3, 0.9).unwrap() - 5e-4).abs() < 1e-15);
/// assert!(decoupled_to_coupled(5e-3, -0.1).is_err());
/// ```
pub fn decoupled_to_coupled(rate: f64, momentum: f64) -> Result<f64, ConfigError> {
    non_negative("weight decay rate", rate)?;
    unit_interval("momentum", momentum)?;
    Ok(rate * (1.0 - momentum))
}

/// Loshchilov & Hutter's normalized `λ_norm` as their `λ` for `T` epochs over `B` training
/// examples in batches of `b`: [`normalized_rate`] with its inputs checked.
///
/// ```text
/// λ = λ_norm·√(b / (B·T))
/// ```
///
/// The result is the paper's `λ`, multiplied by the schedule alone: use it with
/// [`DecayScale::Schedule { lr_max }`](crate::DecayScale::Schedule), or turn it into the
/// learning-rate-scaled rate with [`from_schedule`]. Source: Loshchilov & Hutter (2019),
/// appendix ("normalized weight decay").
///
/// # Errors
///
/// If `lambda_norm` is negative or not finite, or `batch_size`, `train_size` or `epochs` is 0.
///
/// ```
/// use burn_weight_decay::convert::from_normalized;
/// // λ_norm = 0.05, b = 128, B = 50 000, T = 200: λ = 0.05·√(128/10⁷) = 1.7889e-4.
/// let rate = from_normalized(0.05, 128, 50_000, 200).unwrap();
/// assert!((rate - 1.788_854_381_999_832e-4).abs() < 1e-15);
/// assert!(from_normalized(0.05, 0, 50_000, 200).is_err());
/// ```
pub fn from_normalized(
    lambda_norm: f64,
    batch_size: usize,
    train_size: usize,
    epochs: usize,
) -> Result<f64, ConfigError> {
    non_negative("normalized weight decay", lambda_norm)?;
    unit_normalized(batch_size, train_size, epochs)?;
    finite_rate(normalized_rate(lambda_norm, batch_size, train_size, epochs))
}

/// Loshchilov & Hutter's `λ` as the normalized `λ_norm` that gives it for `T` epochs over `B`
/// training examples in batches of `b`: the inverse of [`from_normalized`].
///
/// ```text
/// λ_norm = λ / √(b / (B·T))
/// ```
///
/// `λ` is the paper's, multiplied by the schedule alone ([`to_schedule`] turns PyTorch's into it).
/// Comparing `λ_norm` across runs of other lengths or batch sizes is what the normalization is
/// for. Source: Loshchilov & Hutter (2019), appendix.
///
/// # Errors
///
/// If `rate` is negative or not finite, `batch_size`, `train_size` or `epochs` is 0, or the
/// quotient overflows.
///
/// ```
/// use burn_weight_decay::convert::to_normalized;
/// // λ = 1e-4 with b = 32, B = 2000, T = 10: λ_norm = 1e-4/√(32/20 000) = 2.5e-3.
/// assert!((to_normalized(1e-4, 32, 2000, 10).unwrap() - 2.5e-3).abs() < 1e-15);
/// assert!(to_normalized(1e-4, 32, 2000, 0).is_err());
/// ```
pub fn to_normalized(
    rate: f64,
    batch_size: usize,
    train_size: usize,
    epochs: usize,
) -> Result<f64, ConfigError> {
    non_negative("weight decay rate", rate)?;
    let unit = unit_normalized(batch_size, train_size, epochs)?;
    finite_rate(rate / unit)
}

/// Wang & Aitchison's EMA timescale of decoupled decay in optimizer steps.
///
/// ```text
/// τ_iter = 1 / (η·λ)
/// ```
///
/// Decoupled decay with the default scale multiplies every weight by `1 − η·λ` per step, so an
/// update made `k` steps ago has a weight of `(1 − η·λ)^k ≈ e^{−k/τ_iter}` in today's weights.
/// `η` is the learning rate that multiplies `λ` (this crate's
/// [`DecayScale::LearningRate`](crate::DecayScale::LearningRate), PyTorch's and optax's AdamW);
/// for a schedule, pass its peak: the timescale is then the shortest the run reaches, and every
/// step below the peak lengthens it. It describes decoupled decay only: coupled L2 under Adam is
/// divided by `√v` and has no such timescale. Source: Wang & Aitchison (ICML 2025,
/// <https://arxiv.org/abs/2405.13698>), section 3.
///
/// # Errors
///
/// If `rate` or `lr` is not finite and `> 0` (no decay has no timescale), or the timescale
/// overflows.
///
/// ```
/// use burn_weight_decay::convert::timescale_iterations;
/// // AdamW(lr=1e-3, weight_decay=0.1): the weights average the last 10 000 steps' updates.
/// assert!((timescale_iterations(0.1, 1e-3).unwrap() - 1e4).abs() < 1e-9);
/// assert!(timescale_iterations(0.0, 1e-3).is_err());
/// ```
pub fn timescale_iterations(rate: f64, lr: f64) -> Result<f64, ConfigError> {
    positive("weight decay rate", rate)?;
    positive("learning rate", lr)?;
    finite_timescale("timescale in steps", 1.0 / (lr * rate))
}

/// Wang & Aitchison's EMA timescale of decoupled decay in epochs of `train_size` examples in
/// batches of `batch_size`.
///
/// ```text
/// τ_epoch = τ_iter / (N/B) = B / (η·λ·N)
/// ```
///
/// `N/B` is the paper's steps per epoch `M`, taken as a real number (a loader that drops the last
/// partial batch makes `⌊N/B⌋` steps; the difference is under one step per epoch). The paper's
/// guidance: `τ_epoch` between about one epoch and the run's length in epochs
/// ([`timescale_guidance`]). `η` is as in [`timescale_iterations`]. Source: Wang & Aitchison
/// (ICML 2025), section 3.
///
/// # Errors
///
/// If `rate` or `lr` is not finite and `> 0`, `batch_size` or `train_size` is 0, or the
/// timescale overflows.
///
/// ```
/// use burn_weight_decay::convert::timescale_epochs;
/// // seedlings' default: peak lr 3e-3, batch 32, 2363 photos; λ = 0.1 averages over 45 epochs.
/// let tau = timescale_epochs(0.1, 3e-3, 32, 2363).unwrap();
/// assert!((tau - 32.0 / (3e-4 * 2363.0)).abs() < 1e-12);
/// assert!((tau - 45.14).abs() < 0.01);
/// ```
pub fn timescale_epochs(
    rate: f64,
    lr: f64,
    batch_size: usize,
    train_size: usize,
) -> Result<f64, ConfigError> {
    let per_epoch = steps_per_epoch(batch_size, train_size)?;
    finite_timescale(
        "timescale in epochs",
        timescale_iterations(rate, lr)? / per_epoch,
    )
}

/// The decoupled `λ` whose EMA timescale at learning rate `η` is `τ_iter` steps: the inverse of
/// [`timescale_iterations`].
///
/// ```text
/// λ = 1 / (η·τ_iter)
/// ```
///
/// Source: Wang & Aitchison (ICML 2025).
///
/// # Errors
///
/// If `tau_iter` or `lr` is not finite and `> 0`, or `λ` overflows.
///
/// ```
/// use burn_weight_decay::convert::rate_from_timescale_iterations;
/// // Average over the last 5000 steps at lr 2e-3: λ = 0.1.
/// assert!((rate_from_timescale_iterations(5000.0, 2e-3).unwrap() - 0.1).abs() < 1e-15);
/// ```
pub fn rate_from_timescale_iterations(tau_iter: f64, lr: f64) -> Result<f64, ConfigError> {
    positive("timescale in steps", tau_iter)?;
    positive("learning rate", lr)?;
    finite_rate(1.0 / (lr * tau_iter))
}

/// The decoupled `λ` whose EMA timescale at learning rate `η` is `τ_epoch` epochs of
/// `train_size` examples in batches of `batch_size`: the inverse of [`timescale_epochs`], and
/// the way the paper suggests setting `λ` as the data set grows (keep `τ_epoch`, recompute `λ`).
///
/// ```text
/// λ = B / (η·τ_epoch·N)
/// ```
///
/// Source: Wang & Aitchison (ICML 2025).
///
/// # Errors
///
/// If `tau_epoch` or `lr` is not finite and `> 0`, `batch_size` or `train_size` is 0, or `λ`
/// overflows.
///
/// ```
/// use burn_weight_decay::convert::rate_from_timescale_epochs;
/// // A 10-epoch timescale at lr 1e-3, batch 128, 50 000 examples: λ = 128/(1e-3·10·50 000).
/// let rate = rate_from_timescale_epochs(10.0, 1e-3, 128, 50_000).unwrap();
/// assert!((rate - 0.256).abs() < 1e-15);
/// // Ten times the data at the same timescale: a tenth of the λ.
/// let more_data = rate_from_timescale_epochs(10.0, 1e-3, 128, 500_000).unwrap();
/// assert!((more_data - 0.0256).abs() < 1e-15);
/// ```
pub fn rate_from_timescale_epochs(
    tau_epoch: f64,
    lr: f64,
    batch_size: usize,
    train_size: usize,
) -> Result<f64, ConfigError> {
    positive("timescale in epochs", tau_epoch)?;
    let per_epoch = steps_per_epoch(batch_size, train_size)?;
    rate_from_timescale_iterations(tau_epoch * per_epoch, lr)
}

/// Where a timescale falls against Wang & Aitchison's guidance for a run of some length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimescaleGuidance {
    /// `τ_epoch < 1`: the average forgets updates before every example has been seen once.
    ShorterThanAnEpoch,
    /// `1 ≤ τ_epoch ≤ epochs`: the band the paper's guidance names.
    WithinTheBand,
    /// `τ_epoch > epochs`: the run ends before the average forgets its start; decay has not yet
    /// set the weights.
    LongerThanTheRun,
}

impl TimescaleGuidance {
    /// The words for a report: `shorter than an epoch`, `within 1 epoch … the run`, `longer than
    /// the run`.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::ShorterThanAnEpoch => "shorter than an epoch",
            Self::WithinTheBand => "within 1 epoch … the run",
            Self::LongerThanTheRun => "longer than the run",
        }
    }
}

/// Where `tau_epoch` falls against the guidance of Wang & Aitchison (ICML 2025): "the EMA
/// timescale should not be (much) smaller than 1 epoch, and … should not be (much) bigger than the
/// total number of training epochs". The band's edges are exactly 1 and `epochs`; how far
/// outside is "much" is the reader's call, so report the ratio next to it.
///
/// ```
/// use burn_weight_decay::convert::{TimescaleGuidance, timescale_guidance};
/// assert_eq!(timescale_guidance(0.45, 32), TimescaleGuidance::ShorterThanAnEpoch);
/// assert_eq!(timescale_guidance(12.0, 32), TimescaleGuidance::WithinTheBand);
/// assert_eq!(timescale_guidance(45.1, 32), TimescaleGuidance::LongerThanTheRun);
/// ```
pub fn timescale_guidance(tau_epoch: f64, epochs: usize) -> TimescaleGuidance {
    if tau_epoch < 1.0 {
        TimescaleGuidance::ShorterThanAnEpoch
    } else if tau_epoch <= epochs as f64 {
        TimescaleGuidance::WithinTheBand
    } else {
        TimescaleGuidance::LongerThanTheRun
    }
}

/// `N/B`, after checking both are `> 0`.
fn steps_per_epoch(batch_size: usize, train_size: usize) -> Result<f64, ConfigError> {
    positive("batch size", batch_size as f64)?;
    positive("training set size", train_size as f64)?;
    Ok(train_size as f64 / batch_size as f64)
}

/// A timescale, or an error if it overflowed to ∞.
fn finite_timescale(name: &'static str, tau: f64) -> Result<f64, ConfigError> {
    positive(name, tau)?;
    Ok(tau)
}

/// `√(b / (B·T))`, the rate that `λ_norm = 1` gives, after checking `b`, `B` and `T` are `> 0`.
fn unit_normalized(
    batch_size: usize,
    train_size: usize,
    epochs: usize,
) -> Result<f64, ConfigError> {
    positive("batch size", batch_size as f64)?;
    positive("training set size", train_size as f64)?;
    positive("epochs", epochs as f64)?;
    Ok(normalized_rate(1.0, batch_size, train_size, epochs))
}

/// A converted rate, or an error if it overflowed to ∞.
fn finite_rate(rate: f64) -> Result<f64, ConfigError> {
    non_negative("converted weight decay rate", rate)?;
    Ok(rate)
}
