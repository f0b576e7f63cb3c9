//! Coupled against decoupled at the same wd: the "Coupled vs decoupled" section of `report.md`
//! ([`comparison_section`]), present when both modes ran.
//!
//! For each wd run in both modes: a table of the final train loss, the best and final valid
//! accuracy and the final weight norm of Adam + L2 (coupled) and AdamW (decoupled), their
//! difference decoupled − coupled and a verdict; then sentences derived from those numbers:
//! which mode shrinks the weights more and by what ratio, which fits the training set better,
//! whether the accuracies differ.
//!
//! The verdict: with one seed, accuracies at most [`AccuracyTie`] apart, train losses at most
//! [`SAME_LOSS_WITHIN`] and weight norms at most [`SAME_NORM_WITHIN`] apart (as larger ÷ smaller
//! − 1) are a tie, anything else is different. With several seeds the numbers are the means
//! over each arm's finished runs, and the verdict is the paired comparison over the seeds both
//! finished: different when the 95 % interval of the mean difference excludes 0.
//!
//! λ means what training makes of it (`TrainSettings::decay`: burn-weight-decay's
//! `DecayConfig` with the arm's mode and rate, decay scale `s_t = lr_t`): coupled adds `λ·w` to
//! the gradient before the optimizer transforms it; decoupled shrinks `w ← w − lr_t·λ·w` after
//! the optimizer's own step. The section's caption says so.

use super::{AccuracyTie, SAME_LOSS_WITHIN, SAME_NORM_WITHIN, caveat};
use crate::records::{ArmSummary, RunInfo};
use crate::report::format::{
    capitalise, difference, estimate, interval, num, pct, plural, pp, ratio,
};
use crate::report::seeds::{
    ArmRuns, Metric, ReportPlan, arms_of, compare, has_both_modes, mode_pairs,
};
use crate::report::stats::{Estimate, Verdict};

/// The "Coupled vs decoupled" section: its caption, the two columns' names and one table per wd.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonSection {
    /// What λ means in each mode, and how the verdict is reached.
    pub caption: String,
    /// The coupled column's name, e.g. `Adam + L2`.
    pub coupled: String,
    /// The decoupled column's name, e.g. `AdamW`.
    pub decoupled: String,
    /// One per wd run in both modes, ascending; empty when none was.
    pub tables: Vec<WdComparison>,
}

/// Coupled against decoupled at one wd.
#[derive(Debug, Clone, PartialEq)]
pub struct WdComparison {
    /// The weight decay.
    pub wd: f64,
    /// One row per metric ([`Metric::ALL`]).
    pub rows: Vec<ComparisonRow>,
    /// What the rows say, in words.
    pub sentences: Vec<String>,
}

/// One metric of a [`WdComparison`], as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// The metric.
    pub metric: Metric,
    /// The coupled arm's value (with several seeds: mean ± sd [95 % interval]).
    pub coupled: String,
    /// The decoupled arm's value, the same way.
    pub decoupled: String,
    /// Decoupled − coupled (with several seeds: the paired mean difference and its interval).
    pub difference: String,
    /// `tie`, `different` or `undecided`.
    pub verdict: String,
}

/// The column names of the optimizer in `info` (`Adam + L2` / `AdamW`, `SGD + L2` / `SGDW`),
/// and what λ does in each, in words.
pub(super) fn optimizer_words(
    info: &RunInfo,
) -> (&'static str, &'static str, &'static str, &'static str) {
    let name = info.optimizer.to_ascii_lowercase();
    if name.starts_with("sgd") {
        ("SGD + L2", "SGDW", "before momentum", "after the SGD step")
    } else if name.contains("adam") {
        (
            "Adam + L2",
            "AdamW",
            "before Adam, so Adam divides it by √v with the rest of the gradient and a weight whose gradient is large is hardly decayed",
            "after Adam's step",
        )
    } else {
        (
            "coupled",
            "decoupled",
            "before the optimizer",
            "after the optimizer's step",
        )
    }
}

/// The "Coupled vs decoupled" section of `runs`, or `None` unless both modes ran, with the
/// report's [`ReportPlan::of`] these runs.
pub fn comparison_section(info: &RunInfo, runs: &[ArmSummary]) -> Option<ComparisonSection> {
    planned_comparison_section(ReportPlan::of(info, runs), info, runs)
}

/// [`comparison_section`] under a plan decided by the caller.
pub(crate) fn planned_comparison_section(
    plan: ReportPlan,
    info: &RunInfo,
    runs: &[ArmSummary],
) -> Option<ComparisonSection> {
    if !has_both_modes(runs) {
        return None;
    }
    let (coupled, decoupled, before, after) = optimizer_words(info);
    let seeded = plan.seeded;
    let norm_and_bias = if info.decay_rank_le_1 {
        "are decayed too"
    } else {
        "are not decayed"
    };
    let tie = AccuracyTie::for_valid_images(info.valid_images);
    let rule = if seeded {
        "Each value is the mean ± sample standard deviation over the arm's finished runs, with the 95% interval of the mean in brackets; the difference is decoupled − coupled, the mean of the per-seed differences over the seeds both finished, with its 95% interval (Student's t, n − 1 degrees of freedom); the verdict is *different* when that interval excludes 0, else *tie*.".to_string()
    } else {
        format!(
            "One seed per arm: the difference is decoupled − coupled; accuracies at most {} pp apart{}, and train losses at most {:.0}% or weight norms at most {:.0}% apart (larger ÷ smaller − 1), are a *tie*, anything else is *different*.",
            match tie.one_image_of {
                Some(_) => super::super::format::pp(tie.pp),
                None => tie.pp.to_string(),
            },
            match tie.one_image_of {
                Some(images) => format!(" (one of the {images} validation images)"),
                None => String::new(),
            },
            SAME_LOSS_WITHIN * 100.0,
            SAME_NORM_WITHIN * 100.0
        )
    };
    let caption = format!(
        "λ is the same number in both columns (fastai's wd; biases and batch-norm parameters {norm_and_bias}). **{coupled}** is coupled decay: λ·w is added to the gradient {before}. **{decoupled}** is decoupled decay: {after} every decayed weight shrinks by w ← w − lr_t·λ·w, whatever its gradient (lr_t the step's learning rate). {rule}"
    );
    let arms = arms_of(runs);
    let tables = mode_pairs(&arms)
        .into_iter()
        .map(|(wd, c, d)| wd_comparison(wd, c, d, seeded, tie, (coupled, decoupled)))
        .collect();
    Some(ComparisonSection {
        caption,
        coupled: coupled.to_string(),
        decoupled: decoupled.to_string(),
        tables,
    })
}

/// One metric, coupled against decoupled: the two values (means with several seeds), the
/// table's cells, the verdict and why.
pub(super) struct Outcome {
    /// The metric.
    pub(super) metric: Metric,
    /// The coupled arm's value (its run's with one seed, the mean over its finished runs with
    /// several); NaN when it has none.
    pub(super) coupled: f64,
    /// The decoupled arm's value, the same way.
    pub(super) decoupled: f64,
    row: ComparisonRow,
    /// The verdict: the tie rules with one seed, the paired comparison with several.
    pub(super) verdict: Verdict,
    reason: String,
}

/// `metric` of the coupled arm `c` against the decoupled arm `d`: the one place the verdict
/// of coupled against decoupled is reached, for the section's tables and sentences and the
/// findings' [`mode_comparison`](super::ranking::mode_comparison).
pub(super) fn outcome(
    metric: Metric,
    c: &ArmRuns<'_>,
    d: &ArmRuns<'_>,
    seeded: bool,
    tie: AccuracyTie,
    (cname, dname): (&str, &str),
) -> Outcome {
    let acc = metric.is_accuracy();
    let (coupled, decoupled, cells, diff, verdict, reason) = if seeded {
        let (ec, ed) = (c.estimate(metric), d.estimate(metric));
        let cmp = compare(d, c, metric);
        let n = cmp.seeds.len();
        let verdict = cmp.result.map_or(Verdict::Undecided, |r| r.verdict);
        let reason = match cmp.result {
            Some(r) if r.verdict != Verdict::Undecided => {
                let e = r.difference;
                let (low, high) = e.interval().unwrap_or((e.mean, e.mean));
                format!(
                    "paired over {n} seeds: {dname} − {cname} = {}, 95% interval {}, which {} 0",
                    difference(
                        Some(Estimate {
                            half_width: None,
                            ..e
                        }),
                        acc
                    ),
                    interval(low, high, acc),
                    if r.verdict == Verdict::Tie {
                        "includes"
                    } else {
                        "excludes"
                    }
                )
            }
            _ => format!(
                "{n} seed{} finished in both, fewer than the 2 an interval needs",
                plural(n)
            ),
        };
        (
            ec.map_or(f64::NAN, |e| e.mean),
            ed.map_or(f64::NAN, |e| e.mean),
            (estimate(ec, acc), estimate(ed, acc)),
            difference(cmp.result.map(|r| r.difference), acc),
            verdict,
            reason,
        )
    } else {
        let (vc, vd) = (metric.of(c.runs[0]), metric.of(d.runs[0]));
        let cell = |v: f64| if acc { pct(v) } else { num(v) };
        let (verdict, reason) = one_seed_verdict(metric, vc, vd, tie);
        let notes: Vec<String> = [(d.runs[0], "decoupled"), (c.runs[0], "coupled")]
            .iter()
            .filter_map(|(a, m)| {
                let note = caveat(a).trim_start_matches("; ");
                (!note.is_empty()).then(|| format!("{m} {note}"))
            })
            .collect();
        let reason = if notes.is_empty() {
            reason
        } else {
            format!("{reason}; {}", notes.join(", "))
        };
        let diff = (vd - vc).is_finite().then_some(vd - vc);
        (
            vc,
            vd,
            (cell(vc), cell(vd)),
            difference(diff.and_then(|v| Estimate::of(&[v])), acc),
            verdict,
            reason,
        )
    };
    Outcome {
        metric,
        coupled,
        decoupled,
        row: ComparisonRow {
            metric,
            coupled: cells.0,
            decoupled: cells.1,
            difference: diff,
            verdict: verdict.name().to_string(),
        },
        verdict,
        reason,
    }
}

/// The one-seed verdict on `metric`, coupled `c` against decoupled `d`, and the rule's words.
fn one_seed_verdict(metric: Metric, c: f64, d: f64, tie: AccuracyTie) -> (Verdict, String) {
    if !(c.is_finite() && d.is_finite()) {
        return (
            Verdict::Undecided,
            format!(
                "{} has no finite value",
                if c.is_finite() {
                    "decoupled"
                } else {
                    "coupled"
                }
            ),
        );
    }
    let (tie, rule) = if metric.is_accuracy() {
        (tie.holds((d - c) * 100.0), tie.words())
    } else {
        let within = if metric == Metric::FinalWeightNorm {
            SAME_NORM_WITHIN
        } else {
            SAME_LOSS_WITHIN
        };
        let (lo, hi) = (c.min(d), c.max(d));
        let tie = lo == hi || (lo > 0.0 && hi / lo - 1.0 <= within);
        (
            tie,
            format!("the {:.0}% this report treats as a tie", within * 100.0),
        )
    };
    if tie {
        (Verdict::Tie, format!("within {rule}"))
    } else {
        (Verdict::Different, format!("more than {rule}"))
    }
}

fn wd_comparison(
    wd: f64,
    c: &ArmRuns<'_>,
    d: &ArmRuns<'_>,
    seeded: bool,
    tie: AccuracyTie,
    names: (&str, &str),
) -> WdComparison {
    let outcomes: Vec<Outcome> = Metric::ALL
        .iter()
        .map(|&metric| outcome(metric, c, d, seeded, tie, names))
        .collect();
    let mean = if seeded { "mean " } else { "" };
    let (cname, dname) = names;
    let mut sentences = Vec::new();
    let by = |metric: Metric| outcomes.iter().find(|o| o.metric == metric);
    if let Some(o) = by(Metric::FinalWeightNorm) {
        sentences.push(norm_sentence(wd, o, mean, names));
    }
    if let Some(o) = by(Metric::FinalTrainLoss) {
        let (c, d, reason) = (o.coupled, o.decoupled, &o.reason);
        sentences.push(match o.verdict {
            Verdict::Different => {
                let ((better, bv), (worse, wv)) = if d < c {
                    ((dname, d), (cname, c))
                } else {
                    ((cname, c), (dname, d))
                };
                format!(
                    "{better} fits the training set better: its {mean}final train loss is {}, {worse}'s {} ({}× as high; {reason}).",
                    num(bv),
                    num(wv),
                    ratio(wv / bv)
                )
            }
            Verdict::Tie => format!(
                "{cname} and {dname} fit the training set about equally: {mean}final train loss {} and {} ({reason}).",
                num(c),
                num(d)
            ),
            Verdict::Undecided => {
                format!("Their {mean}final train losses cannot be compared ({reason}).")
            }
        });
    }
    for metric in [Metric::BestValidAccuracy, Metric::FinalValidAccuracy] {
        if let Some(o) = by(metric) {
            sentences.push(accuracy_sentence(o, mean, names));
        }
    }
    WdComparison {
        wd,
        rows: outcomes.into_iter().map(|o| o.row).collect(),
        sentences,
    }
}

fn norm_sentence(wd: f64, o: &Outcome, mean: &str, (cname, dname): (&str, &str)) -> String {
    let (c, d, reason) = (o.coupled, o.decoupled, &o.reason);
    match o.verdict {
        Verdict::Different => {
            let ((small, sv), (big, bv)) = if c < d {
                ((cname, c), (dname, d))
            } else {
                ((dname, d), (cname, c))
            };
            format!(
                "At wd={wd}, {small} shrinks the weights more: its {mean}final weight norm {} is {}× {big}'s {} ({reason}).",
                num(sv),
                ratio(sv / bv),
                num(bv)
            )
        }
        Verdict::Tie => format!(
            "At wd={wd}, {cname} and {dname} end with about the same {mean}weight norm, {} and {} ({reason}).",
            num(c),
            num(d)
        ),
        Verdict::Undecided => {
            format!("At wd={wd}, the {mean}final weight norms cannot be compared ({reason}).")
        }
    }
}

fn accuracy_sentence(o: &Outcome, mean: &str, (cname, dname): (&str, &str)) -> String {
    let label = capitalise(&format!("{mean}{}", o.metric.label()));
    let (c, d, reason) = (o.coupled, o.decoupled, &o.reason);
    match o.verdict {
        Verdict::Different => {
            let ((ahead, hi), lo) = if d > c {
                ((dname, d), c)
            } else {
                ((cname, c), d)
            };
            format!(
                "{label} differs: {ahead} is ahead by {} pp, {} against {} ({reason}).",
                pp((hi - lo) * 100.0),
                pct(hi),
                pct(lo)
            )
        }
        Verdict::Tie => format!(
            "{label} does not differ: {cname} {}, {dname} {}, {} pp apart ({reason}).",
            pct(c),
            pct(d),
            pp((d - c).abs() * 100.0)
        ),
        Verdict::Undecided => format!(
            "{label}: {cname} {}, {dname} {}; no verdict ({reason}).",
            pct(c),
            pct(d)
        ),
    }
}
