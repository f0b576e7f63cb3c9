//! The sweep: every arm (wd × mode) from the same initial weights and the same data order,
//! one after another, with the report files rewritten after every epoch.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;

use crate::data::{Normalization, SeedlingSet};
use crate::model::CnnConfig;
use crate::report::{ArmSummary, EpochRecord, RunInfo, write_run};
use crate::train::{ArmData, ArmPaths, ArmSpec, TrainSettings, train_arm};

/// A whole sweep's inputs.
pub struct Sweep<'a> {
    /// Shared training settings.
    pub settings: TrainSettings,
    /// The arms, in order.
    pub arms: Vec<ArmSpec>,
    /// The images.
    pub set: &'a SeedlingSet,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The header of the report.
    pub info: RunInfo,
    /// The training device (autodiff is enabled on it).
    pub device: Device,
}

/// What a sweep produced.
pub struct SweepResult {
    /// Every epoch record of every arm.
    pub records: Vec<EpochRecord>,
    /// One summary per arm.
    pub arms: Vec<ArmSummary>,
    /// Whether the sweep stopped early on request.
    pub interrupted: bool,
}

impl Sweep<'_> {
    /// Runs every arm in order; finished arms of an earlier, interrupted run of the same folder
    /// are skipped and unfinished ones continue from their saved state.
    pub fn run(mut self, stop: &AtomicBool, log: &mut dyn FnMut(&str)) -> Result<SweepResult> {
        let started = Instant::now();
        let device = self.device.clone().autodiff();
        let cnn =
            CnnConfig::new(self.set.num_classes()).with_channels(self.settings.channels.clone());
        let initial = cnn.init_seeded(&device, self.settings.seed);
        let data = ArmData {
            train: &self.set.train,
            valid: &self.set.valid,
            class_names: &self.set.class_names,
            normalization: Normalization::from_store(&self.set.train),
            synthetic: self.set.is_synthetic(),
        };
        let mut records: Vec<EpochRecord> = Vec::new();
        let mut summaries: Vec<ArmSummary> = Vec::new();
        let mut interrupted = false;
        for arm in &self.arms {
            let paths = ArmPaths {
                run_dir: self.run_dir.clone(),
                arm: arm.name(),
            };
            let mut on_epoch = |record: &EpochRecord| {
                log(&format!(
                    "{} epoch {:>2}: lr {:.2e}  train loss {:.4}  valid loss {:.4}  acc {:.2}%  F1 {:.3}  |w| {:.2}  {:.1}s",
                    record.arm,
                    record.epoch,
                    record.lr,
                    record.train_loss,
                    record.valid_loss,
                    100.0 * record.valid_accuracy,
                    record.valid_macro_f1,
                    record.weight_norm,
                    record.seconds
                ));
            };
            let outcome = train_arm(
                &self.settings,
                arm,
                &data,
                &initial,
                &device,
                &paths,
                stop,
                &mut on_epoch,
            )?;
            records.extend(outcome.records.iter().cloned());
            summaries.push(ArmSummary::from_records(
                &arm.name(),
                arm.wd,
                arm.mode.name(),
                outcome.status.clone(),
                &outcome.records,
                outcome.decay_shrink,
                outcome.best_checkpoint,
                outcome.final_checkpoint,
            ));
            log(&format!("{}: {}", arm.name(), outcome.status));
            self.info.seconds = started.elapsed().as_secs_f64();
            write_run(&self.run_dir, &self.info, &records, &summaries)?;
            if matches!(outcome.status, crate::report::ArmStatus::Interrupted) {
                interrupted = true;
                break;
            }
        }
        Ok(SweepResult {
            records,
            arms: summaries,
            interrupted,
        })
    }
}
