//! The article's loss-term form `wd·Σw²`, and weight-norm diagnostics.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::{DecayConfig, DecayMode, Selection};

/// The loss term `wd·Σw²` over the parameters `selection` picks; `None` when it picks none.
///
/// This is the form of fastai's article ("This thing called weight decay"): `loss + wd·Σw²`. Its
/// gradient is `2·wd·w`, so **adding it to the loss equals coupled L2 with `λ = 2·wd`**
/// ([`DecayConfig::coupled`]`(2.0 * wd)`), and `λ/2·Σw²` equals coupled L2 with `λ`. The result is
/// tracked by autodiff when the module is.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_weight_decay::{l2_penalty_of, Selection};
///
/// let linear = LinearConfig::new(2, 2).init(&Device::default());
/// let penalty = l2_penalty_of(&linear, 0.1, &Selection::RankAtLeast2).unwrap();
/// let w = linear.weight.val();
/// let expected = w.clone().mul(w).sum().mul_scalar(0.1);
/// assert_eq!(penalty.into_scalar::<f32>(), expected.into_scalar::<f32>());
/// ```
pub fn l2_penalty_of<M: Module>(module: &M, wd: f64, selection: &Selection) -> Option<Tensor<1>> {
    let mut visitor = SumOfSquares {
        selection,
        path: Vec::new(),
        total: None,
    };
    module.visit(&mut visitor);
    visitor.total.map(|total| total.mul_scalar(wd))
}

/// `‖w‖₂` over the parameters `selection` picks, read back as a number: one pass over the
/// weights, cheap enough to log every epoch. `0.0` when it picks none.
pub fn weight_norm_of<M: Module>(module: &M, selection: &Selection) -> f64 {
    l2_penalty_of(module, 1.0, selection)
        .map(|sum| sum.into_scalar::<f64>().sqrt())
        .unwrap_or(0.0)
}

/// [`l2_penalty_of`] over the parameters `config` selects: its
/// [`selection`](DecayConfig::selection) (the rank switch), or none at all when `config`'s mode
/// is [`DecayMode::None`]. `config`'s rate and schedule are not read: `wd` is the penalty's
/// weight. A convenience kept for configs at hand; [`l2_penalty_of`] says the selection alone.
pub fn l2_penalty<M: Module>(module: &M, wd: f64, config: &DecayConfig) -> Option<Tensor<1>> {
    l2_penalty_of(module, wd, &config_selection(config))
}

/// [`weight_norm_of`] over the parameters `config`'s optimizer would decay (none, so `0.0`, for
/// [`DecayConfig::none`]); see [`l2_penalty`].
pub fn decayed_weight_norm<M: Module>(module: &M, config: &DecayConfig) -> f64 {
    weight_norm_of(module, &config_selection(config))
}

/// `‖w‖₂` over every float parameter of the module, whatever its rank:
/// [`weight_norm_of`]`(module, &Selection::All)`.
pub fn weight_norm<M: Module>(module: &M) -> f64 {
    weight_norm_of(module, &Selection::All)
}

/// What `config` selects: nothing without a mode, else its rank switch.
fn config_selection(config: &DecayConfig) -> Selection {
    if config.mode == DecayMode::None {
        Selection::Nothing
    } else {
        config.selection()
    }
}

struct SumOfSquares<'a> {
    selection: &'a Selection,
    path: Vec<String>,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SumOfSquares<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.path.join(".");
        if !self.selection.includes(D, &param.id, Some(&path)) {
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
