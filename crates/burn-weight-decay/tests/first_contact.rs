//! What a new user met first (issue 24, item 7): diagnostics that count batch norm's running
//! statistics, and learning rates or decay factors that silently turn weights into NaN or ±∞.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::module::{Module, ParamGroup};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, PaddingConfig2d};
use burn::optim::{GradientsParams, ModuleOptimizer, RmsPropConfig};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{
    AdamDecayConfig, DecayConfig, DecayForm, LargeDecay, Selection, SgdDecayConfig, l2_penalty_of,
    parameter_ids, weight_norm, weight_norm_of,
};
use common::{floats, linear, mse, params};

#[derive(Module, Debug)]
struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBn {
    fn new(device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([2, 4], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            bn: BatchNormConfig::new(4).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.conv.forward(x))
    }
}

fn input(device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(floats(8 * 2 * 5 * 5, 3), [8, 2, 5, 5]),
        device,
    )
}

fn sum_sq<const D: usize>(t: Tensor<D>) -> f64 {
    t.square().sum().into_scalar::<f64>()
}

/// `Σw²` of the conv weight and bias and batch norm's γ and β: the parameters, by hand.
fn parameters_sq(m: &ConvBn) -> f64 {
    sum_sq(m.conv.weight.val())
        + sum_sq(m.conv.bias.as_ref().unwrap().val())
        + sum_sq(m.bn.gamma.val())
        + sum_sq(m.bn.beta.val())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

/// An untrained BatchNorm(16) has γ = 1, β = 0: ‖w‖ = 4 exactly, which is also what its running
/// variance (16 ones) used to add; its running mean is 0. So the norm must be 4, not √32.
#[test]
fn an_untrained_batch_norm_has_the_norm_of_gamma_alone() {
    for device in [Device::default(), Device::default().autodiff()] {
        let bn = BatchNormConfig::new(16).init(&device);
        assert_eq!(weight_norm(&bn), 4.0);
        assert_eq!(parameter_ids(&bn).len(), 2, "γ and β");
    }
}

/// Training steps move the running statistics far from their start; the norm stays the sum over
/// the parameters alone, on the autodiff device and on the plain one, for every selection.
#[test]
fn diagnostics_count_parameters_and_never_running_statistics() {
    let device = Device::default().autodiff();
    device.seed(7);
    let mut model = ConvBn::new(&device);
    let mut optim = AdamDecayConfig::adamw(0.1).init();
    for _ in 0..5 {
        let loss = (model.forward(input(&device)) + 3.0).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    // `value_sync`: the last forward pass's update is pending until read (Burn's RunningState).
    let running =
        sum_sq(model.bn.running_mean.value_sync()) + sum_sq(model.bn.running_var.value_sync());
    assert!(running > 0.5, "the running statistics moved: Σ = {running}");

    let expected = parameters_sq(&model);
    assert!(close(weight_norm(&model).powi(2), expected));
    assert!(close(
        l2_penalty_of(&model, 1.0, &Selection::All)
            .unwrap()
            .into_scalar::<f64>(),
        expected
    ));
    let bn_only = Selection::Group(ParamGroup::from_predicate("bn"));
    assert!(close(
        weight_norm_of(&model, &bn_only).powi(2),
        sum_sq(model.bn.gamma.val()) + sum_sq(model.bn.beta.val())
    ));
    let running_var = Selection::Group(ParamGroup::from_path("bn.running_var"));
    assert_eq!(weight_norm_of(&model, &running_var), 0.0);

    // The same model on the plain device (as after `valid()`): the same parameters.
    let valid = model.valid();
    assert!(close(weight_norm(&valid).powi(2), expected));
    assert_eq!(parameter_ids(&valid).len(), 4);

    // Measuring touched nothing: the running statistics are what they were, still untracked.
    let after =
        sum_sq(model.bn.running_mean.value_sync()) + sum_sq(model.bn.running_var.value_sync());
    assert_eq!(after, running);
    assert!(!model.bn.running_var.value().is_require_grad());
}

/// Burn's `clone()` shares running state, so forward passes of one clone move another's running
/// statistics: the "untrained" norm used to drift from arm to arm. Counting parameters only, it
/// cannot.
#[test]
fn an_untrained_clone_keeps_its_norm_while_another_clone_trains() {
    let device = Device::default().autodiff();
    device.seed(1);
    let untrained = ConvBn::new(&device);
    let before = weight_norm(&untrained);
    let mut model = untrained.clone();
    let mut optim = AdamDecayConfig::adam().init();
    for _ in 0..3 {
        let loss = (model.forward(input(&device)) * 10.0 + 50.0).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    // The shared running mean did move...
    assert!(sum_sq(untrained.bn.running_mean.value()) > 0.0);
    // ...the untrained clone's norm did not.
    assert_eq!(weight_norm(&untrained), before);
    assert!(close(before.powi(2), parameters_sq(&untrained)));
}

/// A frozen parameter is still a parameter: it is counted.
#[test]
fn frozen_parameters_are_counted() {
    let device = Device::default().autodiff();
    let model = ConvBn::new(&device);
    let norm = weight_norm(&model);
    let frozen = ConvBn {
        conv: model.conv.clone().freeze(),
        bn: model.bn.clone(),
    };
    assert!(!frozen.conv.weight.val().is_require_grad());
    assert_eq!(weight_norm(&frozen), norm);
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn one_step(mut optim: ModuleOptimizer, lr: f64) -> Linear {
    let device = common::device();
    let model = linear(4, 3, &device);
    let grads = GradientsParams::from_grads(mse(&model, 0, &device).backward(), &model);
    optim.step(lr, model, grads)
}

/// A NaN, infinite or negative learning rate is a panic naming it, on the fused path (this
/// crate's configs on flex), the tensor-op path and around any Burn optimizer; `lr = 0` is fine.
#[test]
fn a_bad_learning_rate_is_an_error_not_nan_weights() {
    type Build = fn() -> ModuleOptimizer;
    let optims: [(&str, Build); 4] = [
        ("AdamW, fused", || AdamDecayConfig::adamw(0.1).init()),
        ("AdamW, tensor ops", || {
            AdamDecayConfig::adamw(0.1).with_fused(false).init()
        }),
        ("SGD, no decay", || SgdDecayConfig::sgd().init()),
        ("RmsProp wrapped", || {
            DecayConfig::decoupled(0.1).init(RmsPropConfig::new().build())
        }),
    ];
    for (name, optim) in optims {
        for lr in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1e-3] {
            let message = panic_message(|| {
                one_step(optim(), lr);
            });
            assert!(
                message.contains("invalid learning rate") && message.contains("finite and ≥ 0"),
                "{name}, lr {lr}: {message}"
            );
        }
        let device = common::device();
        assert_eq!(
            params(&one_step(optim(), 0.0)),
            params(&linear(4, 3, &device)),
            "{name}: lr = 0 leaves the weights"
        );
    }
}

/// λ = 1e4 at lr = 1e-2 (s·λ = 100) used to send the weights to ±∞ in a few steps. By default it
/// is a panic naming s_t·λ_t; the proximal form shrinks instead; `LargeDecay::Allow` does what
/// it says, and then the weights flip and grow 99× per step, as the message warns.
#[test]
fn decay_with_s_lambda_at_least_one_is_refused_by_default() {
    let message = panic_message(|| {
        one_step(
            DecayConfig::decoupled(1e4).init(RmsPropConfig::new().build()),
            1e-2,
        );
    });
    assert!(message.contains("s_t·λ_t = 100"), "{message}");
    assert!(message.contains("DecayForm::Proximal"), "{message}");
    // s·λ = 1 exactly: the weights would be wiped.
    let message = panic_message(|| {
        one_step(AdamDecayConfig::adamw(10.0).init(), 0.1);
    });
    assert!(message.contains("s_t·λ_t = 1 "), "{message}");
    // Just below 1: allowed.
    let w = params(&one_step(AdamDecayConfig::adamw(9.0).init(), 0.1));
    assert!(w.iter().all(|v| v.is_finite()));

    let device = common::device();
    let start = params(&linear(4, 3, &device));
    let proximal = params(&one_step(
        DecayConfig::decoupled(1e4)
            .with_form(DecayForm::Proximal)
            .init(RmsPropConfig::new().build()),
        1e-2,
    ));
    // 4×3 weight then 3 bias values; the bias (rank 1) is not decayed.
    for (p, s) in proximal.iter().zip(&start).take(12) {
        assert!(p.abs() < s.abs() / 50.0 + 0.05, "{s} → {p}");
    }
    let allowed = params(&one_step(
        SgdDecayConfig::sgdw(1e4)
            .with_decay(DecayConfig::decoupled(1e4).with_large_decay(LargeDecay::Allow))
            .init(),
        1e-2,
    ));
    for (a, s) in allowed.iter().zip(&start).take(12) {
        // w − lr·g − 100·w: about −99·w.
        assert!((a + 99.0 * s).abs() < 0.1, "{s} → {a}");
    }
    // Coupled L2 goes through the inner optimizer: not checked.
    let coupled = params(&one_step(AdamDecayConfig::adam_l2(1e4).init(), 1e-2));
    assert!(coupled.iter().all(|v| v.is_finite()));
}
