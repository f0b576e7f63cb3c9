//! One epoch of an arm: its batches in the epoch's order from where the saved position left
//! off, until the epoch's batches run out, the loss turns non-finite, or a stop is requested.

use std::time::Instant;

use anyhow::Result;
use burn::optim::{GradientsParams, ModuleOptimizer};
use indicatif::{ProgressBar, ProgressStyle};

use super::arm_run::ArmRun;
use super::progress::{ArmEnd, ArmProgress};
use super::{is_measured_batch, tensors};
use crate::data::{AugmentSeed, EpochPlan, Prefetcher};
use crate::model::Cnn;
use crate::records::EpochRecord;
use crate::train::progress::{save_progress, save_state};

/// How one epoch's batches ended.
pub(super) enum EpochEnd {
    /// Every batch ran: the end-of-epoch step comes next, with the epoch's start and its bar.
    Trained {
        /// When this call began the epoch (earlier calls' seconds are in the progress).
        started: Instant,
        /// The epoch's progress bar, still showing.
        bar: ProgressBar,
    },
    /// Interrupted or diverged: the state is saved, and this call of `train_arm` returns.
    Stopped,
}

/// Runs the rest of epoch `progress.epoch` on `model`, returning the model after its last step.
///
/// On a stop request the model, optimizer and position are saved (resumable); on a non-finite
/// loss the diverged record goes to `on_epoch` and the progress, and only the progress is saved
/// (the step's weights are never written).
pub(super) fn run_epoch(
    run: &ArmRun<'_>,
    mut model: Cnn,
    optim: &mut ModuleOptimizer,
    progress: &mut ArmProgress,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<(Cnn, EpochEnd)> {
    let settings = run.settings;
    let data = run.data;
    let epoch = progress.epoch;
    let started = Instant::now();
    let plan = EpochPlan::shuffled(
        data.train.len(),
        settings.sweep.batch_size,
        settings.sweep.seed,
        epoch as u64,
    );
    let augment = AugmentSeed {
        seed: settings.sweep.seed,
        epoch: epoch as u64,
    };
    let bar = epoch_bar(
        &run.name,
        epoch,
        settings.sweep.epochs,
        run.steps_per_epoch,
        progress.batch,
    );
    let mut prefetch = Prefetcher::new(
        data.train,
        plan,
        data.normalization,
        Some(augment),
        progress.batch,
        settings.loader_workers,
    );
    let mut images_this_call = 0usize;
    loop {
        if run.stop.is_requested() {
            bar.abandon_with_message("interrupted");
            progress.epoch_seconds += started.elapsed().as_secs_f64();
            save_state(run.paths, &model, optim, progress)?;
            return Ok((model, EpochEnd::Stopped));
        }
        let Some(batch) = prefetch.next() else { break };
        let lr = run.schedule.lr(progress.step);
        let n = batch.len;
        let shape = batch.shape();
        let (x, y) = tensors(batch.images, batch.labels, shape, run.device);
        let loss = run.loss_fn.forward(model.forward(x), y);
        let value = loss.clone().into_scalar::<f64>();
        if !value.is_finite() {
            // Stop here: this step's weights are never written, and the checkpoints on
            // disk stay those of the last complete (finite) epoch.
            bar.abandon_with_message(format!("diverged: loss {value}"));
            let step = progress.step + 1;
            let record = EpochRecord {
                arm: run.name.clone(),
                wd: run.arm.wd,
                mode: run.arm.mode,
                epoch: epoch + 1,
                lr,
                train_loss: value,
                valid_loss: f64::NAN,
                valid_accuracy: f64::NAN,
                valid_macro_f1: f64::NAN,
                weight_norm: f64::NAN,
                seconds: progress.epoch_seconds + started.elapsed().as_secs_f64(),
                status: format!("diverged at step {step}"),
                conv_angle: None,
                conv_angle_predicted: None,
                conv_norm: None,
                conv_norm_predicted: None,
            };
            on_epoch(&record);
            progress.records.push(record);
            progress.diverged_at = Some((epoch + 1, step));
            progress.ended = Some(ArmEnd::Diverged {
                reason: format!("loss {value}"),
            });
            save_progress(run.paths, progress)?;
            return Ok((model, EpochEnd::Stopped));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let measured = is_measured_batch(progress.batch, run.steps_per_epoch);
        if measured {
            run.monitor.arm();
        }
        model = optim.step(lr, model, grads);
        if measured {
            let samples = run.monitor.take_equilibrium();
            // Disarms; the removed norm itself is not used here.
            let _ = run.monitor.take_removed_norm();
            progress.epoch_equilibrium.add_step(&samples);
        }
        run.stop.step_taken();
        progress.step += 1;
        progress.batch += 1;
        progress.epoch_loss_sum += value * n as f64;
        progress.epoch_images += n;
        images_this_call += n;
        let rate = images_this_call as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "loss {:.4}  lr {lr:.2e}  {rate:.0} img/s",
            progress.epoch_loss_sum / progress.epoch_images as f64
        ));
        bar.inc(1);
    }
    drop(prefetch);
    Ok((model, EpochEnd::Trained { started, bar }))
}

fn epoch_bar(arm: &str, epoch: usize, epochs: usize, steps: usize, done: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} ETA {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{arm} epoch {}/{epochs}", epoch + 1));
    bar.set_position(done as u64);
    bar
}
