//! The conventions, proven: coupled L2 is the gradient of a loss term, decoupled decay is a
//! shrink, the two agree under plain SGD and differ under Adam, λ = 0 is the inner optimizer.

mod common;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use burn_weight_decay::replay::Case;
use burn_weight_decay::{AdamDecayConfig, DecayConfig, SgdDecayConfig, l2_penalty};
use common::*;

const STEPS: u64 = 20;

/// SGD with coupled λ for 20 steps = SGD on `loss + λ/2·Σw²` differentiated by autodiff.
#[test]
fn sgd_coupled_equals_autodiff_of_half_lambda_sum_of_squares() {
    let device = device();
    let lambda = 0.3;
    let mut coupled_model = linear(5, 3, &device);
    let mut penalty_model = coupled_model.clone();
    let mut coupled = SgdDecayConfig::new()
        .with_momentum(0.9)
        .with_decay(DecayConfig::coupled(lambda))
        .init();
    let mut plain = SgdDecayConfig::new()
        .with_momentum(0.9)
        .with_decay(DecayConfig::none())
        .init();
    for t in 0..STEPS {
        let loss = mse(&coupled_model, t, &device);
        let grads = GradientsParams::from_grads(loss.backward(), &coupled_model);
        coupled_model = coupled.step(0.05, coupled_model, grads);

        // The weight (rank 2) is decayed, the bias (rank 1) is not: the penalty is written by hand.
        let w = penalty_model.weight.val();
        let loss =
            mse(&penalty_model, t, &device) + w.clone().mul(w).sum().mul_scalar(lambda / 2.0);
        let grads = GradientsParams::from_grads(loss.backward(), &penalty_model);
        penalty_model = plain.step(0.05, penalty_model, grads);
    }
    let diff = rel_diff(&params(&coupled_model), &params(&penalty_model));
    assert!(diff <= 1e-6, "relative difference {diff:e}");
    // And the decay did something: the weights differ from undecayed training by far more.
    let mut free = linear(5, 3, &device);
    let mut sgd = SgdDecayConfig::new()
        .with_momentum(0.9)
        .with_decay(DecayConfig::none())
        .init();
    for t in 0..STEPS {
        let grads = GradientsParams::from_grads(mse(&free, t, &device).backward(), &free);
        free = sgd.step(0.05, free, grads);
    }
    assert!(rel_diff(&params(&free), &params(&coupled_model)) > 1e-2);
}

/// The article's `loss + wd·Σw²` ([`l2_penalty`]) equals coupled L2 with `λ = 2·wd`.
#[test]
fn article_penalty_equals_coupled_with_twice_wd() {
    let device = device();
    let wd = 0.1;
    let selection = DecayConfig::coupled(2.0 * wd);
    let mut coupled_model = linear(4, 4, &device);
    let mut penalty_model = coupled_model.clone();
    let mut coupled = SgdDecayConfig::new().with_decay(selection.clone()).init();
    let mut plain = SgdDecayConfig::new().with_decay(DecayConfig::none()).init();
    for t in 0..STEPS {
        let grads =
            GradientsParams::from_grads(mse(&coupled_model, t, &device).backward(), &coupled_model);
        coupled_model = coupled.step(0.05, coupled_model, grads);

        let loss = mse(&penalty_model, t, &device)
            + l2_penalty(&penalty_model, wd, &selection).expect("the weight is decayed");
        let grads = GradientsParams::from_grads(loss.backward(), &penalty_model);
        penalty_model = plain.step(0.05, penalty_model, grads);
    }
    let diff = rel_diff(&params(&coupled_model), &params(&penalty_model));
    assert!(diff <= 1e-6, "relative difference {diff:e}");
}

/// The penalty's value: wd·Σw² over the weight only by default, over the bias too when asked.
#[test]
fn penalty_value_covers_exactly_the_decayed_parameters() {
    let device = Device::default();
    let model = linear(3, 2, &device);
    let w: f64 = values(model.weight.val())
        .iter()
        .map(|x| (*x as f64).powi(2))
        .sum();
    let b: f64 = values(model.bias.as_ref().unwrap().val())
        .iter()
        .map(|x| (*x as f64).powi(2))
        .sum();
    let weight_only = l2_penalty(&model, 0.5, &DecayConfig::new())
        .unwrap()
        .into_scalar::<f64>();
    let all = l2_penalty(&model, 0.5, &DecayConfig::new().with_decay_rank_le_1(true))
        .unwrap()
        .into_scalar::<f64>();
    assert!(
        (weight_only - 0.5 * w).abs() < 1e-6,
        "{weight_only} vs {}",
        0.5 * w
    );
    assert!(
        (all - 0.5 * (w + b)).abs() < 1e-6,
        "{all} vs {}",
        0.5 * (w + b)
    );
    assert!(l2_penalty(&model, 0.5, &DecayConfig::none()).is_none());
}

/// Under plain SGD, `w − lr·(g + λw)` and `(w − lr·g) − lr·λ·w` are the same trajectory.
#[test]
fn plain_sgd_coupled_and_decoupled_agree() {
    let device = device();
    let run = |decay: DecayConfig| {
        let mut model = linear(6, 2, &device);
        let mut optim = SgdDecayConfig::new().with_decay(decay).init();
        for t in 0..STEPS {
            let lr = 0.1 / (1.0 + t as f64);
            let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
            model = optim.step(lr, model, grads);
        }
        params(&model)
    };
    let coupled = run(DecayConfig::coupled(0.5));
    let decoupled = run(DecayConfig::decoupled(0.5));
    let undecayed = run(DecayConfig::none());
    let diff = rel_diff(&coupled, &decoupled);
    assert!(diff <= 1e-6, "relative difference {diff:e}");
    assert!(rel_diff(&coupled, &undecayed) > 1e-2);
}

fn adam_case(mode: &str, steps: usize) -> Vec<Vec<f32>> {
    // Two weights, equal at 1.0; gradients of alternating sign (no drift), sizes 1000 and 0.001.
    let grads: Vec<String> = (0..steps)
        .map(|t| {
            let s = if t % 2 == 0 { 1.0 } else { -1.0 };
            format!("[{}, {}]", 1000.0 * s, 0.001 * s)
        })
        .collect();
    let text = format!(
        r#"{{"optimizer": {{"kind": "adam"}}, "decay": {{"mode": "{mode}", "rate": 0.1}},
            "shape": [1, 2], "param": [1.0, 1.0], "grads": [{}], "lr": [{}]}}"#,
        grads.join(","),
        vec!["0.01"; steps].join(",")
    );
    Case::from_json(&text)
        .unwrap()
        .run(&Device::default())
        .unwrap()
        .params
}

/// Under Adam the modes differ where gradient scales differ: coupled decay is divided by `√v`,
/// so the weight with large gradients is hardly decayed while the one with tiny gradients is
/// pulled to zero at the full learning rate; decoupled decay shrinks both by `(1 − lr·λ)^t`.
#[test]
fn adam_coupled_and_decoupled_differ_with_gradient_scales() {
    let steps = 100;
    let coupled = adam_case("coupled", steps).pop().unwrap();
    let decoupled = adam_case("decoupled", steps).pop().unwrap();
    let none = adam_case("none", steps).pop().unwrap();
    let shrink = (1.0f64 - 0.01 * 0.1).powi(steps as i32); // 0.9048
    println!(
        "after {steps} steps: none {none:?}, coupled {coupled:?}, decoupled {decoupled:?}, (1-lr·λ)^t = {shrink:.4}"
    );
    // Decoupled: both weights end near their undecayed value times the shrink.
    for i in 0..2 {
        let expected = none[i] as f64 * shrink;
        assert!(
            (decoupled[i] as f64 - expected).abs() < 2e-3,
            "decoupled[{i}] {} vs {expected}",
            decoupled[i]
        );
    }
    // Coupled: the large-gradient weight keeps (almost) its undecayed value: decay moved it < 1e-3 …
    assert!(
        (coupled[0] - none[0]).abs() < 1e-3,
        "coupled[0] {} vs none {}",
        coupled[0],
        none[0]
    );
    // … while the tiny-gradient weight was pulled towards zero by Adam steps of up to lr each
    // (λw ≫ g, and Adam normalises the decay term itself): 1.0 → 0.22 in 100 steps.
    assert!(coupled[1].abs() < 0.3, "coupled[1] = {}", coupled[1]);
    // The two modes differ by ~0.1 on the first weight and ~0.7 on the second.
    assert!((coupled[0] - decoupled[0]).abs() > 0.05);
    assert!((coupled[1] - decoupled[1]).abs() > 0.6);
}

/// With zero gradients, decoupled decay shrinks by exactly `(1 − lr·λ)` per step.
#[test]
fn decoupled_zero_gradient_shrinks_by_exactly_one_minus_lr_lambda_per_step() {
    for kind in ["sgd", "adam"] {
        let steps = 20;
        let (lr, lambda) = (0.1f64, 0.5f64);
        let text = format!(
            r#"{{"optimizer": {{"kind": "{kind}", "momentum": 0.9}}, "decay": {{"mode": "decoupled", "rate": {lambda}}},
                "shape": [2, 2], "param": [1.0, -2.0, 0.5, 3.0], "grads": [{}], "lr": [{}]}}"#,
            vec!["[0, 0, 0, 0]"; steps].join(","),
            vec![lr.to_string(); steps].join(",")
        );
        let got = Case::from_json(&text)
            .unwrap()
            .run(&Device::default())
            .unwrap()
            .params;
        let mut w = [1.0f32, -2.0, 0.5, 3.0];
        let factor = (lr * lambda) as f32;
        for (t, row) in got.iter().enumerate() {
            for (x, y) in w.iter_mut().zip(row) {
                *x -= *x * factor; // the f32 operation the rule performs, so equality is exact
                assert_eq!(*x, *y, "{kind} step {}", t + 1);
            }
        }
        let closed_form = (1.0 - lr * lambda).powi(steps as i32);
        for (x, w0) in got[steps - 1].iter().zip([1.0, -2.0, 0.5, 3.0]) {
            let rel = (*x as f64 / (w0 * closed_form) - 1.0).abs();
            assert!(
                rel < 2e-6,
                "{kind}: {x} vs {} (rel {rel:e})",
                w0 * closed_form
            );
        }
    }
}

/// λ = 0 (and mode none) is exactly the inner optimizer, bit for bit.
#[test]
fn zero_lambda_is_exactly_the_inner_optimizer() {
    let device = device();
    let inner = AdamConfig::new().with_epsilon(1e-8).build();
    let configs = [
        DecayConfig::decoupled(0.0),
        DecayConfig::coupled(0.0),
        DecayConfig::none().with_rate(5.0),
    ];
    for config in configs {
        let mut reference: ModuleOptimizer = inner.clone().into();
        let mut wrapped = config.init(inner.clone());
        let mut a = linear(4, 3, &device);
        let mut b = a.clone();
        for t in 0..10 {
            let grads = GradientsParams::from_grads(mse(&a, t, &device).backward(), &a);
            a = reference.step(0.01, a, grads);
            let grads = GradientsParams::from_grads(mse(&b, t, &device).backward(), &b);
            b = wrapped.step(0.01, b, grads);
        }
        assert_eq!(params(&a), params(&b), "{config:?}");
    }
}

/// Rank ≤ 1 parameters (the bias) are not decayed by default; one setting decays them too.
#[test]
fn rank_le_1_exclusion_works_and_can_be_turned_off() {
    let device = device();
    for decay_bias in [false, true] {
        let model = linear(3, 2, &device);
        let (w0, b0) = (
            values(model.weight.val()),
            values(model.bias.as_ref().unwrap().val()),
        );
        let mut optim = SgdDecayConfig::new()
            .with_decay(DecayConfig::decoupled(0.5).with_decay_rank_le_1(decay_bias))
            .init();
        let grads = zero_grads(&model, mse(&model, 0, &device));
        let model = optim.step(0.1, model, grads);
        let (w1, b1) = (
            values(model.weight.val()),
            values(model.bias.as_ref().unwrap().val()),
        );
        for (a, b) in w1.iter().zip(&w0) {
            assert_eq!(*a, b - b * 0.05);
        }
        for (a, b) in b1.iter().zip(&b0) {
            let expected = if decay_bias { b - b * 0.05 } else { *b };
            assert_eq!(*a, expected, "decay_rank_le_1 = {decay_bias}");
        }
    }
}

/// Saving and reloading the optimizer state mid-run gives the same next step, bit for bit.
#[test]
fn save_and_reload_mid_run_gives_the_same_next_step() {
    let device = device();
    type Make = Box<dyn Fn() -> ModuleOptimizer>;
    let configs: Vec<(&str, Make)> = vec![
        (
            "adamw",
            Box::new(|| {
                AdamDecayConfig::new()
                    .with_decay(DecayConfig::decoupled(0.1))
                    .init()
            }),
        ),
        (
            "adam+l2 amsgrad",
            Box::new(|| {
                AdamDecayConfig::new()
                    .with_amsgrad(true)
                    .with_decay(DecayConfig::coupled(0.1))
                    .init()
            }),
        ),
        (
            "sgdw nesterov",
            Box::new(|| {
                SgdDecayConfig::new()
                    .with_momentum(0.9)
                    .with_nesterov(true)
                    .with_decay(DecayConfig::decoupled(0.1))
                    .init()
            }),
        ),
    ];
    for (name, make) in configs {
        let mut model = linear(4, 3, &device);
        let mut optim = make();
        for t in 0..3 {
            let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
            model = optim.step(0.01, model, grads);
        }
        let bytes = optim.into_bytes().unwrap();
        let mut reloaded = make().from_bytes(bytes).unwrap();
        let grads = GradientsParams::from_grads(mse(&model, 3, &device).backward(), &model);
        let a = optim.step(0.01, model.clone(), grads);
        let grads = GradientsParams::from_grads(mse(&model, 3, &device).backward(), &model);
        let b = reloaded.step(0.01, model.clone(), grads);
        assert_eq!(params(&a), params(&b), "{name}");
        // A fresh optimizer (no state) would have stepped differently: the state mattered.
        let grads = GradientsParams::from_grads(mse(&model, 3, &device).backward(), &model);
        let fresh = make().step(0.01, model, grads);
        assert_ne!(params(&a), params(&fresh), "{name}");
    }
}

/// The wrapper's record is the inner optimizer's record: Burn's own Adam loads it.
#[test]
fn records_are_interchangeable_with_the_inner_optimizer() {
    let device = device();
    let inner = AdamConfig::new().build();
    let mut model = linear(4, 3, &device);
    let mut wrapped = DecayConfig::decoupled(0.0).init(inner.clone());
    for t in 0..3 {
        let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
        model = wrapped.step(0.01, model, grads);
    }
    let mut plain: ModuleOptimizer = ModuleOptimizer::from(inner).load_record(wrapped.to_record());
    let grads = GradientsParams::from_grads(mse(&model, 3, &device).backward(), &model);
    let a = wrapped.step(0.01, model.clone(), grads);
    let grads = GradientsParams::from_grads(mse(&model, 3, &device).backward(), &model);
    let b = plain.step(0.01, model, grads);
    assert_eq!(params(&a), params(&b));
}

/// Burn's gradient clipping applies before the wrapper, as for any optimizer.
#[test]
fn gradient_clipping_applies_through_the_wrapper() {
    use burn::grad_clipping::GradientClippingConfig;
    let device = device();
    let model = linear(3, 2, &device);
    let w0 = values(model.weight.val());
    let mut optim = SgdDecayConfig::new()
        .with_decay(DecayConfig::none())
        .with_grad_clipping(Some(GradientClippingConfig::Value(1e-3)))
        .init();
    let loss = mse(&model, 0, &device).mul_scalar(1e4);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optim.step(1.0, model, grads);
    for (a, b) in values(model.weight.val()).iter().zip(&w0) {
        assert!(
            (a - b).abs() <= 1e-3 + 1e-7,
            "moved {} > clip",
            (a - b).abs()
        );
    }
    let _ = SgdConfig::new();
}
