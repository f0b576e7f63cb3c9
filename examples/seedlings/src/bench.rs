//! `seedlings bench`: where a training step's time goes — waiting for data, forward and
//! backward, the optimizer — measured on the experiment's own network, loader and optimizer.
//!
//! Each phase ends with a device sync, so its time is the phase's own even on a backend that
//! queues work. Shares are of the wall time of the timed steps (warm-up steps excluded).

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use burn_weight_decay::DecayMonitor;
use serde::Serialize;

use crate::data::{AugmentSeed, EpochPlan, ImageStore, Normalization, Prefetcher};
use crate::model::CnnConfig;
use crate::train::{ArmSpec, TrainSettings, tensors};

/// What [`bench_training`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchFigures {
    /// Timed optimizer steps.
    pub steps: usize,
    /// Images in the timed steps.
    pub images: usize,
    /// Wall time of the timed steps, in seconds.
    pub seconds: f64,
    /// Training throughput.
    pub images_per_second: f64,
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
}

impl BenchFigures {
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
/// and times the last `steps`. `device` must have autodiff enabled.
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
        .with_block(settings.block);
    let mut model = cnn.init_seeded(device, settings.seed);
    let monitor = DecayMonitor::default();
    let mut optim = settings.optimizer_monitored(arm, monitor.clone())?;
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let lr = settings.lr;
    let mut figures = BenchFigures {
        steps: 0,
        images: 0,
        seconds: 0.0,
        images_per_second: 0.0,
        data_wait_seconds: 0.0,
        forward_backward_seconds: 0.0,
        optimizer_seconds: 0.0,
        param_updates: 0,
        fused_updates: 0,
    };
    let (mut wait, mut fb, mut opt) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut taken = 0usize;
    let mut timed_start = Instant::now();
    let mut epoch = 0u64;
    'epochs: loop {
        let plan = EpochPlan::shuffled(store.len(), settings.batch_size, settings.seed, epoch);
        let augment = AugmentSeed {
            seed: settings.seed,
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
            let t2 = Instant::now();
            model = optim.step(lr, model, grads);
            sync(device)?;
            let t3 = Instant::now();
            wait += t1 - t0;
            fb += t2 - t1;
            opt += t3 - t2;
            figures.images += n;
            taken += 1;
            if taken == warmup + steps {
                break 'epochs;
            }
        }
        epoch += 1;
    }
    figures.steps = steps;
    figures.seconds = timed_start.elapsed().as_secs_f64();
    figures.images_per_second = figures.images as f64 / figures.seconds;
    figures.data_wait_seconds = wait.as_secs_f64();
    figures.forward_backward_seconds = fb.as_secs_f64();
    figures.optimizer_seconds = opt.as_secs_f64();
    figures.param_updates = monitor.param_updates();
    figures.fused_updates = monitor.fused_updates();
    Ok(figures)
}
