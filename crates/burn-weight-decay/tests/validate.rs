//! Bad settings are rejected with a [`ConfigError`] that names the setting and the value, through
//! every public entry point (`validate`, `try_build`, `try_wrap`; `build`, `wrap` and `init`
//! panic with the same message), and valid settings are accepted.

use burn::config::Config;
use burn::optim::SgdConfig;
use burn_weight_decay::{
    AdamDecayConfig, ConfigError, DecayConfig, DecayMode, DecayScale, SgdDecayConfig,
};

/// Asserts `result` is an [`ConfigError::OutOfRange`] for `name` holding `value` (NaN matches
/// NaN), and that its message names both.
fn assert_out_of_range<T>(result: Result<T, ConfigError>, name: &str, value: f64, context: &str) {
    let err = match result {
        Ok(_) => panic!("{context}: accepted, expected an error for {name} = {value}"),
        Err(err) => err,
    };
    match &err {
        ConfigError::OutOfRange {
            name: got_name,
            value: got_value,
            expected,
        } => {
            assert_eq!(*got_name, name, "{context}: {err}");
            let same = if value.is_nan() {
                got_value.is_nan()
            } else {
                *got_value == value
            };
            assert!(same, "{context}: value {got_value} reported, {value} given");
            assert!(!expected.is_empty(), "{context}: no allowed range given");
        }
        other => panic!("{context}: expected OutOfRange, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(name),
        "{context}: message `{message}` does not name `{name}`"
    );
    assert!(
        message.contains(&value.to_string()),
        "{context}: message `{message}` does not show the value {value}"
    );
}

const BAD_RATES: [f64; 5] = [-0.1, -1e-12, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
/// Outside `[0, 1)`: momentum, dampening and the betas.
const BAD_UNIT: [f64; 7] = [
    1.0,
    -0.1,
    1.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -f64::MIN_POSITIVE,
];

#[test]
fn decay_rate_must_be_finite_and_non_negative() {
    for rate in BAD_RATES {
        for config in [
            DecayConfig::coupled(rate),
            DecayConfig::decoupled(rate),
            DecayConfig::none().with_rate(rate),
        ] {
            let ctx = format!("{} rate {rate}", config.mode);
            assert_out_of_range(config.validate(), "weight decay rate", rate, &ctx);
            assert_out_of_range(
                config.try_wrap(SgdConfig::new().build()),
                "weight decay rate",
                rate,
                &ctx,
            );
            // Through the ready-made configs too, whose own settings are fine.
            assert_out_of_range(
                SgdDecayConfig::new().with_decay(config.clone()).try_build(),
                "weight decay rate",
                rate,
                &ctx,
            );
            assert_out_of_range(
                AdamDecayConfig::new().with_decay(config).try_build(),
                "weight decay rate",
                rate,
                &ctx,
            );
        }
    }
}

#[test]
fn schedule_scale_needs_a_positive_finite_lr_max() {
    for lr_max in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY] {
        let config = DecayConfig::decoupled(0.1).with_scale(DecayScale::Schedule { lr_max });
        assert_out_of_range(
            config.validate(),
            "decay scale lr_max",
            lr_max,
            &format!("lr_max {lr_max}"),
        );
        assert_out_of_range(
            config.try_wrap(SgdConfig::new().build()),
            "decay scale lr_max",
            lr_max,
            &format!("lr_max {lr_max}"),
        );
    }
    let ok = DecayConfig::decoupled(0.1).with_scale(DecayScale::Schedule { lr_max: 1e-3 });
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn sgd_momentum_outside_unit_interval_is_rejected() {
    for momentum in BAD_UNIT {
        let config = SgdDecayConfig::new().with_momentum(momentum);
        let ctx = format!("momentum {momentum}");
        assert_out_of_range(config.validate(), "momentum", momentum, &ctx);
        assert_out_of_range(config.try_build(), "momentum", momentum, &ctx);
    }
}

#[test]
fn sgd_dampening_outside_unit_interval_is_rejected() {
    for dampening in BAD_UNIT {
        // With and without momentum: an unused bad value is still a mistake in the config.
        for momentum in [0.0, 0.9] {
            let config = SgdDecayConfig::new()
                .with_momentum(momentum)
                .with_dampening(dampening);
            let ctx = format!("dampening {dampening}, momentum {momentum}");
            assert_out_of_range(config.validate(), "dampening", dampening, &ctx);
            assert_out_of_range(config.try_build(), "dampening", dampening, &ctx);
        }
    }
}

#[test]
fn adam_betas_outside_unit_interval_are_rejected() {
    for beta in [
        1.0f32,
        -0.1,
        1.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -1e-30,
    ] {
        let config = AdamDecayConfig::new().with_beta_1(beta);
        let ctx = format!("beta_1 {beta}");
        assert_out_of_range(config.validate(), "beta_1", beta as f64, &ctx);
        assert_out_of_range(config.try_build(), "beta_1", beta as f64, &ctx);

        let config = AdamDecayConfig::new().with_beta_2(beta);
        let ctx = format!("beta_2 {beta}");
        assert_out_of_range(config.validate(), "beta_2", beta as f64, &ctx);
        assert_out_of_range(config.try_build(), "beta_2", beta as f64, &ctx);
    }
    // The largest f32 below 1 is still allowed.
    let just_below = 1.0f32 - f32::EPSILON / 2.0;
    assert!(just_below < 1.0);
    assert!(
        AdamDecayConfig::new()
            .with_beta_1(just_below)
            .with_beta_2(just_below)
            .try_build()
            .is_ok()
    );
}

#[test]
fn adam_epsilon_must_be_positive_and_finite() {
    for epsilon in [
        0.0f32,
        -0.0,
        -1e-8,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ] {
        let config = AdamDecayConfig::new().with_epsilon(epsilon);
        let ctx = format!("epsilon {epsilon}");
        assert_out_of_range(config.validate(), "epsilon", epsilon as f64, &ctx);
        assert_out_of_range(config.try_build(), "epsilon", epsilon as f64, &ctx);
    }
    // Tiny but positive is fine (PyTorch's 1e-8 and smaller).
    for epsilon in [1e-8f32, f32::MIN_POSITIVE, 1.0] {
        assert!(
            AdamDecayConfig::new()
                .with_epsilon(epsilon)
                .try_build()
                .is_ok()
        );
    }
}

#[test]
fn decay_mode_from_unknown_name_is_an_error_naming_it() {
    for name in ["", "l1", "adamw", "decoupled wd", "cooupled", "none!"] {
        let err = name
            .parse::<DecayMode>()
            .expect_err(&format!("`{name}` accepted"));
        match &err {
            ConfigError::UnknownName {
                what,
                value,
                expected,
            } => {
                assert_eq!(*what, "decay mode");
                assert_eq!(value, name);
                for known in ["none", "coupled", "decoupled"] {
                    assert!(expected.contains(known), "{expected}");
                }
            }
            other => panic!("`{name}`: expected UnknownName, got {other:?}"),
        }
        assert!(
            err.to_string().contains(&format!("`{name}`")),
            "{err} does not quote `{name}`"
        );
    }
    // The known names, their aliases, case and surrounding space are accepted, and every mode's
    // own name parses back to it.
    let known = [
        ("none", DecayMode::None),
        ("OFF", DecayMode::None),
        ("coupled", DecayMode::Coupled),
        (" L2 ", DecayMode::Coupled),
        ("Decoupled", DecayMode::Decoupled),
        ("decoupled-wd", DecayMode::Decoupled),
        ("w", DecayMode::Decoupled),
    ];
    for (name, mode) in known {
        assert_eq!(name.parse::<DecayMode>(), Ok(mode), "`{name}`");
    }
    for mode in [DecayMode::None, DecayMode::Coupled, DecayMode::Decoupled] {
        assert_eq!(mode.to_string().parse::<DecayMode>(), Ok(mode));
    }
}

fn json(config: &DecayConfig) -> String {
    serde_json::to_string(config).unwrap()
}

#[test]
fn valid_configs_are_accepted_everywhere() {
    let decays = [
        DecayConfig::new(),
        DecayConfig::none(),
        DecayConfig::coupled(0.0),
        DecayConfig::coupled(5e-4),
        DecayConfig::decoupled(0.01),
        DecayConfig::decoupled(10.0).with_decay_rank_le_1(true),
        DecayConfig::decoupled(0.1).with_cautious(true),
        DecayConfig::decoupled(0.1).with_scale(DecayScale::Schedule { lr_max: 0.01 }),
    ];
    for decay in decays {
        assert_eq!(decay.validate(), Ok(()), "{decay:?}");
        assert!(decay.try_wrap(SgdConfig::new().build()).is_ok());
        for (momentum, dampening, nesterov) in
            [(0.0, 0.0, false), (0.9, 0.1, true), (0.999, 0.0, false)]
        {
            let sgd = SgdDecayConfig::new()
                .with_momentum(momentum)
                .with_dampening(dampening)
                .with_nesterov(nesterov)
                .with_decay(decay.clone());
            assert_eq!(sgd.validate(), Ok(()), "{sgd:?}");
            let built = sgd.try_build().expect("valid SGD config");
            assert_eq!(json(built.config()), json(&decay));
        }
        for (beta_1, beta_2, amsgrad) in [(0.9, 0.999, false), (0.0, 0.0, true), (0.5, 0.99, false)]
        {
            let adam = AdamDecayConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_amsgrad(amsgrad)
                .with_decay(decay.clone());
            assert_eq!(adam.validate(), Ok(()), "{adam:?}");
            let built = adam.try_build().expect("valid Adam config");
            assert_eq!(json(built.config()), json(&decay));
        }
    }
}

/// The first bad setting is the one reported; a bad decay inside a good optimizer config is
/// reported as the decay's.
#[test]
fn the_error_names_the_setting_that_is_wrong() {
    let sgd = SgdDecayConfig::new()
        .with_momentum(0.9)
        .with_dampening(0.0)
        .with_decay(DecayConfig::decoupled(-1.0));
    assert_out_of_range(sgd.try_build(), "weight decay rate", -1.0, "sgd decay");
    let adam = AdamDecayConfig::new()
        .with_epsilon(1e-8)
        .with_decay(DecayConfig::coupled(f64::NAN));
    assert_out_of_range(
        adam.try_build(),
        "weight decay rate",
        f64::NAN,
        "adam decay",
    );
}

/// A config read from a file is checked the same way: the values are not trusted because they
/// deserialised.
#[test]
fn configs_loaded_from_json_are_validated() {
    let sgd = SgdDecayConfig::new().with_momentum(1.0);
    let json = serde_json::to_string(&sgd).unwrap();
    let loaded: SgdDecayConfig = serde_json::from_str(&json).unwrap();
    assert_out_of_range(loaded.try_build(), "momentum", 1.0, "loaded sgd");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adam.json");
    AdamDecayConfig::new().with_beta_2(1.0).save(&path).unwrap();
    let loaded = AdamDecayConfig::load(&path).unwrap();
    assert_out_of_range(loaded.try_build(), "beta_2", 1.0, "loaded adam");
}

#[test]
#[should_panic(expected = "invalid SgdDecayConfig: invalid momentum: 1")]
fn sgd_build_panics_with_the_error() {
    let _ = SgdDecayConfig::new().with_momentum(1.0).build();
}

#[test]
#[should_panic(expected = "invalid SgdDecayConfig: invalid dampening: NaN")]
fn sgd_init_panics_with_the_error() {
    let _ = SgdDecayConfig::new().with_dampening(f64::NAN).init();
}

#[test]
#[should_panic(expected = "invalid AdamDecayConfig: invalid epsilon: 0")]
fn adam_init_panics_with_the_error() {
    let _ = AdamDecayConfig::new().with_epsilon(0.0).init();
}

#[test]
#[should_panic(expected = "invalid DecayConfig: invalid weight decay rate: -0.5")]
fn decay_wrap_panics_with_the_error() {
    let _ = DecayConfig::coupled(-0.5).wrap(SgdConfig::new().build());
}

#[test]
#[should_panic(expected = "invalid DecayConfig: invalid weight decay rate: inf")]
fn decay_init_panics_with_the_error() {
    let _ = DecayConfig::decoupled(f64::INFINITY).init(SgdConfig::new().build());
}
