//! Gradients from several devices (`ModuleOptimizer::step_multi`, what burn-train's multi-device
//! strategy calls): the wrapper sees their sum, so a step with the gradients of two half-batches
//! equals a step with the gradient of the whole batch under a summed loss, in every mode.

mod common;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::tensor::{Device, Tensor};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, SgdDecayConfig};
use common::{linear, params, rel_diff, tensor2};

/// Sum of squared errors of `model` on rows `rows` of a fixed regression problem at step `t`.
fn sse(
    model: &burn::nn::Linear,
    t: u64,
    rows: std::ops::Range<usize>,
    device: &Device,
) -> Tensor<1> {
    let x = tensor2(32, 5, 300 + t, device).slice([rows.clone()]);
    let y = tensor2(32, 3, 400 + t, device).slice([rows]);
    (model.forward(x) - y).powi_scalar(2).sum()
}

/// The second device: ndarray when compiled in (gradients cross backends), else flex again.
fn second_device() -> Device {
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    return Device::ndarray().autodiff();
    #[cfg(not(feature = "ndarray"))]
    Device::flex().autodiff()
}

fn optimizers() -> Vec<(&'static str, ModuleOptimizer, ModuleOptimizer)> {
    let adam = |decay: DecayConfig| AdamDecayConfig::new().with_decay(decay).init();
    let sgd = |decay: DecayConfig| {
        SgdDecayConfig::new()
            .with_momentum(0.9)
            .with_decay(decay)
            .init()
    };
    vec![
        (
            "adam coupled",
            adam(DecayConfig::coupled(0.2)),
            adam(DecayConfig::coupled(0.2)),
        ),
        (
            "adamw",
            adam(DecayConfig::decoupled(0.2)),
            adam(DecayConfig::decoupled(0.2)),
        ),
        (
            "sgd coupled",
            sgd(DecayConfig::coupled(0.2)),
            sgd(DecayConfig::coupled(0.2)),
        ),
        (
            "sgdw",
            sgd(DecayConfig::decoupled(0.2)),
            sgd(DecayConfig::decoupled(0.2)),
        ),
    ]
}

#[test]
fn two_device_gradients_step_like_the_combined_batch() {
    let main = Device::flex().autodiff();
    let other = second_device();
    for (name, mut multi_optim, mut single_optim) in optimizers() {
        let mut multi = linear(5, 3, &main);
        let mut single = linear(5, 3, &main);
        let start = params(&single);
        for t in 0..8 {
            // Each device its half of the batch, with its own copy of the model.
            let replica = multi.clone().fork(&other);
            let first =
                GradientsParams::from_grads(sse(&multi, t, 0..16, &main).backward(), &multi);
            let second =
                GradientsParams::from_grads(sse(&replica, t, 16..32, &other).backward(), &replica);
            let grads = MultiGradientsParams {
                grads: vec![(first, main.clone()), (second, other.clone())],
            };
            // `step_multi` updates each parameter on the device that summed its gradient
            // (chosen by parameter id, as burn-train's multi-device strategy expects); the
            // Learner then forks the model back to its main device, and so does this loop.
            multi = multi_optim.step_multi(0.01, multi, grads).fork(&main);

            let grads =
                GradientsParams::from_grads(sse(&single, t, 0..32, &main).backward(), &single);
            single = single_optim.step(0.01, single, grads);
        }
        let diff = rel_diff(&params(&multi), &params(&single));
        println!("{name}: two devices vs the combined batch: {diff:.1e}");
        assert!(diff <= 1e-5, "{name}: relative difference {diff:e}");
        assert!(
            rel_diff(&params(&single), &start) > 1e-2,
            "{name} did not move"
        );
    }
}
