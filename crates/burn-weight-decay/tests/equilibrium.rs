//! Rotational-equilibrium diagnostics: the measured angle is the angle, and under AdamW a
//! scale-invariant weight settles at the predicted angle and norm (Kosson et al. 2024).

mod common;

use burn::optim::{ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::equilibrium::InnerKind;
use burn_weight_decay::{AdamDecayConfig, DecayConfig, DecayMonitor, SgdDecayConfig};
use common::{device, floats, linear, mse, values};

fn tensor(shape: [usize; 2], seed: u64, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(floats(shape[0] * shape[1], seed), shape),
        device,
    )
}

/// The gradient of a scale-invariant weight: `g` with its component along `w` removed.
fn tangential(g: Tensor<2>, w: &Tensor<2>) -> Tensor<2> {
    let along = g.clone().mul(w.clone()).sum().into_scalar::<f64>()
        / w.clone().square().sum().into_scalar::<f64>();
    g.sub(w.clone().mul_scalar(along))
}

#[test]
fn the_measured_angle_is_the_angle_between_the_weights() {
    let device = Device::flex();
    let optim = AdamDecayConfig::new()
        .with_decay(DecayConfig::decoupled(0.5))
        .build();
    let w = tensor([6, 5], 1, &device);
    let g = tensor([6, 5], 2, &device);
    optim.monitor().arm();
    let (after, _) = optim.step(0.05, w.clone(), g, None);
    let samples = optim.monitor().take_equilibrium();
    assert_eq!(samples.len(), 1);
    let s = &samples[0];
    let (a, b) = (values(w), values(after));
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let angle = (dot / (na * nb)).clamp(-1.0, 1.0).acos();
    assert!((s.angle - angle).abs() < 1e-4, "{} vs {angle}", s.angle);
    assert!((s.norm - nb).abs() < 1e-4 * nb);
    assert_eq!(s.shape, vec![6, 5]);
    assert_eq!(s.factor, 0.05 * 0.5);
    // β1 = 0.9 (f32 in the config): √(2·f·(1 − β1)/(1 + β1)).
    let beta = 0.9f32 as f64;
    let want = (2.0 * 0.025 * (1.0 - beta) / (1.0 + beta)).sqrt();
    assert!((s.predicted_angle.unwrap() - want).abs() < 1e-12);
    assert_eq!(s.steps_needed, Some(40.0));
    // Unarmed steps measure nothing.
    assert!(optim.monitor().take_equilibrium().is_empty());
}

#[test]
fn adamw_settles_at_the_predicted_angle_and_norm() {
    // β1 = 0: each element's update is ±lr in size, the paper's random-walk model.
    let device = Device::flex();
    let (lr, rate) = (0.01, 1.0);
    let optim = AdamDecayConfig::new()
        .with_beta_1(0.0)
        .with_decay(DecayConfig::decoupled(rate))
        .build();
    let mut w = tensor([64, 64], 3, &device).mul_scalar(10.0);
    let mut state = None;
    let steps = 1200; // 12 × the 1/(η·λ) = 100 steps equilibrium needs
    let mut angles = Vec::new();
    let mut last = None;
    for t in 0..steps {
        let g = tangential(tensor([64, 64], 100 + t, &device), &w);
        let measuring = t >= steps - 50;
        if measuring {
            optim.monitor().arm();
        }
        (w, state) = optim.step(lr, w, g, state);
        if measuring {
            let sample = optim.monitor().take_equilibrium().remove(0);
            angles.push(sample.angle);
            last = Some(sample);
        }
    }
    let last = last.unwrap();
    let mean = angles.iter().sum::<f64>() / angles.len() as f64;
    let predicted = last.predicted_angle.unwrap();
    assert!((predicted - (2.0f64 * lr * rate).sqrt()).abs() < 1e-12);
    assert!(
        (mean / predicted - 1.0).abs() < 0.1,
        "measured {mean}, predicted {predicted}"
    );
    let predicted_norm = last.predicted_norm.unwrap();
    assert!((predicted_norm - lr * (4096.0f64 / (2.0 * lr * rate)).sqrt()).abs() < 1e-9);
    assert!(
        (last.norm / predicted_norm - 1.0).abs() < 0.1,
        "norm {}, predicted {predicted_norm}",
        last.norm
    );
}

#[test]
fn far_from_equilibrium_the_angle_is_far_from_its_prediction() {
    // The same weight after 20 steps at 1/(η·λ) = 10 000 steps needed: a large weight turns
    // much less than equilibrium predicts. The check above could fail.
    let device = Device::flex();
    let optim = AdamDecayConfig::new()
        .with_beta_1(0.0)
        .with_decay(DecayConfig::decoupled(0.01))
        .build();
    let mut w = tensor([64, 64], 3, &device).mul_scalar(10.0);
    let mut state = None;
    for t in 0..20 {
        let g = tangential(tensor([64, 64], 100 + t, &device), &w);
        if t == 19 {
            optim.monitor().arm();
        }
        (w, state) = optim.step(0.01, w, g, state);
    }
    let s = optim.monitor().take_equilibrium().remove(0);
    assert!(s.angle_ratio().unwrap() < 0.5, "{:?}", s.angle_ratio());
    assert_eq!(s.steps_needed, Some(10_000.0));
}

#[test]
fn predictions_follow_the_inner_optimizer() {
    let device = Device::flex();
    let w = tensor([4, 4], 1, &device);
    let g = tensor([4, 4], 2, &device);
    let sample = |optim: &dyn Fn(Tensor<2>, Tensor<2>, &DecayMonitor)| {
        let monitor = DecayMonitor::default();
        monitor.arm();
        optim(w.clone(), g.clone(), &monitor);
        monitor.take_equilibrium().remove(0)
    };
    // SGD + L2 with momentum 0.9: √(2·η·λ/(1 + α)).
    let s = sample(&|w, g, m| {
        let o = SgdDecayConfig::new()
            .with_momentum(0.9)
            .with_decay(DecayConfig::coupled(0.1))
            .build()
            .with_monitor(m.clone());
        o.step(0.1, w, g, None);
    });
    assert!((s.predicted_angle.unwrap() - (2.0f64 * 0.01 / 1.9).sqrt()).abs() < 1e-12);
    assert!(s.predicted_norm.is_some());
    // Adam + L2: the paper gives no equilibrium of this form.
    let s = sample(&|w, g, m| {
        let o = AdamDecayConfig::new()
            .with_decay(DecayConfig::coupled(0.1))
            .build()
            .with_monitor(m.clone());
        o.step(0.1, w, g, None);
    });
    assert_eq!((s.predicted_angle, s.predicted_norm), (None, None));
    assert!(s.angle > 0.0);
    // A wrapped optimizer of unknown kind gets a prediction once named.
    let s = sample(&|w, g, m| {
        let o = DecayConfig::decoupled(0.1)
            .wrap(burn::optim::AdamConfig::new().build())
            .with_inner_kind(InnerKind::Adam { beta_1: 0.0 })
            .with_monitor(m.clone());
        o.step(0.1, w, g, None);
    });
    assert!((s.predicted_angle.unwrap() - 0.02f64.sqrt()).abs() < 1e-12);
}

#[test]
fn a_module_step_samples_each_decayed_tensor_once() {
    let device = device();
    let monitor = DecayMonitor::default();
    let mut optim: ModuleOptimizer = AdamDecayConfig::new()
        .with_decay(DecayConfig::decoupled(0.1))
        .build()
        .with_monitor(monitor.clone())
        .into();
    let model = linear(4, 3, &device);
    monitor.arm();
    let grads =
        burn::optim::GradientsParams::from_grads(mse(&model, 0, &device).backward(), &model);
    let _ = optim.step(1e-2, model, grads);
    let samples = monitor.take_equilibrium();
    // The weight only: the bias (rank 1) is not decayed.
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].shape, vec![4, 3]);
}
