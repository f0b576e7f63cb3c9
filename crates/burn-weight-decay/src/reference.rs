//! [`reference_record`]: an optimizer record that sets L2-SP's `w₀` to given weights.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::OptimizerRecord;
use burn::store::RecordError;
use burn::tensor::Tensor;
use burn_pack::{Scalar, Writer};

/// An optimizer record that holds, for every float parameter of `pretrained`, its value as the
/// reference `w₀` of decay toward the initial weights ([`DecayTarget::Initial`](crate::DecayTarget::Initial),
/// L2-SP) and no inner optimizer state.
///
/// By default `w₀` is the value a parameter has when the optimizer first steps it, which is the
/// pretrained weight when fine-tuning starts right after loading it. When it does not (the model
/// was changed first, or training resumes from weights already fine-tuned without a record),
/// load this record into a fresh optimizer: each parameter then starts with `w₀` = the given
/// weights, a fresh inner state (Adam's moments at zero) and the decay schedule at step 0.
/// Parameters are matched by id, as Burn matches all optimizer state, so `pretrained` must be
/// the model being trained (or one loaded from the same record), before or after changes to its
/// values. Parameters its optimizer does not decay drop their `w₀` at the first step.
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::optim::GradientsParams;
/// use burn::tensor::{Device, Tensor};
/// use burn_weight_decay::{AdamDecayConfig, DecayConfig, DecayTarget, load_record, reference_record};
///
/// let device = Device::default().autodiff();
/// let pretrained: Linear = LinearConfig::new(3, 2).init(&device);
/// let reference = reference_record(&pretrained).unwrap();
/// let optim = AdamDecayConfig::new()
///     .with_decay(DecayConfig::decoupled(0.1).with_toward(DecayTarget::Initial))
///     .init();
/// let mut optim = load_record(optim, reference, &pretrained).unwrap();
/// let loss = pretrained.forward(Tensor::<2>::ones([4, 3], &device)).sum();
/// let grads = GradientsParams::from_grads(loss.backward(), &pretrained);
/// let tuned = optim.step(1e-2, pretrained, grads);
/// # let _ = tuned;
/// ```
pub fn reference_record<M: Module>(pretrained: &M) -> Result<OptimizerRecord, RecordError> {
    let mut collect = Collect::default();
    pretrained.visit(&mut collect);
    let mut writer = Writer::new(collect.tensors);
    for (key, value) in &collect.scalars {
        writer = writer.with_scalar(key, *value);
    }
    for (key, value) in &collect.paths {
        writer = writer.with_metadata(key, value);
    }
    OptimizerRecord::from_bytes(writer.into_bytes()?)
}

#[derive(Default)]
struct Collect {
    path: Vec<String>,
    tensors: Vec<burn_pack::Tensor>,
    scalars: Vec<(String, Scalar)>,
    paths: Vec<(String, String)>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let id = param.id.val();
        let (bytes, shape, dtype) = param.val().into_data().into_parts();
        self.tensors.push(burn_pack::Tensor::new(
            format!("{id}.{}", crate::state::REFERENCE),
            dtype,
            shape,
            Some(id),
            bytes,
        ));
        // What ModuleOptimizer::to_record writes for every parameter, then the state's scalars.
        self.scalars.push((format!("{id}.__rank"), Scalar::from(D)));
        self.scalars.push((
            format!("{id}.{}", crate::state::HAS_INNER),
            Scalar::from(false),
        ));
        self.scalars
            .push((format!("{id}.{}", crate::state::STEP), Scalar::from(0u64)));
        self.paths.push((id.to_string(), self.path.join(".")));
    }
}
