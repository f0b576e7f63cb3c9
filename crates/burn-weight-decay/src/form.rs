//! How decoupled decay shrinks: subtracting, or dividing (the proximal form).

use serde::{Deserialize, Serialize};

/// The form of decoupled decay's shrink, with `u_t = inner_update(w_t, g_t)` and `f_t = s_t·λ_t`.
///
/// ```text
/// Multiplicative:  w_{t+1} = u_t − f_t·w_t              (toward w₀: u_t − f_t·(w_t − w₀))
/// Proximal:        w_{t+1} = u_t / (1 + f_t)            (toward w₀: (u_t + f_t·w₀) / (1 + f_t))
/// ```
///
/// The proximal form is the proximal step of `f_t/2·‖w − w₀‖²` after the update, Adan's default
/// (Xie et al. 2022, "Adan: Adaptive Nesterov Momentum Algorithm"). It never flips a weight's sign
/// however large `f_t` is, which the multiplicative form does once `f_t ≥ 1` (a large `λ` at a
/// large learning rate), and for small `f_t` the two agree to first order. Coupled L2 has no form:
/// its decay goes through the gradient.
///
/// ```
/// use burn_weight_decay::{DecayConfig, DecayForm};
/// let adan_like = DecayConfig::decoupled(0.02).with_form(DecayForm::Proximal);
/// assert_eq!(adan_like.form.name(), "proximal");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DecayForm {
    /// `u_t − f_t·w_t`: PyTorch's AdamW and SGD, Loshchilov & Hutter. The default.
    #[default]
    Multiplicative,
    /// `u_t / (1 + f_t)`: Adan's proximal decay.
    Proximal,
}

impl DecayForm {
    /// The lower-case name used in files: `multiplicative`, `proximal`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Multiplicative => "multiplicative",
            Self::Proximal => "proximal",
        }
    }
}
