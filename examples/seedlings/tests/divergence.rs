//! An arm whose loss becomes non-finite stops at that step, is marked `diverged` (epoch and
//! step) in metrics.csv, summary.json and report.md, keeps only finite checkpoints, and the other
//! arms of the sweep finish.

use burn::tensor::Device;
use burn_weight_decay::DecayMode;
use seedlings::checkpoint;
use seedlings::data::synthetic;
use seedlings::interrupt::Interrupt;
use seedlings::report::{ArmStatus, RunInfo, read_metrics_csv};
use seedlings::settings::SweepSettings;
use seedlings::sweep::Sweep;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

#[test]
fn a_diverging_arm_is_stopped_and_reported_and_the_others_finish() {
    let set = synthetic(16, 4, 2, 9);
    let dir = tempfile::tempdir().unwrap();
    // Decoupled λ = 1e9: each step multiplies the weights by |1 − lr·λ| ≥ 1e5, so they overflow
    // to ∞ within a few steps and the loss becomes NaN.
    let arms = vec![
        ArmSpec {
            wd: 1e9,
            mode: DecayMode::Decoupled,
        },
        ArmSpec {
            wd: 0.1,
            mode: DecayMode::Decoupled,
        },
    ];
    let sweep = Sweep {
        settings: TrainSettings {
            sweep: SweepSettings {
                epochs: 2,
                batch_size: 8,
                lr: 3e-3,
                optimizer: OptimizerKind::Adam,
                seed: 9,
                decay_rank_le_1: false,
                block: burn_fused_conv::BlockKernel::Fused,
                ..SweepSettings::default()
            },
            loader_workers: 2,
            // A deliberately tiny network, not CnnConfig's default: fast, and enough here.
            channels: vec![8, 16],
        },
        arms,
        set: &set,
        run_dir: dir.path().to_path_buf(),
        info: RunInfo {
            name: "divergence".into(),
            synthetic: true,
            epochs: 2,
            ..RunInfo::default()
        },
        devices: vec![Device::default()],
    };
    let result = sweep.run(&Interrupt::new(), &mut |_| {}).unwrap();
    assert!(!result.interrupted);
    let ArmStatus::Diverged { epoch, step } = result.arms[0].status else {
        panic!("{:?}", result.arms[0].status);
    };
    assert!(
        (1..=2).contains(&epoch) && (1..=12).contains(&step),
        "{epoch} {step}"
    );
    assert_eq!(result.arms[1].status, ArmStatus::Finished);

    // metrics.csv: the diverged row names the step; the healthy arm has its two epochs.
    let rows = read_metrics_csv(&dir.path().join("metrics.csv")).unwrap();
    let diverged: Vec<_> = rows
        .iter()
        .filter(|r| r.arm == "decoupled-wd1000000000")
        .collect();
    let last = diverged.last().unwrap();
    assert_eq!(last.status, format!("diverged at step {step}"));
    assert_eq!(last.epoch, epoch);
    // Either the loss of a step (the row stops there) or the epoch's weights or validation
    // loss became non-finite.
    assert!(
        !(last.train_loss.is_finite()
            && last.valid_loss.is_finite()
            && last.weight_norm.is_finite()),
        "{last:?}"
    );
    assert!(diverged[..diverged.len() - 1].iter().all(|r| r.is_ok()));
    let healthy: Vec<_> = rows.iter().filter(|r| r.arm == "decoupled-wd0.1").collect();
    assert_eq!(healthy.len(), 2);
    assert!(
        healthy
            .iter()
            .all(|r| r.is_ok() && r.train_loss.is_finite())
    );

    // summary.json and report.md say so.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let arm = &summary["arms"][0];
    assert_eq!(arm["status"], "diverged");
    assert_eq!(arm["diverged_at"]["epoch"], epoch);
    assert_eq!(arm["diverged_at"]["step"], step);
    assert_eq!(summary["arms"][1]["status"], "finished");
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        report.contains(&format!("diverged at epoch {epoch}, step {step}")),
        "{report}"
    );

    // Whatever checkpoints the diverged arm has hold finite weights.
    for which in ["best", "last"] {
        let folder = dir
            .path()
            .join(format!("checkpoints/decoupled-wd1000000000/{which}"));
        if folder.join("meta.json").is_file() {
            let (model, _) = checkpoint::load(&folder, &Device::default()).unwrap();
            let norm = burn_weight_decay::weight_norm(&model);
            assert!(norm.is_finite(), "{which}: {norm}");
        }
    }
}
