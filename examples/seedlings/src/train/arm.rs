//! [`train_arm`]: loads the arm's saved position (if any), then alternates `epoch.rs`'s
//! one-epoch step with the end-of-epoch step here (evaluation, the epoch's record, the
//! divergence check on the weights, checkpoints, saving the position).

use std::time::Instant;

use anyhow::Result;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use burn_weight_decay::{DecayMode, DecayMonitor, decay_shrink, decayed_weight_norm, equilibrium};
use indicatif::ProgressBar;

use super::arm_run::ArmRun;
use super::epoch::{EpochEnd, run_epoch};
use super::progress::{ArmEnd, ArmProgress};
use super::{ArmData, ArmSpec, EquilibriumSums, TrainSettings, evaluate};
use crate::checkpoint::{self, CheckpointMeta};
use crate::interrupt::Interrupt;
use crate::model::{Cnn, CnnConfig};
use crate::records::{ArmStatus, EpochRecord};
use crate::run::ArmPaths;
use crate::schedule::OneCycle;
use crate::train::progress::{save_progress, save_state};

/// The end of one call of [`train_arm`].
#[derive(Debug, Clone)]
pub struct ArmOutcome {
    /// Finished, diverged, interrupted or failed.
    pub status: ArmStatus,
    /// Every epoch record of the arm (earlier ones included when resumed).
    pub records: Vec<EpochRecord>,
    /// `Π(1 − s_t·λ)` over the steps taken.
    pub decay_shrink: f64,
    /// `Σ s_t·λ` over the steps taken: steps run ÷ steps rotational equilibrium needs.
    pub equilibrium_progress: f64,
    /// The best checkpoint, relative to the run folder, if one was written.
    pub best_checkpoint: Option<String>,
    /// The last complete-epoch checkpoint, relative to the run folder, if one was written.
    pub final_checkpoint: Option<String>,
}

impl ArmRun<'_> {
    /// The outcome `progress` stands for.
    fn outcome(&self, progress: &ArmProgress) -> ArmOutcome {
        let paths = self.paths;
        ArmOutcome {
            status: progress.status(),
            records: progress.records.clone(),
            decay_shrink: arm_shrink(self.arm, &self.schedule, progress.step),
            equilibrium_progress: arm_equilibrium_progress(self.arm, &self.schedule, progress.step),
            best_checkpoint: progress
                .best_valid_accuracy
                .map(|_| paths.best_rel())
                .filter(|rel| paths.run_dir.join(rel).join("meta.json").exists()),
            final_checkpoint: Some(paths.last_rel())
                .filter(|rel| paths.run_dir.join(rel).join("meta.json").exists()),
        }
    }
}

/// What [`train_arm`] trains one run with.
#[derive(Clone, Copy)]
pub struct ArmJob<'a> {
    /// The training settings; the run's seed is `settings.seed`.
    pub settings: &'a TrainSettings,
    /// The arm (weight decay × mode).
    pub arm: &'a ArmSpec,
    /// The images and class names.
    pub data: &'a ArmData<'a>,
    /// The weights to start from when there is no saved state.
    pub initial: &'a Cnn,
    /// Where to train.
    pub device: &'a Device,
    /// The run's folders: its checkpoints and state under the run's name (`paths.arm`, also
    /// the `arm` of its records).
    pub paths: &'a ArmPaths,
    /// Set to stop between two batches, saving a resumable state.
    pub stop: &'a Interrupt,
}

/// Trains one run of `job.arm` from `job.initial` (or from its saved state in the run folder),
/// writing checkpoints and state into the run folder under the run's name. Stops between two
/// batches when `job.stop` is set, saving a resumable state. `on_epoch` sees every new epoch
/// record.
pub fn train_arm(job: ArmJob<'_>, on_epoch: &mut dyn FnMut(&EpochRecord)) -> Result<ArmOutcome> {
    let ArmJob {
        settings,
        arm,
        data,
        initial,
        device,
        paths,
        stop,
    } = job;
    let cnn = CnnConfig::new(data.class_names.len())
        .with_channels(settings.channels.clone())
        .with_block(settings.sweep.block);
    let monitor = DecayMonitor::default();
    let mut optim = settings.optimizer_monitored(arm, monitor.clone())?;
    let mut progress = ArmProgress::load(paths)?.unwrap_or_default();
    let mut model = if let Some(file) = &progress.model_file {
        let state_dir = paths.state_dir();
        let model = checkpoint::load_model(&state_dir.join(file), cnn.init(device))?;
        if let Some(file) = &progress.optimizer_file {
            let path = state_dir.join(file);
            optim = optim
                .load(&path)
                .map_err(|err| anyhow::anyhow!("loading {}: {err}", path.display()))?;
        }
        model
    } else {
        initial.clone()
    };
    let run = ArmRun {
        settings,
        arm,
        data,
        device,
        paths,
        stop,
        name: paths.arm.clone(),
        decay: settings.decay(arm),
        schedule: settings.schedule(data.train.len()),
        steps_per_epoch: settings.steps_per_epoch(data.train.len()),
        monitor,
        loss_fn: CrossEntropyLossConfig::new().init(device),
    };
    if progress.ended.is_some() {
        return Ok(run.outcome(&progress));
    }

    while progress.epoch < settings.sweep.epochs {
        let (trained, end) = run_epoch(&run, model, &mut optim, &mut progress, on_epoch)?;
        model = trained;
        let EpochEnd::Trained { started, bar } = end else {
            return Ok(run.outcome(&progress));
        };
        if !end_epoch(&run, &model, &optim, &mut progress, started, bar, on_epoch)? {
            return Ok(run.outcome(&progress));
        }
    }
    Ok(run.outcome(&progress))
}

/// The end of epoch `progress.epoch`: evaluates, records, and checks the weights; then writes
/// the checkpoints and saves the position. `false` when the epoch diverged (the arm has ended
/// and only its progress is saved).
fn end_epoch(
    run: &ArmRun<'_>,
    model: &Cnn,
    optim: &ModuleOptimizer,
    progress: &mut ArmProgress,
    started: Instant,
    bar: ProgressBar,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<bool> {
    let (settings, arm, data, paths) = (run.settings, run.arm, run.data, run.paths);
    let epoch = progress.epoch;
    let evaluation = evaluate(
        model,
        data.valid,
        &data.normalization,
        data.class_names.len(),
        settings.sweep.batch_size,
        run.device,
    );
    let weight_norm = decayed_weight_norm(model, &run.decay.clone().with_rate(1.0));
    let seconds = progress.epoch_seconds + started.elapsed().as_secs_f64();
    let [
        conv_angle,
        conv_angle_predicted,
        conv_norm,
        conv_norm_predicted,
    ] = progress.epoch_equilibrium.means();
    let record = EpochRecord {
        arm: run.name.clone(),
        wd: arm.wd,
        mode: arm.mode,
        epoch: epoch + 1,
        lr: run.schedule.lr(progress.step.saturating_sub(1)),
        train_loss: progress.epoch_loss_sum / progress.epoch_images.max(1) as f64,
        valid_loss: evaluation.loss,
        valid_accuracy: evaluation.matrix.accuracy(),
        valid_macro_f1: evaluation.matrix.macro_f1(),
        weight_norm,
        seconds,
        status: EpochRecord::OK.to_string(),
        conv_angle,
        conv_angle_predicted,
        conv_norm,
        conv_norm_predicted,
    };
    bar.finish_and_clear();
    let finite = weight_norm.is_finite() && record.valid_loss.is_finite();
    let record = if finite {
        record
    } else {
        EpochRecord {
            status: format!("diverged at step {}", progress.step),
            ..record
        }
    };
    on_epoch(&record);
    progress.records.push(record.clone());
    progress.epoch += 1;
    progress.batch = 0;
    progress.epoch_loss_sum = 0.0;
    progress.epoch_images = 0;
    progress.epoch_seconds = 0.0;
    progress.epoch_equilibrium = EquilibriumSums::default();

    if !finite {
        progress.diverged_at = Some((epoch + 1, progress.step));
        progress.ended = Some(ArmEnd::Diverged {
            reason: "non-finite weights".to_string(),
        });
        save_progress(paths, progress)?;
        return Ok(false);
    }
    let meta = CheckpointMeta {
        arm: run.name.clone(),
        wd: arm.wd,
        mode: arm.mode.to_string(),
        epoch: epoch + 1,
        valid_accuracy: record.valid_accuracy,
        class_names: data.class_names.to_vec(),
        image_size: data.train.image_size(),
        normalization: data.normalization,
        channels: settings.channels.clone(),
        synthetic: data.synthetic,
        trained_on: data.trained_on.clone(),
    };
    checkpoint::save(&paths.run_dir.join(paths.last_rel()), model, &meta)?;
    if progress
        .best_valid_accuracy
        .is_none_or(|best| record.valid_accuracy > best)
    {
        progress.best_valid_accuracy = Some(record.valid_accuracy);
        checkpoint::save(&paths.run_dir.join(paths.best_rel()), model, &meta)?;
    }
    if progress.epoch == settings.sweep.epochs {
        progress.ended = Some(ArmEnd::Finished);
    }
    save_state(paths, model, optim, progress)?;
    Ok(true)
}

/// `Π(1 − s_t·λ)` over the first `steps` steps of the schedule (`s_t = lr_t`); 1 without decay.
fn arm_shrink(arm: &ArmSpec, schedule: &OneCycle, steps: usize) -> f64 {
    if arm.mode == DecayMode::None {
        return 1.0;
    }
    decay_shrink(
        schedule.all().take(steps),
        arm.wd,
        burn_weight_decay::DecayScale::LearningRate,
    )
}

/// `Σ f_t` over the first `steps` steps, `f_t = s_t·λ = lr_t·λ` (the trainer's decay scale is the
/// learning rate; coupled decay's factor is `lr_t·λ` too): steps run ÷ the `1/f` steps
/// equilibrium needs. 0 without decay.
fn arm_equilibrium_progress(arm: &ArmSpec, schedule: &OneCycle, steps: usize) -> f64 {
    if arm.mode == DecayMode::None {
        return 0.0;
    }
    equilibrium::progress(schedule.all().take(steps).map(|lr| lr * arm.wd))
}
