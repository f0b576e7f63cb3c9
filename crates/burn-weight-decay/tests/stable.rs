//! Stable weight decay (AdamS, Xie et al. NeurIPS 2023; issue 24, item 4): where it can be
//! configured, that it takes the tensor-op path, and that it is what the golden cases
//! `adams_stable*.json` (a float64 transcription of the reference's AdamS, `reference.py`) say;
//! `tests/golden.rs` replays those step by step.

mod common;

use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::Device;
use burn_weight_decay::replay::Case;
use burn_weight_decay::{AdamDecayConfig, ConfigError, DecayConfig, DecayMonitor, SgdDecayConfig};
use common::{linear, mse, params};

fn incompatible(result: Result<(), ConfigError>) -> &'static str {
    match result {
        Err(ConfigError::Incompatible { setting, reason }) => {
            assert_eq!(setting, "stable decay");
            reason
        }
        other => panic!("expected stable decay to be refused, got {other:?}"),
    }
}

/// Decoupled decay with this crate's Adam only: coupled L2 has no s_t to rescale, SGD no second
/// moment, and a wrapped Burn Adam keeps its β2 private.
#[test]
fn stable_decay_needs_decoupled_decay_and_this_crates_adam() {
    let stable = DecayConfig::decoupled(0.1).with_stable(true);
    assert!(stable.validate().is_ok());
    assert!(
        AdamDecayConfig::new()
            .with_decay(stable.clone())
            .try_build()
            .is_ok()
    );
    assert!(
        incompatible(DecayConfig::coupled(0.1).with_stable(true).validate())
            .contains("decoupled decay only")
    );
    assert!(
        incompatible(
            SgdDecayConfig::new()
                .with_decay(stable.clone())
                .try_build()
                .map(|_| ())
        )
        .contains("AdamDecayConfig")
    );
    assert!(
        incompatible(stable.try_wrap(AdamConfig::new().build()).map(|_| ()))
            .contains("AdamDecayConfig")
    );
    assert!(stable.try_wrap(SgdConfig::new().build()).is_err());
}

/// The fused kernel declines stable decay (it would need the tensor's mean `v̂` before the
/// update), so every update goes through tensor ops; plain AdamW on the same model is fused.
#[test]
fn stable_decay_takes_the_tensor_ops() {
    let device = common::device();
    let run = |decay: DecayConfig| {
        let monitor = DecayMonitor::default();
        let mut optim: burn::optim::ModuleOptimizer = AdamDecayConfig::new()
            .with_decay(decay)
            .build()
            .with_monitor(monitor.clone())
            .into();
        let mut model = linear(4, 3, &device);
        for t in 0..3 {
            let grads = GradientsParams::from_grads(mse(&model, t, &device).backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        (
            params(&model),
            monitor.fused_updates(),
            monitor.param_updates(),
        )
    };
    let (stable, fused, updates) = run(DecayConfig::decoupled(0.1).with_stable(true));
    assert_eq!((fused, updates), (0, 6));
    let (adamw, fused, _) = run(DecayConfig::decoupled(0.1));
    if cfg!(feature = "flex") {
        // The same model and decay without `stable`: the kernel takes every update.
        assert_eq!(fused, 6);
    }
    assert_ne!(stable, adamw);
}

/// The small-gradient case by hand: gradients of scale 0.01 make `√(mean v̂)` about 0.01, so
/// AdamS decays about 100× as hard as AdamW at the same λ. Over its 10 steps (lr 0.01, λ 0.05)
/// AdamW's decay alone would keep (1 − 5e-4)^10 = 99.5 % of a weight; the reference's AdamS
/// ends at 57.6 % of the starting norm, and so does the crate (to 1e-5); the same case without
/// `stable` ends far above it.
#[test]
fn small_gradients_make_stable_decay_stronger() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases/adams_stable_small_grads.json");
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = Case::from_json(&text).unwrap();
    let got = case.run(&Device::default()).unwrap();
    let expected: Vec<Vec<f64>> = serde_json::from_value(json["expected"].clone()).unwrap();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let start: Vec<f64> = case.param.iter().map(|&x| x as f64).collect();
    let kept = norm(&expected[9]) / norm(&start);
    assert!((0.5..0.7).contains(&kept), "the reference keeps {kept}");
    let got_last: Vec<f64> = got.params[9].iter().map(|&x| x as f64).collect();
    assert!((norm(&got_last) / norm(&start) - kept).abs() < 1e-5);
    // Without `stable`, the same case keeps over 99 % of its norm.
    let mut plain_json = json.clone();
    plain_json["decay"]["stable"] = false.into();
    let plain = Case::from_json(&plain_json.to_string())
        .unwrap()
        .run(&Device::default())
        .unwrap();
    let plain_last: Vec<f64> = plain.params[9].iter().map(|&x| x as f64).collect();
    assert!(norm(&plain_last) / norm(&start) > kept + 0.2);
}
