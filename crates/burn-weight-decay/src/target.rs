//! What decay pulls the weights toward: zero, or where they started (L2-SP).

use serde::{Deserialize, Serialize};

/// The point weight decay pulls each decayed parameter toward.
///
/// ```text
/// Zero:     decoupled  w_{t+1} = inner_update(w_t, g_t) − s_t·λ·w_t
///           coupled    g ← g + λ·w_t
/// Initial:  decoupled  w_{t+1} = inner_update(w_t, g_t) − s_t·λ·(w_t − w₀)
///           coupled    g ← g + λ·(w_t − w₀)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DecayTarget {
    /// Toward zero: ordinary weight decay. The default.
    #[default]
    Zero,
    /// Toward the parameter's value when the optimizer first saw it (L2-SP).
    Initial,
}

impl DecayTarget {
    /// The lower-case name used in files: `zero`, `initial`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::Initial => "initial",
        }
    }
}
