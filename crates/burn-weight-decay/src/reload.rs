//! [`load_record`]: Burn's `ModuleOptimizer::load_record`, with a mismatched record as an error.

use core::fmt;
use std::collections::HashMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::tensor::Tensor;

use crate::state::{Loaded, take_loaded};

/// Parameters whose recorded optimizer state does not fit the optimizer or the module it is
/// loaded for, each named by path and id.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMismatch {
    /// `(parameter, what is wrong)`: the parameter's path in the module (or `id N` where the
    /// module has no parameter of that id) and the reason in words.
    pub params: Vec<(String, String)>,
}

impl fmt::Display for RecordMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the optimizer record does not fit this optimizer ({} parameter(s)):",
            self.params.len()
        )?;
        for (param, reason) in &self.params {
            write!(f, "\n  {param}: {reason}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RecordMismatch {}

/// Loads `record` into `optim` like Burn's [`ModuleOptimizer::load_record`], but returns an
/// error naming each parameter whose state does not fit, where Burn would silently start it
/// fresh:
///
/// - the state was written by another optimizer (an RmsProp record loaded into Adam), or is
///   truncated;
/// - a state tensor of the parameter's rank (Adam's moments, SGD's velocity, the L2-SP reference)
///   has another shape than the parameter in `module`.
///
/// It checks the parameters stepped by a [`WeightDecay`](crate::WeightDecay) (all of them for the
/// optimizers of [`AdamDecayConfig`](crate::AdamDecayConfig) and
/// [`SgdDecayConfig`](crate::SgdDecayConfig)); a group with a bare Burn optimizer is loaded as
/// Burn loads it. Burn's own `load_record` stays available and keeps Burn's behaviour.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::optim::{GradientsParams, ModuleOptimizer, RmsPropConfig};
/// use burn::tensor::{Device, Tensor};
/// use burn_weight_decay::{AdamDecayConfig, DecayConfig};
///
/// let device = Device::default().autodiff();
/// let model: Linear = LinearConfig::new(3, 2).init(&device);
/// let mut rmsprop: ModuleOptimizer = DecayConfig::decoupled(0.01).init(RmsPropConfig::new().build());
/// let loss = model.forward(Tensor::<2>::ones([4, 3], &device)).sum();
/// let grads = GradientsParams::from_grads(loss.backward(), &model);
/// let model = rmsprop.step(1e-3, model, grads);
///
/// let adam = AdamDecayConfig::new().init();
/// let Err(err) = burn_weight_decay::load_record(adam, rmsprop.to_record(), &model) else {
///     panic!("an RmsProp record loaded into Adam");
/// };
/// assert_eq!(err.params.len(), 2); // weight and bias
/// assert!(err.params.iter().any(|(param, _)| param.starts_with("weight (id ")), "{err}");
/// assert!(err.to_string().contains("not one keeping AdamState"), "{err}");
/// ```
pub fn load_record<M: Module>(
    optim: ModuleOptimizer,
    record: OptimizerRecord,
    module: &M,
) -> Result<ModuleOptimizer, RecordMismatch> {
    take_loaded();
    let optim = optim.load_record(record);
    let loaded = take_loaded();
    let mut params = ParamShapes::default();
    module.visit(&mut params);
    let mut mismatched = Vec::new();
    for entry in loaded {
        match entry {
            Loaded::Unloadable { param, reason } => {
                mismatched.push((params.name(&param), reason));
            }
            Loaded::Shapes { param, shapes } => {
                let Some(expected) = params.shapes.get(&param).map(|(_, s)| s.clone()) else {
                    mismatched.push((
                        params.name(&param),
                        "the module has no parameter with this id".to_string(),
                    ));
                    continue;
                };
                for (leaf, shape) in shapes {
                    if shape != expected {
                        mismatched.push((
                            params.name(&param),
                            format!(
                                "its state `{leaf}` has shape {shape:?}, the parameter {expected:?}"
                            ),
                        ));
                    }
                }
            }
        }
    }
    if mismatched.is_empty() {
        Ok(optim)
    } else {
        Err(RecordMismatch { params: mismatched })
    }
}

/// Each float parameter's path and shape, by id as the record names it.
#[derive(Default)]
struct ParamShapes {
    path: Vec<String>,
    shapes: HashMap<String, (String, Vec<usize>)>,
}

impl ParamShapes {
    fn name(&self, id: &str) -> String {
        match self.shapes.get(id) {
            Some((path, _)) => format!("{path} (id {id})"),
            None => format!("id {id}"),
        }
    }
}

impl ModuleVisitor for ParamShapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.path.join(".");
        let shape = param.shape().to_vec();
        self.shapes
            .insert(param.id.val().to_string(), (path, shape));
    }
}
