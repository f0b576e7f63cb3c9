//! The quickstart example (`examples/quickstart.rs`) runs in the suite with its numbers checked,
//! and README.md's first screen says how to depend on the crate.

#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

const README: &str = include_str!("../../../README.md");

/// Measured (flex, seed 0): loss / ‖w‖ / ‖head‖ untrained 0.667 / 3.59 / 0.517, Adam 0.0343 /
/// 8.48 / 2.44, AdamW 0.0375 / 8.04 / 2.38, Adam + L2 0.224 / 2.10 / 1.09, AdamW with the head at
/// λ = 1 0.0564 / 8.40 / 1.51. The margins below are a fraction of those gaps.
#[test]
fn quickstart_trains_shows_adamw_and_adam_l2_differ_and_resumes_exactly() {
    let s = quickstart::run().expect("the quickstart runs (and its resume check holds)");
    println!("{s:#?}");
    // Every arm learns.
    for (name, arm) in [
        ("adam", s.adam),
        ("adamw", s.adamw),
        ("adam_l2", s.adam_l2),
        ("grouped", s.grouped),
    ] {
        assert!(arm.loss < 0.5 * s.initial.loss, "{name}: {arm:?}");
    }
    assert!(s.adamw.loss < 0.1 * s.initial.loss, "{:?}", s.adamw);
    // AdamW shrinks the weights a little against no decay, at almost the same loss.
    assert!(
        s.adamw.norm < 0.98 * s.adam.norm,
        "{:?} {:?}",
        s.adamw,
        s.adam
    );
    assert!(
        s.adamw.loss < 1.5 * s.adam.loss,
        "{:?} {:?}",
        s.adamw,
        s.adam
    );
    // Adam + L2 at the same λ is far stronger: Adam divides the decay term by √v with the
    // gradient, so weights with small gradients are pulled to zero at about lr per step.
    assert!(s.adam_l2.norm < 0.5 * s.adamw.norm, "{:?}", s.adam_l2);
    assert!(s.adam_l2.loss > 3.0 * s.adamw.loss, "{:?}", s.adam_l2);
    // The head's own λ = 1 shrinks the head, not only the whole.
    assert!(
        s.grouped.head_norm < 0.8 * s.adamw.head_norm,
        "{:?}",
        s.grouped
    );
    // Saved, reloaded and resumed = uninterrupted, bit for bit (`run` compared the last 100
    // losses and the predictions already).
    assert_eq!(s.resumed.loss.to_bits(), s.grouped.loss.to_bits());
    assert_eq!(s.resumed.norm.to_bits(), s.grouped.norm.to_bits());
    assert_eq!(s.resumed.head_norm.to_bits(), s.grouped.head_norm.to_bits());
    // Seeded: a second run gives the same numbers.
    let again = quickstart::run().unwrap();
    assert_eq!(format!("{again:?}"), format!("{s:?}"));
}

/// README's first screen says how to depend on the crate and what `new()` builds.
#[test]
fn readme_says_how_to_depend_on_it_and_the_defaults() {
    let first_screen: String = README.lines().take(80).collect::<Vec<_>>().join("\n");
    for needle in [
        "## Use it from your crate",
        "burn = \"=0.22.1\"",
        "burn-weight-decay = {",
        "[profile.dev]\nopt-level = 3\n",
        "[profile.dev.package.\"*\"]\ndebug = false\ndebug-assertions = false\noverflow-checks = false\n",
        "burn-weight-decay = \"0.1\"",
        "default-features = false",
        "AdamDecayConfig::new()",
        "AdamDecayConfig::adamw(",
        "AdamDecayConfig::adam_l2(",
        "AdamDecayConfig::adam()",
        "SgdDecayConfig::new()",
    ] {
        assert!(
            first_screen.contains(needle),
            "README's first 80 lines lack {needle:?}"
        );
    }
}

/// The profile lines leave `opt-level` out of `[profile.dev.package."*"]`: an `opt-level` there
/// outranks Cargo's `build-override` and optimises every proc macro (syn, serde_derive, …),
/// which made a first debug build 1.5× `--release` (docs/measurements.md).
#[test]
fn readme_profile_keeps_proc_macros_unoptimised() {
    for (name, readme) in [
        ("README.md", README),
        (
            "crates/burn-weight-decay/README.md",
            include_str!("../README.md"),
        ),
    ] {
        let start = readme
            .find("[profile.dev.package.\"*\"]")
            .unwrap_or_else(|| panic!("{name} has the profile lines"));
        let table: Vec<&str> = readme[start..]
            .lines()
            .skip(1)
            .take_while(|line| !line.starts_with('[') && !line.starts_with("```"))
            .collect();
        assert!(
            table
                .iter()
                .all(|line| !line.trim_start().starts_with("opt-level")),
            "{name}'s [profile.dev.package.\"*\"] sets opt-level: {table:?}"
        );
        assert!(readme.contains("[profile.dev]\nopt-level = 3\n"), "{name}");
    }
}
