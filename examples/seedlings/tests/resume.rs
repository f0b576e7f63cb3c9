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
use seedlings::sweep::{Sweep, SweepResult};
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

use common::metrics_without_seconds;

fn sweep<'a>(set: &'a SeedlingSet, dir: &Path) -> Sweep<'a> {
    Sweep {
        settings: TrainSettings {
            epochs: 2,
            batch_size: 8,
            lr: 3e-3,
            optimizer: OptimizerKind::Adam,
            seed: 11,
            decay_norm_and_bias: false,
            loader_workers: 2,
            channels: vec![8, 16],
            block: burn_fused_conv::BlockKernel::Fused,
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
