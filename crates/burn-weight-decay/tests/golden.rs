//! The replay cases under `tests/cases/`: this crate's trajectory against PyTorch's update rules
//! computed independently in float64 (`tests/cases/reference.py`), and one case worked by hand.

mod common;

use burn::tensor::Device;
use burn_weight_decay::replay::{Case, Trajectory};

/// Relative tolerance f32 against the float64 reference, with an absolute floor of 2e-6 near zero
/// (parameters are of order 1, so f32 rounding of `w − lr·step` leaves ~1e-7 absolute error).
fn close(actual: f32, expected: f64) -> bool {
    let diff = (actual as f64 - expected).abs();
    diff <= 2e-5 * expected.abs().max(0.1)
}

#[test]
fn every_case_matches_the_reference() {
    for (path, case, expected) in common::replay_cases() {
        let got = case.run(&Device::default()).unwrap();
        assert_eq!(got.params.len(), expected.len(), "{}", path.display());
        assert!(!expected.is_empty());
        for (step, (g, e)) in got.params.iter().zip(&expected).enumerate() {
            for (i, (a, b)) in g.iter().zip(e).enumerate() {
                assert!(
                    close(*a, *b),
                    "{}: step {} element {i}: got {a}, reference {b}",
                    path.display(),
                    step + 1
                );
            }
        }
    }
}

/// SGD, coupled λ = 0.1, lr 0.1 then 0.05, by hand:
/// step 1: g' = [0.5 + 0.1·1, 0.5 + 0.1·(−2)] = [0.6, 0.3]; w = [1 − 0.06, −2 − 0.03] = [0.94, −2.03]
/// step 2: g' = [0 + 0.094, 0 − 0.203];        w = [0.94 − 0.0047, −2.03 + 0.01015] = [0.9353, −2.01985]
#[test]
fn hand_worked_sgd_coupled() {
    let case = Case::from_json(
        r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "coupled", "rate": 0.1},
            "shape": [1, 2], "param": [1.0, -2.0], "grads": [[0.5, 0.5], [0.0, 0.0]],
            "lr": [0.1, 0.05], "comment": "unknown fields are ignored"}"#,
    )
    .unwrap();
    let got = case.run(&Device::default()).unwrap();
    let expected = [[0.94, -2.03], [0.9353, -2.01985]];
    for (g, e) in got.params.iter().zip(expected) {
        for (a, b) in g.iter().zip(e) {
            assert!(close(*a, b), "got {a}, expected {b}");
        }
    }
}

/// AdamW, one step, by hand: m̂ = g, v̂ = g², so the Adam step is lr·g/(|g| + ε) ≈ lr·sign(g);
/// w = 2·(1 − 0.1·0.5) − 0.1·1 = 1.8 and −1·(1 − 0.05) + 0.1 = −0.85.
#[test]
fn hand_worked_adamw_first_step() {
    let case = Case::from_json(
        r#"{"optimizer": {"kind": "adam"}, "decay": {"mode": "decoupled", "rate": 0.5},
            "shape": [2, 1], "param": [2.0, -1.0], "grads": [[3.0, -0.25]], "lr": [0.1]}"#,
    )
    .unwrap();
    let got = case.run(&Device::default()).unwrap();
    assert!(close(got.params[0][0], 1.8), "{:?}", got.params);
    assert!(close(got.params[0][1], -0.85), "{:?}", got.params);
}

#[test]
fn malformed_cases_are_errors_that_say_what_is_wrong() {
    let bad = [
        (r#"{"optimizer": {"kind": "sgd"}"#, "malformed"),
        (
            r#"{"optimizer": {"kind": "rmsprop"}, "decay": {"mode": "none"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "malformed",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "sideways"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay mode",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "none"}, "shape": [2, 2], "param": [1], "grads": [], "lr": []}"#,
            "param has 1 values",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "none"}, "shape": [1], "param": [1], "grads": [[1]], "lr": []}"#,
            "1 gradients but 0 learning rates",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "coupled", "rate": -1}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "weight decay rate",
        ),
        (
            r#"{"optimizer": {"kind": "sgd", "momentum": 1.5}, "decay": {"mode": "none"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "momentum",
        ),
        // The decay variants' fields.
        (
            r#"{"optimizer": {"kind": "adam"}, "decay": {"mode": "decoupled", "rate": 0.1, "scale": "cosine"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "unknown decay.scale `cosine` (expected lr, schedule or corrected)",
        ),
        (
            r#"{"optimizer": {"kind": "adam"}, "decay": {"mode": "decoupled", "rate": 0.1, "scale": "corrected"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay.scale `corrected` needs decay.lr_max",
        ),
        (
            r#"{"optimizer": {"kind": "adam"}, "decay": {"mode": "decoupled", "rate": 0.1, "scale": "schedule"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay.scale `schedule` needs decay.lr_max",
        ),
        (
            r#"{"optimizer": {"kind": "adam"}, "decay": {"mode": "decoupled", "rate": 0.1, "scale": "corrected", "lr_max": 0}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "invalid decay scale lr_max: 0",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "coupled", "rate": 0.1, "toward": "origin"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "unknown decay.toward `origin` (expected zero, initial, norm or norm_ratio)",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rate": 0.1, "toward": "norm"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay.toward `norm` needs decay.target_norm (the target)",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rate": 0.1, "toward": "norm", "target_norm_ratio": 2}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay.toward `norm` needs decay.target_norm (the target)",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rate": 0.1, "target_norm": 2}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay.target_norm is the target of decay.toward `norm`, not `zero`",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rate": 0.1, "toward": "norm_ratio", "target_norm_ratio": -1}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "invalid target norm ratio: -1 (must be finite and ≥ 0)",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rate": 0.1, "toward": "norm", "target_norm": 2, "form": "proximal"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay form proximal has no rule toward a target norm",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rate": 0.1, "form": "additive"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "unknown decay.form `additive` (expected multiplicative or proximal)",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "coupled", "rate": 0.1, "form": "proximal"}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "decay.form `proximal` needs decay.mode `decoupled`, not `coupled`",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rates": [0.1, 0.2, 0.3]}, "shape": [1], "param": [1], "grads": [[1], [1]], "lr": [0.1, 0.1]}"#,
            "decay.rates has 3 values but the case has 2 steps",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rates": [0.1]}, "shape": [1], "param": [1], "grads": [[1], [1]], "lr": [0.1, 0.1]}"#,
            "decay.rates has 1 values but the case has 2 steps",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "rates": [0.1, -0.5]}, "shape": [1], "param": [1], "grads": [[1], [1]], "lr": [0.1, 0.1]}"#,
            "decay.rates value -0.5 of step 2 must be finite and ≥ 0",
        ),
        (
            r#"{"optimizer": {"kind": "sgd"}, "decay": {"mode": "decoupled", "scale": 1}, "shape": [1], "param": [1], "grads": [], "lr": []}"#,
            "malformed",
        ),
    ];
    for (text, needle) in bad {
        let err = Case::from_json(text).unwrap_err();
        assert!(err.0.contains(needle), "{text}: {err} lacks `{needle}`");
    }
}

/// A case file of `tests/cases/` as JSON, to derive variants of it.
fn case_json(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn run_json(json: &serde_json::Value) -> Trajectory {
    Case::from_json(&json.to_string())
        .unwrap()
        .run(&Device::default())
        .unwrap()
}

/// Without `scale`, `lr_max` alone still means the schedule scale (the format before `scale`
/// existed); `"scale": "lr"` ignores it.
#[test]
fn lr_max_alone_still_means_the_schedule_scale() {
    let implicit = case_json("adamw_schedule_scale.json");
    assert!(implicit["decay"].get("scale").is_none());
    let mut explicit = implicit.clone();
    explicit["decay"]["scale"] = "schedule".into();
    assert_eq!(run_json(&implicit), run_json(&explicit));

    let mut lr_scale = implicit.clone();
    lr_scale["decay"]["scale"] = "lr".into();
    let mut no_lr_max = implicit.clone();
    no_lr_max["decay"].as_object_mut().unwrap().remove("lr_max");
    assert_eq!(run_json(&lr_scale), run_json(&no_lr_max));
    assert_ne!(run_json(&lr_scale), run_json(&implicit));
}

/// `rates` overrides `rate`: with a per-step list the constant rate has no effect.
#[test]
fn rates_override_rate() {
    let case = case_json("adamw_rate_schedule.json");
    let mut other_rate = case.clone();
    other_rate["decay"]["rate"] = 123.0.into();
    assert_eq!(run_json(&case), run_json(&other_rate));
    let mut constant = case.clone();
    constant["decay"].as_object_mut().unwrap().remove("rates");
    assert_ne!(run_json(&case), run_json(&constant));
}

/// At the steps of `adamw_proximal.json` where `f_t = lr_t·λ_t ≥ 1`, the proximal form keeps
/// every weight's sign and shrinks it (`w ← u/(1 + f)`), where the multiplicative form of the
/// same case flips it (`w ← u − f·w ≈ (1 − f)·w`). Adam moves a weight by about `lr_t` (≤ 0.02
/// here) per step, so `u_t` has the sign of `w_t` wherever `|w_t| > 0.1`.
#[test]
fn proximal_keeps_signs_where_multiplicative_decay_flips_them() {
    let proximal = case_json("adamw_proximal.json");
    assert_eq!(proximal["decay"]["form"], "proximal");
    let case = Case::from_json(&proximal.to_string()).unwrap();
    let rates = case.decay.rates.clone().unwrap();
    let large: Vec<usize> = (0..case.lr.len())
        .filter(|&t| case.lr[t] * rates[t] >= 1.0)
        .collect();
    assert!(!large.is_empty(), "no step with f_t ≥ 1");
    assert!(large.iter().all(|&t| case.lr[t] <= 0.02));

    let mut multiplicative = proximal.clone();
    multiplicative["decay"]["form"] = "multiplicative".into();
    // Refused by default (`LargeDecay::Panic`): the flips are what this test shows.
    let refused = Case::from_json(&multiplicative.to_string()).unwrap_err();
    assert!(refused.0.contains("s_t·λ_t"), "{refused}");
    multiplicative["decay"]["large_decay"] = "allow".into();
    let prox = run_json(&proximal).params;
    let mult = run_json(&multiplicative).params;
    let before = |params: &[Vec<f32>], t: usize| {
        if t == 0 {
            case.param.clone()
        } else {
            params[t - 1].clone()
        }
    };
    for &t in &large {
        let f = case.lr[t] * rates[t];
        let (prox_before, mult_before) = (before(&prox, t), before(&mult, t));
        let mut checked = [0, 0];
        for (i, (w, after)) in prox_before.iter().zip(&prox[t]).enumerate() {
            if w.abs() > 0.1 {
                checked[0] += 1;
                assert_eq!(
                    w.signum(),
                    after.signum(),
                    "proximal step {} element {i}: {w} → {after}",
                    t + 1
                );
                assert!(
                    after.abs() < w.abs() / (1.0 + f as f32) + 0.03,
                    "step {}: {w} → {after}",
                    t + 1
                );
            }
        }
        for (i, (w, after)) in mult_before.iter().zip(&mult[t]).enumerate() {
            if w.abs() > 0.1 {
                checked[1] += 1;
                assert_eq!(
                    w.signum(),
                    -after.signum(),
                    "multiplicative step {} element {i}: {w} → {after}",
                    t + 1
                );
            }
        }
        assert!(
            checked[0] > 0 && checked[1] > 0,
            "step {}: no weight checked",
            t + 1
        );
    }
}

/// `decay_rank_le_1` and its older, inverted name `exclude_rank_le_1` give the same trajectory
/// (`bias_excluded.json` keeps the older name, `bias_included.json` has the new one), alone or
/// together when they agree.
#[test]
fn the_older_exclude_rank_le_1_reads_as_decay_rank_le_1_inverted() {
    let old = case_json("bias_excluded.json");
    assert_eq!(old["decay"]["exclude_rank_le_1"], true);
    assert!(old["decay"].get("decay_rank_le_1").is_none());
    let new = case_json("bias_included.json");
    assert_eq!(new["decay"]["decay_rank_le_1"], true);
    assert!(new["decay"].get("exclude_rank_le_1").is_none());

    for (case, decay) in [(old, false), (new, true)] {
        let mut by_new_name = case.clone();
        let fields = by_new_name["decay"].as_object_mut().unwrap();
        fields.remove("exclude_rank_le_1");
        fields.insert("decay_rank_le_1".into(), decay.into());
        let mut by_old_name = case.clone();
        let fields = by_old_name["decay"].as_object_mut().unwrap();
        fields.remove("decay_rank_le_1");
        fields.insert("exclude_rank_le_1".into(), (!decay).into());
        let mut both = by_new_name.clone();
        both["decay"]["exclude_rank_le_1"] = (!decay).into();
        let expected = run_json(&case);
        for variant in [by_new_name, by_old_name, both] {
            assert_eq!(run_json(&variant), expected, "{}", variant["decay"]);
        }
    }
    // Neither field: rank ≤ 1 is left undecayed, as both fields' defaults say.
    let mut neither = case_json("bias_excluded.json");
    neither["decay"]
        .as_object_mut()
        .unwrap()
        .remove("exclude_rank_le_1");
    assert_eq!(
        run_json(&neither),
        run_json(&case_json("bias_excluded.json"))
    );
    assert_ne!(
        run_json(&neither),
        run_json(&case_json("bias_included.json"))
    );
}

/// `decay_rank_le_1` and `exclude_rank_le_1` saying the same (so meaning the opposite) is an
/// error naming both fields and their values.
#[test]
fn contradicting_decay_rank_le_1_and_exclude_rank_le_1_is_an_error_naming_both() {
    for value in [true, false] {
        let mut case = case_json("bias_included.json");
        case["decay"]["decay_rank_le_1"] = value.into();
        case["decay"]["exclude_rank_le_1"] = value.into();
        let err = Case::from_json(&case.to_string()).unwrap_err();
        for needle in [
            format!("decay.decay_rank_le_1 {value}"),
            format!("decay.exclude_rank_le_1 {value}"),
        ] {
            assert!(err.0.contains(&needle), "{err} lacks `{needle}`");
        }
    }
}
