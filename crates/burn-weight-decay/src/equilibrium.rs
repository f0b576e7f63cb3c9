//! Rotational equilibrium: how far each step turns a weight tensor, against what weight decay
//! predicts (Kosson, Messmer & Jaggi 2024, "Rotational Equilibrium: How Weight Decay Balances
//! Learning Across Neural Networks", ICML).
//!
//! Under decay, a weight tensor's norm settles where the growth from its updates balances the
//! shrink from decay; from then on every step turns it by the same expected angle, whatever its
//! gradient's size. With `f = s_t·λ_t` the fraction decay removes per step, `η` the learning
//! rate, `C` the tensor's element count and `α` SGD's momentum, the paper's random-walk model
//! gives (Table 1 there):
//!
//! ```text
//! AdamW, β1:        angle  √(2·f·(1 − β1)/(1 + β1))     norm  η·√(C / (2·f))
//! SGD + L2, α:      angle  √(2·f / (1 + α))             norm  (η²·‖g‖² / (2·f·(1 − α)))^¼
//! SGDW, α:          as SGD + L2 with f·(1 − α)          (the coupled rate that decays as much)
//! Adam + L2:        no equilibrium of this form (its decay is divided by √v)
//! steps to reach:   about 1/f                           (the squared norm's deviation
//!                                                        shrinks by (1 − f)² per step)
//! ```
//!
//! For AdamW `f = η·λ`, so the angle is `√(2·η·λ·(1 − β1)/(1 + β1))` and the norm
//! `√(η·C/(2·λ))`, the paper's form: momentum averages the random-walk updates, so each step is
//! `√((1 − β1)/(1 + β1))` of `η·√C` long (0.23 at β1 = 0.9) while the norm is set by the
//! undamped balance (the authors' reference code, `adamw_etar_func`, has the same factor).
//! A run that took far fewer than `1/f` steps never reached equilibrium: its weights are still
//! near their initial norm and decay has not yet set its effective learning rate. Over a
//! schedule, [`progress`] sums `f_t`: steps run ÷ steps needed.
//!
//! [`DecayMonitor`](crate::DecayMonitor) measures one [`EquilibriumSample`] per decayed tensor
//! on each armed step; arm it for a few steps per epoch.

/// One decayed weight tensor at one measured step.
#[derive(Debug, Clone, PartialEq)]
pub struct EquilibriumSample {
    /// The tensor's shape.
    pub shape: Vec<usize>,
    /// The learning rate of the step.
    pub lr: f64,
    /// `f`: the fraction of the weight decay removes per step at equilibrium (`s_t·λ_t`, or
    /// `η·λ_t` for coupled L2).
    pub factor: f64,
    /// The measured angle between `w_t` and `w_{t+1}`, in radians.
    pub angle: f64,
    /// The predicted equilibrium angle, where the inner optimizer has one ([`predicted_angle`]).
    pub predicted_angle: Option<f64>,
    /// `‖w_{t+1}‖₂`.
    pub norm: f64,
    /// The predicted equilibrium norm ([`predicted_norm`]).
    pub predicted_norm: Option<f64>,
    /// About how many steps equilibrium takes to reach at this rate, `1/f`.
    pub steps_needed: Option<f64>,
    /// The parameter's step count `t` at this step (0 for its first): the samples of one
    /// optimizer step share it, which groups samples into steps when several were measured.
    pub step: u64,
}

impl EquilibriumSample {
    /// `angle / predicted_angle`: 1 at equilibrium, above it while the weight is small for its
    /// decay, below it while it is still large (early in training with a small `λ`).
    pub fn angle_ratio(&self) -> Option<f64> {
        self.predicted_angle
            .filter(|p| *p > 0.0)
            .map(|p| self.angle / p)
    }
}

/// The optimizer whose equilibrium is predicted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InnerKind {
    /// Adam (AdamW when decoupled) with first-moment factor `β1`.
    Adam {
        /// `β1`.
        beta_1: f64,
    },
    /// SGD with momentum `α` (0 for plain SGD).
    Sgd {
        /// The momentum factor.
        momentum: f64,
    },
}

/// The predicted equilibrium angle per step, for decay factor `f` (see the module doc); `None`
/// for Adam + coupled L2, which has none of this form.
///
/// ```
/// use burn_weight_decay::equilibrium::{predicted_angle, InnerKind};
/// // AdamW at lr 1e-3, λ 0.1, β1 0: √(2·1e-4)
/// let a = predicted_angle(InnerKind::Adam { beta_1: 0.0 }, true, 1e-4).unwrap();
/// assert!((a - 0.0141421356).abs() < 1e-9);
/// // β1 = 0.9: √(2·1e-4·0.1/1.9)
/// let a = predicted_angle(InnerKind::Adam { beta_1: 0.9 }, true, 1e-4).unwrap();
/// assert!((a - (2e-5f64 / 1.9).sqrt()).abs() < 1e-15);
/// assert_eq!(predicted_angle(InnerKind::Adam { beta_1: 0.9 }, false, 1e-4), None);
/// // SGD + L2 with momentum 0.9: √(2f/1.9)
/// let s = predicted_angle(InnerKind::Sgd { momentum: 0.9 }, false, 1e-4).unwrap();
/// assert!((s - (2e-4f64 / 1.9).sqrt()).abs() < 1e-15);
/// ```
pub fn predicted_angle(kind: InnerKind, decoupled: bool, factor: f64) -> Option<f64> {
    match kind {
        InnerKind::Adam { beta_1 } if decoupled => {
            Some((2.0 * factor * (1.0 - beta_1) / (1.0 + beta_1)).sqrt())
        }
        InnerKind::Adam { .. } => None,
        InnerKind::Sgd { momentum } => {
            let f = coupled_equivalent(factor, momentum, decoupled);
            Some((2.0 * f / (1.0 + momentum)).sqrt())
        }
    }
}

/// The predicted equilibrium norm of a tensor of `count` elements at learning rate `lr`, decay
/// factor `f`, and (for SGD) gradient norm `grad_norm` (see the module doc).
///
/// ```
/// use burn_weight_decay::equilibrium::{predicted_norm, InnerKind};
/// // AdamW at lr 1e-3, λ 0.1 (f = 1e-4) on 1000 elements: √(1e-3·1000/0.2)
/// let n = predicted_norm(InnerKind::Adam { beta_1: 0.9 }, true, 1e-3, 1e-4, 1000, 0.0).unwrap();
/// assert!((n - 5f64.sqrt()).abs() < 1e-12);
/// ```
pub fn predicted_norm(
    kind: InnerKind,
    decoupled: bool,
    lr: f64,
    factor: f64,
    count: usize,
    grad_norm: f64,
) -> Option<f64> {
    if factor <= 0.0 {
        return None;
    }
    match kind {
        InnerKind::Adam { .. } if decoupled => Some(lr * (count as f64 / (2.0 * factor)).sqrt()),
        InnerKind::Adam { .. } => None,
        InnerKind::Sgd { momentum } => {
            let f = coupled_equivalent(factor, momentum, decoupled);
            Some((lr * lr * grad_norm * grad_norm / (2.0 * f * (1.0 - momentum))).powf(0.25))
        }
    }
}

/// About how many steps equilibrium takes to reach at decay factor `f`: `1/f`.
///
/// ```
/// assert_eq!(burn_weight_decay::equilibrium::steps_needed(1e-4), Some(10_000.0));
/// assert_eq!(burn_weight_decay::equilibrium::steps_needed(0.0), None);
/// ```
pub fn steps_needed(factor: f64) -> Option<f64> {
    (factor > 0.0).then(|| 1.0 / factor)
}

/// Steps run ÷ steps needed over a schedule of decay factors `f_t`: `Σ_t f_t`. Below 1 the run
/// ended before its weights reached equilibrium; several times 1, it spent most of its steps
/// there.
///
/// ```
/// let p = burn_weight_decay::equilibrium::progress([1e-4; 5000].into_iter());
/// assert!((p - 0.5).abs() < 1e-9);
/// ```
pub fn progress(factors: impl Iterator<Item = f64>) -> f64 {
    factors.filter(|f| f.is_finite() && *f > 0.0).sum()
}

/// The angle between `a` and `b = a + Δ` from `‖a‖²`, `‖Δ‖²` and `a·Δ`, accurate for the tiny
/// angles of one step (no `acos` of a cosine near 1): `tan θ = |a × Δ| / (‖a‖² + a·Δ)` with
/// `|a × Δ|² = ‖a‖²‖Δ‖² − (a·Δ)²`.
///
/// ```
/// use burn_weight_decay::equilibrium::angle_from_sums;
/// // a = (1, 0), Δ = (−1, 1): b = (0, 1), a right angle.
/// let theta = angle_from_sums(1.0, 2.0, -1.0);
/// assert!((theta - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
/// ```
pub fn angle_from_sums(a_sq: f64, delta_sq: f64, a_dot_delta: f64) -> f64 {
    let cross_sq = (a_sq * delta_sq - a_dot_delta * a_dot_delta).max(0.0);
    cross_sq.sqrt().atan2(a_sq + a_dot_delta)
}

/// For SGD, the coupled factor that decays as much as decoupled factor `f` with momentum `α`:
/// the velocity sums coupled decay over `1/(1 − α)` steps, so `f·(1 − α)`.
fn coupled_equivalent(factor: f64, momentum: f64, decoupled: bool) -> f64 {
    if decoupled {
        factor * (1.0 - momentum)
    } else {
        factor
    }
}
