//! The wrapper in burn-train's `Learner`, unchanged: a linear regression fitted by
//! `SupervisedTraining` with `AdamDecayConfig::new().with_decay(DecayConfig::decoupled(λ)).init()`
//! learns, decays its weights by exactly the configured factor, and resumes from the Learner's
//! own checkpoints (model, optimizer and scheduler records) bit for bit; and with the Learner's
//! multi-device strategy (gradients of several devices summed by `step_multi`) it takes the step
//! one device takes on the combined batch.

mod common;

use std::sync::{Arc, Mutex};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor, TensorData};
use burn_train::checkpoint::KeepLastNCheckpoints;
use burn_train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn_train::metric::{LossMetric, MetricDefinition, NumericEntry};
use burn_train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use burn_train::{
    ExecutionStrategy, InferenceStep, Learner, LearningResult, MultiDeviceOptim, RegressionOutput,
    SupervisedTraining, TrainOutput, TrainStep,
};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, weight_norm};
use common::{floats, values};

const D_IN: usize = 4;
const D_OUT: usize = 2;
const SAMPLES: usize = 64;
const BATCH: usize = 16;
const EPOCHS: usize = 3;
/// Optimizer steps: one per batch, no gradient accumulation.
const STEPS: usize = EPOCHS * SAMPLES.div_ceil(BATCH);
const LR: f64 = 0.05;
const LAMBDA: f64 = 0.5;

// ---------------------------------------------------------------------------------------------
// Data: y = x·W + b + small noise, in memory

#[derive(Clone, Debug)]
struct Sample {
    x: [f32; D_IN],
    y: [f32; D_OUT],
}

fn true_weight() -> [[f32; D_OUT]; D_IN] {
    [[1.5, -2.0], [-1.0, 1.2], [2.0, 0.5], [-0.7, -1.8]]
}

fn samples() -> Vec<Sample> {
    let xs = floats(SAMPLES * D_IN, 1);
    let noise = floats(SAMPLES * D_OUT, 2);
    let w = true_weight();
    let bias = [0.3f32, -0.4];
    (0..SAMPLES)
        .map(|i| {
            let x: [f32; D_IN] = xs[i * D_IN..(i + 1) * D_IN].try_into().unwrap();
            let y = std::array::from_fn(|o| {
                bias[o]
                    + 0.01 * noise[i * D_OUT + o]
                    + (0..D_IN).map(|k| x[k] * w[k][o]).sum::<f32>()
            });
            Sample { x, y }
        })
        .collect()
}

#[derive(Clone, Debug)]
struct Batch {
    x: Tensor<2>,
    y: Tensor<2>,
}

struct SampleBatcher;

impl Batcher<Sample, Batch> for SampleBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> Batch {
        let n = items.len();
        let x: Vec<f32> = items.iter().flat_map(|s| s.x).collect();
        let y: Vec<f32> = items.iter().flat_map(|s| s.y).collect();
        Batch {
            x: Tensor::from_data(TensorData::new(x, [n, D_IN]), device),
            y: Tensor::from_data(TensorData::new(y, [n, D_OUT]), device),
        }
    }
}

fn loaders() -> (Arc<dyn DataLoader<Batch>>, Arc<dyn DataLoader<Batch>>) {
    // No shuffling: every run sees the batches in the same order.
    let train = DataLoaderBuilder::new(SampleBatcher)
        .batch_size(BATCH)
        .build(InMemDataset::new(samples()));
    let valid = DataLoaderBuilder::new(SampleBatcher)
        .batch_size(BATCH)
        .build(InMemDataset::new(samples()));
    (train, valid)
}

// ---------------------------------------------------------------------------------------------
// Model: a linear layer, plus a matrix that is in the graph with an exactly zero gradient

#[derive(Module, Debug)]
struct Regressor {
    linear: Linear,
    /// Contributes `0·Σ spare` to the loss: its gradient is exactly zero, so under Adam (whose
    /// update is then zero) only decoupled decay moves it.
    spare: Param<Tensor<2>>,
}

impl Regressor {
    /// Fixed initial weights: small, so that fitting has to grow them.
    fn new(seed: u64, device: &Device) -> Self {
        let mut linear = LinearConfig::new(D_IN, D_OUT).init(device);
        let w: Vec<f32> = floats(D_IN * D_OUT, seed).iter().map(|v| 0.1 * v).collect();
        linear.weight =
            Param::from_tensor(Tensor::from_data(TensorData::new(w, [D_IN, D_OUT]), device));
        linear.bias = Some(Param::from_tensor(Tensor::zeros([D_OUT], device)));
        Self {
            linear,
            spare: Param::from_tensor(Tensor::from_data(
                TensorData::new(floats(9, seed + 1), [3, 3]),
                device,
            )),
        }
    }

    fn output_and_loss(&self, batch: &Batch) -> (Tensor<2>, Tensor<1>) {
        let output = self.linear.forward(batch.x.clone());
        let mse = (output.clone() - batch.y.clone()).powi_scalar(2).mean();
        (output, mse + self.spare.val().sum().mul_scalar(0.0))
    }
}

impl TrainStep for Regressor {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> TrainOutput<RegressionOutput> {
        let (output, loss) = self.output_and_loss(&batch);
        let out = RegressionOutput::new(loss.clone(), output, batch.y);
        TrainOutput::new(self, loss.backward(), out)
    }
}

impl InferenceStep for Regressor {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> RegressionOutput {
        let (output, loss) = self.output_and_loss(&batch);
        RegressionOutput::new(loss, output, batch.y)
    }
}

/// Mean squared error over the whole data set, on the model's own device.
fn dataset_mse(model: &Regressor) -> f32 {
    let device = model.devices()[0].clone();
    let batch = SampleBatcher.batch(samples(), &device);
    model.output_and_loss(&batch).1.into_scalar::<f32>()
}

// ---------------------------------------------------------------------------------------------
// A renderer that prints nothing and keeps the losses the Learner reports

/// The loss of every training batch, and the epoch means of training and validation, as the
/// Learner's metrics computed them.
#[derive(Clone, Default)]
struct LossLog {
    train_batches: Arc<Mutex<Vec<f64>>>,
    train_epochs: Arc<Mutex<Vec<f64>>>,
    valid_epochs: Arc<Mutex<Vec<f64>>>,
}

impl LossLog {
    fn get(values: &Arc<Mutex<Vec<f64>>>) -> Vec<f64> {
        values.lock().unwrap().clone()
    }
}

struct QuietRenderer(LossLog);

impl MetricsRendererTraining for QuietRenderer {
    fn update_train(&mut self, state: MetricState) {
        match state {
            MetricState::Numeric(_, Some(NumericEntry::Final(loss))) => {
                self.0.train_epochs.lock().unwrap().push(loss)
            }
            MetricState::Numeric(
                _,
                Some(NumericEntry::Aggregated {
                    aggregated_value, ..
                }),
            ) => self.0.train_batches.lock().unwrap().push(aggregated_value),
            _ => {}
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let MetricState::Numeric(_, Some(NumericEntry::Final(loss))) = state {
            self.0.valid_epochs.lock().unwrap().push(loss)
        }
    }
}

impl MetricsRendererEvaluation for QuietRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for QuietRenderer {
    fn start(
        &mut self,
        _epochs: usize,
        _start: usize,
        _items: Option<usize>,
        _label: Option<&str>,
    ) {
    }
    fn update_epoch(&mut self, _epoch: usize) {}
    fn start_split(&mut self, _split: &str, _total_items: usize) {}
    fn update_split(&mut self, _items_processed: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for QuietRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for QuietRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

// ---------------------------------------------------------------------------------------------
// Runs

fn adamw(lambda: f64) -> ModuleOptimizer {
    AdamDecayConfig::new()
        .with_decay(DecayConfig::decoupled(lambda))
        .init()
}

/// Fits with the Learner for `epochs`: no TUI (burn-train is built without its `tui` feature)
/// and a renderer that prints nothing, no summary, no application logger; metric logs and
/// checkpoints (every epoch kept) written under `dir`.
fn fit(
    model: Regressor,
    optim: ModuleOptimizer,
    dir: &std::path::Path,
    epochs: usize,
    resume_from: Option<usize>,
    log: &LossLog,
) -> LearningResult<Regressor> {
    fit_with(model, optim, dir, epochs, resume_from, log, None)
}

/// [`fit`] with a training strategy (several devices) instead of the model's one device.
fn fit_with(
    model: Regressor,
    optim: ModuleOptimizer,
    dir: &std::path::Path,
    epochs: usize,
    resume_from: Option<usize>,
    log: &LossLog,
    strategy: Option<ExecutionStrategy>,
) -> LearningResult<Regressor> {
    let (train, valid) = loaders();
    let mut training = SupervisedTraining::new(dir, train, valid)
        .num_epochs(epochs)
        .renderer(Box::new(QuietRenderer(log.clone())))
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_default_checkpointers()
        .with_checkpointing_strategy(KeepLastNCheckpoints::new(EPOCHS))
        .with_application_logger(None);
    if let Some(epoch) = resume_from {
        training = training.checkpoint(epoch);
    }
    if let Some(strategy) = strategy {
        training = training.with_training_strategy(strategy.into());
    }
    let result = training.launch(Learner::new(model, optim, LR));
    if let Some(err) = &result.error {
        panic!("training failed: {err}");
    }
    assert!(result.interrupted.is_none(), "interrupted");
    result
}

#[test]
fn adamw_fits_with_the_learner_and_decays_the_weights() {
    let device = Device::default().autodiff();
    let initial = Regressor::new(3, &device);
    let loss_before = dataset_mse(&initial);
    let spare_before = values(initial.spare.val());

    let dir = tempfile::tempdir().unwrap();
    let log = LossLog::default();
    let decayed = fit(
        initial.clone(),
        adamw(LAMBDA),
        &dir.path().join("decayed"),
        EPOCHS,
        None,
        &log,
    )
    .model;
    let plain_log = LossLog::default();
    let plain = fit(
        initial,
        adamw(0.0),
        &dir.path().join("plain"),
        EPOCHS,
        None,
        &plain_log,
    )
    .model;

    // It learns. The Learner's own loss metric: one value per optimizer step, one mean per epoch,
    // and the epoch means fall; the first batch's loss is the loss of the initial model.
    let batches = LossLog::get(&log.train_batches);
    let epochs = LossLog::get(&log.train_epochs);
    let valid = LossLog::get(&log.valid_epochs);
    println!("train loss per epoch {epochs:?}, valid {valid:?}");
    assert_eq!(batches.len(), STEPS, "batch losses {batches:?}");
    assert_eq!(epochs.len(), EPOCHS, "epoch losses {epochs:?}");
    assert_eq!(valid.len(), EPOCHS, "valid losses {valid:?}");
    assert!(epochs.windows(2).all(|w| w[1] < w[0]), "{epochs:?}");
    assert!(valid.windows(2).all(|w| w[1] < w[0]), "{valid:?}");
    // Our own measure on the whole data set, before and after.
    let loss_decayed = dataset_mse(&decayed);
    let loss_plain = dataset_mse(&plain);
    println!(
        "MSE {loss_before:.4} -> {loss_decayed:.4} (λ = {LAMBDA}), {loss_plain:.4} (λ = 0) in {STEPS} steps"
    );
    assert!(
        loss_decayed < 0.6 * loss_before,
        "loss {loss_before} -> {loss_decayed}"
    );
    assert!(
        loss_plain < 0.6 * loss_before,
        "loss {loss_before} -> {loss_plain}"
    );
    // The last validation loss is the final model's loss on the (same) data.
    let last_valid = *valid.last().unwrap();
    assert!(
        (last_valid - loss_decayed as f64).abs() < 1e-4 * last_valid,
        "valid {last_valid} vs {loss_decayed}"
    );

    // The zero-gradient matrix shrank by exactly (1 − lr·λ) per optimizer step, in f32 as the
    // rule computes it, and not at all without decay.
    let factor = (LR * LAMBDA) as f32;
    let expected: Vec<f32> = spare_before
        .iter()
        .map(|&w0| (0..STEPS).fold(w0, |w, _| w - w * factor))
        .collect();
    assert_eq!(
        values(decayed.spare.val()),
        expected,
        "{STEPS} steps of decay"
    );
    assert_eq!(values(plain.spare.val()), spare_before, "λ = 0 moved it");
    let closed_form = (1.0 - LR * LAMBDA).powi(STEPS as i32);
    for (w, w0) in values(decayed.spare.val()).iter().zip(&spare_before) {
        assert!((*w as f64 - *w0 as f64 * closed_form).abs() < 1e-5);
    }

    // The fitted weight is smaller with decay than without (same data, order and start).
    let norm = |m: &Regressor| {
        values(m.linear.weight.val())
            .iter()
            .map(|w| (*w as f64).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    println!(
        "‖W‖ = {:.4} (λ = {LAMBDA}) vs {:.4} (λ = 0); whole-model norm {:.4} vs {:.4}",
        norm(&decayed),
        norm(&plain),
        weight_norm(&decayed),
        weight_norm(&plain)
    );
    assert!(norm(&decayed) < 0.95 * norm(&plain));
    assert!(weight_norm(&decayed) < weight_norm(&plain));
}

/// The Learner's checkpoints hold the wrapper's optimizer record (Adam's moments and step count,
/// through the wrapper): training resumed from epoch 2 with a fresh model and a fresh optimizer
/// ends exactly where the uninterrupted run ended.
#[test]
fn resuming_from_a_learner_checkpoint_is_exact() {
    let device = Device::default().autodiff();
    let log = LossLog::default();
    let dir = tempfile::tempdir().unwrap();
    let full = fit(
        Regressor::new(3, &device),
        adamw(LAMBDA),
        dir.path(),
        EPOCHS,
        None,
        &log,
    )
    .model;

    let checkpoints = dir.path().join("checkpoint");
    let files = std::fs::read_dir(&checkpoints)
        .unwrap_or_else(|e| panic!("{}: {e}", checkpoints.display()))
        .count();
    assert!(files >= 3 * EPOCHS, "{files} checkpoint files");

    // Another initialisation and a new optimizer: everything must come from the checkpoint.
    let resumed = fit(
        Regressor::new(40, &device),
        adamw(LAMBDA),
        dir.path(),
        EPOCHS,
        Some(2),
        &log,
    )
    .model;
    let params = |m: &Regressor| {
        [
            values(m.linear.weight.val()),
            values(m.linear.bias.as_ref().unwrap().val()),
            values(m.spare.val()),
        ]
    };
    assert_eq!(params(&resumed), params(&full));

    // Without the optimizer's state the last epoch goes elsewhere: the epoch-2 model trained one
    // more epoch with a fresh Adam does not land on the same weights.
    let dir2 = tempfile::tempdir().unwrap();
    let two_epochs = fit(
        Regressor::new(3, &device),
        adamw(LAMBDA),
        dir2.path(),
        2,
        None,
        &log,
    )
    .model;
    let restarted = fit(
        two_epochs.train(),
        adamw(LAMBDA),
        &dir2.path().join("restart"),
        1,
        None,
        &log,
    )
    .model;
    assert_ne!(params(&restarted)[0], params(&full)[0]);
}

/// burn-train's data-parallel strategy over two devices: each device takes its own batch (the
/// Learner gives device 0 the first half of the data set and device 1 the second), and
/// `ModuleOptimizer::step_multi` sums the two gradients before the wrapper's step. That is one
/// device's step on the combined batch with loss `mean₀ + mean₁` (= 2·MSE of the 32 rows): the
/// reference below takes exactly that step by hand. The regressor has no batch norm, so nothing
/// but the gradients couples the devices.
///
/// Burn 0.22.1's DDP strategy (`ExecutionStrategy::ddp`) needs a backend with collective
/// operations (`all_reduce`), which only CubeCL's CUDA and ROCm backends implement; flex and
/// ndarray leave it `unimplemented!()`. The multi-device strategy is the data-parallel one that
/// runs on these CPU devices, and it reaches the optimizer through the same `step_multi`.
#[test]
fn multi_device_strategy_equals_one_device_on_the_combined_batch() {
    let flex = Device::flex();
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    let second = Device::ndarray();
    #[cfg(not(feature = "ndarray"))]
    let second = Device::flex();
    let devices = vec![flex.clone().autodiff(), second.autodiff()];
    let device = flex.autodiff();

    let dir = tempfile::tempdir().unwrap();
    let log = LossLog::default();
    let multi = fit_with(
        Regressor::new(3, &device),
        adamw(LAMBDA),
        dir.path(),
        1,
        None,
        &log,
        Some(ExecutionStrategy::multi(
            devices,
            MultiDeviceOptim::OptimMainDevice,
        )),
    )
    .model;
    let half = SAMPLES / 2;
    let steps = half / BATCH;
    assert_eq!(
        LossLog::get(&log.train_batches).len(),
        2 * steps,
        "one loss per batch"
    );

    // By hand: step s combines rows [16s, 16s + 16) and [32 + 16s, 32 + 16s + 16).
    let data = samples();
    let mut model = Regressor::new(3, &device);
    let mut optim = adamw(LAMBDA);
    for s in 0..steps {
        let rows: Vec<Sample> = data[s * BATCH..(s + 1) * BATCH]
            .iter()
            .chain(&data[half + s * BATCH..half + (s + 1) * BATCH])
            .cloned()
            .collect();
        let batch = SampleBatcher.batch(rows, &device);
        let loss = model.output_and_loss(&batch).1.mul_scalar(2.0);
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(LR, model, grads);
    }
    let params = |m: &Regressor| {
        let mut v = values(m.linear.weight.val());
        v.extend(values(m.linear.bias.as_ref().unwrap().val()));
        v.extend(values(m.spare.val()));
        v
    };
    let diff = common::rel_diff(&params(&multi), &params(&model));
    println!("two devices vs one device on the combined batch: relative difference {diff:.1e}");
    assert!(diff <= 1e-5, "relative difference {diff:e}");
    // The check can fail: the model after the same steps on the first device's batches only is
    // elsewhere.
    let mut first_only = Regressor::new(3, &device);
    let mut first_optim = adamw(LAMBDA);
    for s in 0..steps {
        let batch = SampleBatcher.batch(data[s * BATCH..(s + 1) * BATCH].to_vec(), &device);
        let loss = first_only.output_and_loss(&batch).1;
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &first_only);
        first_only = first_optim.step(LR, first_only, grads);
    }
    assert!(common::rel_diff(&params(&first_only), &params(&model)) > 1e-3);
}

// ---------------------------------------------------------------------------------------------
// README's Learner snippet

/// README's `Learner` snippet, verbatim between the ANCHOR lines.
fn readme_snippet(
    model: Regressor,
    artifact_dir: &std::path::Path,
    train_loader: Arc<dyn DataLoader<Batch>>,
    valid_loader: Arc<dyn DataLoader<Batch>>,
) -> Regressor {
    // ANCHOR: learner
    let result = SupervisedTraining::new(artifact_dir, train_loader, valid_loader)
        .num_epochs(10)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .with_default_checkpointers()
        .launch(Learner::new(
            model,
            AdamDecayConfig::adamw(0.05).init(),
            1e-2,
        ));
    let model = result.model;
    // ANCHOR_END: learner
    model
}

/// The snippet runs (10 epochs of AdamW at lr 1e-2 with Burn's default renderer and
/// checkpointers) and fits, and both READMEs quote it line for line.
#[test]
fn readme_learner_snippet_runs_and_is_quoted() {
    let source = include_str!("learner.rs");
    let start = source.find("    // ANCHOR: learner\n").unwrap();
    let end = source.find("    // ANCHOR_END: learner").unwrap();
    let lines: Vec<&str> = source[start..end].lines().skip(1).map(str::trim).collect();
    for (name, readme) in [
        ("README.md", include_str!("../../../README.md")),
        (
            "crates/burn-weight-decay/README.md",
            include_str!("../README.md"),
        ),
    ] {
        let quoted: Vec<&str> = readme.lines().map(str::trim).collect();
        let at = quoted
            .windows(lines.len())
            .position(|w| w == lines.as_slice());
        assert!(
            at.is_some(),
            "{name} does not quote the Learner snippet {lines:#?}"
        );
    }

    let device = Device::default().autodiff();
    let initial = Regressor::new(5, &device);
    let before = dataset_mse(&initial);
    let dir = tempfile::tempdir().unwrap();
    let (train, valid) = loaders();
    let trained = readme_snippet(initial, dir.path(), train, valid);
    let after = dataset_mse(&trained);
    assert!(after < 0.8 * before, "MSE {before} → {after}");
}

// ---------------------------------------------------------------------------------------------
// The decay diagnostics as burn-train metrics (feature `learner`)

#[cfg(feature = "learner")]
mod metrics {
    use super::*;
    use burn::data::dataloader::Progress;
    use burn::optim::GradientsParams;
    use burn_train::metric::{Metric, MetricMetadata};
    use burn_weight_decay::learner::{DecayedWeightNormMetric, EquilibriumProgressMetric};
    use burn_weight_decay::{DecayMonitor, DecayScale, Selection, weight_norm_of};

    fn metadata(lr: f64) -> MetricMetadata {
        MetricMetadata {
            progress: Progress {
                items_processed: 1,
                items_total: 1,
                unit: None,
            },
            iteration: Some(0),
            lr: Some(lr.into()),
        }
    }

    fn monitored_adamw(lambda: f64, monitor: &DecayMonitor) -> ModuleOptimizer {
        AdamDecayConfig::new()
            .with_decay(DecayConfig::decoupled(lambda))
            .build()
            .with_monitor(monitor.clone())
            .into()
    }

    /// Driven by hand: the first update arms the monitor; after three optimizer steps the next
    /// update reports the middle step's decayed norm, `√(‖W‖² + ‖spare‖²)` after step 2 (the
    /// first and last steps of an armed period may be partial when burn-train's thread reads
    /// mid-step), and disarms; it arms again `every` updates later.
    #[test]
    fn weight_norm_metric_reports_one_whole_step() {
        let device = Device::default().autodiff();
        let mut model = Regressor::new(3, &device);
        let monitor = DecayMonitor::default();
        let mut optim = monitored_adamw(LAMBDA, &monitor);
        let mut metric = DecayedWeightNormMetric::new(monitor.clone(), 4);
        metric.update(&(), &metadata(LR)).unwrap();
        assert!(monitor.is_armed());
        assert!(metric.last().is_nan());

        let batch = SampleBatcher.batch(samples(), &device);
        let mut norms = Vec::new();
        for _ in 0..3 {
            let grads =
                GradientsParams::from_grads(model.output_and_loss(&batch).1.backward(), &model);
            model = optim.step(LR, model, grads);
            norms.push(weight_norm_of(&model, &Selection::RankAtLeast2));
        }
        metric.update(&(), &metadata(LR)).unwrap();
        let reported = metric.last();
        assert!(
            (reported - norms[1]).abs() <= 1e-5 * norms[1],
            "reported {reported}, norms after steps 1–3 {norms:?}"
        );
        assert!(
            (norms[0] - norms[1]).abs() > 1e-3,
            "the norm moves between steps"
        );
        assert!(!monitor.is_armed());
        for k in 1..=4 {
            metric.update(&(), &metadata(LR)).unwrap();
            assert_eq!(
                monitor.is_armed(),
                k == 4,
                "update {k} after the measurement"
            );
        }
    }

    /// `Σ s_t·λ_t` from the learning rate burn-train passes: 12 steps at lr 0.05 with λ = 0.5
    /// are 0.3; with the schedule scale `s_t = lr_t/0.1` they are 3.0. An epoch's `clear()`
    /// keeps the sum.
    #[test]
    fn progress_metric_sums_s_lambda() {
        let mut plain = EquilibriumProgressMetric::new(&DecayConfig::decoupled(0.5));
        let mut scheduled = EquilibriumProgressMetric::new(
            &DecayConfig::decoupled(0.5).with_scale(DecayScale::Schedule { lr_max: 0.1 }),
        );
        for step in 0..12 {
            if step == 4 {
                plain.clear();
            }
            plain.update(&(), &metadata(0.05)).unwrap();
            scheduled.update(&(), &metadata(0.05)).unwrap();
        }
        assert!(
            (plain.progress() - 0.3).abs() < 1e-12,
            "{}",
            plain.progress()
        );
        assert!(
            (scheduled.progress() - 3.0).abs() < 1e-12,
            "{}",
            scheduled.progress()
        );
    }

    /// The values of one metric's log files under `dir`, epoch by epoch (burn-train writes
    /// `train/epoch-N/NAME.log`, one `value,count` line per training batch and a
    /// `mean,final` line at the epoch's end, left out here).
    fn logged(dir: &std::path::Path, file: &str) -> Vec<Vec<f64>> {
        (1..=EPOCHS)
            .map(|epoch| {
                let path = walk(dir)
                    .into_iter()
                    .find(|p| p.ends_with(format!("train/epoch-{epoch}/{file}")))
                    .unwrap_or_else(|| panic!("no {file} for epoch {epoch} under {dir:?}"));
                std::fs::read_to_string(path)
                    .unwrap()
                    .lines()
                    .filter(|line| !line.ends_with(",final"))
                    .map(|line| line.split(',').next().unwrap().parse::<f64>().unwrap())
                    .collect()
            })
            .collect()
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    /// A real `Learner` run with both metrics registered: burn-train's logs hold the progress,
    /// exactly `k·lr·λ` after batch `k` (0.3 after the 12th), and a finite decayed weight norm
    /// once measured, whose last value is within 10 % of the trained model's (it is from one of
    /// the last few steps).
    #[test]
    fn learner_logs_the_decay_metrics() {
        let device = Device::default().autodiff();
        let initial = Regressor::new(3, &device);
        let monitor = DecayMonitor::default();
        let dir = tempfile::tempdir().unwrap();
        let (train, valid) = loaders();
        let log = LossLog::default();
        let result = SupervisedTraining::new(dir.path(), train, valid)
            .num_epochs(EPOCHS)
            .renderer(Box::new(QuietRenderer(log.clone())))
            .metric_train_numeric(LossMetric::new())
            .metric_train_numeric(DecayedWeightNormMetric::new(monitor.clone(), 2))
            .metric_train_numeric(EquilibriumProgressMetric::new(&DecayConfig::decoupled(
                LAMBDA,
            )))
            .with_application_logger(None)
            .launch(Learner::new(initial, monitored_adamw(LAMBDA, &monitor), LR));
        if let Some(err) = &result.error {
            panic!("training failed: {err}");
        }
        let trained = result.model;

        let progress = logged(dir.path(), "Equilibrium_Progress.log");
        let flat: Vec<f64> = progress.concat();
        assert_eq!(flat.len(), STEPS);
        for (k, p) in flat.iter().enumerate() {
            let expected = (k + 1) as f64 * LR * LAMBDA;
            assert!(
                (p - expected).abs() < 1e-9,
                "batch {}: {p} vs {expected}",
                k + 1
            );
        }

        let norms: Vec<f64> = logged(dir.path(), "Decayed_Weight_Norm.log").concat();
        assert_eq!(norms.len(), STEPS);
        let first = norms
            .iter()
            .position(|v| v.is_finite())
            .expect("a measurement");
        assert!(
            norms[first..].iter().all(|v| v.is_finite() && *v > 0.0),
            "{norms:?}"
        );
        let last = *norms.last().unwrap();
        let actual = weight_norm_of(&trained, &Selection::RankAtLeast2);
        assert!(
            (last - actual).abs() <= 0.1 * actual,
            "last logged {last}, trained model {actual}; log {norms:?}"
        );
    }
}
