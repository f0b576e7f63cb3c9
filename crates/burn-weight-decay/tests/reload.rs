//! Loading an optimizer record: Burn starts a mismatched parameter fresh without a word;
//! `burn_weight_decay::load_record` names it.

mod common;

use burn::module::Param;
use burn::nn::Linear;
use burn::optim::{GradientsParams, ModuleOptimizer, RmsPropConfig};
use burn::tensor::{Device, Tensor};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, SgdDecayConfig, load_record};
use common::{device, linear, mse, values};

fn train(optim: &mut ModuleOptimizer, mut model: Linear, steps: u64, device: &Device) -> Linear {
    for t in 0..steps {
        let grads = GradientsParams::from_grads(mse(&model, t, device).backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    model
}

#[test]
fn a_record_of_burns_own_rmsprop_loaded_into_adam_is_an_error_naming_each_parameter() {
    let device = device();
    let mut rmsprop: ModuleOptimizer = RmsPropConfig::new().build().into();
    let model = train(&mut rmsprop, linear(4, 3, &device), 2, &device);
    let err = load_record(AdamDecayConfig::new().init(), rmsprop.to_record(), &model)
        .err()
        .expect("a mismatched record is an error");
    let text = err.to_string();
    assert_eq!(err.params.len(), 2, "{text}");
    assert!(text.contains("weight (id "), "{text}");
    assert!(text.contains("bias (id "), "{text}");
    assert!(
        text.contains("does not rebuild as AdamState (another optimizer's, or truncated)"),
        "{text}"
    );
    // Burn's own load_record takes it silently and starts fresh: what the error guards against.
    let silent = AdamDecayConfig::new()
        .init()
        .load_record(rmsprop.to_record());
    assert!(silent.to_record().is_empty());
}

#[test]
fn a_wrapped_optimizers_record_loaded_into_another_is_an_error() {
    let device = device();
    let mut rmsprop = DecayConfig::decoupled(0.01).init(RmsPropConfig::new().build());
    let model = train(&mut rmsprop, linear(4, 3, &device), 2, &device);
    let err = load_record(
        SgdDecayConfig::new().with_momentum(0.9).init(),
        rmsprop.to_record(),
        &model,
    )
    .err()
    .expect("a mismatched record is an error");
    assert!(
        err.to_string()
            .contains("written for another optimizer, not one keeping SgdState"),
        "{err}"
    );
}

#[test]
fn a_state_of_another_shape_is_an_error_naming_both_shapes() {
    let device = device();
    let mut adam = AdamDecayConfig::new().init();
    let model = train(&mut adam, linear(4, 3, &device), 2, &device);
    // The same parameter ids, other shapes: a record from another architecture.
    let other = Linear {
        weight: Param::initialized(model.weight.id, Tensor::zeros([5, 3], &device)),
        bias: model.bias.clone(),
    };
    let err = load_record(AdamDecayConfig::new().init(), adam.to_record(), &other)
        .err()
        .expect("a record of another shape is an error");
    let text = err.to_string();
    assert!(text.contains("weight (id "), "{text}");
    assert!(
        text.contains("has shape [4, 3], the parameter [5, 3]"),
        "{text}"
    );
    assert!(!text.contains("bias"), "the bias fits: {text}");
}

#[test]
fn a_matching_record_loads_and_continues_exactly() {
    let device = device();
    let mut first = AdamDecayConfig::new().init();
    let model = train(&mut first, linear(4, 3, &device), 3, &device);
    let mut resumed =
        load_record(AdamDecayConfig::new().init(), first.to_record(), &model).expect("it fits");
    let a = train(&mut first, model.clone(), 2, &device);
    let b = train(&mut resumed, model, 2, &device);
    assert_eq!(values(a.weight.val()), values(b.weight.val()));
}
