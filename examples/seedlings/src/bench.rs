//! `seedlings bench`: where a training step's time goes — waiting for data, forward and
//! backward, the optimizer — measured on the experiment's own network, loader and optimizer.
//!
//! Each phase ends with a device sync, so its time is the phase's own even on a backend that
//! queues work. Shares are of the wall time of the timed steps (warm-up steps excluded).
//!
//! Given the validation images, it also times what an epoch of the sweep does besides its
//! training steps ([`EpochShare`]): the evaluation, the checkpoints and the resumable state
//! written at its end, and the extra cost of its equilibrium-probed steps.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use burn_weight_decay::DecayMonitor;
use serde::Serialize;

use crate::checkpoint::{self, CheckpointMeta};
use crate::data::{AugmentSeed, EpochPlan, ImageStore, Normalization, Prefetcher};
use crate::model::CnnConfig;
use crate::run::ArmPaths;
use crate::train::progress::{ArmProgress, save_state};
use crate::train::{ArmSpec, EQUILIBRIUM_STEPS_PER_EPOCH, TrainSettings, evaluate, tensors};

/// What [`bench_training`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchFigures {
    /// Timed optimizer steps.
    pub steps: usize,
    /// Images in the timed steps.
    pub images: usize,
    /// Wall time of the timed steps, in seconds.
    pub seconds: f64,
    /// Training throughput: images over the wall time of the timed steps.
    pub images_per_second: f64,
    /// Wall time of the median timed step (data wait, forward, backward and optimizer), in
    /// seconds: the statistic PyTorch's reference reports, robust to a step a noisy neighbour
    /// slowed down.
    pub median_step_seconds: f64,
    /// Seconds blocked waiting for the next batch.
    pub data_wait_seconds: f64,
    /// Seconds in forward, loss and backward.
    pub forward_backward_seconds: f64,
    /// Seconds in the optimizer step (weight decay included).
    pub optimizer_seconds: f64,
    /// Parameter updates the optimizer made, warm-up included (parameters × steps).
    pub param_updates: u64,
    /// How many of them the fused flex kernel made (the others went through tensor ops).
    pub fused_updates: u64,
    /// What the rest of a sweep's epoch costs (when the validation images were given).
    pub epoch: Option<EpochShare>,
}

/// One epoch of the sweep as the sum of its parts: its training steps at the timed rate, and
/// what runs besides them.
///
/// ```text
/// epoch = steps·step + evaluate + checkpoints + probes
/// non-training share = (evaluate + checkpoints + probes) / epoch
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct EpochShare {
    /// Training steps of one epoch.
    pub steps_per_epoch: usize,
    /// Wall time of one timed training step (data wait included), seconds.
    pub step_seconds: f64,
    /// One evaluation pass over the validation images, seconds.
    pub evaluate_seconds: f64,
    /// The end of an epoch's writes: the last and best checkpoints and the resumable state
    /// (model, optimizer, progress), seconds.
    pub checkpoint_seconds: f64,
    /// What the epoch's equilibrium-probed optimizer steps cost beyond plain ones, seconds
    /// (0 when the difference is below the noise).
    pub probe_seconds: f64,
}

impl EpochShare {
    /// The epoch's wall time, as the sum of its parts.
    pub fn epoch_seconds(&self) -> f64 {
        self.steps_per_epoch as f64 * self.step_seconds + self.non_training_seconds()
    }

    /// Evaluation, checkpoints and probes.
    pub fn non_training_seconds(&self) -> f64 {
        self.evaluate_seconds + self.checkpoint_seconds + self.probe_seconds
    }

    /// Their share of the epoch.
    pub fn non_training_share(&self) -> f64 {
        self.non_training_seconds() / self.epoch_seconds()
    }
}

/// The validation images and what a checkpoint records of the data, for [`EpochShare`].
pub struct EpochContext<'a> {
    /// The validation images, evaluated at each epoch's end.
    pub valid: &'a ImageStore,
    /// The class names a checkpoint records.
    pub class_names: &'a [String],
    /// Whether the images are the built-in synthetic ones.
    pub synthetic: bool,
}

impl BenchFigures {
    /// Images per second at the median step's time (full batches).
    pub fn median_images_per_second(&self, batch_size: usize) -> f64 {
        batch_size as f64 / self.median_step_seconds
    }

    /// Share of the wall time spent waiting for data.
    pub fn data_wait_share(&self) -> f64 {
        self.data_wait_seconds / self.seconds
    }
    /// Share of the wall time spent in the optimizer step.
    pub fn optimizer_share(&self) -> f64 {
        self.optimizer_seconds / self.seconds
    }
    /// Share of the wall time spent in forward and backward.
    pub fn forward_backward_share(&self) -> f64 {
        self.forward_backward_seconds / self.seconds
    }
}

/// Trains `arm` for `warmup + steps` steps on `store` (shuffled, augmented, as the sweep does)
/// and times the last `steps`. `device` must have autodiff enabled. With `epoch_context`, then also
/// measures the rest of an epoch ([`EpochShare`]): the equilibrium probes on
/// [`EQUILIBRIUM_STEPS_PER_EPOCH`] more steps against as many plain ones, one evaluation and
/// one end-of-epoch write into a scratch folder (`tempfile`'s, removed again).
#[allow(clippy::too_many_arguments)]
pub fn bench_training(
    settings: &TrainSettings,
    arm: &ArmSpec,
    store: &ImageStore,
    normalization: Normalization,
    num_classes: usize,
    device: &Device,
    warmup: usize,
    steps: usize,
    epoch_context: Option<&EpochContext<'_>>,
) -> Result<BenchFigures> {
    if store.is_empty() {
        return Err(anyhow!("no training images to benchmark on"));
    }
    let sync = |device: &Device| {
        device
            .sync()
            .map_err(|err| anyhow!("device sync failed: {err:?}"))
    };
    let cnn = CnnConfig::new(num_classes)
        .with_channels(settings.channels.clone())
        .with_block(settings.sweep.block);
    let mut model = cnn.init_seeded(device, settings.sweep.seed);
    let monitor = DecayMonitor::default();
    let mut optim = settings.optimizer_monitored(arm, monitor.clone())?;
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let lr = settings.sweep.lr;
    let mut figures = BenchFigures {
        steps: 0,
        images: 0,
        seconds: 0.0,
        images_per_second: 0.0,
        median_step_seconds: 0.0,
        data_wait_seconds: 0.0,
        forward_backward_seconds: 0.0,
        optimizer_seconds: 0.0,
        param_updates: 0,
        fused_updates: 0,
        epoch: None,
    };
    // After the timed steps, with an epoch to measure: plain and probed steps alternately.
    let probes = if epoch_context.is_some() {
        2 * EQUILIBRIUM_STEPS_PER_EPOCH
    } else {
        0
    };
    let (mut plain_opt, mut probed_opt) = (Duration::ZERO, Duration::ZERO);
    let mut step_times = Vec::with_capacity(steps);
    let (mut wait, mut fb, mut opt) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut taken = 0usize;
    let mut timed_start = Instant::now();
    let mut epoch = 0u64;
    'epochs: loop {
        let plan = EpochPlan::shuffled(
            store.len(),
            settings.sweep.batch_size,
            settings.sweep.seed,
            epoch,
        );
        let augment = AugmentSeed {
            seed: settings.sweep.seed,
            epoch,
        };
        let mut prefetch = Prefetcher::new(
            store,
            plan,
            normalization,
            Some(augment),
            0,
            settings.loader_workers,
        );
        loop {
            if taken == warmup {
                sync(device)?;
                (wait, fb, opt) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
                figures.images = 0;
                timed_start = Instant::now();
            }
            let t0 = Instant::now();
            let Some(batch) = prefetch.next() else { break };
            let t1 = Instant::now();
            let n = batch.len;
            let shape = batch.shape();
            let (x, y) = tensors(batch.images, batch.labels, shape, device);
            let loss = loss_fn.forward(model.forward(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            sync(device)?;
            let probe = taken >= warmup + steps && (taken - warmup - steps) % 2 == 1;
            if probe {
                monitor.arm();
            }
            let t2 = Instant::now();
            model = optim.step(lr, model, grads);
            if probe {
                let _ = monitor.take_equilibrium();
                let _ = monitor.take_removed_norm();
            }
            sync(device)?;
            let t3 = Instant::now();
            taken += 1;
            if taken > warmup + steps {
                if probe {
                    probed_opt += t3 - t2;
                } else {
                    plain_opt += t3 - t2;
                }
            } else {
                wait += t1 - t0;
                fb += t2 - t1;
                opt += t3 - t2;
                figures.images += n;
                if taken > warmup {
                    step_times.push((t3 - t0).as_secs_f64());
                }
                if taken == warmup + steps {
                    figures.seconds = timed_start.elapsed().as_secs_f64();
                }
            }
            if taken == warmup + steps + probes {
                break 'epochs;
            }
        }
        epoch += 1;
    }
    figures.steps = steps;
    step_times.sort_by(f64::total_cmp);
    figures.median_step_seconds = step_times.get(step_times.len() / 2).copied().unwrap_or(0.0);
    figures.images_per_second = figures.images as f64 / figures.seconds;
    figures.data_wait_seconds = wait.as_secs_f64();
    figures.forward_backward_seconds = fb.as_secs_f64();
    figures.optimizer_seconds = opt.as_secs_f64();
    figures.param_updates = monitor.param_updates();
    figures.fused_updates = monitor.fused_updates();
    if let Some(context) = epoch_context {
        let started = Instant::now();
        let _ = evaluate(
            &model,
            context.valid,
            &normalization,
            num_classes,
            settings.sweep.batch_size,
            device,
        );
        sync(device)?;
        let evaluate_seconds = started.elapsed().as_secs_f64();
        let scratch = tempfile::Builder::new()
            .prefix("seedlings-bench-")
            .tempdir()
            .map_err(|err| anyhow!("creating a scratch folder for the checkpoint timing: {err}"))?;
        let paths = ArmPaths {
            run_dir: scratch.path().to_path_buf(),
            arm: "bench".to_string(),
        };
        let meta = CheckpointMeta {
            arm: paths.arm.clone(),
            wd: arm.wd,
            mode: arm.mode.to_string(),
            epoch: 1,
            valid_accuracy: 0.0,
            class_names: context.class_names.to_vec(),
            image_size: store.image_size(),
            normalization,
            channels: settings.channels.clone(),
            synthetic: context.synthetic,
            trained_on: None,
        };
        let started = Instant::now();
        let written = checkpoint::save(&paths.run_dir.join(paths.last_rel()), &model, &meta)
            .and_then(|()| checkpoint::save(&paths.run_dir.join(paths.best_rel()), &model, &meta))
            .and_then(|()| save_state(&paths, &model, &optim, &mut ArmProgress::default()));
        let checkpoint_seconds = started.elapsed().as_secs_f64();
        drop(scratch);
        written?;
        figures.epoch = Some(EpochShare {
            steps_per_epoch: settings.steps_per_epoch(store.len()),
            step_seconds: figures.seconds / steps as f64,
            evaluate_seconds,
            checkpoint_seconds,
            probe_seconds: probed_opt.saturating_sub(plain_opt).as_secs_f64(),
        });
    }
    Ok(figures)
}
