//! The article's loss-term form `wd·Σw²`, and weight-norm diagnostics.
//!
//! Every function here reads **parameters only**: a Burn `RunningState` (batch norm's running
//! mean and variance) is a statistic the forward pass updates, not a weight, and is never counted,
//! whatever the [`Selection`]. See [`parameter_ids`].

use std::collections::HashSet;

use burn::module::{Module, ModuleVisitor, Param, ParamGroup, ParamId};
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
    let parameters = parameter_ids(module);
    let mut visitor = SumOfSquares {
        selection,
        parameters: &parameters,
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
/// [`weight_norm_of`]`(module, &Selection::All)`. Batch norm's running mean and variance are not
/// parameters and are not counted (see [`parameter_ids`]).
///
/// ```
/// use burn::nn::{BatchNormConfig, LinearConfig};
/// use burn::tensor::Device;
/// use burn_weight_decay::weight_norm;
///
/// let device = Device::default();
/// // γ = 1 and β = 0 over 16 channels: ‖w‖ = 4. The running variance (16 ones) is not counted.
/// let norm = BatchNormConfig::new(16).init(&device);
/// assert_eq!(weight_norm(&norm), 4.0);
/// ```
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

/// The ids of `module`'s parameters: every float tensor it visits except Burn's `RunningState`s
/// (batch norm's running mean and variance), frozen parameters included.
///
/// Burn's `ModuleVisitor` hands a running state to `visit_float` exactly like a parameter, with
/// nothing public to tell them apart (`Module::num_params` counts both). What does tell them
/// apart is that a running state can never require gradients: `RunningState::map` turns gradient
/// tracking off after any mapper (burn-core 0.22.1, `module/param/running.rs`). So this takes a
/// copy of the module to the autodiff device (`train`, which gives the copy running states of its
/// own, so the module's own are not touched) and asks every tensor to require gradients
/// (`unfreeze`): the ids that then do are the parameters. The copy shares the tensors' data; it
/// costs no pass over the weights. (`train` merges a running state's pending update from the
/// last forward pass into its value, as Burn's own `RunningState::value_sync` and the next
/// forward pass do; the values are otherwise untouched.)
pub fn parameter_ids<M: Module>(module: &M) -> HashSet<ParamId> {
    struct Trainable(HashSet<ParamId>);
    impl ModuleVisitor for Trainable {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.val().is_require_grad() {
                self.0.insert(param.id);
            }
        }
    }
    let probe = module.clone().train().unfreeze();
    let mut visitor = Trainable(HashSet::new());
    probe.visit(&mut visitor);
    visitor.0
}

/// A [`ParamGroup`] of `module`'s parameters whose rank is exactly `rank` (running statistics
/// never included), by id: for an optimizer that only takes tensors of one rank, such as Burn's
/// `Muon` (2-D matrices only), in [`ModuleOptimizer::with_group`](burn::optim::ModuleOptimizer::with_group).
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_weight_decay::rank_group;
///
/// let linear = LinearConfig::new(3, 2).init(&Device::default());
/// let matrices = rank_group(&linear, 2);
/// assert!(matrices.matches(&linear.weight.id, None));
/// assert!(!matrices.matches(&linear.bias.as_ref().unwrap().id, None));
/// ```
pub fn rank_group<M: Module>(module: &M, rank: usize) -> ParamGroup {
    struct OfRank<'a> {
        rank: usize,
        parameters: &'a HashSet<ParamId>,
        ids: Vec<ParamId>,
    }
    impl ModuleVisitor for OfRank<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D == self.rank && self.parameters.contains(&param.id) {
                self.ids.push(param.id);
            }
        }
    }
    let parameters = parameter_ids(module);
    let mut visitor = OfRank {
        rank,
        parameters: &parameters,
        ids: Vec::new(),
    };
    module.visit(&mut visitor);
    ParamGroup::from_ids(visitor.ids)
}

struct SumOfSquares<'a> {
    selection: &'a Selection,
    parameters: &'a HashSet<ParamId>,
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
        if !self.parameters.contains(&param.id)
            || !self.selection.includes(D, &param.id, Some(&path))
        {
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
