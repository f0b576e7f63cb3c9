//! `summary.json`: the run's settings and one object per arm, for programs to read.
//!
//! ```json
//! {
//!   "run": { "name": …, "synthetic": false, "classes": […], … },
//!   "synthetic": false,
//!   "arms": [
//!     { "arm": "coupled-wd10", "wd": 10.0, "mode": "coupled", "status": "diverged",
//!       "diverged_at": { "epoch": 3, "step": 417 },
//!       "best_valid_accuracy": 0.41, "best_epoch": 2, …,
//!       "final_train_loss": null, …, "decay_shrink": 0.0,
//!       "best_checkpoint": "checkpoints/coupled-wd10/best", "final_checkpoint": null, … }
//!   ]
//! }
//! ```
//!
//! JSON has no NaN or infinity: such values (a diverged loss, a metric with no samples) are
//! written as `null`. A failed arm carries `"failure": "reason"`. Checkpoint paths are relative
//! to the run folder; `null` means none was written. The field list is [`ArmSummary`]'s and
//! [`RunInfo`]'s.
//!
//! With several seeds per arm (`--seeds N > 1`) each entry of `"arms"` is one run, with its
//! `"seed"`, `"run"` has `"seeds"` and `"planned_runs"` (arms × seeds), and two lists follow
//! (see [`seeds`](super::seeds)); with one seed they are absent and the file is what it always
//! was:
//!
//! ```json
//! "arm_statistics": [
//!   { "arm": "decoupled-wd0.1", "wd": 0.1, "mode": "decoupled", "seeds": [42, 43, 44],
//!     "runs": ["decoupled-wd0.1-seed42", …], "finished_runs": 3,
//!     "final_train_loss": { "n": 3, "mean": 0.42, "sd": 0.02, "ci95_low": 0.37, "ci95_high": 0.47 },
//!     "best_valid_accuracy": {…}, "final_valid_accuracy": {…}, "final_weight_norm": {…} }
//! ],
//! "paired_comparisons": [
//!   { "metric": "best_valid_accuracy", "a": "decoupled-wd0.01", "b": "decoupled-wd0.1",
//!     "seeds": [42, 43, 44], "mean_difference": 0.004, "sd_difference": 0.01,
//!     "ci95_low": -0.02, "ci95_high": 0.029, "verdict": "tie" }
//! ]
//! ```
//!
//! Statistics are over each arm's finished runs: `sd` and the interval are `null` below two
//! values, and every number is `null` with none. A comparison is `a − b` over the seeds both
//! arms finished; `"verdict"` is `"different"` when the 95 % interval excludes 0, `"tie"` when
//! it includes it, `"undecided"` below two pairs. The comparisons are every two arms of a mode
//! on best valid accuracy, then decoupled − coupled at each wd run in both modes on each of the
//! four metrics.

use std::path::Path;

use burn_weight_decay::DecayMode;
use serde::Serialize;

use super::seeds::{
    ArmRuns, Comparison, Metric, ReportPlan, arms_of, compare, mode_pairs, within_mode,
};
use super::stats::{Estimate, Verdict};
use super::{ReportError, Result};
use crate::records::{ArmSummary, RunInfo};
use crate::run::atomic::write_atomic;

#[derive(Serialize)]
struct SummaryFile<'a> {
    run: &'a RunInfo,
    synthetic: bool,
    arms: &'a [ArmSummary],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    arm_statistics: Vec<ArmStatistics>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    paired_comparisons: Vec<PairedComparison>,
}

/// An estimate in `summary.json`: `null` where it has no value.
#[derive(Serialize)]
struct EstimateJson {
    n: usize,
    mean: Option<f64>,
    sd: Option<f64>,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
}

impl From<Option<Estimate>> for EstimateJson {
    fn from(e: Option<Estimate>) -> Self {
        let interval = e.and_then(|e| e.interval());
        Self {
            n: e.map_or(0, |e| e.n),
            mean: e.map(|e| e.mean),
            sd: e.and_then(|e| e.sd),
            ci95_low: interval.map(|i| i.0),
            ci95_high: interval.map(|i| i.1),
        }
    }
}

#[derive(Serialize)]
struct ArmStatistics {
    arm: String,
    #[serde(with = "crate::records::nullable_f64")]
    wd: f64,
    #[serde(with = "crate::records::mode_name")]
    mode: DecayMode,
    seeds: Vec<u64>,
    runs: Vec<String>,
    finished_runs: usize,
    final_train_loss: EstimateJson,
    best_valid_accuracy: EstimateJson,
    final_valid_accuracy: EstimateJson,
    final_weight_norm: EstimateJson,
}

impl From<&ArmRuns<'_>> for ArmStatistics {
    fn from(arm: &ArmRuns<'_>) -> Self {
        let estimate = |metric| EstimateJson::from(arm.estimate(metric));
        Self {
            arm: arm.name.clone(),
            wd: arm.wd,
            mode: arm.mode,
            seeds: arm.seeds(),
            runs: arm.runs.iter().map(|r| r.arm.clone()).collect(),
            finished_runs: arm.finished().len(),
            final_train_loss: estimate(Metric::FinalTrainLoss),
            best_valid_accuracy: estimate(Metric::BestValidAccuracy),
            final_valid_accuracy: estimate(Metric::FinalValidAccuracy),
            final_weight_norm: estimate(Metric::FinalWeightNorm),
        }
    }
}

#[derive(Serialize)]
struct PairedComparison {
    metric: &'static str,
    a: String,
    b: String,
    seeds: Vec<u64>,
    mean_difference: Option<f64>,
    sd_difference: Option<f64>,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    verdict: &'static str,
}

impl From<&Comparison<'_, '_>> for PairedComparison {
    fn from(c: &Comparison<'_, '_>) -> Self {
        let difference = EstimateJson::from(c.result.map(|r| r.difference));
        Self {
            metric: c.metric.key(),
            a: c.a.name.clone(),
            b: c.b.name.clone(),
            seeds: c.seeds.clone(),
            mean_difference: difference.mean,
            sd_difference: difference.sd,
            ci95_low: difference.ci95_low,
            ci95_high: difference.ci95_high,
            verdict: c.result.map_or(Verdict::Undecided, |r| r.verdict).name(),
        }
    }
}

/// The text of `summary.json` (pretty-printed, ending in a newline), with the report's
/// [`ReportPlan::of`] these runs.
pub fn summary_json(info: &RunInfo, arms: &[ArmSummary]) -> serde_json::Result<String> {
    planned_summary_json(ReportPlan::of(info, arms), info, arms)
}

/// [`summary_json`] under a plan decided by the caller: the statistics over seeds and the
/// paired comparisons are listed when it is seeded.
pub(crate) fn planned_summary_json(
    plan: ReportPlan,
    info: &RunInfo,
    arms: &[ArmSummary],
) -> serde_json::Result<String> {
    let (mut arm_statistics, mut paired_comparisons) = (Vec::new(), Vec::new());
    if plan.seeded {
        let grouped = arms_of(arms);
        arm_statistics = grouped.iter().map(ArmStatistics::from).collect();
        paired_comparisons = within_mode(&grouped)
            .iter()
            .map(PairedComparison::from)
            .collect();
        for (_, coupled, decoupled) in mode_pairs(&grouped) {
            for metric in Metric::ALL {
                paired_comparisons
                    .push(PairedComparison::from(&compare(decoupled, coupled, metric)));
            }
        }
    }
    let file = SummaryFile {
        run: info,
        synthetic: info.synthetic,
        arms,
        arm_statistics,
        paired_comparisons,
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    Ok(text)
}

/// Writes `summary.json` to `path`, atomically.
pub fn write_summary_json(path: &Path, info: &RunInfo, arms: &[ArmSummary]) -> Result<()> {
    write_planned_summary_json(path, ReportPlan::of(info, arms), info, arms)
}

/// [`write_summary_json`] under a plan decided by the caller.
pub(crate) fn write_planned_summary_json(
    path: &Path,
    plan: ReportPlan,
    info: &RunInfo,
    arms: &[ArmSummary],
) -> Result<()> {
    let text = planned_summary_json(plan, info, arms).map_err(|e| ReportError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes()).map_err(|source| ReportError::write(path, source))
}
