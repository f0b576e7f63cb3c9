//! The replay cases under `tests/cases/`: this crate's trajectory against PyTorch's update rules
//! computed independently in float64 (`tests/cases/reference.py`), and one case worked by hand.

mod common;

use burn::tensor::Device;
use burn_weight_decay::replay::Case;

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
    ];
    for (text, needle) in bad {
        let err = Case::from_json(text).unwrap_err();
        assert!(err.0.contains(needle), "{text}: {err} lacks `{needle}`");
    }
}
