//! One arm of the sweep: the training loop, the one-cycle schedule, the divergence check,
//! per-epoch evaluation, checkpoints, and the state that lets an interrupted arm resume.
//!
//! A few steps of every epoch ([`EQUILIBRIUM_STEPS_PER_EPOCH`], spread over it) are measured
//! through the optimizer's [`DecayMonitor`]: how far each conv weight turned, against the
//! rotational equilibrium's prediction (Kosson et al. 2024, see
//! [`burn_weight_decay::equilibrium`]). Those steps take Burn's tensor ops instead of the fused
//! optimizer kernel; the epoch's means go into its [`EpochRecord`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn_fused_conv::BlockKernel;
use burn_weight_decay::{
    AdamDecayConfig, ConfigError, DecayConfig, DecayMode, DecayMonitor, SgdDecayConfig,
    decay_shrink, decayed_weight_norm, equilibrium,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, CheckpointMeta};
use crate::data::{AugmentSeed, EpochPlan, ImageStore, Normalization, Prefetcher, make_batch};
use crate::interrupt::Interrupt;
use crate::model::{Cnn, CnnConfig};
use crate::report::atomic::write_atomic_str;
use crate::report::metrics::ConfusionMatrix;
use crate::report::{ArmStatus, EpochRecord};
use crate::schedule::OneCycle;

/// How many optimizer steps of each epoch are measured for the equilibrium diagnostics: evenly
/// spread, the epoch's last step among them (every step of an epoch shorter than this).
pub const EQUILIBRIUM_STEPS_PER_EPOCH: usize = 3;

/// Whether batch `batch` (0-based) of an epoch of `steps` batches is one of the
/// [`EQUILIBRIUM_STEPS_PER_EPOCH`] measured ones: batches `⌊k·steps/K⌋ − 1` for `k = 1…K`.
///
/// ```
/// use seedlings::train::is_measured_batch;
/// let measured: Vec<usize> = (0..6).filter(|&b| is_measured_batch(b, 6)).collect();
/// assert_eq!(measured, [1, 3, 5]);
/// assert!(is_measured_batch(0, 1));
/// ```
pub fn is_measured_batch(batch: usize, steps: usize) -> bool {
    let k = EQUILIBRIUM_STEPS_PER_EPOCH;
    (1..=k).any(|i| (i * steps / k).saturating_sub(1) == batch)
}

/// The running sums of one epoch's equilibrium measurements (part of the resumable state, so an
/// epoch interrupted between two measured steps keeps the first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EquilibriumSums {
    /// Σ of the conv weights' measured angles.
    #[serde(with = "crate::exact::f64")]
    pub angle: f64,
    /// How many angles are in `angle`.
    pub angles: usize,
    /// Σ of their predicted angles.
    #[serde(with = "crate::exact::f64")]
    pub predicted_angle: f64,
    /// How many predictions are in `predicted_angle`.
    pub predicted_angles: usize,
    /// Σ over measured steps of `√(Σ ‖w‖²)` of the conv weights.
    #[serde(with = "crate::exact::f64")]
    pub norm: f64,
    /// How many steps are in `norm`.
    pub norms: usize,
    /// Σ over measured steps of `√(Σ predicted ‖w‖²)`.
    #[serde(with = "crate::exact::f64")]
    pub predicted_norm: f64,
    /// How many steps are in `predicted_norm`.
    pub predicted_norms: usize,
}

impl EquilibriumSums {
    /// Adds one measured step's samples; only the conv weights (4-D tensors) count, and
    /// non-finite values or non-positive predictions (no decay) are left out.
    pub fn add_step(&mut self, samples: &[equilibrium::EquilibriumSample]) {
        let conv: Vec<&equilibrium::EquilibriumSample> =
            samples.iter().filter(|s| s.shape.len() == 4).collect();
        if conv.is_empty() {
            return;
        }
        for sample in &conv {
            if sample.angle.is_finite() {
                self.angle += sample.angle;
                self.angles += 1;
            }
            if let Some(p) = sample.predicted_angle.filter(|p| p.is_finite() && *p > 0.0) {
                self.predicted_angle += p;
                self.predicted_angles += 1;
            }
        }
        let norm = conv.iter().map(|s| s.norm * s.norm).sum::<f64>().sqrt();
        if norm.is_finite() {
            self.norm += norm;
            self.norms += 1;
        }
        let predicted: Option<f64> = conv.iter().map(|s| s.predicted_norm.map(|p| p * p)).sum();
        if let Some(p) = predicted
            .map(f64::sqrt)
            .filter(|p| p.is_finite() && *p > 0.0)
        {
            self.predicted_norm += p;
            self.predicted_norms += 1;
        }
    }

    /// `(angle, predicted angle, norm, predicted norm)`, each the mean of its sum, `None`
    /// where nothing was added.
    pub fn means(&self) -> [Option<f64>; 4] {
        let mean = |sum: f64, n: usize| (n > 0).then(|| sum / n as f64);
        [
            mean(self.angle, self.angles),
            mean(self.predicted_angle, self.predicted_angles),
            mean(self.norm, self.norms),
            mean(self.predicted_norm, self.predicted_norms),
        ]
    }
}

/// The inner optimizer of every arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam, β = (0.9, 0.99) and ε = 1e-5 as fastai's defaults.
    Adam,
    /// SGD with momentum 0.9.
    Sgd,
}

impl std::str::FromStr for OptimizerKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "adam" => Ok(Self::Adam),
            "sgd" => Ok(Self::Sgd),
            _ => Err(ConfigError::UnknownName {
                what: "optimizer",
                value: s.to_string(),
                expected: "adam or sgd",
            }),
        }
    }
}

impl OptimizerKind {
    /// The optimizer in words, for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Adam => "Adam (β1 0.9, β2 0.99, ε 1e-5, fastai's defaults)",
            Self::Sgd => "SGD (momentum 0.9, dampening 0)",
        }
    }
}

/// One arm: a weight decay and a mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmSpec {
    /// λ: decoupled `w ← w − lr·λ·w`, or coupled `g ← g + λ·w` (fastai's `wd` in both modes).
    pub wd: f64,
    /// Coupled or decoupled.
    pub mode: DecayMode,
}

impl ArmSpec {
    /// A file-name-safe name, e.g. `decoupled-wd0.1`.
    pub fn name(&self) -> String {
        format!("{}-wd{}", self.mode, self.wd)
    }
}

/// Settings shared by every arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Epochs per arm.
    pub epochs: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Peak learning rate of the one-cycle schedule.
    pub lr: f64,
    /// The inner optimizer.
    pub optimizer: OptimizerKind,
    /// Seed of initial weights, data order and augmentation.
    pub seed: u64,
    /// Also decay biases and batch-norm scales and shifts.
    pub decay_norm_and_bias: bool,
    /// Threads that make batches ahead of the training step.
    pub loader_workers: usize,
    /// The network's block widths.
    pub channels: Vec<usize>,
    /// Which code runs the conv blocks (run folders from before this setting were fused-free
    /// and read as `fused`: both train the same network).
    #[serde(default = "default_block")]
    pub block: BlockKernel,
}

fn default_block() -> BlockKernel {
    BlockKernel::Fused
}

impl TrainSettings {
    /// The decay configuration of `arm`.
    pub fn decay(&self, arm: &ArmSpec) -> DecayConfig {
        DecayConfig::new()
            .with_mode(arm.mode)
            .with_rate(arm.wd)
            .with_decay_rank_le_1(self.decay_norm_and_bias)
    }

    /// The optimizer of `arm`, or the setting that makes it impossible.
    pub fn optimizer(&self, arm: &ArmSpec) -> Result<ModuleOptimizer, ConfigError> {
        self.optimizer_monitored(arm, DecayMonitor::default())
    }

    /// [`optimizer`](Self::optimizer) reporting to `monitor` (which parameter updates were
    /// fused, skipped, made at all).
    pub fn optimizer_monitored(
        &self,
        arm: &ArmSpec,
        monitor: DecayMonitor,
    ) -> Result<ModuleOptimizer, ConfigError> {
        let decay = self.decay(arm);
        Ok(match self.optimizer {
            OptimizerKind::Adam => AdamDecayConfig::new()
                .with_beta_1(0.9)
                .with_beta_2(0.99)
                .with_epsilon(1e-5)
                .with_decay(decay)
                .try_build()?
                .with_monitor(monitor)
                .into(),
            OptimizerKind::Sgd => SgdDecayConfig::new()
                .with_momentum(0.9)
                .with_decay(decay)
                .try_build()?
                .with_monitor(monitor)
                .into(),
        })
    }

    /// Optimizer steps per epoch for `train_len` images (the last batch may be partial).
    pub fn steps_per_epoch(&self, train_len: usize) -> usize {
        train_len.div_ceil(self.batch_size)
    }

    /// The schedule over the whole run.
    pub fn schedule(&self, train_len: usize) -> OneCycle {
        OneCycle::new(self.lr, self.epochs * self.steps_per_epoch(train_len))
    }
}

/// What an arm trains on, shared by all arms.
pub struct ArmData<'a> {
    /// Training images.
    pub train: &'a ImageStore,
    /// Validation images.
    pub valid: &'a ImageStore,
    /// Class names in label order.
    pub class_names: &'a [String],
    /// Input normalization from the train split.
    pub normalization: Normalization,
    /// Whether these are the synthetic images.
    pub synthetic: bool,
}

/// Loss and confusion matrix of a model on a split.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Rows: true class, columns: predicted class.
    pub matrix: ConfusionMatrix,
}

/// Evaluates `model` (any mode; it is put in inference mode) on every image of `store`.
pub fn evaluate(
    model: &Cnn,
    store: &ImageStore,
    normalization: &Normalization,
    num_classes: usize,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    let model = model.valid();
    let plain = device.clone().inner();
    let loss_fn = CrossEntropyLossConfig::new().init(&plain);
    let plan = EpochPlan::sequential(store.len(), batch_size.max(1));
    let mut matrix = ConfusionMatrix::new(num_classes);
    let mut loss_sum = 0.0;
    for indices in plan.batches() {
        let batch = make_batch(store, indices, normalization, None);
        let shape = batch.shape();
        let (x, y) = tensors(batch.images, batch.labels.clone(), shape, &plain);
        let logits = model.forward(x);
        let loss = loss_fn.forward(logits.clone(), y).into_scalar::<f64>();
        loss_sum += loss * batch.len as f64;
        let predictions = logits.argmax(1).into_data();
        let predictions = predictions.iter::<i64>();
        for (label, predicted) in batch.labels.iter().zip(predictions) {
            // Labels and predictions are class indices below num_classes.
            let _ = matrix.add(*label as usize, predicted as usize);
        }
    }
    let n = store.len().max(1) as f64;
    Evaluation {
        loss: loss_sum / n,
        matrix,
    }
}

/// A batch's pixels and labels as the network's input and target tensors on `device`.
pub(crate) fn tensors(
    images: Vec<f32>,
    labels: Vec<i64>,
    shape: [usize; 4],
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let n = labels.len();
    (
        Tensor::from_data(TensorData::new(images, shape), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

/// Where an arm's files live inside the run folder.
#[derive(Debug, Clone)]
pub struct ArmPaths {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The arm's name.
    pub arm: String,
}

impl ArmPaths {
    /// `checkpoints/<arm>/best`, relative to the run folder.
    pub fn best_rel(&self) -> String {
        format!("checkpoints/{}/best", self.arm)
    }
    /// `checkpoints/<arm>/last`, relative to the run folder.
    pub fn last_rel(&self) -> String {
        format!("checkpoints/{}/last", self.arm)
    }
    /// `state/<arm>`: what resuming needs.
    pub fn state_dir(&self) -> PathBuf {
        self.run_dir.join("state").join(&self.arm)
    }
}

/// An arm's position, written with its model and optimizer state after every epoch and on an
/// interruption: enough to continue exactly where it stopped. The data order and augmentation
/// are pure functions of (seed, epoch, index), so the position *is* the random state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArmProgress {
    /// The next epoch to run (0-based).
    pub epoch: usize,
    /// The next batch of that epoch.
    pub batch: usize,
    /// Optimizer steps taken so far: the schedule position.
    pub step: usize,
    /// Sum of the training losses of this epoch so far, weighted by batch size.
    #[serde(with = "crate::exact::f64")]
    pub epoch_loss_sum: f64,
    /// Images seen in this epoch so far.
    pub epoch_images: usize,
    /// Seconds spent in this epoch so far.
    #[serde(with = "crate::exact::f64")]
    pub epoch_seconds: f64,
    /// This epoch's equilibrium measurements so far (absent in state from before them: zero).
    #[serde(default)]
    pub epoch_equilibrium: EquilibriumSums,
    /// The arm's epoch records so far.
    #[serde(with = "crate::exact::records")]
    pub records: Vec<EpochRecord>,
    /// Best validation accuracy so far.
    #[serde(with = "crate::exact::option_f64")]
    pub best_valid_accuracy: Option<f64>,
    /// Set once the arm has ended (finished, diverged or failed): it is not resumed.
    pub ended: Option<String>,
    /// The diverged position, if it diverged: (epoch, step), both from 1.
    pub diverged_at: Option<(usize, usize)>,
    /// The file names of the model and optimizer state belonging to this position.
    pub model_file: Option<String>,
    /// See `model_file`.
    pub optimizer_file: Option<String>,
}

impl ArmProgress {
    /// Reads `progress.json` of an arm, if any.
    pub fn load(paths: &ArmPaths) -> Result<Option<Self>> {
        let path = paths.state_dir().join("progress.json");
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let progress = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an arm's progress file", path.display()))?;
        Ok(Some(progress))
    }

    /// The status this progress stands for.
    pub fn status(&self) -> ArmStatus {
        match (&self.ended, self.diverged_at) {
            (_, Some((epoch, step))) => ArmStatus::Diverged { epoch, step },
            (Some(reason), _) if reason.starts_with("failed: ") => ArmStatus::Failed {
                reason: reason.trim_start_matches("failed: ").to_string(),
            },
            (Some(_), _) => ArmStatus::Finished,
            (None, _) => ArmStatus::Interrupted,
        }
    }
}

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

/// Trains one arm from `initial` (or from its saved state when `resume` holds its progress),
/// writing checkpoints and state into the run folder. Stops between two batches when `stop` is
/// set, saving a resumable state. `on_epoch` sees every new epoch record.
#[allow(clippy::too_many_arguments)]
pub fn train_arm(
    settings: &TrainSettings,
    arm: &ArmSpec,
    data: &ArmData<'_>,
    initial: &Cnn,
    device: &Device,
    paths: &ArmPaths,
    stop: &Interrupt,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<ArmOutcome> {
    let cnn = CnnConfig::new(data.class_names.len())
        .with_channels(settings.channels.clone())
        .with_block(settings.block);
    let decay = settings.decay(arm);
    let schedule = settings.schedule(data.train.len());
    let steps_per_epoch = settings.steps_per_epoch(data.train.len());
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
    let outcome = |progress: &ArmProgress| ArmOutcome {
        status: progress.status(),
        records: progress.records.clone(),
        decay_shrink: arm_shrink(arm, &schedule, progress.step),
        equilibrium_progress: arm_equilibrium_progress(arm, &schedule, progress.step),
        best_checkpoint: progress
            .best_valid_accuracy
            .map(|_| paths.best_rel())
            .filter(|rel| paths.run_dir.join(rel).join("meta.json").exists()),
        final_checkpoint: Some(paths.last_rel())
            .filter(|rel| paths.run_dir.join(rel).join("meta.json").exists()),
    };
    if progress.ended.is_some() {
        return Ok(outcome(&progress));
    }

    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let name = arm.name();
    while progress.epoch < settings.epochs {
        let epoch = progress.epoch;
        let started = Instant::now();
        let plan = EpochPlan::shuffled(
            data.train.len(),
            settings.batch_size,
            settings.seed,
            epoch as u64,
        );
        let augment = AugmentSeed {
            seed: settings.seed,
            epoch: epoch as u64,
        };
        let bar = epoch_bar(
            &name,
            epoch,
            settings.epochs,
            steps_per_epoch,
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
            if stop.is_requested() {
                bar.abandon_with_message("interrupted");
                progress.epoch_seconds += started.elapsed().as_secs_f64();
                save_state(paths, &model, &optim, &mut progress)?;
                return Ok(outcome(&progress));
            }
            let Some(batch) = prefetch.next() else { break };
            let lr = schedule.lr(progress.step);
            let n = batch.len;
            let shape = batch.shape();
            let (x, y) = tensors(batch.images, batch.labels, shape, device);
            let loss = loss_fn.forward(model.forward(x), y);
            let value = loss.clone().into_scalar::<f64>();
            if !value.is_finite() {
                // Stop here: this step's weights are never written, and the checkpoints on
                // disk stay those of the last complete (finite) epoch.
                bar.abandon_with_message(format!("diverged: loss {value}"));
                let step = progress.step + 1;
                let record = EpochRecord {
                    arm: name.clone(),
                    wd: arm.wd,
                    mode: arm.mode.to_string(),
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
                progress.ended = Some(format!("diverged: loss {value}"));
                save_progress(paths, &progress)?;
                return Ok(outcome(&progress));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let measured = is_measured_batch(progress.batch, steps_per_epoch);
            if measured {
                monitor.arm();
            }
            model = optim.step(lr, model, grads);
            if measured {
                let samples = monitor.take_equilibrium();
                // Disarms; the removed norm itself is not used here.
                let _ = monitor.take_removed_norm();
                progress.epoch_equilibrium.add_step(&samples);
            }
            stop.step_taken();
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

        // End of epoch: evaluate, record, checkpoint.
        let evaluation = evaluate(
            &model,
            data.valid,
            &data.normalization,
            data.class_names.len(),
            settings.batch_size,
            device,
        );
        let weight_norm = decayed_weight_norm(&model, &decay.clone().with_rate(1.0));
        let seconds = progress.epoch_seconds + started.elapsed().as_secs_f64();
        let [
            conv_angle,
            conv_angle_predicted,
            conv_norm,
            conv_norm_predicted,
        ] = progress.epoch_equilibrium.means();
        let record = EpochRecord {
            arm: name.clone(),
            wd: arm.wd,
            mode: arm.mode.to_string(),
            epoch: epoch + 1,
            lr: schedule.lr(progress.step.saturating_sub(1)),
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
            progress.ended = Some("diverged: non-finite weights".to_string());
            save_progress(paths, &progress)?;
            return Ok(outcome(&progress));
        }
        let meta = CheckpointMeta {
            arm: name.clone(),
            wd: arm.wd,
            mode: arm.mode.to_string(),
            epoch: epoch + 1,
            valid_accuracy: record.valid_accuracy,
            class_names: data.class_names.to_vec(),
            image_size: data.train.image_size(),
            normalization: data.normalization,
            channels: settings.channels.clone(),
            synthetic: data.synthetic,
        };
        checkpoint::save(&paths.run_dir.join(paths.last_rel()), &model, &meta)?;
        if progress
            .best_valid_accuracy
            .is_none_or(|best| record.valid_accuracy > best)
        {
            progress.best_valid_accuracy = Some(record.valid_accuracy);
            checkpoint::save(&paths.run_dir.join(paths.best_rel()), &model, &meta)?;
        }
        if progress.epoch == settings.epochs {
            progress.ended = Some("finished".to_string());
        }
        save_state(paths, &model, &optim, &mut progress)?;
    }
    Ok(outcome(&progress))
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

/// Writes model and optimizer state under names unique to this step, then `progress.json`
/// naming them (the commit point), then removes older state files.
fn save_state(
    paths: &ArmPaths,
    model: &Cnn,
    optim: &ModuleOptimizer,
    progress: &mut ArmProgress,
) -> Result<()> {
    let dir = paths.state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let model_file = format!("model-{}.bpk", progress.step);
    let optim_file = format!("optimizer-{}.bpk", progress.step);
    checkpoint::save_model(&dir.join(&model_file), model)?;
    let bytes = optim
        .into_bytes()
        .map_err(|err| anyhow::anyhow!("encoding the optimizer state: {err}"))?;
    let optim_path = dir.join(&optim_file);
    crate::report::atomic::write_atomic(&optim_path, &bytes)
        .with_context(|| format!("writing {}", optim_path.display()))?;
    progress.model_file = Some(model_file.clone());
    progress.optimizer_file = Some(optim_file.clone());
    save_progress(paths, progress)?;
    remove_stale(&dir, &[&model_file, &optim_file]);
    Ok(())
}

fn save_progress(paths: &ArmPaths, progress: &ArmProgress) -> Result<()> {
    let dir = paths.state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("progress.json");
    let json = serde_json::to_string(progress)?;
    write_atomic_str(&path, &json).with_context(|| format!("writing {}", path.display()))
}

fn remove_stale(dir: &Path, keep: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".bpk") && !keep.contains(&name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
