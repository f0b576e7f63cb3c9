//! [`WeightDecay`]: coupled or decoupled decay around any Burn [`Optimizer`], and its step.

use burn::optim::{AdamState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};

use crate::equilibrium::{self, EquilibriumSample, InnerKind};
use crate::fused::Fused;
use crate::target::norm_coefficient;
use crate::{
    DecayConfig, DecayForm, DecayMode, DecayMonitor, DecayState, DecayTarget, NonFiniteGrad, rule,
};

/// Weight decay around any [`Optimizer`]: itself an [`Optimizer`], so it works with
/// [`ModuleOptimizer`](burn::optim::ModuleOptimizer), parameter groups, gradient clipping, learning-rate schedulers, optimizer
/// records and burn-train's `Learner` unchanged.
///
/// Its per-parameter state is [`DecayState`]: the inner optimizer's state, the parameter's step
/// count (the decay schedule's position), for decay toward the initial weights only `w₀`, and for
/// decay toward a ratio of the initial norm only `‖w₀‖`. Its record is the inner optimizer's
/// record with those entries beside it, so records saved with or without the wrapper load into
/// each other, and decay toward zero adds no memory.
///
/// Built by [`AdamDecayConfig`](crate::AdamDecayConfig) or [`SgdDecayConfig`](crate::SgdDecayConfig)
/// (with `fused` on, the default), it updates each parameter on the flex backend in one fused
/// pass where it can (see the crate documentation); the results are those of the tensor ops,
/// bit for bit. Wrapping an optimizer with [`DecayConfig::wrap`] always uses tensor ops.
///
/// # Panics
///
/// A step panics, before anything is written, when the learning rate is NaN, infinite or
/// negative, and when decoupled multiplicative decay's `s_t·λ_t ≥ 1` under the default
/// [`LargeDecay::Panic`](crate::LargeDecay) — with [`DecayConfig::check_step`]'s message. (A
/// gradient holding NaN or ±∞ is a per-step accident, skipped by default: [`NonFiniteGrad`].
/// A bad learning rate or decay is a setting, wrong at every step: skipping would stall training
/// without a word.)
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
    /// The inner optimizer, where this crate's configs built it: the equilibrium predictions.
    kind: Option<InnerKind>,
    /// Adam's `β2`, for stable decay's bias correction (set by `AdamDecayConfig`).
    stable_beta_2: Option<f64>,
}

impl<O: Optimizer> WeightDecay<O> {
    /// `inner` with the decay of `config`, already validated; no fused kernel.
    pub(crate) fn new(inner: O, config: DecayConfig) -> Self {
        Self {
            inner,
            config,
            monitor: DecayMonitor::default(),
            fused: None,
            kind: None,
            stable_beta_2: None,
        }
    }

    /// Adam's `β2` for [`DecayConfig::stable`]; the inner optimizer must be Burn's `Adam`.
    pub(crate) fn with_stable_beta_2(mut self, beta_2: Option<f64>) -> Self {
        self.stable_beta_2 = beta_2;
        self
    }

    /// Stable decay's `√(mean v̂_t)` of this tensor, from the inner Adam's state after its step:
    /// `v̂_t = v_t/(1 − β2^t)` (AMSGrad's running maximum of `v_t` where Adam keeps one), as the
    /// reference's `AdamS`. `None` when it is zero (no gradient yet).
    fn stable_denominator<const D: usize>(&self, inner: Option<&O::State<D>>) -> Option<f64> {
        let beta_2 = self.stable_beta_2.expect(
            "stable decay is built by AdamDecayConfig only (DecayConfig::try_wrap refuses it)",
        );
        let state = inner
            .and_then(|s| (s as &dyn std::any::Any).downcast_ref::<AdamState<D>>())
            .expect("stable decay's inner optimizer is Burn's Adam");
        let momentum = &state.momentum;
        let v = momentum.max_moment_2.as_ref().unwrap_or(&momentum.moment_2);
        let mean_v: f64 = v.clone().mean().into_scalar::<f64>();
        let mean_v_hat = mean_v / (1.0 - beta_2.powi(momentum.time as i32));
        (mean_v_hat > 0.0).then(|| mean_v_hat.sqrt())
    }

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

    /// Names the inner optimizer, for [`DecayMonitor::take_equilibrium`]'s predictions. The
    /// ready-made configs set it; set it yourself for an optimizer wrapped with
    /// [`DecayConfig::wrap`] whose update behaves like Adam's or SGD's.
    pub fn with_inner_kind(mut self, kind: InnerKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// One step by the fused flex kernel, or the arguments back for the tensor-op path when it
    /// does not apply: no kernel for this optimizer, an armed monitor (it measures with tensor
    /// ops), cautious or stable decay, decay toward a reference, or tensors the kernel does not
    /// cover. Decay toward a target norm is covered: `coefficient`, `1 − r/‖w_t‖` measured by the
    /// step, scales the kernel's decay scalar as it scales the tensor path's.
    #[cfg(feature = "flex")]
    fn try_fused<const D: usize>(
        &self,
        lr: LearningRate,
        rate: f64,
        coefficient: f64,
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
        } else if self.config.cautious
            || self.config.toward == DecayTarget::Initial
            || self.config.stable
        {
            return Declined(tensor, grad, state);
        } else {
            // The same f64 products as the tensor path's, so the same f32 scalars.
            match (self.config.mode, self.config.form) {
                (DecayMode::None, _) => Decay::None,
                (DecayMode::Coupled, _) => Decay::Coupled(rate * coefficient),
                (DecayMode::Decoupled, DecayForm::Multiplicative) => {
                    Decay::Decoupled(self.config.scale.at(lr) * rate * coefficient)
                }
                (DecayMode::Decoupled, DecayForm::Proximal) => {
                    Decay::Proximal(self.config.scale.at(lr) * rate)
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

    /// Coupled L2 on the gradient: `g + λ·d` with `d = w`, `w − w₀` or, toward a target norm,
    /// `(1 − r/‖w‖)·w` (`coefficient` is `1 − r/‖w‖`, 1 otherwise), cautious if asked.
    fn coupled_rule<const D: usize>(
        &self,
        grad: Tensor<D>,
        tensor: Tensor<D>,
        reference: Option<&Tensor<D>>,
        rate: f64,
        coefficient: f64,
    ) -> Tensor<D> {
        let displacement = match reference {
            Some(reference) if self.config.cautious => tensor.sub(reference.clone()),
            Some(reference) => return rule::coupled_toward(grad, tensor, reference.clone(), rate),
            None => tensor,
        };
        let rate = rate * coefficient;
        if !self.config.cautious {
            return rule::coupled(grad, displacement, rate);
        }
        if rate < 0.0 {
            // Below a target norm the term points outward, along −w: mask and add it as such
            // (−w·|λ·c| has the bits of w·(λ·c)).
            rule::coupled_cautious(grad, displacement.neg(), -rate)
        } else {
            rule::coupled_cautious(grad, displacement, rate)
        }
    }

    /// Decoupled decay after the inner update `updated` of `previous`: the configured form,
    /// toward zero, `w₀` or a target norm (`coefficient`, `1 − r/‖w_t‖`, scales the
    /// multiplicative factor; it is 1 otherwise, and the proximal form has no target norm),
    /// cautious if asked.
    fn decoupled_rule<const D: usize>(
        &self,
        updated: Tensor<D>,
        previous: Tensor<D>,
        reference: Option<&Tensor<D>>,
        factor: f64,
        coefficient: f64,
    ) -> Tensor<D> {
        let proximal = self.config.form == DecayForm::Proximal;
        let factor = if proximal {
            factor
        } else {
            factor * coefficient
        };
        let decayed = |updated: Tensor<D>, previous: Tensor<D>| match (proximal, reference) {
            (false, None) => rule::decoupled(updated, previous, factor),
            (false, Some(r)) => rule::decoupled_toward(updated, previous, r.clone(), factor),
            (true, None) => rule::decoupled_proximal(updated, factor),
            (true, Some(r)) => rule::decoupled_proximal_toward(updated, r.clone(), factor),
        };
        if !self.config.cautious {
            return decayed(updated, previous);
        }
        if !proximal && reference.is_none() && factor >= 0.0 {
            return rule::decoupled_cautious(updated, previous, factor);
        }
        let step = previous.clone().sub(updated.clone());
        let displacement = match reference {
            Some(r) => previous.clone().sub(r.clone()),
            // Below a target norm the decay moves w outward: its displacement is −w.
            None if factor < 0.0 => previous.clone().neg(),
            None => previous.clone(),
        };
        let mask = rule::cautious_mask(displacement, step);
        rule::cautious_select(decayed(updated.clone(), previous), updated, mask)
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

    /// The armed monitor's equilibrium sample of one decayed tensor: the angle from `before` to
    /// `after`, and the prediction for decay factor `factor`.
    fn record_equilibrium<const D: usize>(
        &self,
        step: u64,
        lr: f64,
        factor: f64,
        before: &Tensor<D>,
        after: &Tensor<D>,
        grad_sq: Option<f64>,
    ) {
        let delta = after.clone().sub(before.clone());
        let a_sq: f64 = before.clone().square().sum().into_scalar::<f64>();
        let delta_sq: f64 = delta.clone().square().sum().into_scalar::<f64>();
        let a_dot_delta: f64 = before.clone().mul(delta).sum().into_scalar::<f64>();
        let decoupled = self.config.mode == DecayMode::Decoupled;
        let shape = before.dims().to_vec();
        let count = shape.iter().product();
        let norm = (a_sq + 2.0 * a_dot_delta + delta_sq).max(0.0).sqrt();
        let grad_norm = grad_sq.unwrap_or(0.0).sqrt();
        self.monitor.add_equilibrium(EquilibriumSample {
            shape,
            lr,
            factor,
            angle: equilibrium::angle_from_sums(a_sq, delta_sq, a_dot_delta),
            predicted_angle: self
                .kind
                .and_then(|kind| equilibrium::predicted_angle(kind, decoupled, factor)),
            norm,
            predicted_norm: self.kind.and_then(|kind| {
                equilibrium::predicted_norm(kind, decoupled, lr, factor, count, grad_norm)
            }),
            steps_needed: equilibrium::steps_needed(factor),
            step,
        });
    }

    /// Decay toward a target norm (see [`DecayTarget`]): `‖w₀‖` to keep in the state
    /// (`NormRatio`: `kept`, or `‖w_t‖` at the first step) and this step's coefficient
    /// `1 − r/‖w_t‖` of `w_t`. `(None, 1.0)`, without measuring anything, for a parameter that
    /// does not decay, another target, or a target of 0 (decay toward zero).
    fn norm_target<const D: usize>(
        &self,
        decays: bool,
        tensor: &Tensor<D>,
        kept: Option<f64>,
    ) -> (Option<f64>, f64) {
        if !decays || !self.config.toward.is_norm() {
            return (None, 1.0);
        }
        let norm = rule::tensor_norm(tensor);
        match self.config.toward {
            DecayTarget::Norm(target) => (None, norm_coefficient(norm, target)),
            DecayTarget::NormRatio(ratio) => {
                let initial = kept.unwrap_or(norm);
                (Some(initial), norm_coefficient(norm, ratio * initial))
            }
            DecayTarget::Zero | DecayTarget::Initial => unreachable!("is_norm"),
        }
    }

    /// `‖g‖²` for the SGD equilibrium norm, read only on an armed step of an SGD inner optimizer.
    fn grad_sq_if_needed<const D: usize>(&self, grad: &Tensor<D>) -> Option<f64> {
        match self.kind {
            Some(InnerKind::Sgd { .. }) if self.monitor.is_armed() => {
                Some(grad.clone().square().sum().into_scalar::<f64>())
            }
            _ => None,
        }
    }
}

impl<O: Optimizer> Optimizer for WeightDecay<O> {
    type State<const D: usize> = DecayState<O::State<D>, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        self.monitor.count_update();
        if let Err(err) = self.config.check_lr(lr) {
            panic!("{err}");
        }
        let had_state = state.is_some();
        let (inner, t, kept_reference, kept_initial_norm) = match state {
            Some(DecayState {
                inner,
                step,
                reference,
                initial_norm,
            }) => (inner, step, reference, initial_norm),
            None => (None, 0, None, None),
        };
        let decays = self.config.decays_rank(D);
        if decays && let Err(err) = self.config.check_factor(lr, t) {
            panic!("{err}");
        }
        let rate = self.config.rate_at(t);
        // The state as it came, for a skipped step.
        let unchanged = |inner, reference| {
            had_state.then_some(DecayState {
                inner,
                step: t,
                reference,
                initial_norm: kept_initial_norm,
            })
        };
        // w₀ is the weight this parameter first stepped from (or the one its record holds).
        let reference = match self.config.toward {
            DecayTarget::Initial if decays => {
                kept_reference.clone().or_else(|| Some(tensor.clone()))
            }
            _ => None,
        };
        // ‖w₀‖ to keep and this step's 1 − r/‖w_t‖, toward a target norm.
        let (initial_norm, coefficient) = self.norm_target(decays, &tensor, kept_initial_norm);
        let next = |inner, reference| {
            Some(DecayState {
                inner,
                step: t + 1,
                reference,
                initial_norm,
            })
        };
        // The fused kernel checks the gradient itself (one read, before any write).
        #[cfg(feature = "flex")]
        let (tensor, grad, inner) = match self.try_fused(lr, rate, coefficient, tensor, grad, inner)
        {
            crate::fused::Outcome::Stepped(tensor, inner) => {
                return (tensor, next(inner, reference));
            }
            crate::fused::Outcome::Skipped(tensor, inner) => {
                return (tensor, unchanged(inner, kept_reference));
            }
            crate::fused::Outcome::Declined(tensor, grad, inner) => (tensor, grad, inner),
        };
        if self.config.non_finite == NonFiniteGrad::Skip && Self::has_non_finite(&grad) {
            self.monitor.count_skipped();
            return (tensor, unchanged(inner, kept_reference));
        }
        if !decays || self.config.mode == DecayMode::None {
            let (tensor, inner) = self.inner.step(lr, tensor, grad, inner);
            return (tensor, next(inner, reference));
        }
        let armed = self.monitor.is_armed();
        let grad_sq = self.grad_sq_if_needed(&grad);
        match self.config.mode {
            DecayMode::None => unreachable!("handled above"),
            DecayMode::Coupled => {
                let decayed = self.coupled_rule(
                    grad.clone(),
                    tensor.clone(),
                    reference.as_ref(),
                    rate,
                    coefficient,
                );
                if armed {
                    self.record_removed((decayed.clone() - grad).mul_scalar(lr));
                }
                let (out, inner) = self.inner.step(lr, tensor.clone(), decayed, inner);
                if armed {
                    self.record_equilibrium(t, lr, lr * rate, &tensor, &out, grad_sq);
                }
                (out, next(inner, reference))
            }
            DecayMode::Decoupled => {
                let mut factor = self.config.scale.at(lr) * rate;
                let (updated, inner) = self.inner.step(lr, tensor.clone(), grad, inner);
                if self.config.stable {
                    let scale = match self.stable_denominator(inner.as_ref()) {
                        Some(root) => self.config.scale.at(lr) / root,
                        None => 0.0,
                    };
                    factor = scale * rate;
                    if let Err(err) = self.config.check_decoupled_factor(scale, rate, t) {
                        panic!("{err}");
                    }
                }
                let out = self.decoupled_rule(
                    updated.clone(),
                    tensor.clone(),
                    reference.as_ref(),
                    factor,
                    coefficient,
                );
                if armed {
                    self.record_removed(updated - out.clone());
                    self.record_equilibrium(t, lr, factor, &tensor, &out, grad_sq);
                }
                (out, next(inner, reference))
            }
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        DecayState {
            inner: state.inner.map(|inner| O::to_device(inner, device)),
            step: state.step,
            reference: state.reference.map(|r| r.to_device(device)),
            initial_norm: state.initial_norm,
        }
    }
}
