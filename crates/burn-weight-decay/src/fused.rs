//! The fused single-pass update of [`AdamDecayConfig`](crate::AdamDecayConfig) and
//! [`SgdDecayConfig`](crate::SgdDecayConfig) on the flex backend.
//!
//! Burn's optimizers and this crate's decay rules are sequences of tensor ops, each one pass over
//! memory (about 30 passes for Adam with decay, where 7 must move). The configs attach a [`Fused`]
//! descriptor with the inner optimizer's hyper-parameters to the [`WeightDecay`](crate::WeightDecay)
//! they build; for each parameter on flex that the kernel covers, `WeightDecay::step` then reads
//! the weight, the gradient and the state once and writes the weight and the state once, in place
//! where the buffers are uniquely owned, split over rayon's threads. What the kernel covers is
//! listed once, in the module doc of `flex` (`fused/flex/mod.rs`); everything else takes the
//! tensor-op path unchanged. The kernel repeats Burn's f32 operations in Burn's order, so both
//! paths give the same bits.

/// The inner optimizer of a [`WeightDecay`](crate::WeightDecay) built by this crate's configs, with
/// the hyper-parameters its fused kernel needs (Burn's `Adam` and `Sgd` keep theirs private).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) enum Fused {
    /// Burn's `Adam` without AMSGrad.
    Adam(AdamHyper),
    /// Burn's `Sgd`, with momentum or without.
    Sgd(Option<SgdMomentum>),
}

/// Adam's `β1`, `β2` and `ε`, as Burn's `AdaptiveMomentum` holds them.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) struct AdamHyper {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

/// SGD momentum, as Burn's `Momentum` holds it (`μ` converted to f32, dampening kept in f64).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) struct SgdMomentum {
    pub momentum: f32,
    pub dampening: f64,
    pub nesterov: bool,
}

/// The decay of one parameter at one step, as the wrapper decided it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) enum Decay {
    /// No decay for this parameter.
    None,
    /// Coupled L2 with rate `λ`: `g ← g + λ·w` (toward a target norm `λ·(1 − r/‖w‖)`).
    Coupled(f64),
    /// Decoupled decay with factor `s_t·λ`: `w ← u − s_t·λ·w` (toward a target norm
    /// `s_t·λ·(1 − r/‖w‖)`, which is negative below the target).
    Decoupled(f64),
    /// Proximal decoupled decay with factor `s_t·λ`: `w ← u / (1 + s_t·λ)`.
    Proximal(f64),
}

#[cfg(feature = "flex")]
mod flex;

#[cfg(feature = "flex")]
pub(crate) use flex::{Context, Outcome, step};
