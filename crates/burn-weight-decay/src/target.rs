//! What decay pulls the weights toward: zero, where they started (L2-SP), or a target norm
//! (Weight Norm Control, AdamWN).

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::error::non_negative;

/// The point weight decay pulls each decayed parameter toward.
///
/// ```text
/// Zero:     decoupled  w_{t+1} = inner_update(w_t, g_t) − s_t·λ·w_t
///           coupled    g ← g + λ·w_t
/// Initial:  decoupled  w_{t+1} = inner_update(w_t, g_t) − s_t·λ·(w_t − w₀)
///           coupled    g ← g + λ·(w_t − w₀)
/// Norm(r):  decoupled  w_{t+1} = inner_update(w_t, g_t) − s_t·λ·(1 − r/‖w_t‖)·w_t
///           coupled    g ← g + λ·(1 − r/‖w_t‖)·w_t
/// NormRatio(k):        Norm(r) with r = k·‖w₀‖
/// ```
///
/// `Initial` is L2-SP (Li, Grandvalet & Davoine 2018, "Explicit Inductive Bias for Transfer
/// Learning with Convolutional Networks"): `w₀` is the parameter's value when the optimizer first
/// stepped it, which is the pretrained weight when fine-tuning starts from loaded weights, so the
/// decay keeps the model near where it started instead of shrinking it. The optimizer's state
/// then holds one more tensor per decayed parameter (`w₀`, saved in the record as
/// `decay_reference` beside the inner optimizer's state and loaded with it): a resumed run keeps
/// pulling toward the same `w₀`, not toward the weights it resumed from.
///
/// ```
/// use burn_weight_decay::{DecayConfig, DecayTarget};
/// let l2_sp = DecayConfig::decoupled(0.1).with_toward(DecayTarget::Initial);
/// assert_eq!(l2_sp.toward.name(), "initial");
/// ```
///
/// # Toward a target norm (Weight Norm Control, AdamWN)
///
/// `Norm` and `NormRatio` are the weight norm control of Loshchilov, "Weight Norm Control"
/// (arXiv 2311.11446, 2023), eq. 3, for each decayed parameter tensor on its own: the decoupled
/// step moves `w_t` the fraction `f_t = s_t·λ_t` (the paper's "update rate", scaled like AdamW's
/// decay) of the way from itself toward its own direction rescaled to the target norm `r`,
///
/// ```text
/// w_{t+1} = u_t − f_t·(w_t − r·w_t/‖w_t‖) = u_t − f_t·(1 − r/‖w_t‖)·w_t
/// ```
///
/// so that under pure decay (a zero inner update) the norm follows
/// `‖w_{t+1}‖ = (1 − f_t)·‖w_t‖ + f_t·r`: with a constant `f`,
/// `‖w_t‖ = r + (1 − f)^t·(‖w_0‖ − r)`, the direction unchanged. The paper sets the target by
/// "the ratio between target and initial norms of weights", and notes that it can instead be
/// defined "in absolute/raw values", the ratio being "primarily for practical reasons":
/// `NormRatio(k)` is the ratio `k`, with `‖w₀‖` the norm the tensor had when the
/// optimizer first stepped it (one `k` then serves tensors initialised at different norms);
/// `Norm(r)` is the absolute target. Decoupled weight decay is "a particular case of weight norm
/// control where the target norm of weights is set to 0": `Norm(0.0)` and `NormRatio(0.0)` give
/// `Zero`'s results bit for bit (they do not even measure the norm).
///
/// Choices, and why:
///
/// - **No clamp.** A secondary account of the method writes its decay factor as
///   `max(0, 1 − r/‖w‖)`, which only ever shrinks. The paper does not clamp: its rate "is called
///   update rate and not weight decay because", for a target above the current norm, "the
///   weights should increase"; so here a tensor whose norm is below `r` grows toward it. For
///   `f_t < 1` the multiplier of `w_t`, `1 − f_t + f_t·r/‖w_t‖`, is positive, so the norm never
///   overshoots `r` and no sign flips ([`LargeDecay`](crate::LargeDecay)'s check of `f_t < 1` applies as for `Zero`; the
///   paper's `f_t = 1`, "the norm of weights is immediately updated to its target value", needs
///   `LargeDecay::Allow`).
/// - **`‖w_t‖ = 0`.** An all-zero tensor has no direction to grow along, and the formula divides
///   by zero: such a tensor (or one whose norm is not finite) is decayed as by `Zero`, which
///   leaves zeros at zero. Likewise `NormRatio` of a tensor that started at zero has target 0.
/// - **Per tensor.** The paper's norm is that of "the weights"; Burn's `Optimizer::step` sees one
///   parameter tensor at a time, so each decayed tensor is steered to the target on its own, and
///   parameters not decayed (rank ≤ 1 by default) keep their norm. A different target per tensor
///   needs a [`ParamGroup`](burn::module::ParamGroup) per tensor, or `NormRatio`.
/// - **Coupled mode** is defined, not refused: `g ← g + λ·(1 − r/‖w‖)·w` is the gradient of
///   `λ/2·(‖w‖ − r)²`, as coupled L2 `g + λ·w` is that of `λ/2·‖w‖²`. It is not in the paper
///   (which is about decoupled decay); under plain SGD it gives the decoupled rule's steps, as
///   coupled and decoupled decay toward zero do, and under Adam it is divided by `√v` like any
///   coupled decay.
/// - **Not with [`DecayForm::Proximal`](crate::DecayForm::Proximal)**: the paper gives the
///   multiplicative rule only, so [`DecayConfig::validate`](crate::DecayConfig::validate)
///   refuses the pair (for a target other than 0). [`cautious`](crate::DecayConfig::cautious) decay applies, with the
///   displacement `(1 − r/‖w_t‖)·w_t` (which points inward below the target).
///
/// `‖w_t‖` costs one reduction over the tensor per step (the fused flex kernel still makes the
/// update itself in one pass). `NormRatio` keeps `‖w₀‖` in the state, saved in the record as the
/// scalar `decay_initial_norm`, so a resumed run keeps the same target; `Norm` keeps nothing.
/// The target is constant over the run (the paper also schedules it; a different target per
/// phase needs a new optimizer).
///
/// ```
/// use burn::optim::{Optimizer, SgdConfig};
/// use burn::tensor::{Device, Tensor};
/// use burn_weight_decay::{DecayConfig, DecayTarget};
///
/// let device = Device::default();
/// // AdamWN's rule around plain SGD: s_t·λ = 0.1·2 = 0.2 of the way to norm 1 per step.
/// let optim = DecayConfig::decoupled(2.0)
///     .with_toward(DecayTarget::Norm(1.0))
///     .wrap(SgdConfig::new().build());
/// let mut w = Tensor::<2>::from_floats([[3.0, 4.0]], &device); // ‖w‖ = 5
/// let mut state = None;
/// for _ in 0..3 {
///     (w, state) = optim.step(0.1, w, Tensor::zeros([1, 2], &device), state);
/// }
/// // ‖w_3‖ = 1 + 0.8³·(5 − 1) = 3.048, along the same direction.
/// let v = w.into_data().try_to_vec::<f32>().unwrap();
/// assert!((v[0] - 0.6 * 3.048).abs() < 1e-5 && (v[1] - 0.8 * 3.048).abs() < 1e-5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum DecayTarget {
    /// Toward zero: ordinary weight decay. The default.
    #[default]
    Zero,
    /// Toward the parameter's value when the optimizer first saw it (L2-SP).
    Initial,
    /// Toward the norm `r ≥ 0` for each decayed tensor (Weight Norm Control with an absolute
    /// target). `Norm(0.0)` is `Zero`.
    Norm(f64),
    /// Toward `k·‖w₀‖`, `k ≥ 0` times the norm the tensor had at its first step (Weight Norm
    /// Control's ratio `k_t`). `NormRatio(1.0)` holds each tensor near its initial norm;
    /// `NormRatio(0.0)` is `Zero`.
    NormRatio(f64),
}

impl DecayTarget {
    /// The lower-case name used in files: `zero`, `initial`, `norm`, `norm_ratio`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Initial => "initial",
            Self::Norm(_) => "norm",
            Self::NormRatio(_) => "norm_ratio",
        }
    }

    /// Whether this target steers a norm (`Norm` or `NormRatio` with a value other than 0):
    /// the step then measures `‖w_t‖`. `Norm(0.0)` and `NormRatio(0.0)` are decay toward zero.
    pub fn is_norm(&self) -> bool {
        matches!(self, Self::Norm(v) | Self::NormRatio(v) if *v != 0.0)
    }

    /// Checks a target norm or ratio is finite and `≥ 0`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Zero | Self::Initial => Ok(()),
            Self::Norm(r) => non_negative("target norm", *r),
            Self::NormRatio(k) => non_negative("target norm ratio", *k),
        }
    }
}

/// `1 − r/‖w‖`, the multiple of `w` that decay toward the norm `r` removes where decay toward
/// zero removes `w`; `1` (decay toward zero) when `‖w‖` is 0 or not finite, or `r` is 0.
pub(crate) fn norm_coefficient(norm: f64, target: f64) -> f64 {
    if target == 0.0 || !(norm > 0.0 && norm.is_finite()) {
        1.0
    } else {
        1.0 - target / norm
    }
}
