//! The named constructors build what their names say: `adamw`, `adam_l2`, `adam`, `sgdw`,
//! `sgd_l2`, `sgd` set the decay mode and rate they name and nothing else, step for step as the
//! long form, and the undecayed ones are Burn's own optimizers. `new()` stays AdamW / SGDW with
//! λ = 0.01, and "plain Adam + `l2_penalty`" is `adam()`, not `new()`.

mod common;

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, DecayMode, SgdDecayConfig, l2_penalty};
use common::*;

const LR: f64 = 0.01;
const STEPS: u64 = 8;

/// The weights and bias of a fixed linear layer after each of `STEPS` steps on the shared
/// regression batches, with `penalty` = `Some(wd)` adding `l2_penalty(wd)` to the loss.
fn trajectory(mut optim: ModuleOptimizer, penalty: Option<(f64, DecayConfig)>) -> Vec<Vec<f32>> {
    let device = device();
    let mut model = linear(4, 3, &device);
    let mut out = Vec::new();
    for t in 0..STEPS {
        let mut loss = mse(&model, t, &device);
        if let Some((wd, selection)) = &penalty {
            loss = loss + l2_penalty(&model, *wd, selection).expect("weights are decayed");
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(LR, model, grads);
        out.push(params(&model));
    }
    out
}

fn json<T: serde::Serialize>(config: &T) -> String {
    serde_json::to_string(config).unwrap()
}

#[test]
fn each_constructor_sets_the_mode_and_rate_it_names_and_nothing_else() {
    let adam: [(&str, AdamDecayConfig, DecayMode, f64); 3] = [
        (
            "adamw",
            AdamDecayConfig::adamw(0.05),
            DecayMode::Decoupled,
            0.05,
        ),
        (
            "adam_l2",
            AdamDecayConfig::adam_l2(3e-4),
            DecayMode::Coupled,
            3e-4,
        ),
        ("adam", AdamDecayConfig::adam(), DecayMode::None, 0.0),
    ];
    for (name, config, mode, rate) in adam {
        assert_eq!(config.decay.mode, mode, "{name}");
        assert_eq!(config.decay.rate, rate, "{name}");
        // Every other field is `new()`'s: PyTorch's β 0.9/0.999, ε 1e-8, no AMSGrad, fused on,
        // and the decay's own defaults (rank ≤ 1 not decayed, lr scale, NaN skip).
        let expected =
            AdamDecayConfig::new().with_decay(DecayConfig::new().with_mode(mode).with_rate(rate));
        assert_eq!(json(&config), json(&expected), "{name}");
        assert_eq!(
            (config.beta_1, config.beta_2, config.epsilon),
            (0.9, 0.999, 1e-8)
        );
        assert!(!config.amsgrad && !config.decay.decay_rank_le_1, "{name}");
    }
    let sgd: [(&str, SgdDecayConfig, DecayMode, f64); 3] = [
        (
            "sgdw",
            SgdDecayConfig::sgdw(5e-4),
            DecayMode::Decoupled,
            5e-4,
        ),
        (
            "sgd_l2",
            SgdDecayConfig::sgd_l2(0.2),
            DecayMode::Coupled,
            0.2,
        ),
        ("sgd", SgdDecayConfig::sgd(), DecayMode::None, 0.0),
    ];
    for (name, config, mode, rate) in sgd {
        assert_eq!(config.decay.mode, mode, "{name}");
        assert_eq!(config.decay.rate, rate, "{name}");
        let expected =
            SgdDecayConfig::new().with_decay(DecayConfig::new().with_mode(mode).with_rate(rate));
        assert_eq!(json(&config), json(&expected), "{name}");
        assert_eq!((config.momentum, config.dampening), (0.0, 0.0), "{name}");
        assert!(!config.nesterov, "{name}");
    }
}

/// `new()` is unchanged: it decays, with λ = 0.01, decoupled.
#[test]
fn new_is_still_adamw_and_sgdw_with_lambda_0_01() {
    assert_eq!(
        json(&AdamDecayConfig::new()),
        json(&AdamDecayConfig::adamw(0.01))
    );
    assert_eq!(
        json(&SgdDecayConfig::new()),
        json(&SgdDecayConfig::sgdw(0.01))
    );
    let decay = AdamDecayConfig::new().decay;
    assert_eq!((decay.mode, decay.rate), (DecayMode::Decoupled, 0.01));
    let decay = SgdDecayConfig::new().decay;
    assert_eq!((decay.mode, decay.rate), (DecayMode::Decoupled, 0.01));
}

/// Each constructor trains exactly as the long form it abbreviates, bit for bit at every step.
#[test]
fn constructors_step_bit_for_bit_as_the_long_form() {
    let lambda = 0.1;
    let cases: Vec<(&str, ModuleOptimizer, ModuleOptimizer)> = vec![
        (
            "adamw",
            AdamDecayConfig::adamw(lambda).init(),
            AdamDecayConfig::new()
                .with_decay(DecayConfig::decoupled(lambda))
                .init(),
        ),
        (
            "adam_l2",
            AdamDecayConfig::adam_l2(lambda).init(),
            AdamDecayConfig::new()
                .with_decay(DecayConfig::coupled(lambda))
                .init(),
        ),
        (
            "adam",
            AdamDecayConfig::adam().init(),
            AdamDecayConfig::new()
                .with_decay(DecayConfig::none())
                .init(),
        ),
        (
            "sgdw momentum",
            SgdDecayConfig::sgdw(lambda).with_momentum(0.9).init(),
            SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(DecayConfig::decoupled(lambda))
                .init(),
        ),
        (
            "sgd_l2 momentum",
            SgdDecayConfig::sgd_l2(lambda).with_momentum(0.9).init(),
            SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(DecayConfig::coupled(lambda))
                .init(),
        ),
        (
            "sgd",
            SgdDecayConfig::sgd().init(),
            SgdDecayConfig::new().with_decay(DecayConfig::none()).init(),
        ),
    ];
    for (name, short, long) in cases {
        let a = trajectory(short, None);
        let b = trajectory(long, None);
        assert_eq!(a, b, "{name}");
        // The run moved the weights: equal trajectories are not two copies of the start.
        assert_ne!(a[0], a[STEPS as usize - 1], "{name}");
    }
}

/// The undecayed and coupled constructors are Burn's own optimizers with PyTorch's defaults:
/// `adam()` is `AdamConfig::new().with_epsilon(1e-8)`, `sgd()` is `SgdConfig::new()`, and
/// `adam_l2(λ)` / `sgd_l2(λ)` decaying every parameter (as PyTorch does) are Burn's Adam / SGD
/// with `WeightDecayConfig::new(λ)`; bit for bit.
#[test]
fn plain_and_coupled_constructors_equal_burns_own_optimizers() {
    let lambda = 0.1;
    let all = |config: DecayConfig| config.with_decay_rank_le_1(true);
    let mut adam_l2 = AdamDecayConfig::adam_l2(lambda);
    adam_l2.decay = all(adam_l2.decay);
    let mut sgd_l2 = SgdDecayConfig::sgd_l2(lambda).with_momentum(0.9);
    sgd_l2.decay = all(sgd_l2.decay);
    let momentum = MomentumConfig::new().with_dampening(0.0);
    let cases: Vec<(&str, ModuleOptimizer, ModuleOptimizer)> = vec![
        (
            "adam",
            AdamDecayConfig::adam().init(),
            AdamConfig::new().with_epsilon(1e-8).build().into(),
        ),
        (
            "adam_l2, every parameter",
            adam_l2.init(),
            AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(Some(WeightDecayConfig::new(lambda as f32)))
                .build()
                .into(),
        ),
        (
            "sgd",
            SgdDecayConfig::sgd().init(),
            SgdConfig::new().build().into(),
        ),
        (
            "sgd_l2 momentum, every parameter",
            sgd_l2.init(),
            SgdConfig::new()
                .with_momentum(Some(momentum))
                .with_weight_decay(Some(WeightDecayConfig::new(lambda as f32)))
                .build()
                .into(),
        ),
    ];
    for (name, ours, burns) in cases {
        assert_eq!(trajectory(ours, None), trajectory(burns, None), "{name}");
    }
}

/// The mistake, measured: "plain Adam + `l2_penalty`" is `adam()` with the penalty in the
/// loss, and that is `adam_l2(2·wd)` up to rounding; `new()` with the penalty decays twice and
/// lands far away.
#[test]
fn plain_adam_with_l2_penalty_is_adam_l2_and_new_is_not_plain_adam() {
    let wd = 0.05;
    let selection = DecayConfig::coupled(2.0 * wd);
    let reference = trajectory(AdamDecayConfig::adam_l2(2.0 * wd).init(), None);
    let with_adam = trajectory(
        AdamDecayConfig::adam().init(),
        Some((wd, selection.clone())),
    );
    let with_new = trajectory(AdamDecayConfig::new().init(), Some((wd, selection)));
    let last = STEPS as usize - 1;
    let right = rel_diff(&with_adam[last], &reference[last]);
    let wrong = rel_diff(&with_new[last], &reference[last]);
    println!("adam() + l2_penalty vs adam_l2: {right:.2e}; new() + l2_penalty: {wrong:.2e}");
    assert!(right < 1e-5, "adam() + l2_penalty vs adam_l2: {right}");
    assert!(
        wrong > 100.0 * right.max(1e-7),
        "new() + l2_penalty: {wrong}"
    );
}

/// The recipe that matches Burn's own `AdamWConfig`: its ε (1e-5 by default, 1e-8 here) and its
/// decay of every parameter (`with_decay_rank_le_1(true)`; this crate skips biases and norm
/// parameters by default). Burn's AdamW applies the same decoupled rule in another f32 order,
/// so the two agree to rounding, not bit for bit.
#[test]
fn burns_adamw_is_adamw_with_its_epsilon_and_every_parameter_decayed() {
    let wd = 0.1;
    let burn = trajectory(
        burn::optim::AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(wd as f32)
            .build()
            .into(),
        None,
    );
    let ours = |decay_rank_le_1: bool| {
        let mut config = AdamDecayConfig::adamw(wd);
        config.decay = config.decay.with_decay_rank_le_1(decay_rank_le_1);
        trajectory(config.init(), None)
    };
    let max_diff = |a: &[Vec<f32>], b: &[Vec<f32>]| {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let same = max_diff(&burn, &ours(true));
    assert!(same < 2e-6, "recipe: {same}");
    // By default the bias is not decayed, so the trajectories part.
    let default = max_diff(&burn, &ours(false));
    assert!(default > 1e-5, "default: {default}");
}
