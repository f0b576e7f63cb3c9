//! The article's loss-term form `wd·Σw²`, and weight-norm diagnostics.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::DecayConfig;

/// The loss term `wd·Σw²` over exactly the parameters `config` decays (by rank; the mode and
/// rate of `config` are ignored, only its [`decays_rank`](DecayConfig::decays_rank) choice with
/// `rate > 0` counts).
///
/// This is the form of fastai's article ("This thing called weight decay"): `loss + wd·Σw²`. Its
/// gradient is `2·wd·w`, so **adding it to the loss equals coupled L2 with `λ = 2·wd`**
/// ([`DecayConfig::coupled`]`(2.0 * wd)`), and `λ/2·Σw²` equals coupled L2 with `λ`. The result is
/// tracked by autodiff when the module is. Returns `None` when no parameter is decayed.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_weight_decay::{l2_penalty, DecayConfig};
///
/// let linear = LinearConfig::new(2, 2).init(&Device::default());
/// let penalty = l2_penalty(&linear, 0.1, &DecayConfig::coupled(0.2)).unwrap();
/// let w = linear.weight.val();
/// let expected = w.clone().mul(w).sum().mul_scalar(0.1);
/// assert_eq!(penalty.into_scalar::<f32>(), expected.into_scalar::<f32>());
/// ```
pub fn l2_penalty<M: Module>(module: &M, wd: f64, config: &DecayConfig) -> Option<Tensor<1>> {
    let selection = config.clone().with_rate(1.0);
    let mut visitor = SumOfSquares {
        selection,
        total: None,
    };
    module.visit(&mut visitor);
    visitor.total.map(|total| total.mul_scalar(wd))
}

/// `‖w‖₂` over the parameters `config` decays, read back as a number: one pass over the weights,
/// cheap enough to log every epoch. `0.0` when no parameter is decayed.
pub fn decayed_weight_norm<M: Module>(module: &M, config: &DecayConfig) -> f64 {
    l2_penalty(module, 1.0, config)
        .map(|sum| sum.into_scalar::<f64>().sqrt())
        .unwrap_or(0.0)
}

/// `‖w‖₂` over every float parameter of the module, whatever its rank.
pub fn weight_norm<M: Module>(module: &M) -> f64 {
    let config = DecayConfig::coupled(1.0).with_decay_rank_le_1(true);
    decayed_weight_norm(module, &config)
}

struct SumOfSquares {
    selection: DecayConfig,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SumOfSquares {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.selection.decays_rank(D) {
            return;
        }
        let value = param.val();
        let sum = value.clone().mul(value).sum();
        self.total = Some(match self.total.take() {
            Some(total) => total.add(sum),
            None => sum,
        });
    }
}
