//! The decay variants beyond PyTorch's: corrected scale (AdamC), λ schedules, decay toward the
//! initial weights (L2-SP), the proximal form; each against its formula, through a save and
//! reload, and on the fused kernel or visibly off it.

mod common;

use burn::optim::{GradientsParams, ModuleOptimizer, Optimizer, OptimizerRecord};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{
    AdamDecayConfig, DecayConfig, DecayForm, DecayScale, DecayTarget, LargeDecay, RateSchedule,
    SgdDecayConfig, WeightDecay,
};
use common::{device, floats, linear, mse, values};

fn tensor(shape: [usize; 2], seed: u64, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(floats(shape[0] * shape[1], seed), shape),
        device,
    )
}

/// `steps` direct steps of plain SGD with zero gradients: only decay moves the weight.
fn decay_only(config: DecayConfig, lrs: &[f64]) -> (Vec<f32>, Vec<f32>) {
    let device = Device::flex();
    let optim = SgdDecayConfig::new().with_decay(config).build();
    let w0 = tensor([3, 4], 1, &device);
    let mut w = w0.clone();
    let mut state = None;
    for &lr in lrs {
        let g = Tensor::<2>::zeros([3, 4], &device);
        (w, state) = optim.step(lr, w, g, state);
    }
    (values(w0), values(w))
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= tol * w.abs().max(1e-3),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

const LRS: [f64; 6] = [0.01, 0.02, 0.03, 0.02, 0.01, 0.005];

#[test]
fn corrected_scale_follows_the_squared_learning_rate() {
    let lr_max = 0.03;
    let rate = 5.0;
    let (w0, w) = decay_only(
        DecayConfig::decoupled(rate).with_scale(DecayScale::Corrected { lr_max }),
        &LRS,
    );
    let shrink: f64 = LRS.iter().map(|lr| 1.0 - lr * lr / lr_max * rate).product();
    let want: Vec<f64> = w0.iter().map(|v| *v as f64 * shrink).collect();
    assert_close(&w, &want, 1e-5, "corrected");
    // Not the learning-rate scale: that shrinks by Π(1 − lr·λ), much more here.
    let (_, plain) = decay_only(DecayConfig::decoupled(rate), &LRS);
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let (n0, n_plain, n_corrected) = (norm(&w0), norm(&plain), norm(&w));
    assert!((n_plain / n0 - 0.605837).abs() < 1e-5, "{}", n_plain / n0);
    assert!(
        (n_corrected / n0 - shrink).abs() < 1e-5 && shrink > 0.71,
        "{shrink}"
    );
    // At the peak it equals the learning-rate scale.
    assert_eq!(DecayScale::Corrected { lr_max }.at(lr_max), lr_max);
}

#[test]
fn schedules_give_each_step_its_rate() {
    let schedules = [
        RateSchedule::Linear {
            start: 0.0,
            end: 2.0,
            steps: 4,
        },
        RateSchedule::Cosine {
            start: 2.0,
            end: 0.5,
            steps: 5,
        },
        RateSchedule::PerStep(vec![1.0, 0.0, 3.0, 2.0]),
    ];
    let by_hand: [&dyn Fn(u64) -> f64; 3] = [
        &|t| 2.0 * (t.min(4) as f64 / 4.0),
        &|t| 0.5 + 1.5 * (1.0 + (std::f64::consts::PI * t.min(5) as f64 / 5.0).cos()) / 2.0,
        &|t| [1.0, 0.0, 3.0, 2.0][(t as usize).min(3)],
    ];
    for (schedule, rate) in schedules.into_iter().zip(by_hand) {
        let (w0, w) = decay_only(
            DecayConfig::decoupled(123.0).with_schedule(schedule.clone()),
            &LRS,
        );
        let shrink: f64 = LRS
            .iter()
            .enumerate()
            .map(|(t, lr)| 1.0 - lr * rate(t as u64))
            .product();
        let want: Vec<f64> = w0.iter().map(|v| *v as f64 * shrink).collect();
        assert_close(&w, &want, 1e-5, &format!("{schedule:?}"));
    }
}

/// `steps` steps of `optim` on the fixed regression problem, from `model`.
fn train(
    optim: &mut ModuleOptimizer,
    mut model: burn::nn::Linear,
    steps: std::ops::Range<u64>,
    device: &Device,
) -> burn::nn::Linear {
    for t in steps {
        let grads = GradientsParams::from_grads(mse(&model, t, device).backward(), &model);
        model = optim.step(0.05 / (1.0 + t as f64), model, grads);
    }
    model
}

fn reload(optim: &ModuleOptimizer, fresh: ModuleOptimizer) -> ModuleOptimizer {
    let bytes = optim.to_record().into_bytes().expect("record to bytes");
    fresh.load_record(OptimizerRecord::from_bytes(bytes).expect("record from bytes"))
}

/// Trains 8 steps straight, and 3 + reload + 5; returns both weights and those of a run that
/// forgot its optimizer state at the break (which must differ, or the check could not fail).
fn interrupted(config: impl Fn() -> ModuleOptimizer) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let device = device();
    let straight = train(&mut config(), linear(4, 3, &device), 0..8, &device);
    let mut first = config();
    let half = train(&mut first, linear(4, 3, &device), 0..3, &device);
    let mut resumed = reload(&first, config());
    let resumed = train(&mut resumed, half.clone(), 3..8, &device);
    let forgot = train(&mut config(), half, 3..8, &device);
    (
        values(straight.weight.val()),
        values(resumed.weight.val()),
        values(forgot.weight.val()),
    )
}

#[test]
fn a_resumed_schedule_continues_where_it_stopped() {
    let config = || {
        AdamDecayConfig::new()
            .with_decay(
                DecayConfig::decoupled(0.0).with_schedule(RateSchedule::Linear {
                    start: 0.0,
                    end: 4.0,
                    steps: 8,
                }),
            )
            .init()
    };
    let (straight, resumed, forgot) = interrupted(config);
    assert_eq!(straight, resumed, "the reloaded run continues bit for bit");
    assert_ne!(straight, forgot, "without its record the schedule restarts");
}

#[test]
fn decay_toward_initial_weights_pulls_back_to_w0() {
    // A weight moved away from w₀ by its gradient is pulled back toward w₀, not toward zero.
    let device = Device::flex();
    for (name, optim) in [
        (
            "decoupled",
            SgdDecayConfig::new()
                .with_decay(DecayConfig::decoupled(2.0).with_toward(DecayTarget::Initial))
                .build(),
        ),
        (
            "coupled",
            SgdDecayConfig::new()
                .with_decay(DecayConfig::coupled(2.0).with_toward(DecayTarget::Initial))
                .build(),
        ),
    ] {
        let w0 = tensor([2, 3], 3, &device);
        let g = tensor([2, 3], 4, &device);
        let lr = 0.1;
        // Step 1: w₁ = w₀ − lr·g (w₁ − w₀ = 0 so no decay yet).
        let (w1, state) = optim.step(lr, w0.clone(), g.clone(), None);
        // Step 2 with zero gradient: w₂ = w₁ − lr·λ·(w₁ − w₀), both modes under plain SGD.
        let (w2, state) = optim.step(lr, w1.clone(), g.clone().mul_scalar(0.0), state);
        let (a, b, c) = (values(w0.clone()), values(w1), values(w2));
        let want: Vec<f64> = (0..a.len())
            .map(|i| b[i] as f64 - lr * 2.0 * (b[i] as f64 - a[i] as f64))
            .collect();
        assert_close(&c, &want, 1e-5, name);
        let reference = state.expect("state").reference.expect("w₀ kept");
        assert_eq!(values(reference), a, "{name}: w₀ is the first weight");
    }
}

#[test]
fn the_reference_weights_survive_a_reload() {
    let config = || {
        SgdDecayConfig::new()
            .with_momentum(0.9)
            .with_decay(DecayConfig::decoupled(3.0).with_toward(DecayTarget::Initial))
            .init()
    };
    let (straight, resumed, forgot) = interrupted(config);
    assert_eq!(
        straight, resumed,
        "the reloaded run pulls toward the same w₀"
    );
    assert_ne!(straight, forgot);
    // The record holds w₀ beside the velocity: one more tensor per decayed parameter (the
    // weight; the bias is rank 1 and not decayed).
    let device = device();
    let mut with = config();
    train(&mut with, linear(4, 3, &device), 0..2, &device);
    let mut without = SgdDecayConfig::new()
        .with_momentum(0.9)
        .with_decay(DecayConfig::decoupled(3.0))
        .init();
    train(&mut without, linear(4, 3, &device), 0..2, &device);
    assert_eq!(with.to_record().len(), without.to_record().len() + 1);
}

#[test]
fn proximal_decay_never_flips_a_sign() {
    // s_t·λ = 0.5·4 = 2: the multiplicative form sends w to w − 2w = −w, the proximal to w/3.
    // The multiplicative form is refused at such a step by default (`LargeDecay::Panic`): allow
    // it here to show what it does.
    let lrs = [0.5; 3];
    let (w0, multiplicative) = decay_only(
        DecayConfig::decoupled(4.0).with_large_decay(LargeDecay::Allow),
        &lrs,
    );
    let (_, proximal) = decay_only(
        DecayConfig::decoupled(4.0).with_form(DecayForm::Proximal),
        &lrs,
    );
    for i in 0..w0.len() {
        assert_eq!(multiplicative[i].signum(), -w0[i].signum(), "flipped");
        assert_eq!(proximal[i].signum(), w0[i].signum(), "kept");
        let want = w0[i] as f64 / 27.0;
        assert!((proximal[i] as f64 - want).abs() < 1e-6, "{i}");
    }
}

#[test]
fn proximal_toward_initial_weights_is_the_proximal_step() {
    let device = Device::flex();
    let optim = SgdDecayConfig::new()
        .with_decay(
            DecayConfig::decoupled(1.0)
                .with_form(DecayForm::Proximal)
                .with_toward(DecayTarget::Initial),
        )
        .build();
    let w0 = tensor([2, 2], 5, &device);
    let g = tensor([2, 2], 6, &device);
    let (w1, state) = optim.step(0.5, w0.clone(), g.clone(), None);
    let (w2, _) = optim.step(0.5, w1.clone(), g.clone(), state);
    // u = w₁ − 0.5·g; w₂ = (u + 0.5·w₀) / 1.5.
    let (a, b, gv, c) = (values(w0), values(w1), values(g), values(w2));
    let want: Vec<f64> = (0..4)
        .map(|i| (b[i] as f64 - 0.5 * gv[i] as f64 + 0.5 * a[i] as f64) / 1.5)
        .collect();
    assert_close(&c, &want, 1e-5, "proximal toward w₀");
}

#[test]
fn proximal_with_coupled_mode_is_an_error() {
    let err = DecayConfig::coupled(0.1)
        .with_form(DecayForm::Proximal)
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("decoupled decay only"), "{err}");
    let err = DecayConfig::decoupled(0.1)
        .with_scale(DecayScale::Corrected { lr_max: 0.0 })
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("lr_max"), "{err}");
    let err = DecayConfig::decoupled(0.1)
        .with_schedule(RateSchedule::PerStep(vec![]))
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("schedule"), "{err}");
}

/// Which variants the fused kernel covers: the counts say it, not the docs alone.
#[test]
fn the_fused_kernel_covers_scales_schedules_and_proximal_and_declines_l2_sp() {
    let device = Device::flex();
    let covered = [
        DecayConfig::decoupled(0.1).with_scale(DecayScale::Corrected { lr_max: 0.1 }),
        DecayConfig::decoupled(0.1).with_schedule(RateSchedule::Cosine {
            start: 0.1,
            end: 0.0,
            steps: 3,
        }),
        DecayConfig::decoupled(0.1).with_form(DecayForm::Proximal),
    ];
    let declined = [
        DecayConfig::decoupled(0.1).with_toward(DecayTarget::Initial),
        DecayConfig::coupled(0.1).with_toward(DecayTarget::Initial),
    ];
    let run = |decay: DecayConfig| {
        let optim: WeightDecay<_> = AdamDecayConfig::new().with_decay(decay).build();
        let mut w = tensor([8, 8], 9, &device);
        let mut state = None;
        for t in 0..4 {
            (w, state) = optim.step(0.01, w, tensor([8, 8], 20 + t, &device), state);
        }
        (
            optim.monitor().fused_updates(),
            optim.monitor().param_updates(),
        )
    };
    for decay in covered {
        assert_eq!(run(decay.clone()), (4, 4), "{decay:?}");
    }
    for decay in declined {
        assert_eq!(run(decay.clone()), (0, 4), "{decay:?}");
    }
}

#[test]
fn a_reference_record_sets_w0_to_the_given_weights() {
    let device = device();
    let pretrained = linear(4, 3, &device);
    // The model moved away from the pretrained weights before this optimizer saw it.
    let mut plain = SgdDecayConfig::new().with_decay(DecayConfig::none()).init();
    let moved = train(&mut plain, pretrained.clone(), 0..3, &device);
    let optim = SgdDecayConfig::new()
        .with_decay(DecayConfig::decoupled(2.0).with_toward(DecayTarget::Initial))
        .init();
    let record = burn_weight_decay::reference_record(&pretrained).expect("record");
    let mut optim = burn_weight_decay::load_record(optim, record, &moved).expect("it fits");
    // A zero-gradient step: w ← w − lr·λ·(w − w₀) with w₀ the pretrained weight.
    let grads = common::zero_grads(&moved, mse(&moved, 0, &device));
    let after = optim.step(0.1, moved.clone(), grads);
    let (p, m, a) = (
        values(pretrained.weight.val()),
        values(moved.weight.val()),
        values(after.weight.val()),
    );
    assert_ne!(p, m);
    let want: Vec<f64> = (0..p.len())
        .map(|i| m[i] as f64 - 0.1 * 2.0 * (m[i] as f64 - p[i] as f64))
        .collect();
    assert_close(&a, &want, 1e-5, "pulled toward the pretrained weights");
}
