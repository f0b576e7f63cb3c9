//! The sweep: every arm (wd × mode) from the same initial weights and the same data order, with
//! the report files rewritten after every epoch. With several seeds per arm
//! (`settings.sweep.seeds`) every arm runs once per seed, each run from its seed's initial
//! weights and data order ([`RunSpec`]): the first seed's runs of every arm, then the next
//! seed's.
//!
//! With one device the arms run one after another. With several ([`Sweep::devices`]) each device
//! takes the next arm not yet started, so arms run concurrently, one per device at a time; every
//! arm is a pure function of the seed and its settings, so the numbers equal a sequential run's
//! on the same backend. An arm that fails (an error, not a divergence) is reported as failed and
//! the others go on.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::tensor::Device;

use crate::checkpoint::TrainedOn;
use crate::data::{Normalization, SeedlingSet};
use crate::devices::panic_message;
use crate::interrupt::Interrupt;
use crate::model::CnnConfig;
use crate::report::{ArmStatus, ArmSummary, EpochRecord, RunEnd, RunInfo, write_run};
use crate::train::{
    ArmData, ArmJob, ArmPaths, ArmSpec, RunSpec, TrainSettings, runs, seed_list, train_arm,
};

/// A whole sweep's inputs.
pub struct Sweep<'a> {
    /// Shared training settings; `settings.sweep.seed` is the base seed, and
    /// `settings.sweep.seeds` the runs per arm, with seeds `seed + k` for k < `seeds` (at least
    /// 1). With one, a run has its arm's name; with several, the name carries the seed, and
    /// `RunInfo::seeds` lists them.
    pub settings: TrainSettings,
    /// The arms, in order.
    pub arms: Vec<ArmSpec>,
    /// The images.
    pub set: &'a SeedlingSet,
    /// The run folder.
    pub run_dir: PathBuf,
    /// The header of the report.
    pub info: RunInfo,
    /// The training devices (autodiff is enabled on them): one arm per device at a time.
    pub devices: Vec<Device>,
}

/// What a sweep produced.
pub struct SweepResult {
    /// Every epoch record of every run, in run order.
    pub records: Vec<EpochRecord>,
    /// One summary per run that started, in run order (with one seed, one per arm).
    pub arms: Vec<ArmSummary>,
    /// Whether the sweep stopped early on request.
    pub interrupted: bool,
}

/// Where each arm stands, shared by the device threads; the report is written from it.
#[derive(Default, Clone)]
struct ArmSlot {
    records: Vec<EpochRecord>,
    summary: Option<ArmSummary>,
}

struct Board<'a> {
    slots: Vec<ArmSlot>,
    info: RunInfo,
    log: &'a mut (dyn FnMut(&str) + Send),
}

impl Board<'_> {
    /// Records and summaries in run order; a run with records but no summary is running.
    fn collect(&self, runs: &[RunSpec]) -> (Vec<EpochRecord>, Vec<ArmSummary>) {
        let mut records = Vec::new();
        let mut summaries = Vec::new();
        for (run, slot) in runs.iter().zip(&self.slots) {
            records.extend(slot.records.iter().cloned());
            match &slot.summary {
                Some(summary) => summaries.push(summary.clone()),
                None if !slot.records.is_empty() => summaries.push(ArmSummary::from_records(
                    RunEnd::new(run.key(), ArmStatus::Running),
                    &slot.records,
                )),
                None => {}
            }
        }
        (records, summaries)
    }
}

fn epoch_line(record: &EpochRecord) -> String {
    format!(
        "{} epoch {:>2}: lr {:.2e}  train loss {:.4}  valid loss {:.4}  acc {:.2}%  F1 {:.3}  |w| {:.2}  {:.1}s{}{}",
        record.arm,
        record.epoch,
        record.lr,
        record.train_loss,
        record.valid_loss,
        100.0 * record.valid_accuracy,
        record.valid_macro_f1,
        record.weight_norm,
        record.seconds,
        match (record.conv_angle, record.conv_angle_predicted) {
            (Some(a), Some(p)) => format!("  conv angle {a:.2e} (equilibrium {p:.2e})"),
            (Some(a), None) => format!("  conv angle {a:.2e}"),
            _ => String::new(),
        },
        if record.is_ok() {
            String::new()
        } else {
            format!("  {}", record.status)
        }
    )
}

impl Sweep<'_> {
    /// Runs every arm; finished arms of an earlier, interrupted run of the same folder are
    /// skipped and unfinished ones continue from their saved state.
    pub fn run(self, stop: &Interrupt, log: &mut (dyn FnMut(&str) + Send)) -> Result<SweepResult> {
        if self.devices.is_empty() {
            return Err(anyhow!("a sweep needs at least one device"));
        }
        let seeds = self.settings.sweep.seeds;
        let runs = runs(&self.arms, self.settings.sweep.seed, seeds)?;
        let mut info = self.info.clone();
        info.seeds = if seeds > 1 {
            seed_list(self.settings.sweep.seed, seeds)?
        } else {
            Vec::new()
        };
        info.planned_runs = if seeds > 1 { runs.len() } else { 0 };
        let started = Instant::now();
        let data = ArmData {
            train: &self.set.train,
            valid: &self.set.valid,
            class_names: &self.set.class_names,
            normalization: Normalization::from_store(&self.set.train),
            synthetic: self.set.is_synthetic(),
            trained_on: TrainedOn::of(self.set),
        };
        let board = Mutex::new(Board {
            slots: vec![ArmSlot::default(); runs.len()],
            info,
            log,
        });
        let write = |board: &mut Board<'_>| {
            // the earlier parts' time (a resumed run) plus this part's
            board.info.seconds = self.info.seconds + started.elapsed().as_secs_f64();
            let (records, summaries) = board.collect(&runs);
            if let Err(err) = write_run(&self.run_dir, &board.info, &records, &summaries) {
                (board.log)(&format!("warning: could not update the report: {err}"));
                return Err(err);
            }
            Ok(())
        };
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let worker = |device: &Device| {
            let device = device.clone().autodiff();
            let cnn = CnnConfig::new(self.set.num_classes())
                .with_channels(self.settings.channels.clone())
                .with_block(self.settings.sweep.block);
            loop {
                if stop.is_requested() {
                    return;
                }
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(run) = runs.get(index) else {
                    return;
                };
                let (arm, name) = (&run.arm, run.name());
                let mut settings = self.settings.clone();
                settings.sweep.seed = run.seed;
                let paths = ArmPaths {
                    run_dir: self.run_dir.clone(),
                    arm: name.clone(),
                };
                let mut on_epoch = |record: &EpochRecord| {
                    let mut board = board.lock().unwrap_or_else(|e| e.into_inner());
                    (board.log)(&epoch_line(record));
                    board.slots[index].records.push(record.clone());
                    // Rewrite the report after every epoch, the running arms marked as such,
                    // so the curves of a long run can be read while it trains.
                    let _ = write(&mut board);
                };
                // A device that fails inside the backend (a remote server gone, a GPU lost)
                // panics there: that fails this arm only, and the device takes no more arms.
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    // A fresh network per run, not a clone: clones of a Burn module share their
                    // batch-norm running statistics, so one run's training would leak into the
                    // next run's starting point. The seed makes the weights of every arm's run
                    // of that seed the same.
                    let initial = cnn.init_seeded(&device, run.seed);
                    let job = ArmJob {
                        settings: &settings,
                        arm,
                        data: &data,
                        initial: &initial,
                        device: &device,
                        paths: &paths,
                        stop,
                    };
                    train_arm(job, &mut on_epoch)
                }));
                let device_lost = outcome.is_err();
                let outcome = outcome.unwrap_or_else(|panic| {
                    Err(anyhow!(
                        "the device failed: {}",
                        panic_message(panic.as_ref())
                    ))
                });
                let mut board = board.lock().unwrap_or_else(|e| e.into_inner());
                let summary = match outcome {
                    Ok(outcome) => {
                        board.slots[index].records = outcome.records.clone();
                        let end = RunEnd {
                            decay_shrink: outcome.decay_shrink,
                            best_checkpoint: outcome.best_checkpoint,
                            final_checkpoint: outcome.final_checkpoint,
                            ..RunEnd::new(run.key(), outcome.status.clone())
                        };
                        ArmSummary::from_records(end, &outcome.records)
                            .with_equilibrium_progress(outcome.equilibrium_progress)
                    }
                    Err(err) => {
                        let records = board.slots[index].records.clone();
                        let failed = ArmStatus::Failed {
                            reason: format!("{err:#}"),
                        };
                        ArmSummary::from_records(RunEnd::new(run.key(), failed), &records)
                    }
                };
                (board.log)(&format!("{name}: {}", summary.status));
                board.slots[index].summary = Some(summary);
                if let Err(err) = write(&mut board) {
                    let mut failure = failure.lock().unwrap_or_else(|e| e.into_inner());
                    failure.get_or_insert(err.into());
                }
                if device_lost {
                    (board.log)(&format!("{name}: its device failed and takes no more arms"));
                    return;
                }
            }
        };
        std::thread::scope(|scope| {
            let worker = &worker;
            let handles: Vec<_> = self
                .devices
                .iter()
                .skip(1)
                .map(|device| scope.spawn(move || worker(device)))
                .collect();
            worker(&self.devices[0]);
            for handle in handles {
                if handle.join().is_err() {
                    let mut failure = failure.lock().unwrap_or_else(|e| e.into_inner());
                    failure.get_or_insert(anyhow!("a device thread panicked"));
                }
            }
        });
        if let Some(err) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(err);
        }
        let board = board.into_inner().unwrap_or_else(|e| e.into_inner());
        let (records, arms) = board.collect(&runs);
        // Runs never started, or stopped part-way, mean the sweep was interrupted.
        let interrupted = arms.len() < runs.len()
            || arms
                .iter()
                .any(|a| matches!(a.status, ArmStatus::Interrupted | ArmStatus::Running));
        Ok(SweepResult {
            records,
            arms,
            interrupted,
        })
    }
}
