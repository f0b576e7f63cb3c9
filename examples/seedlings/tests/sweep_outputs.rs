//! A two-epoch sweep on a few images per class writes every output file, with numbers that
//! agree between files, and the same seed gives the same metrics — also with the arms run
//! concurrently on two devices.

use burn::tensor::Device;
use burn_weight_decay::DecayMode;
use seedlings::data::synthetic;
use seedlings::interrupt::Interrupt;
use seedlings::report::{RunInfo, read_metrics_csv};
use seedlings::settings::SweepSettings;
use seedlings::sweep::Sweep;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

fn run(dir: &std::path::Path) -> Vec<seedlings::report::EpochRecord> {
    run_on(dir, vec![Device::default()])
}

fn run_on(dir: &std::path::Path, devices: Vec<Device>) -> Vec<seedlings::report::EpochRecord> {
    let set = synthetic(16, 4, 2, 7);
    let settings = TrainSettings {
        sweep: SweepSettings {
            epochs: 2,
            batch_size: 8,
            lr: 3e-3,
            optimizer: OptimizerKind::Adam,
            seed: 7,
            decay_rank_le_1: false,
            block: burn_fused_conv::BlockKernel::Fused,
            ..SweepSettings::default()
        },
        loader_workers: 2,
        // A deliberately tiny network, not CnnConfig's default: fast, and enough here.
        channels: vec![8, 16],
    };
    let arms = vec![
        ArmSpec {
            wd: 0.1,
            mode: DecayMode::Decoupled,
        },
        ArmSpec {
            wd: 10.0,
            mode: DecayMode::Coupled,
        },
    ];
    let sweep = Sweep {
        settings,
        arms,
        set: &set,
        run_dir: dir.to_path_buf(),
        info: RunInfo {
            name: "test".into(),
            synthetic: true,
            ..RunInfo::default()
        },
        devices,
    };
    let result = sweep.run(&Interrupt::new(), &mut |_| {}).unwrap();
    assert!(!result.interrupted);
    assert_eq!(result.arms.len(), 2);
    result.records
}

#[test]
fn two_epoch_sweep_writes_every_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let records = run(dir.path());
    assert_eq!(records.len(), 4, "2 arms × 2 epochs");
    for file in [
        "metrics.csv",
        "summary.json",
        "report.md",
        "loss.png",
        "loss.svg",
        "accuracy.png",
        "accuracy.svg",
        "weight_norm.png",
        "weight_norm.svg",
        "equilibrium.png",
        "equilibrium.svg",
    ] {
        let path = dir.path().join(file);
        assert!(
            path.metadata().map(|m| m.len() > 0).unwrap_or(false),
            "{file} missing or empty"
        );
    }
    for arm in ["decoupled-wd0.1", "coupled-wd10"] {
        for which in ["best", "last"] {
            let meta = dir
                .path()
                .join(format!("checkpoints/{arm}/{which}/meta.json"));
            assert!(meta.is_file(), "{}", meta.display());
        }
    }
    // The CSV holds exactly the records, and the summary agrees with them.
    let csv = read_metrics_csv(&dir.path().join("metrics.csv")).unwrap();
    assert_eq!(csv, records);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let arms = summary["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 2);
    assert_eq!(arms[0]["status"], "finished");
    assert_eq!(
        arms[0]["best_checkpoint"],
        "checkpoints/decoupled-wd0.1/best"
    );
    let final_train = arms[0]["final_train_loss"].as_f64().unwrap();
    assert!((final_train - records[1].train_loss).abs() < 1e-12);
    // The shrink of decoupled λ = 0.1 over the schedule is below 1; the report says synthetic.
    let shrink = arms[0]["decay_shrink"].as_f64().unwrap();
    assert!(shrink > 0.0 && shrink < 1.0, "{shrink}");
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.to_lowercase().contains("synthetic"));
    // Losses are finite and the weight norms are reported.
    for r in &records {
        assert!(
            r.train_loss.is_finite() && r.valid_loss.is_finite() && r.weight_norm > 0.0,
            "{r:?}"
        );
    }
}

/// The same seed gives the same metrics (seconds aside), also for sweeps running side by side.
#[test]
fn the_same_seed_gives_the_same_metrics() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let strip = |mut v: Vec<seedlings::report::EpochRecord>| {
        v.iter_mut().for_each(|r| r.seconds = 0.0);
        v
    };
    assert_eq!(strip(run(a.path())), strip(run(b.path())));
}

/// `--devices flex,flex`: the arms run concurrently, one per device, with the numbers of a
/// sequential run, in arm order.
#[test]
fn two_devices_give_the_same_metrics_as_one() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let strip = |mut v: Vec<seedlings::report::EpochRecord>| {
        v.iter_mut().for_each(|r| r.seconds = 0.0);
        v
    };
    let one = strip(run(a.path()));
    let two = strip(run_on(b.path(), vec![Device::default(), Device::default()]));
    assert_eq!(one, two);
    let csv = read_metrics_csv(&b.path().join("metrics.csv")).unwrap();
    assert_eq!(strip(csv), one);
}
