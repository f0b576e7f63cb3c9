//! The wrapper on a real Burn model (conv + batch norm + linear) on the flex backend: every
//! config trains, parameter groups override λ per path, and the diagnostics report real values.

mod common;

use burn::module::{Module, ParamGroup};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::optim::{GradientsParams, LionConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn_weight_decay::{
    AdamDecayConfig, DecayConfig, DecayMonitor, NonFiniteGrad, SgdDecayConfig, decayed_weight_norm,
};
use common::*;

#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    bn: BatchNorm,
    act: Relu,
    pool: AdaptiveAvgPool2d,
    head: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([3, 8], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            bn: BatchNormConfig::new(8).init(device),
            act: Relu::new(),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            head: LinearConfig::new(8, 3).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.act.forward(self.bn.forward(self.conv.forward(x)));
        let x = self.pool.forward(x).flatten::<2>(1, 3);
        self.head.forward(x)
    }
}

/// 24 images of 3×8×8: class k is brighter in channel k.
fn batch(device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let n = 24;
    let noise = floats(n * 3 * 64, 7);
    let mut pixels = Vec::with_capacity(n * 3 * 64);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 3;
        labels.push(class as i64);
        for c in 0..3 {
            for p in 0..64 {
                let signal = if c == class { 1.0 } else { 0.0 };
                pixels.push(signal + 0.5 * noise[(i * 3 + c) * 64 + p]);
            }
        }
    }
    (
        Tensor::from_data(TensorData::new(pixels, [n, 3, 8, 8]), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

fn train(mut optim: ModuleOptimizer, lr: f64, steps: usize) -> (f32, f32) {
    let device = device();
    let mut model = Net::new(&device);
    let (x, y) = batch(&device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..steps {
        let loss = loss_fn.forward(model.forward(x.clone()), y.clone());
        last = loss.clone().into_scalar::<f32>();
        first.get_or_insert(last);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    (first.unwrap(), last)
}

#[test]
fn a_small_cnn_trains_with_every_config() {
    let configs: Vec<(&str, ModuleOptimizer, f64)> = vec![
        (
            "sgd+l2",
            SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(DecayConfig::coupled(1e-3))
                .init(),
            0.05,
        ),
        (
            "sgdw",
            SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(DecayConfig::decoupled(1e-2))
                .init(),
            0.05,
        ),
        (
            "adam+l2",
            AdamDecayConfig::new()
                .with_decay(DecayConfig::coupled(1e-3))
                .init(),
            0.01,
        ),
        (
            "adamw",
            AdamDecayConfig::new()
                .with_decay(DecayConfig::decoupled(1e-2))
                .init(),
            0.01,
        ),
        (
            "adamw cautious",
            AdamDecayConfig::new()
                .with_decay(DecayConfig::decoupled(0.1).with_cautious(true))
                .init(),
            0.01,
        ),
        (
            "rmsprop (Burn's) + decoupled",
            DecayConfig::decoupled(1e-2).init(RmsPropConfig::new().build()),
            0.01,
        ),
        (
            "lion (Burn's) + coupled",
            DecayConfig::coupled(1e-3).init(LionConfig::new().build()),
            0.003,
        ),
    ];
    for (name, optim, lr) in configs {
        let (first, last) = train(optim, lr, 25);
        println!("{name}: loss {first:.4} -> {last:.4}");
        assert!(last < 0.6 * first, "{name}: loss {first} -> {last}");
    }
}

/// A group override: the head gets λ = 1, the conv keeps the default λ = 0.1, and biases and the
/// batch-norm scale and shift stay undecayed. With zero gradients every parameter's shrink is
/// exactly its configured factor.
#[test]
fn with_group_override_decays_each_parameter_as_configured() {
    let device = device();
    let model = Net::new(&device);
    let sgd = SgdConfig::new().build();
    let mut optim = DecayConfig::decoupled(0.1).init(sgd.clone()).with_group(
        ParamGroup::from_predicate("head"),
        DecayConfig::decoupled(1.0).wrap(sgd),
        None,
    );
    let before = model.clone();
    let (x, _) = batch(&device);
    let grads = zero_grads(&model, model.forward(x).sum());
    let lr = 0.1;
    let after = optim.step(lr, model, grads);

    let check = |name: &str, old: Vec<f32>, new: Vec<f32>, factor: f32| {
        for (o, n) in old.iter().zip(&new) {
            assert_eq!(*n, o - o * factor, "{name}");
        }
    };
    check(
        "conv.weight",
        values(before.conv.weight.val()),
        values(after.conv.weight.val()),
        0.01,
    );
    check(
        "head.weight",
        values(before.head.weight.val()),
        values(after.head.weight.val()),
        0.1,
    );
    check(
        "conv.bias",
        values(before.conv.bias.unwrap().val()),
        values(after.conv.bias.unwrap().val()),
        0.0,
    );
    check(
        "head.bias",
        values(before.head.bias.unwrap().val()),
        values(after.head.bias.unwrap().val()),
        0.0,
    );
    check(
        "bn.gamma",
        values(before.bn.gamma.val()),
        values(after.bn.gamma.val()),
        0.0,
    );
    check(
        "bn.beta",
        values(before.bn.beta.val()),
        values(after.bn.beta.val()),
        0.0,
    );
}

/// A gradient with NaN or ∞ never reaches the weights by default: the parameter and its state
/// are left as they were and the skip is counted. `Propagate` lets it through.
#[test]
fn non_finite_gradients_are_skipped_and_counted() {
    let device = device();
    for (policy, expect_nan) in [
        (NonFiniteGrad::Skip, false),
        (NonFiniteGrad::Propagate, true),
    ] {
        let monitor = DecayMonitor::default();
        let mut optim: ModuleOptimizer = AdamDecayConfig::new()
            .with_decay(DecayConfig::decoupled(0.1).with_non_finite(policy))
            .build()
            .with_monitor(monitor.clone())
            .into();
        let model = linear(3, 2, &device);
        let before = params(&model);
        let loss = mse(&model, 0, &device).mul_scalar(f32::NAN);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = optim.step(0.01, model, grads);
        let after = params(&model);
        if expect_nan {
            assert!(after.iter().all(|x| x.is_nan()), "{policy:?}: {after:?}");
            assert_eq!(monitor.skipped_updates(), 0);
        } else {
            assert_eq!(after, before, "{policy:?}");
            assert_eq!(monitor.skipped_updates(), 2, "weight and bias skipped");
            // The state was left alone too: a record holds no state for the skipped parameters.
            assert!(optim.to_record().is_empty());
        }
    }
}

/// The finiteness check is one sum; a sum that overflows f32 although every element is finite
/// (huge but valid gradients) is confirmed element by element and the step is taken.
#[test]
fn huge_finite_gradients_are_not_mistaken_for_non_finite() {
    let device = device();
    let monitor = DecayMonitor::default();
    let mut optim: ModuleOptimizer = SgdDecayConfig::new()
        .with_decay(DecayConfig::decoupled(0.1))
        .build()
        .with_monitor(monitor.clone())
        .into();
    let model = linear(3, 2, &device);
    let before = params(&model);
    // d(3e38·Σw)/dw = 3e38 for every weight: finite, but their f32 sum is +∞.
    let loss = model
        .weight
        .val()
        .sum()
        .mul_scalar(3e38)
        .add(model.bias.as_ref().unwrap().val().sum().mul_scalar(3e38));
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optim.step(1e-40, model, grads);
    let after = params(&model);
    assert_eq!(monitor.skipped_updates(), 0);
    assert_ne!(after, before, "the step was taken");
    assert!(after.iter().all(|x| x.is_finite()), "{after:?}");
}

/// The monitor reports the norm decay removed in the armed step: `lr·λ·‖w‖` for decoupled decay
/// with a zero gradient; the weight-norm diagnostic is `‖w‖`.
#[test]
fn monitor_reports_the_norm_removed_in_the_last_step() {
    let device = device();
    let model = linear(4, 3, &device);
    let norm = decayed_weight_norm(&model, &DecayConfig::new());
    let by_hand: f64 = values(model.weight.val())
        .iter()
        .map(|x| (*x as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(
        (norm - by_hand).abs() < 1e-6 * by_hand,
        "{norm} vs {by_hand}"
    );

    let monitor = DecayMonitor::default();
    let mut optim: ModuleOptimizer = DecayConfig::decoupled(0.5)
        .wrap(SgdConfig::new().build())
        .with_monitor(monitor.clone())
        .into();
    // Not armed: nothing measured.
    let grads = zero_grads(&model, mse(&model, 0, &device));
    let model = optim.step(0.1, model, grads);
    assert_eq!(monitor.take_removed_norm(), None);
    let norm = decayed_weight_norm(&model, &DecayConfig::new());
    monitor.arm();
    let grads = zero_grads(&model, mse(&model, 0, &device));
    let _ = optim.step(0.1, model, grads);
    let removed = monitor.take_removed_norm().expect("armed step measured");
    assert!(
        (removed - 0.05 * norm).abs() < 1e-6,
        "{removed} vs {}",
        0.05 * norm
    );
    assert!(!monitor.is_armed());
}
