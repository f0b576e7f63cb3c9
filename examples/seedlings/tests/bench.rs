//! `seedlings bench` through the binary: several image sizes in one run, and the share of an
//! epoch that is not training steps.

use std::process::Command;

/// `seedlings bench ARGS --json` on the synthetic set, in a scratch folder: its JSON.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    // The checkpoint timing writes into a scratch folder under TMPDIR, which must be empty again.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_seedlings"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .current_dir(dir.path())
        .env_remove("SEEDLINGS_DATA")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "scratch files left in TMPDIR"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn one_run_benchmarks_each_image_size_and_splits_an_epoch_into_its_parts() {
    let json = bench_json(&[
        "--image-size",
        "32,40",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--block",
        "fused",
        "--modes",
        "decoupled",
        "--no-block-timing",
    ]);
    let sizes = json["image_sizes"].as_array().unwrap();
    assert_eq!(
        sizes
            .iter()
            .map(|s| s["image_size"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [32, 40]
    );
    for size in sizes {
        let run = &size["runs"][0];
        assert_eq!(run["block"], "fused");
        assert_eq!(run["mode"], "decoupled");
        let figures = &run["figures"];
        assert_eq!(figures["steps"], 2);
        // The synthetic set: 12 classes × 120 training images, batches of 32.
        let epoch = &figures["epoch"];
        assert_eq!(epoch["steps_per_epoch"], 45);
        for part in ["step_seconds", "evaluate_seconds", "checkpoint_seconds"] {
            assert!(epoch[part].as_f64().unwrap() > 0.0, "{part}: {epoch}");
        }
        assert!(epoch["probe_seconds"].as_f64().unwrap() >= 0.0);
        let share = run["epoch_non_training_share"].as_f64().unwrap();
        let parts = ["evaluate_seconds", "checkpoint_seconds", "probe_seconds"]
            .iter()
            .map(|p| epoch[p].as_f64().unwrap())
            .sum::<f64>();
        let whole = 45.0 * epoch["step_seconds"].as_f64().unwrap() + parts;
        assert!((share - parts / whole).abs() < 1e-12 && share > 0.0 && share < 1.0);
    }
}

/// `--rounds 2`: every configuration twice in turn, both rounds in the JSON.
#[test]
fn rounds_repeat_every_configuration_in_turn() {
    let json = bench_json(&[
        "--image-size",
        "32",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--block",
        "fused,winograd",
        "--modes",
        "decoupled",
        "--rounds",
        "2",
        "--no-block-timing",
    ]);
    let size = &json["image_sizes"][0];
    let blocks: Vec<_> = size["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["block"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(blocks, ["fused", "winograd"]);
    let rounds = size["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2);
    for round in rounds {
        let ours = round["images_per_second"].as_array().unwrap();
        assert_eq!(ours.len(), 2, "{round}");
        assert!(ours.iter().all(|v| v.as_f64().unwrap() > 0.0), "{round}");
        // No --torch-python: no PyTorch figure.
        assert!(round["torch_best"].is_null(), "{round}");
    }
}
