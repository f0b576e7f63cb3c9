//! [`Selection`]: which parameters decay applies to, for the optimizer and the diagnostics alike.

use burn::module::{ParamGroup, ParamId};
use serde::{Deserialize, Serialize};

/// Which parameters weight decay applies to, and which the diagnostics
/// ([`l2_penalty_of`](crate::l2_penalty_of), [`weight_norm_of`](crate::weight_norm_of)) measure.
///
/// The optimizer wrapper selects by rank ([`DecayConfig::selection`](crate::DecayConfig::selection)
/// gives its choice); a [`ParamGroup`] choice is made in the optimizer with
/// `ModuleOptimizer::with_group`, and in the diagnostics with [`Selection::Group`].
///
/// ```
/// use burn::module::ParamGroup;
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_weight_decay::{Selection, weight_norm_of};
///
/// let linear = LinearConfig::new(3, 2).init(&Device::default());
/// let w = linear.weight.val();
/// let weight_only = weight_norm_of(&linear, &Selection::RankAtLeast2);
/// assert!((weight_only - w.square().sum().into_scalar::<f64>().sqrt()).abs() < 1e-6);
/// let all = weight_norm_of(&linear, &Selection::All);
/// let bias = weight_norm_of(&linear, &Selection::Group(ParamGroup::from_path("bias")));
/// assert!((all * all - weight_only * weight_only - bias * bias).abs() < 1e-5);
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub enum Selection {
    /// Parameters of rank ≥ 2: the weights of linear and conv layers, not biases or norm scales
    /// and shifts (fastai v2, timm). The default.
    #[default]
    RankAtLeast2,
    /// Every float parameter, whatever its rank (PyTorch's and fastai v1's default).
    All,
    /// The parameters of a Burn [`ParamGroup`] (by path, path predicate or id), whatever their
    /// rank.
    Group(ParamGroup),
    /// No parameter.
    Nothing,
}

impl Selection {
    /// Whether the parameter `id` at `path` (dot-separated, as `ModuleOptimizer` names it) with
    /// rank `rank` is selected.
    pub fn includes(&self, rank: usize, id: &ParamId, path: Option<&str>) -> bool {
        match self {
            Self::RankAtLeast2 => rank >= 2,
            Self::All => true,
            Self::Group(group) => group.matches(id, path),
            Self::Nothing => false,
        }
    }

    /// Whether a parameter of rank `rank` is selected, for the choices that go by rank alone
    /// (`Group` is decided by path and id: `None`).
    pub fn includes_rank(&self, rank: usize) -> Option<bool> {
        match self {
            Self::RankAtLeast2 => Some(rank >= 2),
            Self::All => Some(true),
            Self::Nothing => Some(false),
            Self::Group(_) => None,
        }
    }
}
