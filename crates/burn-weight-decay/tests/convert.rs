//! `burn_weight_decay::convert`: one test per row of its table with numbers worked by hand, round
//! trips both ways, the errors, and the two rows that the optimizers themselves can check: the
//! schedule-only rate gives AdamW the same weights as the learning-rate-scaled one, and coupled
//! SGD with momentum decays like its decoupled equivalent once in steady state.

mod common;

use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::convert::{
    TimescaleGuidance, coupled_to_decoupled, decoupled_to_coupled, from_loss_term, from_normalized,
    from_schedule, rate_from_timescale_epochs, rate_from_timescale_iterations, timescale_epochs,
    timescale_guidance, timescale_iterations, to_loss_term, to_normalized, to_schedule,
};
use burn_weight_decay::{
    AdamDecayConfig, ConfigError, DecayConfig, DecayScale, SgdDecayConfig, l2_penalty,
    normalized_rate,
};
use common::{tensor2, values};

/// `|a − b| ≤ tol·|b|`.
fn assert_rel(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs(),
        "{what}: {a:e} vs {b:e} (relative difference {:e})",
        ((a - b) / b).abs()
    );
}

/// The name of the setting a conversion rejected.
fn rejected(result: Result<f64, ConfigError>) -> &'static str {
    match result {
        Err(ConfigError::OutOfRange { name, .. }) => name,
        other => panic!("expected an out-of-range error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Row: PyTorch/optax/fastai/Keras (lr-scaled) λ ↔ Loshchilov & Hutter's schedule-only λ

#[test]
fn lr_scaled_rate_times_lr_max_is_the_schedule_only_rate() {
    // AdamW(lr=3e-3, weight_decay=0.01): 3e-3·0.01 = 3e-5 of the weight per step at the peak.
    assert_rel(to_schedule(0.01, 3e-3).unwrap(), 3e-5, 1e-15, "to_schedule");
    assert_rel(
        from_schedule(3e-5, 3e-3).unwrap(),
        0.01,
        1e-15,
        "from_schedule",
    );
    // SGDW(lr=0.1, λ=5e-4) ↔ λ_LH = 5e-5.
    assert_rel(to_schedule(5e-4, 0.1).unwrap(), 5e-5, 1e-15, "to_schedule");
    assert_rel(
        from_schedule(5e-5, 0.1).unwrap(),
        5e-4,
        1e-15,
        "from_schedule",
    );
    assert_eq!(to_schedule(0.0, 1e-3).unwrap(), 0.0);
    for (rate, lr_max) in [(0.01, 3e-3), (0.1, 1e-4), (1e-6, 2.5), (0.3, 1.0)] {
        let there = to_schedule(rate, lr_max).unwrap();
        assert_rel(
            from_schedule(there, lr_max).unwrap(),
            rate,
            1e-15,
            "round trip",
        );
        let back = from_schedule(rate, lr_max).unwrap();
        assert_rel(
            to_schedule(back, lr_max).unwrap(),
            rate,
            1e-15,
            "round trip",
        );
    }
}

/// Row: PyTorch's/optax's/fastai's/Keras' `weight_decay` is this crate's λ as it is. With a zero
/// gradient Adam's own step is 0, so one step is the libraries' decay alone: Keras 3's
/// `variable − variable·wd·lr`, optax's `param − lr·(0 + wd·param)`, PyTorch's `θ − γ·λ·θ`.
#[test]
fn lr_scaled_libraries_rate_is_this_crates_rate_as_is() {
    let device = Device::default();
    let (lr, wd) = (0.01, 0.004); // Keras 3 AdamW's default weight_decay
    let optim = AdamDecayConfig::new()
        .with_decay(DecayConfig::decoupled(wd))
        .build();
    let weight = tensor2(4, 3, 7, &device);
    let grad = Tensor::<2>::zeros([4, 3], &device);
    let (after, _) = Optimizer::step(&optim, lr, weight.clone(), grad, None);
    let keras: Vec<f32> = values(weight)
        .iter()
        .map(|&v| v - v * (wd * lr) as f32)
        .collect();
    let diff = max_abs_diff(&values(after), &keras);
    assert!(
        diff <= 1e-7,
        "one zero-gradient AdamW step is not w − w·wd·lr: {diff}"
    );
}

/// AdamW steps a weight through a learning-rate schedule from the same gradients.
fn adamw_run(decay: DecayConfig, lrs: &[f64]) -> Vec<f32> {
    let device = Device::default();
    let optim = AdamDecayConfig::new().with_decay(decay).build();
    let mut weight = tensor2(4, 3, 1, &device);
    let mut state = None;
    for (t, &lr) in lrs.iter().enumerate() {
        let grad = tensor2(4, 3, 50 + t as u64, &device);
        (weight, state) = Optimizer::step(&optim, lr, weight, grad, state);
    }
    values(weight)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn schedule_only_rate_gives_adamw_the_same_weights() {
    // Warm-up then decay, peak 0.1; λ = 0.5 ↔ λ_LH = 0.05.
    let lrs = [0.02, 0.06, 0.1, 0.08, 0.05, 0.02, 0.005];
    let (lambda, lr_max) = (0.5, 0.1);
    let lambda_lh = to_schedule(lambda, lr_max).unwrap();
    let schedule = DecayScale::Schedule { lr_max };

    let lr_scaled = adamw_run(DecayConfig::decoupled(lambda), &lrs);
    let schedule_only = adamw_run(DecayConfig::decoupled(lambda_lh).with_scale(schedule), &lrs);
    let diff = max_abs_diff(&lr_scaled, &schedule_only);
    assert!(
        diff <= 1e-6,
        "converted rates differ by {diff}: {lr_scaled:?} vs {schedule_only:?}"
    );

    // The decay mattered, and the unconverted number under the other scale is far off.
    let none = adamw_run(DecayConfig::none(), &lrs);
    let unconverted = adamw_run(DecayConfig::decoupled(lambda).with_scale(schedule), &lrs);
    assert!(
        max_abs_diff(&lr_scaled, &none) > 1e-2,
        "decay had no visible effect"
    );
    assert!(
        max_abs_diff(&lr_scaled, &unconverted) > 1e-2,
        "the scale made no difference"
    );
}

// ---------------------------------------------------------------------------------------------
// Row: the loss term wd·Σw² (fastai's article, Keras' regularizers.l2) ↔ coupled λ = 2·wd

#[test]
fn loss_term_coefficient_is_half_the_coupled_rate() {
    assert_eq!(from_loss_term(0.01).unwrap(), 0.02); // keras.regularizers.l2(0.01)
    assert_eq!(from_loss_term(0.1).unwrap(), 0.2); // fastbook's wd = 0.1 in the loss
    assert_eq!(to_loss_term(5e-4).unwrap(), 2.5e-4); // SGD(weight_decay=5e-4)
    assert_eq!(to_loss_term(0.0).unwrap(), 0.0);
    for wd in [0.01, 2.5e-4, 0.3, 1e-7] {
        assert_eq!(to_loss_term(from_loss_term(wd).unwrap()).unwrap(), wd);
        assert_eq!(from_loss_term(to_loss_term(wd).unwrap()).unwrap(), wd);
    }
}

#[test]
fn loss_term_gradient_is_the_converted_coupled_rate_times_the_weight() {
    let device = Device::default().autodiff();
    let model = common::linear(3, 2, &device);
    let wd = 0.15;
    let lambda = from_loss_term(wd).unwrap();
    let penalty = l2_penalty(&model, wd, &DecayConfig::coupled(1.0)).unwrap();
    let grads = GradientsParams::from_grads(penalty.backward(), &model);
    let grad = grads.get::<2>(model.weight.id).unwrap();
    let expected = model.weight.val().inner().mul_scalar(lambda);
    let (got, want) = (values(grad), values(expected));
    assert!(
        max_abs_diff(&got, &want) <= 1e-6,
        "∂(wd·Σw²)/∂w {got:?} vs λ·w {want:?}"
    );

    // And back: the loss λ/2·Σw² (wd = to_loss_term(λ)) has the gradient λ·w, coupled L2's.
    let lambda = 0.3;
    let penalty = l2_penalty(
        &model,
        to_loss_term(lambda).unwrap(),
        &DecayConfig::coupled(1.0),
    );
    let grads = GradientsParams::from_grads(penalty.unwrap().backward(), &model);
    let got = values(grads.get::<2>(model.weight.id).unwrap());
    let want = values(model.weight.val().inner().mul_scalar(lambda));
    assert!(
        max_abs_diff(&got, &want) <= 1e-6,
        "∂(λ/2·Σw²)/∂w {got:?} vs λ·w {want:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Row: coupled SGD with momentum μ ↔ decoupled λ/(1 − μ) in steady state

#[test]
fn coupled_momentum_rate_is_the_decoupled_rate_times_one_minus_mu() {
    assert_rel(
        coupled_to_decoupled(5e-4, 0.9).unwrap(),
        5e-3,
        1e-14,
        "μ = 0.9",
    );
    assert_rel(
        coupled_to_decoupled(1e-4, 0.99).unwrap(),
        1e-2,
        1e-12,
        "μ = 0.99",
    );
    assert_rel(
        coupled_to_decoupled(2e-4, 0.5).unwrap(),
        4e-4,
        1e-15,
        "μ = 0.5",
    );
    assert_eq!(coupled_to_decoupled(5e-4, 0.0).unwrap(), 5e-4); // plain SGD: the same
    assert_rel(
        decoupled_to_coupled(5e-3, 0.9).unwrap(),
        5e-4,
        1e-14,
        "μ = 0.9",
    );
    assert_rel(
        decoupled_to_coupled(4e-4, 0.5).unwrap(),
        2e-4,
        1e-15,
        "μ = 0.5",
    );
    for (rate, mu) in [(5e-4, 0.9), (1e-3, 0.95), (0.01, 0.0), (3e-5, 0.999)] {
        let there = coupled_to_decoupled(rate, mu).unwrap();
        assert_rel(
            decoupled_to_coupled(there, mu).unwrap(),
            rate,
            1e-12,
            "round trip",
        );
        let back = decoupled_to_coupled(rate, mu).unwrap();
        assert_rel(
            coupled_to_decoupled(back, mu).unwrap(),
            rate,
            1e-12,
            "round trip",
        );
    }
}

/// SGD with momentum steps a weight with zero gradient; returns it after `mark` and after `steps`
/// steps.
fn sgd_zero_grad_run(
    decay: DecayConfig,
    momentum: f64,
    nesterov: bool,
    lr: f64,
    mark: usize,
    steps: usize,
) -> (Vec<f32>, Vec<f32>) {
    let device = Device::default();
    let optim = SgdDecayConfig::new()
        .with_momentum(momentum)
        .with_nesterov(nesterov)
        .with_decay(decay)
        .build();
    let init = vec![1.0f32, -1.7, 0.3, 2.9];
    let mut weight = Tensor::<2>::from_data(TensorData::new(init, [2, 2]), &device);
    let mut state = None;
    let mut at_mark = Vec::new();
    for t in 1..=steps {
        let grad = Tensor::<2>::zeros([2, 2], &device);
        (weight, state) = Optimizer::step(&optim, lr, weight, grad, state);
        if t == mark {
            at_mark = values(weight.clone());
        }
    }
    (at_mark, values(weight))
}

/// The mean decay per step between two snapshots `steps` apart: `1 − (w_end / w_start)^(1/steps)`.
fn decay_per_step(start: &[f32], end: &[f32], steps: usize) -> Vec<f64> {
    start
        .iter()
        .zip(end)
        .map(|(&s, &e)| 1.0 - (e as f64 / s as f64).powf(1.0 / steps as f64))
        .collect()
}

#[test]
fn coupled_sgd_with_momentum_decays_like_decoupled_in_steady_state() {
    // lr·λ_c = 2e-6, small enough that the first-order equivalence is within ~2e-4; the velocity's
    // transient (μ^t) is gone long before step 500.
    let (mu, lr, lambda_c) = (0.9, 0.01, 2e-4);
    let lambda_d = coupled_to_decoupled(lambda_c, mu).unwrap(); // 2e-3
    let (mark, steps) = (500, 2000);
    for nesterov in [false, true] {
        let (c0, c1) = sgd_zero_grad_run(
            DecayConfig::coupled(lambda_c),
            mu,
            nesterov,
            lr,
            mark,
            steps,
        );
        let (d0, d1) = sgd_zero_grad_run(
            DecayConfig::decoupled(lambda_d),
            mu,
            nesterov,
            lr,
            mark,
            steps,
        );
        let coupled = decay_per_step(&c0, &c1, steps - mark);
        let decoupled = decay_per_step(&d0, &d1, steps - mark);
        for (c, d) in coupled.iter().zip(&decoupled) {
            // Decoupled decay with a zero gradient removes exactly lr·λ_d per step.
            assert_rel(*d, lr * lambda_d, 1e-3, "decoupled decay per step");
            assert_rel(
                *c,
                *d,
                1e-3,
                &format!("steady-state decay, nesterov {nesterov}"),
            );
            // Taking PyTorch's coupled λ as the decoupled one would be 10× too weak.
            assert!(
                (c - lr * lambda_c).abs() > 0.5 * c,
                "unconverted λ matched: {c:e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Row: Loshchilov & Hutter's normalized λ_norm ↔ λ = λ_norm·√(b/(B·T))

#[test]
fn normalized_rate_converts_both_ways() {
    // λ_norm = 0.05, b = 128, B = 50 000, T = 200: √(128/10⁷) = 3.577709e-3 → λ = 1.788854e-4.
    let rate = from_normalized(0.05, 128, 50_000, 200).unwrap();
    assert_rel(rate, 1.788_854_381_999_832e-4, 1e-14, "from_normalized");
    assert_eq!(rate, normalized_rate(0.05, 128, 50_000, 200));
    // λ = 1e-4, b = 32, B = 2000, T = 10: √(32/20 000) = 0.04 → λ_norm = 2.5e-3.
    assert_rel(
        to_normalized(1e-4, 32, 2000, 10).unwrap(),
        2.5e-3,
        1e-14,
        "to_normalized",
    );
    // b = 64, B = 1000, T = 4: √(64/4000) = 0.126491 → λ_norm = 0.025 gives 3.162278e-3.
    assert_rel(
        from_normalized(0.025, 64, 1000, 4).unwrap(),
        3.162_277_660_168_379_5e-3,
        1e-14,
        "from_normalized",
    );
    for (rate, b, n, t) in [
        (0.05, 128, 50_000, 200),
        (1e-3, 1, 60_000, 1),
        (0.2, 256, 256, 3),
    ] {
        let norm = to_normalized(rate, b, n, t).unwrap();
        assert_rel(
            from_normalized(norm, b, n, t).unwrap(),
            rate,
            1e-14,
            "round trip",
        );
        let plain = from_normalized(rate, b, n, t).unwrap();
        assert_rel(
            to_normalized(plain, b, n, t).unwrap(),
            rate,
            1e-14,
            "round trip",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn impossible_values_are_errors_naming_the_setting() {
    // A negative, NaN or infinite rate, in every function.
    for bad in [-1e-4, f64::NAN, f64::INFINITY] {
        assert_eq!(rejected(to_schedule(bad, 1e-3)), "weight decay rate");
        assert_eq!(rejected(from_schedule(bad, 1e-3)), "weight decay rate");
        assert_eq!(rejected(to_loss_term(bad)), "weight decay rate");
        assert_eq!(rejected(from_loss_term(bad)), "loss-term coefficient wd");
        assert_eq!(
            rejected(coupled_to_decoupled(bad, 0.9)),
            "weight decay rate"
        );
        assert_eq!(
            rejected(decoupled_to_coupled(bad, 0.9)),
            "weight decay rate"
        );
        assert_eq!(
            rejected(to_normalized(bad, 32, 2000, 10)),
            "weight decay rate"
        );
        assert_eq!(
            rejected(from_normalized(bad, 32, 2000, 10)),
            "normalized weight decay"
        );
    }
    // lr_max ≤ 0 or not finite.
    for bad in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
        assert_eq!(rejected(to_schedule(0.01, bad)), "lr_max");
        assert_eq!(rejected(from_schedule(3e-5, bad)), "lr_max");
    }
    // μ outside [0, 1).
    for bad in [1.0, 1.5, -0.1, f64::NAN] {
        assert_eq!(rejected(coupled_to_decoupled(5e-4, bad)), "momentum");
        assert_eq!(rejected(decoupled_to_coupled(5e-3, bad)), "momentum");
    }
    // A batch size, training set size or number of epochs of 0.
    for f in [to_normalized, from_normalized] {
        assert_eq!(rejected(f(0.05, 0, 2000, 10)), "batch size");
        assert_eq!(rejected(f(0.05, 32, 0, 10)), "training set size");
        assert_eq!(rejected(f(0.05, 32, 2000, 0)), "epochs");
    }
    // Results that would overflow to ∞.
    let overflow = "converted weight decay rate";
    assert_eq!(rejected(from_schedule(1e300, 1e-300)), overflow);
    assert_eq!(rejected(to_schedule(1e300, 1e300)), overflow);
    assert_eq!(rejected(from_loss_term(f64::MAX)), overflow);
    assert_eq!(rejected(coupled_to_decoupled(f64::MAX, 0.5)), overflow);
    assert_eq!(rejected(to_normalized(f64::MAX, 1, 1000, 1)), overflow);
    assert_eq!(rejected(from_normalized(f64::MAX, 1000, 1, 1)), overflow);
    // The message names the value.
    let message = to_schedule(0.01, 0.0).unwrap_err().to_string();
    assert_eq!(message, "invalid lr_max: 0 (must be finite and > 0)");
}

// ---------------------------------------------------------------------------------------------
// Row: Wang & Aitchison's EMA timescale τ_iter = 1/(η·λ), τ_epoch = τ_iter/(N/B)

/// Worked by hand: the seedlings study's three decoupled arms (peak lr 3e-3, batch 32, 2363
/// training photos, 32 epochs), and the inverse functions back to each λ.
#[test]
fn timescales_of_the_seedlings_arms_by_hand() {
    let (lr, batch, n, epochs) = (3e-3, 32, 2363, 32);
    // Steps per epoch N/B = 73.84375.
    for (rate, tau_iter, tau_epoch, band) in [
        (
            0.01,
            1e5 / 3.0,
            451.403_583,
            TimescaleGuidance::LongerThanTheRun,
        ),
        (
            0.1,
            1e4 / 3.0,
            45.140_358,
            TimescaleGuidance::LongerThanTheRun,
        ),
        (
            10.0,
            1e2 / 3.0,
            0.451_404,
            TimescaleGuidance::ShorterThanAnEpoch,
        ),
    ] {
        let it = timescale_iterations(rate, lr).unwrap();
        let ep = timescale_epochs(rate, lr, batch, n).unwrap();
        assert_rel(it, tau_iter, 1e-9, "τ_iter");
        assert_rel(ep, tau_epoch, 1e-6, "τ_epoch");
        assert_rel(ep * 2363.0 / 32.0, it, 1e-12, "τ_epoch·N/B = τ_iter");
        assert_eq!(timescale_guidance(ep, epochs), band, "λ = {rate}");
        assert_rel(
            rate_from_timescale_iterations(it, lr).unwrap(),
            rate,
            1e-12,
            "λ from τ_iter",
        );
        assert_rel(
            rate_from_timescale_epochs(ep, lr, batch, n).unwrap(),
            rate,
            1e-12,
            "λ from τ_epoch",
        );
    }
    // The λ that puts τ at the run's length, 32 epochs: 32/(3e-3·32·2363) = 0.14106.
    let at_run_length = rate_from_timescale_epochs(32.0, lr, batch, n).unwrap();
    assert_rel(
        at_run_length,
        1.0 / (3e-3 * 2363.0),
        1e-12,
        "λ at τ = 32 epochs",
    );
    // Twice that λ halves τ to 16 epochs: inside the band.
    let tau_16 = timescale_epochs(2.0 * at_run_length, lr, batch, n).unwrap();
    assert_rel(tau_16, 16.0, 1e-12, "τ at 2·λ");
    assert_eq!(
        timescale_guidance(tau_16, 32),
        TimescaleGuidance::WithinTheBand
    );
    // And at one epoch: 32 times as large, 4.514.
    let at_one_epoch = rate_from_timescale_epochs(1.0, lr, batch, n).unwrap();
    assert_rel(
        at_one_epoch,
        32.0 * at_run_length,
        1e-12,
        "λ at τ = 1 epoch",
    );
}

/// The paper's scaling rule: at a fixed τ_epoch and learning rate, λ falls as 1/N with the data
/// set size and grows with the batch size.
#[test]
fn fixed_timescale_scales_rate_with_data_and_batch() {
    let base = rate_from_timescale_epochs(5.0, 1e-3, 64, 10_000).unwrap();
    assert_rel(base, 64.0 / (1e-3 * 5.0 * 10_000.0), 1e-12, "λ");
    assert_rel(
        rate_from_timescale_epochs(5.0, 1e-3, 64, 40_000).unwrap(),
        base / 4.0,
        1e-12,
        "4× the data",
    );
    assert_rel(
        rate_from_timescale_epochs(5.0, 1e-3, 256, 10_000).unwrap(),
        base * 4.0,
        1e-12,
        "4× the batch",
    );
    assert_rel(
        rate_from_timescale_epochs(5.0, 2e-3, 64, 10_000).unwrap(),
        base / 2.0,
        1e-12,
        "2× the learning rate",
    );
}

/// The timescale is what the optimizer does: under SGDW with a zero gradient, after τ_iter
/// steps a weight keeps (1 − 1/τ)^τ of itself, ≈ e^{−1} (0.366 for τ = 100, e^{−1} = 0.368).
#[test]
fn after_one_timescale_pure_decay_leaves_about_one_over_e() {
    let (lr, rate) = (0.01, 1.0);
    let tau = timescale_iterations(rate, lr).unwrap();
    assert_rel(tau, 100.0, 1e-12, "τ_iter");
    let (_, end) = sgd_zero_grad_run(
        DecayConfig::decoupled(rate),
        0.0,
        false,
        lr,
        0,
        tau.round() as usize,
    );
    let init = [1.0f32, -1.7, 0.3, 2.9];
    let expected = 0.99f64.powi(100);
    assert_rel(expected, 0.366_032_341, 1e-8, "0.99^100");
    for (e, s) in end.iter().zip(init) {
        assert_rel(*e as f64 / s as f64, expected, 1e-4, "w_τ / w_0");
        assert!((*e as f64 / s as f64 - (-1.0f64).exp()).abs() < 0.002);
    }
}

#[test]
fn timescale_conversions_reject_what_has_no_timescale() {
    for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert_eq!(
            rejected(timescale_iterations(bad, 1e-3)),
            "weight decay rate"
        );
        assert_eq!(rejected(timescale_iterations(0.1, bad)), "learning rate");
        assert_eq!(
            rejected(timescale_epochs(bad, 1e-3, 32, 100)),
            "weight decay rate"
        );
        assert_eq!(
            rejected(rate_from_timescale_iterations(bad, 1e-3)),
            "timescale in steps"
        );
        assert_eq!(
            rejected(rate_from_timescale_epochs(bad, 1e-3, 32, 100)),
            "timescale in epochs"
        );
    }
    assert_eq!(rejected(timescale_epochs(0.1, 1e-3, 0, 100)), "batch size");
    assert_eq!(
        rejected(timescale_epochs(0.1, 1e-3, 32, 0)),
        "training set size"
    );
    assert_eq!(
        rejected(rate_from_timescale_epochs(1.0, 1e-3, 32, 0)),
        "training set size"
    );
    assert_eq!(
        rejected(timescale_iterations(1e-300, 1e-300)),
        "timescale in steps"
    );
    assert_eq!(
        rejected(rate_from_timescale_iterations(1e-300, 1e-300)),
        "converted weight decay rate"
    );
}
