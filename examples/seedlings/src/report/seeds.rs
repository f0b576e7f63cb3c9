//! Arms over seeds: the runs of a sweep grouped into arms, each arm's statistics over its
//! seeds, and the paired comparisons between arms.
//!
//! With `--seeds N > 1` every arm (a `wd` × a `mode`) runs once per seed, and each run is one
//! [`ArmSummary`] whose key's seed ([`RunKey::seed`](crate::records::RunKey::seed)) is set. [`arms_of`] groups the runs into
//! [`ArmRuns`] by `(mode, wd)`, in order of first appearance. An arm's statistics over seeds
//! ([`ArmRuns::estimate`], see [`stats`](super::stats)) use its **finished** runs with a finite
//! value: a run still going, interrupted, diverged or failed has partial numbers. A paired
//! comparison ([`compare`]) takes the seeds for which both arms have such a run.
//!
//! The comparisons the report makes are [`within_mode`] (every two arms of a mode, on best
//! valid accuracy) and [`mode_pairs`] × [`Metric::ALL`] (coupled against decoupled at each wd
//! run in both modes); `summary.json` lists both.

use std::collections::BTreeMap;

use super::stats::{Estimate, Paired, paired};
use burn_weight_decay::DecayMode;

use crate::records::{ArmStatus, ArmSummary, EpochRecord, RunInfo, RunKey, arm_name};

/// Whether the runs come from a sweep with several seeds per arm (their `seed` is set).
pub fn is_seeded(runs: &[ArmSummary]) -> bool {
    runs.iter().any(|r| r.key.seed.is_some())
}

/// What a report decides once about its runs, before any of its parts is written: `report.md`,
/// `summary.json`, the findings and the charts all read this one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportPlan {
    /// Whether the sweep has several seeds per arm: its settings say so
    /// ([`RunInfo::seeds`](crate::records::RunInfo::seeds) is set), or its runs' summaries do
    /// ([`is_seeded`]). A seeded sweep is reported as one from its start, before any of its runs
    /// has a summary.
    pub seeded: bool,
}

impl ReportPlan {
    /// The plan of a report on `runs` (one per arm and seed) with the settings `info`.
    pub fn of(info: &RunInfo, runs: &[ArmSummary]) -> Self {
        Self {
            seeded: !info.seeds.is_empty() || is_seeded(runs),
        }
    }
}

/// A number of a run that is compared over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// The highest validation accuracy of any epoch.
    BestValidAccuracy,
    /// The validation accuracy of the last epoch.
    FinalValidAccuracy,
    /// The training loss of the last epoch.
    FinalTrainLoss,
    /// The weight norm after the last epoch.
    FinalWeightNorm,
}

impl Metric {
    /// Every metric, in the order the report lists them.
    pub const ALL: [Self; 4] = [
        Self::FinalTrainLoss,
        Self::BestValidAccuracy,
        Self::FinalValidAccuracy,
        Self::FinalWeightNorm,
    ];

    /// The name of the field in `summary.json` (an [`ArmSummary`] field).
    pub fn key(self) -> &'static str {
        match self {
            Self::BestValidAccuracy => "best_valid_accuracy",
            Self::FinalValidAccuracy => "final_valid_accuracy",
            Self::FinalTrainLoss => "final_train_loss",
            Self::FinalWeightNorm => "final_weight_norm",
        }
    }

    /// The metric in words, lower case.
    pub fn label(self) -> &'static str {
        match self {
            Self::BestValidAccuracy => "best valid accuracy",
            Self::FinalValidAccuracy => "final valid accuracy",
            Self::FinalTrainLoss => "final train loss",
            Self::FinalWeightNorm => "final weight norm",
        }
    }

    /// Whether the metric is an accuracy (a fraction, reported in percent).
    pub fn is_accuracy(self) -> bool {
        matches!(self, Self::BestValidAccuracy | Self::FinalValidAccuracy)
    }

    /// The metric's value for `run`.
    pub fn of(self, run: &ArmSummary) -> f64 {
        match self {
            Self::BestValidAccuracy => run.best_valid_accuracy,
            Self::FinalValidAccuracy => run.final_valid_accuracy,
            Self::FinalTrainLoss => run.final_train_loss,
            Self::FinalWeightNorm => run.final_weight_norm,
        }
    }
}

/// One arm (a `wd` × a `mode`) and its runs, one per seed, in the order they were given.
#[derive(Debug, Clone)]
pub struct ArmRuns<'a> {
    /// The arm's name ([`arm_name`]), e.g. `decoupled-wd0.1`.
    pub name: String,
    /// The weight decay.
    pub wd: f64,
    /// The decay mode.
    pub mode: DecayMode,
    /// The runs.
    pub runs: Vec<&'a ArmSummary>,
}

impl<'a> ArmRuns<'a> {
    /// The seeds of its runs, in order (a run without a seed is left out).
    pub fn seeds(&self) -> Vec<u64> {
        self.runs.iter().filter_map(|r| r.key.seed).collect()
    }

    /// The runs that finished.
    pub fn finished(&self) -> Vec<&'a ArmSummary> {
        self.runs
            .iter()
            .copied()
            .filter(|r| r.status == ArmStatus::Finished)
            .collect()
    }

    /// `(seed, value)` of `metric` for each finished run with a finite value.
    pub fn values(&self, metric: Metric) -> Vec<(Option<u64>, f64)> {
        self.finished()
            .into_iter()
            .map(|r| (r.key.seed, metric.of(r)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    }

    /// The mean, sample sd and 95 % interval of `metric` over the finished runs; `None` when
    /// none has a finite value.
    pub fn estimate(&self, metric: Metric) -> Option<Estimate> {
        let values: Vec<f64> = self.values(metric).into_iter().map(|(_, v)| v).collect();
        Estimate::of(&values)
    }

    /// The arm as one summary of the means over its finished runs (NaN where none has a finite
    /// value), named after the arm: what the per-arm sentences of a seeded report read. Its
    /// status is the first run's that did not finish, else finished; its `best_epoch` is 0
    /// (the runs' best epochs differ) and it names no checkpoint.
    pub fn mean_summary(&self) -> ArmSummary {
        let finished = self.finished();
        let mean = |f: fn(&ArmSummary) -> f64| {
            let values: Vec<f64> = finished
                .iter()
                .map(|r| f(r))
                .filter(|v| v.is_finite())
                .collect();
            Estimate::of(&values).map_or(f64::NAN, |e| e.mean)
        };
        ArmSummary {
            arm: self.name.clone(),
            key: RunKey {
                mode: self.mode,
                wd: self.wd,
                seed: None,
            },
            status: self
                .runs
                .iter()
                .map(|r| r.status.clone())
                .find(|s| *s != ArmStatus::Finished)
                .unwrap_or(ArmStatus::Finished),
            best_valid_accuracy: mean(|r| r.best_valid_accuracy),
            best_epoch: 0,
            best_valid_macro_f1: mean(|r| r.best_valid_macro_f1),
            final_train_loss: mean(|r| r.final_train_loss),
            final_valid_loss: mean(|r| r.final_valid_loss),
            final_valid_accuracy: mean(|r| r.final_valid_accuracy),
            train_valid_gap: mean(|r| r.train_valid_gap),
            decay_shrink: mean(|r| r.decay_shrink),
            equilibrium_progress: mean(|r| r.equilibrium_progress),
            final_weight_norm: mean(|r| r.final_weight_norm),
            best_checkpoint: None,
            final_checkpoint: None,
            seconds: self.runs.iter().map(|r| r.seconds).sum(),
        }
    }
}

/// The runs grouped into arms by `(mode, wd)`, arms in order of first appearance.
pub fn arms_of(runs: &[ArmSummary]) -> Vec<ArmRuns<'_>> {
    let mut arms: Vec<ArmRuns<'_>> = Vec::new();
    for run in runs {
        match arms
            .iter_mut()
            .find(|a| a.mode == run.key.mode && a.wd.to_bits() == run.key.wd.to_bits())
        {
            Some(arm) => arm.runs.push(run),
            None => arms.push(ArmRuns {
                name: run.key.arm().name(),
                wd: run.key.wd,
                mode: run.key.mode,
                runs: vec![run],
            }),
        }
    }
    arms
}

/// Two arms compared seed by seed on one metric: `a − b` over the seeds both finished with a
/// finite value.
#[derive(Debug, Clone)]
pub struct Comparison<'r, 'a> {
    /// What is compared.
    pub metric: Metric,
    /// The first arm.
    pub a: &'r ArmRuns<'a>,
    /// The second arm.
    pub b: &'r ArmRuns<'a>,
    /// The seeds paired, in `a`'s order.
    pub seeds: Vec<u64>,
    /// The differences' estimate and the verdict; `None` without any pair.
    pub result: Option<Paired>,
}

/// `a` against `b` on `metric`, paired by seed.
pub fn compare<'r, 'a>(
    a: &'r ArmRuns<'a>,
    b: &'r ArmRuns<'a>,
    metric: Metric,
) -> Comparison<'r, 'a> {
    let b_values = b.values(metric);
    let pairs: Vec<(u64, f64, f64)> = a
        .values(metric)
        .into_iter()
        .filter_map(|(seed, va)| {
            let seed = seed?;
            let (_, vb) = b_values.iter().find(|(s, _)| *s == Some(seed))?;
            Some((seed, va, *vb))
        })
        .collect();
    let values: Vec<(f64, f64)> = pairs.iter().map(|&(_, va, vb)| (va, vb)).collect();
    Comparison {
        metric,
        a,
        b,
        seeds: pairs.iter().map(|&(seed, _, _)| seed).collect(),
        result: paired(&values),
    }
}

/// Every two arms of the same mode, on best valid accuracy: `a` the earlier arm, `b` the later.
pub fn within_mode<'r, 'a>(arms: &'r [ArmRuns<'a>]) -> Vec<Comparison<'r, 'a>> {
    let mut out = Vec::new();
    for (i, a) in arms.iter().enumerate() {
        for b in arms[i + 1..].iter().filter(|b| b.mode == a.mode) {
            out.push(compare(a, b, Metric::BestValidAccuracy));
        }
    }
    out
}

/// The coupled and the decoupled arm of each wd run in both modes, by ascending wd:
/// `(wd, coupled, decoupled)`.
pub fn mode_pairs<'r, 'a>(arms: &'r [ArmRuns<'a>]) -> Vec<(f64, &'r ArmRuns<'a>, &'r ArmRuns<'a>)> {
    pair_by_wd(arms, |a| a.wd, |a| a.mode)
}

/// The first coupled and the first decoupled item of each wd present in both modes, by
/// ascending wd: `(wd, coupled, decoupled)`. Items with a negative wd are left out. What
/// [`mode_pairs`] does with arms of runs, for one seed per arm and several.
fn pair_by_wd<T>(
    items: &[T],
    wd: impl Fn(&T) -> f64,
    mode: impl Fn(&T) -> DecayMode,
) -> Vec<(f64, &T, &T)> {
    let mut by_wd: BTreeMap<u64, (Option<&T>, Option<&T>)> = BTreeMap::new();
    // Non-negative floats sort by their bit patterns.
    for item in items.iter().filter(|item| wd(item) >= 0.0) {
        let slot = by_wd.entry(wd(item).to_bits()).or_default();
        match mode(item) {
            DecayMode::Coupled if slot.0.is_none() => slot.0 = Some(item),
            DecayMode::Decoupled if slot.1.is_none() => slot.1 = Some(item),
            _ => {}
        }
    }
    by_wd
        .values()
        .filter_map(|(c, d)| Some((wd((*c)?), (*c)?, (*d)?)))
        .collect()
}

pub fn has_both_modes(runs: &[ArmSummary]) -> bool {
    let has = |m: DecayMode| runs.iter().any(|a| a.key.mode == m);
    has(DecayMode::Coupled) && has(DecayMode::Decoupled)
}

/// One arm's complete epochs (rows with status `ok`) of all its runs, by epoch.
#[derive(Debug, Clone)]
pub struct ArmEpochs<'a> {
    /// The arm's name ([`arm_name`]).
    pub name: String,
    /// The weight decay.
    pub wd: f64,
    /// The decay mode.
    pub mode: DecayMode,
    /// The distinct run names, in order of first appearance.
    pub runs: Vec<&'a str>,
    /// Epoch → that epoch's rows, one per run that completed it.
    pub epochs: BTreeMap<usize, Vec<&'a EpochRecord>>,
}

/// The records grouped into arms by `(mode, wd)`, arms in order of first appearance.
pub fn epochs_by_arm(records: &[EpochRecord]) -> Vec<ArmEpochs<'_>> {
    let mut arms: Vec<ArmEpochs<'_>> = Vec::new();
    for r in records {
        let index = match arms
            .iter()
            .position(|a| a.mode == r.mode && a.wd.to_bits() == r.wd.to_bits())
        {
            Some(i) => i,
            None => {
                arms.push(ArmEpochs {
                    name: arm_name(r.mode.name(), r.wd),
                    wd: r.wd,
                    mode: r.mode,
                    runs: Vec::new(),
                    epochs: BTreeMap::new(),
                });
                arms.len() - 1
            }
        };
        let arm = &mut arms[index];
        if !arm.runs.contains(&r.arm.as_str()) {
            arm.runs.push(&r.arm);
        }
        if r.is_ok() {
            arm.epochs.entry(r.epoch).or_default().push(r);
        }
    }
    arms
}

/// The mean of the finite values among `values`, NaN when there are none.
fn finite_mean(values: impl Iterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    Estimate::of(&values).map_or(f64::NAN, |e| e.mean)
}

/// One record per arm and epoch, named after the arm, each number the mean over the runs that
/// completed that epoch (of their finite values; a `conv_*` value is `None` where no run
/// measured it): the curves of a seeded report. Arms in order of first appearance, epochs
/// ascending.
pub fn mean_records(records: &[EpochRecord]) -> Vec<EpochRecord> {
    let mut out = Vec::new();
    for arm in epochs_by_arm(records) {
        for (&epoch, rows) in &arm.epochs {
            let mean = |f: fn(&EpochRecord) -> f64| finite_mean(rows.iter().map(|r| f(r)));
            let measured = |f: fn(&EpochRecord) -> Option<f64>| {
                let values: Vec<f64> = rows.iter().filter_map(|r| f(r)).collect();
                (!values.is_empty()).then(|| finite_mean(values.into_iter()))
            };
            out.push(EpochRecord {
                arm: arm.name.clone(),
                wd: arm.wd,
                mode: arm.mode,
                epoch,
                lr: mean(|r| r.lr),
                train_loss: mean(|r| r.train_loss),
                valid_loss: mean(|r| r.valid_loss),
                valid_accuracy: mean(|r| r.valid_accuracy),
                valid_macro_f1: mean(|r| r.valid_macro_f1),
                weight_norm: mean(|r| r.weight_norm),
                seconds: mean(|r| r.seconds),
                status: EpochRecord::OK.to_string(),
                conv_angle: measured(|r| r.conv_angle),
                conv_angle_predicted: measured(|r| r.conv_angle_predicted),
                conv_norm: measured(|r| r.conv_norm),
                conv_norm_predicted: measured(|r| r.conv_norm_predicted),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RunEnd;

    fn run(mode: &str, wd: f64, seed: u64, best: f64, status: ArmStatus) -> ArmSummary {
        let mut s = ArmSummary::from_records(
            RunEnd {
                name: "x".to_string(),
                key: RunKey {
                    mode: mode.parse().unwrap(),
                    wd,
                    seed: None,
                },
                status,
                decay_shrink: 1.0,
                best_checkpoint: None,
                final_checkpoint: None,
            },
            &[],
        )
        .with_seed(Some(seed));
        s.arm = super::super::records::run_name(mode, wd, Some(seed));
        s.best_valid_accuracy = best;
        s
    }

    #[test]
    fn runs_group_into_arms_and_pair_by_seed() {
        let runs = vec![
            run("decoupled", 0.1, 42, 0.80, ArmStatus::Finished),
            run("coupled", 0.1, 42, 0.785, ArmStatus::Finished),
            run("decoupled", 0.1, 43, 0.82, ArmStatus::Finished),
            run("coupled", 0.1, 43, 0.812, ArmStatus::Finished),
            run("decoupled", 0.1, 44, 0.84, ArmStatus::Finished),
            run("coupled", 0.1, 44, 0.828, ArmStatus::Finished),
            run("coupled", 0.1, 45, 0.9, ArmStatus::Running),
        ];
        assert!(is_seeded(&runs));
        let arms = arms_of(&runs);
        assert_eq!(arms.len(), 2);
        assert_eq!(arms[0].name, "decoupled-wd0.1");
        assert_eq!(arms[1].seeds(), [42, 43, 44, 45]);
        // The running seed is left out of the statistics.
        assert_eq!(arms[1].finished().len(), 3);
        let e = arms[0].estimate(Metric::BestValidAccuracy).unwrap();
        assert!((e.mean - 0.82).abs() < 1e-12 && (e.sd.unwrap() - 0.02).abs() < 1e-12);
        let c = compare(&arms[0], &arms[1], Metric::BestValidAccuracy);
        assert_eq!(c.seeds, [42, 43, 44]);
        let p = c.result.unwrap();
        assert_eq!(p.verdict, super::super::stats::Verdict::Different);
        assert!((p.difference.mean - 0.035 / 3.0).abs() < 1e-12);
        let pairs = mode_pairs(&arms);
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            (pairs[0].1.mode.name(), pairs[0].2.mode.name()),
            ("coupled", "decoupled")
        );
        let mean = arms[1].mean_summary();
        assert_eq!(mean.arm, "coupled-wd0.1");
        assert_eq!(mean.status, ArmStatus::Running);
        assert!((mean.best_valid_accuracy - 2.425 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn mean_records_name_each_arm() {
        let row = |arm: &str| EpochRecord {
            arm: arm.into(),
            wd: 0.1,
            mode: DecayMode::Decoupled,
            epoch: 1,
            lr: 1e-3,
            train_loss: 1.0,
            valid_loss: 1.0,
            valid_accuracy: 0.5,
            valid_macro_f1: 0.5,
            weight_norm: 1.0,
            seconds: 1.0,
            status: EpochRecord::OK.into(),
            conv_angle: None,
            conv_angle_predicted: None,
            conv_norm: None,
            conv_norm_predicted: None,
        };
        let means = mean_records(&[row("decoupled-wd0.1-seed42")]);
        assert_eq!(means[0].arm, "decoupled-wd0.1");
    }
}
