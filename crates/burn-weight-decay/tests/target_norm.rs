//! Decay toward a target norm (Weight Norm Control, Loshchilov 2023, arXiv 2311.11446; AdamWN
//! around Adam): the norm follows the closed form `‖w_t‖ = r + (1 − f)^t·(‖w_0‖ − r)` under pure
//! decay, from above and from below; a target of 0 is today's decay bit for bit; coupled mode is
//! the gradient of `λ/2·(‖w‖ − r)²`; `NormRatio`'s `‖w₀‖` is kept through a reload; the fused
//! kernel covers both targets with the tensor path's bits; bad settings are errors.

mod common;

use burn::optim::{GradientsParams, ModuleOptimizer, Optimizer, OptimizerRecord, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{
    AdamDecayConfig, DecayConfig, DecayForm, DecayTarget, SgdDecayConfig, WeightDecay, rule,
};
use common::{device, floats, linear, mse, values};

fn tensor(shape: [usize; 2], seed: u64, scale: f32, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = floats(shape[0] * shape[1], seed)
        .into_iter()
        .map(|x| x * scale)
        .collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    dot / (norm(a) * norm(b))
}

fn bits(v: Vec<f32>) -> Vec<u32> {
    v.into_iter().map(f32::to_bits).collect()
}

/// `steps` steps with zero gradients (so the inner update is exactly zero for SGD and Adam) at
/// learning rate `lr`; the norm after each step, the final weight and the fused-update count.
fn pure_decay<O: Optimizer>(
    optim: &WeightDecay<O>,
    w0: Tensor<2>,
    lr: f64,
    steps: usize,
) -> (Vec<f64>, Vec<f32>, u64) {
    let device = w0.device();
    let mut w = w0;
    let mut state = None;
    let mut norms = Vec::with_capacity(steps);
    for _ in 0..steps {
        let g = Tensor::<2>::zeros(w.dims(), &device);
        (w, state) = optim.step(lr, w, g, state);
        norms.push(norm(&values(w.clone())));
    }
    (norms, values(w), optim.monitor().fused_updates())
}

#[test]
fn pure_decay_reaches_the_target_norm_along_the_closed_form() {
    let device = Device::flex();
    let (lr, rate, steps) = (0.1, 0.5, 300);
    let f: f64 = lr * rate; // the paper's update rate: 5 % of the way to the target per step
    // From above (‖w_0‖ = 6.45) and from below (0.323: the weights grow, no clamp).
    for (scale, name) in [(1.0f32, "above"), (0.05, "below")] {
        let w0 = tensor([8, 16], 7, scale, &device);
        let start = values(w0.clone());
        let n0 = norm(&start);
        for (target, r) in [
            (DecayTarget::Norm(2.0), 2.0),
            (DecayTarget::NormRatio(0.5), 0.5 * n0),
        ] {
            let decay = DecayConfig::decoupled(rate).with_toward(target);
            let adam = AdamDecayConfig::new().with_decay(decay.clone()).build();
            let sgd = SgdDecayConfig::new().with_decay(decay).build();
            for (inner, (norms, last, fused)) in [
                ("adam", pure_decay(&adam, w0.clone(), lr, steps)),
                ("sgd", pure_decay(&sgd, w0.clone(), lr, steps)),
            ] {
                let what = format!("{name} {target:?} {inner}");
                for (t, n) in norms.iter().enumerate() {
                    let want = r + (1.0 - f).powi(t as i32 + 1) * (n0 - r);
                    assert!(
                        (n - want).abs() <= 2e-6 * want,
                        "{what}: step {}: ‖w‖ = {n}, closed form {want}",
                        t + 1
                    );
                    // Never past r (checked while the gap is above f32's noise).
                    if (want - r).abs() > 1e-5 * r {
                        assert!(
                            (n - r) * (n0 - r) > 0.0,
                            "{what}: overshot at step {}",
                            t + 1
                        );
                    }
                }
                let end = norms[steps - 1];
                // The closed form leaves 0.95^300·|‖w_0‖ − r|, under 5e-7 of r here; measured:
                // 6.8e-7 (Norm(2) from above), 6.3e-7 (from below), every step within 4.6e-7
                // of the closed form.
                assert!(
                    ((end - r) / r).abs() < 2e-6,
                    "{what}: ‖w‖ = {end}, target {r}"
                );
                assert!(
                    cosine(&last, &start) > 1.0 - 1e-6,
                    "{what}: the direction moved"
                );
                assert_eq!(fused, steps as u64, "{what}: every update fused");
            }
        }
    }
}

/// Eight steps of `optim` on the regression problem, from the same model; every parameter's bits
/// after every step.
fn trajectory(mut optim: ModuleOptimizer) -> Vec<Vec<u32>> {
    let device = device();
    let mut model = linear(6, 5, &device);
    let mut out = Vec::new();
    for t in 0..8 {
        let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
        model = optim.step(0.05 / (1.0 + t as f64), model, grads);
        let mut step = bits(values(model.weight.val()));
        step.extend(bits(values(model.bias.as_ref().expect("bias").val())));
        out.push(step);
    }
    out
}

fn module(adam: bool, decay: DecayConfig, fused: bool) -> ModuleOptimizer {
    if adam {
        AdamDecayConfig::new()
            .with_decay(decay)
            .with_fused(fused)
            .init()
    } else {
        SgdDecayConfig::new()
            .with_momentum(0.9)
            .with_decay(decay)
            .with_fused(fused)
            .init()
    }
}

#[test]
fn a_target_of_zero_is_todays_decay_bit_for_bit() {
    for adam in [true, false] {
        for base in [
            DecayConfig::decoupled(0.3),
            DecayConfig::coupled(0.3),
            DecayConfig::decoupled(0.3).with_decay_rank_le_1(true),
        ] {
            for fused in [true, false] {
                let today = trajectory(module(adam, base.clone(), fused));
                for target in [DecayTarget::Norm(0.0), DecayTarget::NormRatio(0.0)] {
                    let zero = trajectory(module(adam, base.clone().with_toward(target), fused));
                    assert_eq!(
                        zero, today,
                        "adam {adam}, {base:?}, {target:?}, fused {fused}"
                    );
                }
                // The target is not ignored: the smallest target changes the trajectory.
                let tiny = trajectory(module(
                    adam,
                    base.clone().with_toward(DecayTarget::Norm(1e-3)),
                    fused,
                ));
                assert_ne!(tiny, today, "adam {adam}, {base:?}, fused {fused}");
            }
        }
    }
}

#[test]
fn coupled_toward_a_norm_is_the_gradient_of_the_norm_penalty() {
    let device = Device::flex();
    let (lr, rate, r) = (0.05, 2.0, 1.5);
    let w0 = tensor([4, 5], 3, 1.0, &device);
    let grads: Vec<Tensor<2>> = (0..20)
        .map(|t| tensor([4, 5], 40 + t, 1.0, &device))
        .collect();
    let target = DecayTarget::Norm(r);
    let run = |decay: DecayConfig| {
        let optim = decay.wrap(SgdConfig::new().build());
        let (mut w, mut state) = (w0.clone(), None);
        let mut out = Vec::new();
        for g in &grads {
            (w, state) = optim.step(lr, w, g.clone(), state);
            out.push(values(w.clone()));
        }
        out
    };
    let coupled = run(DecayConfig::coupled(rate).with_toward(target));
    // Step 1 by hand in f64: w₁ = w₀ − lr·(g + λ·(1 − r/‖w₀‖)·w₀).
    let (w, g) = (values(w0.clone()), values(grads[0].clone()));
    let c = 1.0 - r / norm(&w);
    for i in 0..w.len() {
        let want = w[i] as f64 - lr * (g[i] as f64 + rate * c * w[i] as f64);
        assert!((coupled[0][i] as f64 - want).abs() < 1e-6, "element {i}");
    }
    // Under plain SGD, coupled and decoupled toward the norm take the same steps (as they do
    // toward zero), up to f32 rounding.
    let decoupled = run(DecayConfig::decoupled(rate).with_toward(target));
    for (t, (a, b)) in coupled.iter().zip(&decoupled).enumerate() {
        assert!(common::rel_diff(a, b) < 1e-5, "step {}", t + 1);
    }
    // Under Adam they differ: the coupled term goes through √v.
    let adam = |decay: DecayConfig| {
        let optim = AdamDecayConfig::new().with_decay(decay).build();
        let (mut w, mut state) = (w0.clone(), None);
        for g in &grads {
            (w, state) = optim.step(lr, w, g.clone(), state);
        }
        values(w)
    };
    let (a, b) = (
        adam(DecayConfig::coupled(rate).with_toward(target)),
        adam(DecayConfig::decoupled(rate).with_toward(target)),
    );
    assert!(
        common::rel_diff(&a, &b) > 1e-3,
        "{}",
        common::rel_diff(&a, &b)
    );
}

#[test]
fn the_initial_norm_is_the_first_steps_and_survives_a_reload() {
    let device = Device::flex();
    let optim = SgdDecayConfig::new()
        .with_decay(DecayConfig::decoupled(1.0).with_toward(DecayTarget::NormRatio(0.5)))
        .build();
    let w0 = tensor([3, 4], 5, 1.0, &device);
    let g = tensor([3, 4], 6, 1.0, &device);
    let n0 = rule::tensor_norm(&w0);
    let by_hand = norm(&values(w0.clone()));
    assert!((n0 - by_hand).abs() < 1e-6 * by_hand, "{n0} vs {by_hand}");
    let (w1, state) = optim.step(0.1, w0, g.clone(), None);
    assert_eq!(state.as_ref().expect("state").initial_norm, Some(n0));
    // The second step keeps ‖w₀‖ (it steers toward 0.5·‖w₀‖, not 0.5·‖w₁‖).
    let (_, state) = optim.step(0.1, w1, g, state);
    assert_eq!(state.expect("state").initial_norm, Some(n0));

    // Through a record: 3 steps, save, reload into a fresh optimizer, 5 more steps, bit for bit
    // the 8 straight steps; a run that lost its state at the break (and so takes ‖w₃‖ as its
    // initial norm) differs.
    let config = || {
        AdamDecayConfig::new()
            .with_decay(DecayConfig::decoupled(4.0).with_toward(DecayTarget::NormRatio(0.25)))
            .init()
    };
    let device = common::device();
    let train =
        |optim: &mut ModuleOptimizer, mut model: burn::nn::Linear, steps: std::ops::Range<u64>| {
            for t in steps {
                let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
                model = optim.step(0.05, model, grads);
            }
            model
        };
    let straight = train(&mut config(), linear(4, 3, &device), 0..8);
    let mut first = config();
    let half = train(&mut first, linear(4, 3, &device), 0..3);
    let record = first.to_record();
    let summary = format!("{record:?}");
    let bytes = record.into_bytes().expect("record to bytes");
    let mut resumed =
        config().load_record(OptimizerRecord::from_bytes(bytes).expect("record from bytes"));
    let resumed = train(&mut resumed, half.clone(), 3..8);
    let forgot = train(&mut config(), half, 3..8);
    assert_eq!(values(straight.weight.val()), values(resumed.weight.val()));
    assert_ne!(values(straight.weight.val()), values(forgot.weight.val()));
    // The record holds one scalar more than `Norm`'s: the weight's ‖w₀‖ (the bias, rank 1, does
    // not decay and keeps none). `Norm` itself keeps nothing more than decay toward zero.
    let scalars = |target: DecayTarget| {
        let mut optim = AdamDecayConfig::new()
            .with_decay(DecayConfig::decoupled(4.0).with_toward(target))
            .init();
        train(&mut optim, linear(4, 3, &device), 0..3);
        let text = format!("{:?}", optim.to_record());
        text.split("num_scalars: ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<usize>().ok())
            .expect("num_scalars in the record's Debug")
    };
    assert_eq!(
        scalars(DecayTarget::NormRatio(0.25)),
        scalars(DecayTarget::Norm(1.0)) + 1,
        "{summary}"
    );
    assert_eq!(scalars(DecayTarget::Norm(1.0)), scalars(DecayTarget::Zero));
}

/// Six steps of `optim` on a 16×16 weight with fixed gradients: the bits after each step, and
/// the monitor's (fused updates, parameter updates).
fn direct_steps<O: Optimizer>(optim: &WeightDecay<O>, lr: f64) -> (Vec<Vec<u32>>, (u64, u64)) {
    let device = Device::flex();
    let mut w = tensor([16, 16], 9, 1.0, &device);
    let mut state = None;
    let mut out = Vec::new();
    for t in 0..6 {
        (w, state) = optim.step(lr, w, tensor([16, 16], 20 + t, 1.0, &device), state);
        out.push(bits(values(w.clone())));
    }
    let monitor = optim.monitor();
    (out, (monitor.fused_updates(), monitor.param_updates()))
}

#[test]
fn the_fused_kernel_covers_target_norms_with_the_tensor_paths_bits() {
    for decay in [
        DecayConfig::decoupled(0.5).with_toward(DecayTarget::Norm(3.0)),
        DecayConfig::decoupled(0.5).with_toward(DecayTarget::NormRatio(2.0)),
        DecayConfig::coupled(0.5).with_toward(DecayTarget::Norm(3.0)),
        DecayConfig::coupled(0.5).with_toward(DecayTarget::NormRatio(0.5)),
    ] {
        let adam = |fused| {
            let config = AdamDecayConfig::new().with_decay(decay.clone());
            direct_steps(&config.with_fused(fused).build(), 0.02)
        };
        let sgd = |fused| {
            let config = SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(decay.clone());
            direct_steps(&config.with_fused(fused).build(), 0.05)
        };
        for (inner, (fused, plain)) in [
            ("adam", (adam(true), adam(false))),
            ("sgd", (sgd(true), sgd(false))),
        ] {
            assert_eq!(
                fused.0, plain.0,
                "{inner}, {decay:?}: fused and tensor ops differ"
            );
            assert_eq!(fused.1, (6, 6), "{inner}, {decay:?}: every update fused");
            assert_eq!(plain.1, (0, 6), "{inner}, {decay:?}");
        }
    }
}

#[test]
fn an_all_zero_tensor_stays_at_zero() {
    let device = Device::flex();
    for decay in [
        DecayConfig::decoupled(1.0).with_toward(DecayTarget::Norm(1.0)),
        DecayConfig::coupled(1.0).with_toward(DecayTarget::Norm(1.0)),
        DecayConfig::decoupled(1.0).with_toward(DecayTarget::NormRatio(2.0)),
    ] {
        let optim = SgdDecayConfig::new().with_decay(decay.clone()).build();
        let mut w = Tensor::<2>::zeros([3, 3], &device);
        let mut state = None;
        for _ in 0..3 {
            (w, state) = optim.step(0.1, w, Tensor::zeros([3, 3], &device), state);
        }
        assert_eq!(
            values(w),
            vec![0.0; 9],
            "{decay:?}: no direction to grow along, no NaN"
        );
    }
}

#[test]
fn bad_targets_and_the_proximal_form_are_errors() {
    for (target, name) in [
        (DecayTarget::Norm(-1.0), "invalid target norm: -1"),
        (DecayTarget::Norm(f64::INFINITY), "invalid target norm: inf"),
        (
            DecayTarget::NormRatio(f64::NAN),
            "invalid target norm ratio: NaN",
        ),
    ] {
        let err = DecayConfig::decoupled(0.1)
            .with_toward(target)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
        let err = AdamDecayConfig::new()
            .with_decay(DecayConfig::decoupled(0.1).with_toward(target))
            .try_build()
            .err()
            .expect("try_build refuses it");
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = DecayConfig::decoupled(0.1)
        .with_toward(DecayTarget::Norm(2.0))
        .with_form(DecayForm::Proximal)
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "decay form proximal has no rule toward a target norm (Weight Norm Control defines the \
         multiplicative one only): use DecayForm::Multiplicative"
    );
    // A target of 0 is decay toward zero, which has a proximal form.
    assert!(
        DecayConfig::decoupled(0.1)
            .with_toward(DecayTarget::Norm(0.0))
            .with_form(DecayForm::Proximal)
            .validate()
            .is_ok()
    );
    assert_eq!(DecayTarget::NormRatio(1.0).name(), "norm_ratio");
    assert_eq!(DecayTarget::Norm(1.0).name(), "norm");
}
