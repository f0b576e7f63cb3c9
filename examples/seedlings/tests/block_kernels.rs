//! The fused conv blocks against Burn's stock layers in the experiment itself: the same short
//! sweep trains the same curves with either (`--block fused|stock`), and a checkpoint saved by one
//! loads into the other and gives the same logits.

use burn::tensor::{Device, Distribution, Tensor};
use burn_fused_conv::BlockKernel;
use burn_weight_decay::DecayMode;
use seedlings::checkpoint;
use seedlings::data::synthetic;
use seedlings::interrupt::Interrupt;
use seedlings::model::CnnConfig;
use seedlings::report::{EpochRecord, RunInfo};
use seedlings::settings::SweepSettings;
use seedlings::sweep::Sweep;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

/// A deliberately tiny network (the real one is `CnnConfig`'s default): two blocks are enough to
/// compare the kernels, and keep the three-epoch sweeps short.
const CHANNELS: [usize; 2] = [8, 16];

fn sweep(dir: &std::path::Path, block: BlockKernel) -> Vec<EpochRecord> {
    let set = synthetic(16, 6, 3, 11);
    let settings = TrainSettings {
        sweep: SweepSettings {
            epochs: 3,
            batch_size: 8,
            lr: 3e-3,
            optimizer: OptimizerKind::Adam,
            seed: 11,
            decay_rank_le_1: false,
            block,
            ..SweepSettings::default()
        },
        loader_workers: 2,
        channels: CHANNELS.to_vec(),
    };
    let sweep = Sweep {
        settings,
        arms: vec![ArmSpec {
            wd: 0.1,
            mode: DecayMode::Decoupled,
        }],
        set: &set,
        run_dir: dir.to_path_buf(),
        info: RunInfo {
            name: block.name().into(),
            synthetic: true,
            block: block.name().into(),
            ..RunInfo::default()
        },
        devices: vec![Device::flex()],
    };
    let result = sweep.run(&Interrupt::new(), &mut |_| {}).unwrap();
    assert!(!result.interrupted);
    result.records
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// Within this tolerance, relative, on every epoch's train and valid loss: the two kernels
/// round differently (measured: 3.2e-8 after three epochs), and training amplifies it.
const LOSS_TOLERANCE: f64 = 1e-3;

#[test]
fn fused_and_stock_blocks_train_the_same_curves_and_share_checkpoints() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fused = sweep(a.path(), BlockKernel::Fused);
    let stock = sweep(b.path(), BlockKernel::Stock);
    assert_eq!(fused.len(), 3);
    assert_eq!(fused.len(), stock.len());
    let mut worst: f64 = 0.0;
    for (f, s) in fused.iter().zip(&stock) {
        worst = worst
            .max(rel(f.train_loss, s.train_loss))
            .max(rel(f.valid_loss, s.valid_loss));
        assert!(
            rel(f.train_loss, s.train_loss) <= LOSS_TOLERANCE,
            "epoch {}: train loss {} (fused) vs {} (stock)",
            f.epoch,
            f.train_loss,
            s.train_loss
        );
        assert!(
            rel(f.valid_loss, s.valid_loss) <= LOSS_TOLERANCE,
            "epoch {}: valid loss {} (fused) vs {} (stock)",
            f.epoch,
            f.valid_loss,
            s.valid_loss
        );
    }
    println!("largest relative loss difference, fused vs stock, 3 epochs: {worst:.1e}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["run"]["block"], "stock",
        "summary.json names the kernel"
    );

    // The stock run's checkpoint loads into the fused network (what `evaluate` builds) and into
    // a stock one; both give the same logits.
    let arm = &stock[0].arm;
    let best = b.path().join("checkpoints").join(arm).join("best");
    let device = Device::flex();
    let (as_fused, meta) = checkpoint::load(&best, &device).unwrap();
    let as_stock = checkpoint::load_model(
        &best.join("model.bpk"),
        CnnConfig::new(meta.class_names.len())
            .with_channels(meta.channels.clone())
            .with_block(BlockKernel::Stock)
            .init(&device),
    )
    .unwrap();
    let x = Tensor::<4>::random([5, 3, 16, 16], Distribution::Default, &device);
    let (lf, ls) = (as_fused.forward(x.clone()), as_stock.forward(x));
    let diff: f32 = (lf - ls.clone()).abs().max().into_scalar();
    let scale: f32 = ls.abs().max().into_scalar();
    assert!(
        diff <= 1e-4 * scale,
        "logits differ by {diff} (scale {scale})"
    );
}
