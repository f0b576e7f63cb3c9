//! An interrupted sweep, resumed, gives the same metrics.csv as the same sweep run without
//! interruption: the state written on interruption (model, optimizer state, schedule position,
//! data-order position, partial epoch sums) is enough to continue exactly.

mod common;

use std::path::Path;

use burn::tensor::Device;
use burn_weight_decay::DecayMode;
use seedlings::data::{SeedlingSet, synthetic};
use seedlings::interrupt::Interrupt;
use seedlings::report::{ArmStatus, RunInfo};
use seedlings::settings::SweepSettings;
use seedlings::sweep::{Sweep, SweepResult};
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

use common::metrics_without_seconds;

fn sweep<'a>(set: &'a SeedlingSet, dir: &Path) -> Sweep<'a> {
    Sweep {
        settings: TrainSettings {
            sweep: SweepSettings {
                epochs: 2,
                batch_size: 8,
                lr: 3e-3,
                optimizer: OptimizerKind::Adam,
                seed: 11,
                decay_rank_le_1: false,
                block: burn_fused_conv::BlockKernel::Fused,
                ..SweepSettings::default()
            },
            loader_workers: 2,
            // A deliberately tiny network, not CnnConfig's default: fast, and enough here.
            channels: vec![8, 16],
        },
        arms: vec![
            ArmSpec {
                wd: 0.1,
                mode: DecayMode::Decoupled,
            },
            ArmSpec {
                wd: 0.1,
                mode: DecayMode::Coupled,
            },
        ],
        set,
        run_dir: dir.to_path_buf(),
        info: RunInfo {
            name: "resume".into(),
            synthetic: true,
            ..RunInfo::default()
        },
        devices: vec![Device::default()],
    }
}

#[test]
fn interrupted_and_resumed_sweep_writes_the_same_metrics() {
    // 12 classes × 4 images, batch 8: 6 steps per epoch, 12 per arm, 24 in the sweep.
    let set = synthetic(16, 4, 2, 5);
    let whole = tempfile::tempdir().unwrap();
    let result = sweep(&set, whole.path())
        .run(&Interrupt::new(), &mut |_| {})
        .unwrap();
    assert!(!result.interrupted);
    assert_eq!(result.records.len(), 4);

    // Stops in the middle of arm 1's first epoch, after its last batch but before its
    // evaluation, in the middle of its second epoch, after its last batch again, and in arm 2's
    // second epoch; the last piece runs to the end.
    let pieces = tempfile::tempdir().unwrap();
    let mut stops = 0;
    let mut last: Option<SweepResult> = None;
    for after in [3, 3, 4, 2, 9, 100] {
        let result = sweep(&set, pieces.path())
            .run(&Interrupt::after_steps(after), &mut |_| {})
            .unwrap();
        if result.interrupted {
            stops += 1;
            let statuses: Vec<_> = result.arms.iter().map(|a| a.status.clone()).collect();
            assert_eq!(
                statuses.last(),
                Some(&ArmStatus::Interrupted),
                "{statuses:?}"
            );
        }
        last = Some(result);
    }
    assert_eq!(stops, 5);
    let last = last.unwrap();
    assert!(!last.interrupted);
    assert!(last.arms.iter().all(|a| a.status == ArmStatus::Finished));
    assert_eq!(
        metrics_without_seconds(pieces.path()),
        metrics_without_seconds(whole.path())
    );
    // A finished sweep resumed again does nothing and keeps its numbers.
    let again = sweep(&set, pieces.path())
        .run(&Interrupt::after_steps(1), &mut |_| {})
        .unwrap();
    assert!(!again.interrupted);
    assert_eq!(
        metrics_without_seconds(pieces.path()),
        metrics_without_seconds(whole.path())
    );
}

/// Rewrites every arm's `progress.json` under `dir` as the version before the equilibrium
/// measurements wrote it: records without the `conv_*` columns, no `epoch_equilibrium`.
fn downgrade_state(dir: &Path) {
    for entry in std::fs::read_dir(dir.join("state")).unwrap() {
        let path = entry.unwrap().path().join("progress.json");
        if !path.is_file() {
            continue;
        }
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let map = json.as_object_mut().unwrap();
        assert!(map.remove("epoch_equilibrium").is_some());
        let records = map["records"].as_str().unwrap();
        let old: String = records
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                format!("{}\n", fields[..fields.len() - 4].join(","))
            })
            .collect();
        assert!(old.starts_with(&seedlings::report::METRICS_HEADER[..12].join(",")));
        map["records"] = serde_json::Value::String(old);
        std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    }
}

#[test]
fn a_run_folder_from_before_the_equilibrium_columns_resumes_and_reports() {
    let set = synthetic(16, 4, 2, 5);
    let dir = tempfile::tempdir().unwrap();
    // 9 steps: arm 1's first epoch and half its second (measured batches 1 and 3 of 6 done).
    let first = sweep(&set, dir.path())
        .run(&Interrupt::after_steps(9), &mut |_| {})
        .unwrap();
    assert!(first.interrupted);
    downgrade_state(dir.path());

    let last = sweep(&set, dir.path())
        .run(&Interrupt::new(), &mut |_| {})
        .unwrap();
    assert!(!last.interrupted);
    assert!(last.arms.iter().all(|a| a.status == ArmStatus::Finished));
    let rows = seedlings::report::read_metrics_csv(&dir.path().join("metrics.csv")).unwrap();
    assert_eq!(rows.len(), 4);
    // The epoch recorded by the old version has no measurement; the one it interrupted has
    // the measurement of its remaining measured step; the other arm is measured throughout.
    assert_eq!(rows[0].conv_angle, None);
    for r in &rows[1..] {
        let angle = r.conv_angle.unwrap_or_else(|| panic!("{r:?}"));
        assert!(angle.is_finite() && angle > 0.0, "{r:?}");
        assert!(r.conv_norm.is_some_and(|n| n > 0.0), "{r:?}");
    }
    // Decoupled AdamW has a prediction, coupled Adam has none.
    assert!(rows[1].conv_angle_predicted.is_some_and(|p| p > 0.0));
    assert!(rows[1].conv_norm_predicted.is_some_and(|p| p > 0.0));
    assert_eq!(rows[3].conv_angle_predicted, None);
    for a in &last.arms {
        assert!(a.equilibrium_progress > 0.0, "{a:?}");
    }
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("](equilibrium.png)"));
    assert!(report.contains("wd=0.1 decoupled: "));
    assert!(dir.path().join("equilibrium.png").is_file());
}

/// Two seeds per arm: four runs, each its own folder, interrupted part-way (within a run, and
/// between the first seed's runs and the second's) and resumed: the same metrics as without
/// interruption. Run `k` trains from seed `11 + k`: the seed-12 runs equal a one-seed sweep
/// with seed 12 on the same images, under their own names.
#[test]
fn a_sweep_with_two_seeds_resumes_each_run_and_seeds_them_seed_plus_k() {
    let set = synthetic(16, 4, 2, 5);
    let seeded = |dir: &Path| {
        let mut sweep = sweep(&set, dir);
        sweep.settings.sweep.seeds = 2;
        sweep
    };
    let whole = tempfile::tempdir().unwrap();
    let result = seeded(whole.path())
        .run(&Interrupt::new(), &mut |_| {})
        .unwrap();
    assert!(!result.interrupted);
    let names: Vec<&str> = result.arms.iter().map(|a| a.arm.as_str()).collect();
    assert_eq!(
        names,
        [
            "decoupled-wd0.1-seed11",
            "coupled-wd0.1-seed11",
            "decoupled-wd0.1-seed12",
            "coupled-wd0.1-seed12"
        ]
    );
    assert_eq!(result.arms[2].key.seed, Some(12));
    for name in &names {
        assert!(
            whole
                .path()
                .join("state")
                .join(name)
                .join("progress.json")
                .is_file()
        );
        assert!(
            whole
                .path()
                .join("checkpoints")
                .join(name)
                .join("best/meta.json")
                .is_file()
        );
    }
    assert_eq!(result.records.len(), 8);

    // 6 steps per epoch, 12 per run: stop inside the second run's first epoch, at the end of
    // the first seed's runs, and inside the last run.
    let pieces = tempfile::tempdir().unwrap();
    let mut stops = 0;
    for after in [15, 9, 16, 100] {
        let result = seeded(pieces.path())
            .run(&Interrupt::after_steps(after), &mut |_| {})
            .unwrap();
        stops += usize::from(result.interrupted);
    }
    assert_eq!(stops, 3);
    assert_eq!(
        metrics_without_seconds(pieces.path()),
        metrics_without_seconds(whole.path())
    );

    // The seed-12 runs are a one-seed sweep with seed 12.
    let single = tempfile::tempdir().unwrap();
    let mut one = sweep(&set, single.path());
    one.settings.sweep.seed = 12;
    let one = one.run(&Interrupt::new(), &mut |_| {}).unwrap();
    let strip = |r: &seedlings::report::EpochRecord| {
        let mut r = r.clone();
        r.seconds = 0.0;
        r.arm = r.arm.replace("-seed12", "");
        r
    };
    let seed12: Vec<_> = result.records[4..].iter().map(strip).collect();
    let alone: Vec<_> = one.records.iter().map(strip).collect();
    assert_eq!(seed12, alone);
    // Another seed, other numbers.
    assert_ne!(result.records[0].train_loss, result.records[4].train_loss);

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["run"]["seeds"], serde_json::json!([11, 12]));
    assert_eq!(summary["arm_statistics"].as_array().unwrap().len(), 2);
    let report = std::fs::read_to_string(whole.path().join("report.md")).unwrap();
    assert!(report.contains("2 arms × 2 seeds = 4 runs"), "{report}");
    assert!(report.contains("## Coupled vs decoupled"), "{report}");
}

/// A run folder as the program wrote it at commit 9c6eae6 (before the sweep's settings were
/// typed: `--wd`, `--modes`, `--optimizer`, `--block` saved as their text), interrupted before
/// its first run had state: `--resume` reads its `state/sweep.json` and runs the saved sweep
/// (SGD, stock blocks, 2 modes × 2 weight decays × 2 seeds, one epoch), whose rows name the
/// same runs, in the same order, with the same schedule as the fixture's `metrics.csv`.
#[test]
fn a_run_folder_from_before_typed_settings_resumes() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run_folder_9c6eae6");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("state")).unwrap();
    std::fs::copy(
        fixture.join("state/sweep.json"),
        run.join("state/sweep.json"),
    )
    .unwrap();
    let resumed = common::seedlings(dir.path(), &["--resume", "run", "--wd", "0.1,10"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let columns = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| line.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect()
    };
    let expected = std::fs::read_to_string(fixture.join("metrics.csv")).unwrap();
    let written = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(columns(&written), columns(&expected));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["run"]["block"], "stock");
    assert_eq!(summary["run"]["resumed"], 1);
    assert_eq!(summary["arms"].as_array().unwrap().len(), 8);
}
