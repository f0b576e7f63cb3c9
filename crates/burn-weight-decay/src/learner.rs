//! Decay diagnostics as burn-train metrics (feature `learner`): the decayed weights' norm and the
//! equilibrium progress `Σ_t s_t·λ_t`, in the `Learner`'s dashboard, logs and summary.
//!
//! # Why through the optimizer, not the model
//!
//! A burn-train 0.22.1 [`Metric`] never sees the model. Its `update(&mut self, item:
//! &Self::Input, metadata: &MetricMetadata)` (burn-train 0.22.1, `src/metric/base.rs`, lines
//! 114–118) gets the step's output, adapted from `TrainOutput`'s item, and a `MetricMetadata`
//! holding only `progress`, `iteration` and `lr` (same file, lines 8–17). So no metric can read
//! the weights. The optimizer can: [`WeightDecay`](crate::WeightDecay) sees every parameter at
//! every step, and an armed [`DecayMonitor`] measures each decayed tensor's norm after the step.
//! [`DecayedWeightNormMetric`] holds a clone of that monitor, arms it every `every` iterations
//! and reports `√(Σ ‖w‖²)` over the decayed tensors of the last measured step: the closest thing
//! to a weight-norm metric that 0.22.1's API allows. [`EquilibriumProgressMetric`] needs no
//! weights: it sums `s_t·λ_t` from the learning rate that `MetricMetadata` carries.
//!
//! ```
//! use burn_weight_decay::learner::{DecayedWeightNormMetric, EquilibriumProgressMetric};
//! use burn_weight_decay::{AdamDecayConfig, DecayConfig, DecayMonitor};
//!
//! let decay = DecayConfig::decoupled(0.05);
//! let monitor = DecayMonitor::default();
//! let optim = AdamDecayConfig::new()
//!     .with_decay(decay.clone())
//!     .build()
//!     .with_monitor(monitor.clone());
//! let norm = DecayedWeightNormMetric::new(monitor, 10); // measures every 10th step
//! let progress = EquilibriumProgressMetric::new(&decay);
//! // SupervisedTraining::new(dir, train, valid)
//! //     .metric_train_numeric(norm)
//! //     .metric_train_numeric(progress)
//! //     .launch(Learner::new(model, optim.into(), lr));
//! # let _ = (optim, norm, progress);
//! ```

use std::sync::Arc;

use burn::tensor::TensorReadError;
use burn_train::metric::state::{FormatOptions, NumericMetricState};
use burn_train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

use crate::{DecayConfig, DecayMonitor};

/// `√(Σ ‖w‖²)` over the tensors the wrapper decayed in its last measured step, as a numeric
/// burn-train metric (`metric_train_numeric`).
///
/// It arms its [`DecayMonitor`] (a clone of the one given to the optimizer with
/// [`WeightDecay::with_monitor`](crate::WeightDecay::with_monitor)) at its first update and
/// `every` updates after each measurement; the monitor then measures the optimizer steps until
/// one whole step has been seen (three steps at most: metrics run on burn-train's own thread, so
/// arming can fall mid-step), and the metric reports that step's norm and disarms. Between
/// measurements it reports the last value, and `NaN` before the first. An armed step takes
/// Burn's tensor ops instead of the fused kernel and reads three sums per decayed tensor back,
/// so keep `every` at tens of steps on large models. Parameters that are not decayed (biases and norm parameters by
/// default) are not in this norm; [`weight_norm`](crate::weight_norm) measures any selection
/// from a model at hand.
#[derive(Clone)]
pub struct DecayedWeightNormMetric {
    monitor: DecayMonitor,
    every: usize,
    /// Updates since the last measurement (or since the start).
    since: usize,
    last: f64,
    state: NumericMetricState,
    name: MetricName,
}

impl DecayedWeightNormMetric {
    /// Reports through `monitor`, measuring one optimizer step in every `every` (at least 1).
    pub fn new(monitor: DecayMonitor, every: usize) -> Self {
        Self {
            monitor,
            every: every.max(1),
            since: usize::MAX,
            last: f64::NAN,
            state: NumericMetricState::new(),
            name: Arc::new("Decayed Weight Norm".to_string()),
        }
    }

    /// The norm of the last measured step (`NaN` before the first).
    pub fn last(&self) -> f64 {
        self.last
    }
}

impl DecayedWeightNormMetric {
    /// `√(Σ ‖w‖²)` over one complete optimizer step of the samples measured so far, once there
    /// is one: burn-train updates metrics on its own thread while training goes on, so the armed
    /// period may begin or end in the middle of a step. The samples are grouped by the
    /// parameters' step count; with three counts seen, the middle one was measured from its
    /// first decayed tensor to its last.
    fn complete_step_norm(&self) -> Option<f64> {
        let samples = self.monitor.peek_equilibrium();
        let mut steps: Vec<u64> = samples.iter().map(|s| s.step).collect();
        steps.sort_unstable();
        steps.dedup();
        let middle = *steps.get(1)?;
        steps.get(2)?;
        Some(
            samples
                .iter()
                .filter(|s| s.step == middle)
                .map(|s| s.norm * s.norm)
                .sum::<f64>()
                .sqrt(),
        )
    }
}

impl Metric for DecayedWeightNormMetric {
    type Input = ();

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn description(&self) -> Option<String> {
        Some("√(Σ‖w‖²) over the decayed weights after the last measured step".to_string())
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: false,
        }
        .into()
    }

    fn update(
        &mut self,
        _item: &(),
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        if self.monitor.is_armed() {
            if let Some(norm) = self.complete_step_norm() {
                self.last = norm;
                self.monitor.take_removed_norm(); // disarms
                let _ = self.monitor.take_equilibrium();
                self.since = 0;
            }
        } else {
            self.since = self.since.saturating_add(1);
            if self.since >= self.every {
                self.monitor.arm();
            }
        }
        self.state.update(self.last, 1);
        Ok(self
            .state
            .compute_update(FormatOptions::new(self.name()).precision(3)))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self
            .state
            .compute_final(FormatOptions::new(self.name()).precision(3)))
    }

    /// Clears the epoch's aggregate only: the last value and the measuring cadence go on.
    fn clear(&mut self) {
        self.state.reset();
    }
}

impl Numeric for DecayedWeightNormMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}

/// Equilibrium progress `Σ_t s_t·λ_t` over the training steps so far, as a numeric burn-train
/// metric: the steps run ÷ the `1/(η·λ)` steps rotational equilibrium needs (Kosson et al.
/// 2024; [`equilibrium`](crate::equilibrium)), which is also the number of EMA timescales
/// ([`convert::timescale_iterations`](crate::convert::timescale_iterations)) the run has covered.
/// Below 1 decay has not yet set the weights' norm.
///
/// Each update adds `s_t·λ_t` for the learning rate in `MetricMetadata` (the base learning rate
/// of the `Learner`'s scheduler) and the config's scale and λ schedule at this metric's own step
/// count; it assumes one optimizer step per update (no gradient accumulation). The sum counts
/// the steps of this process: a resumed run starts it at 0 again.
#[derive(Clone)]
pub struct EquilibriumProgressMetric {
    config: DecayConfig,
    steps: u64,
    progress: f64,
    state: NumericMetricState,
    name: MetricName,
}

impl EquilibriumProgressMetric {
    /// For the optimizer's decay `config` (its scale `s_t` and λ schedule).
    pub fn new(config: &DecayConfig) -> Self {
        Self {
            config: config.clone(),
            steps: 0,
            progress: 0.0,
            state: NumericMetricState::new(),
            name: Arc::new("Equilibrium Progress".to_string()),
        }
    }

    /// `Σ_t s_t·λ_t` so far.
    pub fn progress(&self) -> f64 {
        self.progress
    }
}

impl Metric for EquilibriumProgressMetric {
    type Input = ();

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn description(&self) -> Option<String> {
        Some("Σ s_t·λ_t: steps run ÷ the 1/(η·λ) steps equilibrium needs".to_string())
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: true,
        }
        .into()
    }

    fn update(
        &mut self,
        _item: &(),
        metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let lr = metadata.lr.as_ref().map(|lr| lr.base()).unwrap_or(0.0);
        self.progress += self.config.scale.at(lr) * self.config.rate_at(self.steps);
        self.steps += 1;
        self.state.update(self.progress, 1);
        Ok(self
            .state
            .compute_update(FormatOptions::new(self.name()).precision(4)))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self
            .state
            .compute_final(FormatOptions::new(self.name()).precision(4)))
    }

    /// Clears the epoch's aggregate only: the sum goes on across epochs.
    fn clear(&mut self) {
        self.state.reset();
    }
}

impl Numeric for EquilibriumProgressMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}
