//! One test suite, every enabled backend: the same cases and the same expected numbers, held to a
//! tolerance stated per backend.
//!
//! - `flex` always runs (the default backend).
//! - `ndarray` runs with `--features ndarray`.
//! - `wgpu` runs with `--features wgpu`; where no GPU adapter (or no software Vulkan) answers, its
//!   tests print why and pass without checking anything, so a machine without a GPU still builds
//!   and tests the feature.
//!
//! ```text
//! cargo test -p burn-weight-decay --test backends --features ndarray,wgpu -- --nocapture
//! ```

mod common;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, SgdDecayConfig};
use common::{linear, mse, params, rel_diff, zero_grads};

/// A backend of the suite: how to open its device, and how close to the float64 reference its
/// f32 arithmetic must come.
struct Backend {
    name: &'static str,
    open: fn() -> Device,
    /// Relative tolerance against the float64 reference (absolute near zero, see [`close`]).
    tolerance: f64,
}

/// flex and ndarray do the update element by element in the order the rule is written: f32
/// rounding of values of order 1 over ≤ 20 steps stays near 1e-6. A GPU may fuse, reorder and use
/// its own `sqrt` and division (WGSL allows a few ulp), so wgpu gets ten times more room.
const FLEX: Backend = Backend {
    name: "flex",
    open: Device::flex,
    tolerance: 2e-5,
};

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
const NDARRAY: Backend = Backend {
    name: "ndarray",
    open: Device::ndarray,
    tolerance: 2e-5,
};

#[cfg(feature = "wgpu")]
const WGPU: Backend = Backend {
    name: "wgpu",
    open: || Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    tolerance: 2e-4,
};

impl Backend {
    /// The device, after a tiny computation proves it works; `None` (with the reason printed)
    /// where the backend has no device here, e.g. wgpu without a GPU adapter.
    fn device(&self) -> Option<Device> {
        let open = self.open;
        let probe = std::panic::catch_unwind(move || {
            let device = open();
            let sum = Tensor::<1>::from_floats([1.0, 2.0], &device)
                .sum()
                .into_scalar::<f32>();
            (device, sum)
        });
        match probe {
            Ok((device, 3.0)) => Some(device),
            Ok((_, sum)) => panic!("{}: 1 + 2 gave {sum}", self.name),
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("SKIPPED {}: no usable device here ({reason})", self.name);
                None
            }
        }
    }

    fn close(&self, actual: f32, expected: f64) -> bool {
        (actual as f64 - expected).abs() <= self.tolerance * expected.abs().max(0.1)
    }
}

/// Every replay case under `tests/cases/` against its float64 reference.
fn replay_cases_match_the_reference(backend: &Backend) {
    let Some(device) = backend.device() else {
        return;
    };
    let cases = common::replay_cases();
    let mut worst = 0.0f64;
    for (path, case, expected) in &cases {
        let got = case.run(&device).unwrap();
        assert_eq!(got.params.len(), expected.len(), "{}", path.display());
        for (step, (g, e)) in got.params.iter().zip(expected).enumerate() {
            for (i, (a, b)) in g.iter().zip(e).enumerate() {
                worst = worst.max((*a as f64 - b).abs() / b.abs().max(0.1));
                assert!(
                    backend.close(*a, *b),
                    "{} on {}: step {} element {i}: got {a}, reference {b}",
                    path.display(),
                    backend.name,
                    step + 1
                );
            }
        }
    }
    println!(
        "{}: {} cases, worst relative error {worst:.1e} (tolerance {:.0e})",
        backend.name,
        cases.len(),
        backend.tolerance
    );
}

/// The optimizers this suite trains with, by name.
fn optimizers() -> Vec<(&'static str, ModuleOptimizer)> {
    vec![
        (
            "adam coupled 0.1",
            AdamDecayConfig::new()
                .with_decay(DecayConfig::coupled(0.1))
                .init(),
        ),
        (
            "adamw 0.1",
            AdamDecayConfig::new()
                .with_decay(DecayConfig::decoupled(0.1))
                .init(),
        ),
        (
            "sgd momentum coupled 0.1",
            SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(DecayConfig::coupled(0.1))
                .init(),
        ),
        (
            "sgdw momentum 0.1",
            SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(DecayConfig::decoupled(0.1))
                .init(),
        ),
    ]
}

/// Ten steps of each optimizer on a linear regression, the whole model through `Module` and
/// autodiff: the parameters after the last step.
fn train(device: &Device, optimizer: &mut ModuleOptimizer) -> Vec<f32> {
    let device = device.clone().autodiff();
    let mut model = linear(6, 4, &device);
    for t in 0..10 {
        let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
        model = optimizer.step(0.05, model, grads);
    }
    params(&model)
}

/// The same training on this backend as on flex, within the backend's tolerance, and far from
/// training without decay (so the comparison can fail).
fn training_matches_flex(backend: &Backend) {
    let Some(device) = backend.device() else {
        return;
    };
    let flex = Device::flex();
    let mut undecayed = AdamDecayConfig::new()
        .with_decay(DecayConfig::none())
        .init();
    let free = train(&flex, &mut undecayed);
    for ((name, mut here), (_, mut there)) in optimizers().into_iter().zip(optimizers()) {
        let got = train(&device, &mut here);
        let reference = train(&flex, &mut there);
        let diff = rel_diff(&got, &reference);
        println!(
            "{}: {name}: relative difference to flex {diff:.1e}",
            backend.name
        );
        assert!(
            diff <= backend.tolerance,
            "{} {name}: {diff:e} from flex",
            backend.name
        );
        if name.starts_with("adam") {
            assert!(rel_diff(&reference, &free) > 1e-3, "{name} decayed nothing");
        }
    }
}

/// Zero gradients: decoupled decay alone shrinks the weight by `(1 − lr·λ)` per step and leaves
/// the bias (not decayed by default); coupled decay under SGD does the same through the gradient.
fn zero_gradient_shrink_is_exact(backend: &Backend) {
    let Some(device) = backend.device() else {
        return;
    };
    let device = device.autodiff();
    let (lr, lambda) = (0.1, 0.5);
    for mut optimizer in [
        AdamDecayConfig::new()
            .with_decay(DecayConfig::decoupled(lambda))
            .init(),
        SgdDecayConfig::new()
            .with_decay(DecayConfig::coupled(lambda))
            .init(),
    ] {
        let mut model = linear(3, 2, &device);
        let start_weight = common::values(model.weight.val());
        let start_bias = common::values(model.bias.as_ref().unwrap().val());
        for t in 0..5 {
            let grads = zero_grads(&model, mse(&model, t, &device));
            model = optimizer.step(lr, model, grads);
        }
        let factor = (1.0 - lr * lambda).powi(5);
        for (w, w0) in common::values(model.weight.val()).iter().zip(&start_weight) {
            assert!(
                backend.close(*w, *w0 as f64 * factor),
                "{}: {w} vs {w0}·{factor}",
                backend.name
            );
        }
        assert_eq!(
            common::values(model.bias.as_ref().unwrap().val()),
            start_bias
        );
    }
}

/// The optimizer state recorded on this backend reloads and continues exactly as without the
/// round trip.
fn state_round_trip_continues_identically(backend: &Backend) {
    let Some(device) = backend.device() else {
        return;
    };
    let device = device.autodiff();
    let config = AdamDecayConfig::new().with_decay(DecayConfig::decoupled(0.05));
    let mut optimizer = config.init();
    let mut model = linear(5, 3, &device);
    for t in 0..3 {
        let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
        model = optimizer.step(0.02, model, grads);
    }
    let mut reloaded = config.init().load_record(optimizer.to_record());
    let before = params(&model);
    let mut a = model.clone();
    let mut b = model;
    for t in 3..6 {
        let grads = GradientsParams::from_grads(mse(&a, t, &device).backward(), &a);
        a = optimizer.step(0.02, a, grads);
        let grads = GradientsParams::from_grads(mse(&b, t, &device).backward(), &b);
        b = reloaded.step(0.02, b, grads);
    }
    assert_eq!(params(&a), params(&b), "{}", backend.name);
    assert!(
        rel_diff(&params(&a), &before) > 1e-4,
        "the steps moved nothing"
    );
}

/// One module of tests per backend, each test named after what it checks.
macro_rules! backend_suite {
    ($module:ident, $backend:expr) => {
        mod $module {
            #[test]
            fn replay_cases_match_the_reference() {
                super::replay_cases_match_the_reference(&$backend);
            }

            #[test]
            fn training_matches_flex() {
                super::training_matches_flex(&$backend);
            }

            #[test]
            fn zero_gradient_shrink_is_exact() {
                super::zero_gradient_shrink_is_exact(&$backend);
            }

            #[test]
            fn state_round_trip_continues_identically() {
                super::state_round_trip_continues_identically(&$backend);
            }
        }
    };
}

backend_suite!(flex, super::FLEX);
#[cfg(feature = "ndarray")]
backend_suite!(ndarray, super::NDARRAY);
#[cfg(feature = "wgpu")]
backend_suite!(wgpu, super::WGPU);
