//! Which weight decay did best: per mode by best validation accuracy, and coupled against
//! decoupled at each wd run in both modes. With one seed, two accuracies at most
//! [`AccuracyTie`] apart are a tie; with several (`seeded`) the tie comes from the paired
//! comparison over seeds. [`best_in_mode`] and [`mode_comparison`] are each one function for
//! one seed and several, which picks its wording from the number of seeds; coupled against
//! decoupled reaches its verdict where the "Coupled vs decoupled" section does ([`outcome`]).

use std::fmt::Write as _;

use burn_weight_decay::DecayMode;

use super::comparison::{Outcome, outcome};
use super::{AccuracyTie, caveat};
use crate::records::ArmSummary;
use crate::report::format::{capitalise, estimate, interval, num, pct, plural, pp, shrink};
use crate::report::seeds::{ArmRuns, Comparison, Metric, compare, mode_pairs};
use crate::report::stats::{Estimate, Verdict};

/// The best weight decay of `mode` by best valid accuracy, and how the others rank against it,
/// for one seed per arm (each arm one run, `seeded` false) and several alike. With one seed
/// the runs' own accuracies rank the arms and two within `tie` are about equal; with several
/// the means over each arm's finished runs rank them and each other arm is compared with the
/// first paired over seeds.
pub(super) fn best_in_mode(
    mode: DecayMode,
    arms: &[ArmRuns<'_>],
    seeded: bool,
    tie: AccuracyTie,
) -> String {
    if seeded {
        best_over_seeds(mode, arms)
    } else {
        let runs: Vec<&ArmSummary> = arms.iter().flat_map(|a| a.runs.iter().copied()).collect();
        best_of_runs(mode, &runs, tie)
    }
}

/// [`best_in_mode`] for one seed per arm: the runs of `mode` ranked by their best valid accuracy.
fn best_of_runs(mode: DecayMode, runs: &[&ArmSummary], tie: AccuracyTie) -> String {
    let all: Vec<&ArmSummary> = runs
        .iter()
        .copied()
        .filter(|a| a.key.mode == mode)
        .collect();
    let mut ranked: Vec<&ArmSummary> = all
        .iter()
        .copied()
        .filter(|a| a.best_valid_accuracy.is_finite())
        .collect();
    ranked.sort_by(|a, b| b.best_valid_accuracy.total_cmp(&a.best_valid_accuracy));
    let m = capitalise(mode.name());
    match ranked.as_slice() {
        [] => format!(
            "{m}: no arm has a finite validation accuracy, so there is no best weight decay."
        ),
        [only] if all.len() == 1 => format!(
            "{m}: only wd={} ran, reaching {} best valid accuracy (epoch {}{}).",
            only.key.wd,
            pct(only.best_valid_accuracy),
            only.best_epoch,
            caveat(only)
        ),
        [only] => format!(
            "{m}: only wd={} has a finite validation accuracy ({}, epoch {}{}); the other {} cannot be ranked.",
            only.key.wd,
            pct(only.best_valid_accuracy),
            only.best_epoch,
            caveat(only),
            if all.len() == 2 { "arm" } else { "arms" }
        ),
        [first, second, rest @ ..] => {
            let diff = (first.best_valid_accuracy - second.best_valid_accuracy) * 100.0;
            let mut s = if tie.holds(diff) {
                format!(
                    "{m}: by best valid accuracy, wd={} ({}, epoch {}{}) and wd={} ({}{}) are about equal: {} percentage points apart, within {}.",
                    first.key.wd,
                    pct(first.best_valid_accuracy),
                    first.best_epoch,
                    caveat(first),
                    second.key.wd,
                    pct(second.best_valid_accuracy),
                    caveat(second),
                    pp(diff),
                    tie.words()
                )
            } else {
                format!(
                    "{m}: the best weight decay by best valid accuracy was wd={} ({}, epoch {}{}), {} percentage points ahead of the runner-up wd={} ({}{}).",
                    first.key.wd,
                    pct(first.best_valid_accuracy),
                    first.best_epoch,
                    caveat(first),
                    pp(diff),
                    second.key.wd,
                    pct(second.best_valid_accuracy),
                    caveat(second)
                )
            };
            if !rest.is_empty() {
                let others: Vec<String> = rest
                    .iter()
                    .map(|a| {
                        let note = caveat(a).trim_start_matches("; ");
                        let note = if note.is_empty() {
                            String::new()
                        } else {
                            format!(" ({note})")
                        };
                        format!("wd={} {}{note}", a.key.wd, pct(a.best_valid_accuracy))
                    })
                    .collect();
                let _ = write!(s, " Then: {}.", others.join(", "));
            }
            s
        }
    }
}

/// The coupled-vs-decoupled sentence when no wd ran in both modes (one seed or several).
const NO_SHARED_WD: &str = "No weight decay ran in both modes, so coupled and decoupled cannot be compared at the same wd.";

/// The coupled-vs-decoupled sentence at `wd` when one mode has no number to compare (one seed
/// or several): the decoupled arm when `decoupled_missing`, else the coupled one, has `what`.
fn not_comparable(wd: f64, decoupled_missing: bool, what: &str) -> String {
    let missing = if decoupled_missing {
        "decoupled"
    } else {
        "coupled"
    };
    format!("At wd={wd}, coupled and decoupled cannot be compared: {missing} has {what}.")
}

/// [`best_in_mode`] for several seeds per arm: the arm of `mode` with the highest mean best
/// valid accuracy over its finished runs, and how every other arm of the mode compares with it,
/// paired over seeds.
fn best_over_seeds(mode: DecayMode, arms: &[ArmRuns<'_>]) -> String {
    let all: Vec<&ArmRuns<'_>> = arms.iter().filter(|a| a.mode == mode).collect();
    let mut ranked: Vec<(&ArmRuns<'_>, Estimate)> = all
        .iter()
        .filter_map(|a| Some((*a, a.estimate(Metric::BestValidAccuracy)?)))
        .collect();
    ranked.sort_by(|x, y| y.1.mean.total_cmp(&x.1.mean));
    let m = capitalise(mode.name());
    match ranked.as_slice() {
        [] => format!(
            "{m}: no arm has a finished run with a finite validation accuracy, so there is no best weight decay."
        ),
        [(only, e)] if all.len() == 1 => format!(
            "{m}: only wd={} ran, reaching a mean best valid accuracy of {} over {} finished run{}.",
            only.wd,
            estimate(Some(*e), true),
            e.n,
            plural(e.n)
        ),
        [(only, e)] => format!(
            "{m}: only wd={} has a finished run with a finite validation accuracy ({}); the other {} cannot be ranked.",
            only.wd,
            estimate(Some(*e), true),
            if all.len() == 2 { "arm" } else { "arms" }
        ),
        [(first, e), rest @ ..] => {
            let others: Vec<String> = rest
                .iter()
                .map(|(other, other_estimate)| {
                    let c = compare(first, other, Metric::BestValidAccuracy);
                    format!(
                        "wd={} ({}) {}",
                        other.wd,
                        pct(other_estimate.mean),
                        against_first(&c)
                    )
                })
                .collect();
            format!(
                "{m}: by mean best valid accuracy over seeds, wd={} ranks first ({}). Paired over seeds: {}.",
                first.wd,
                estimate(Some(*e), true),
                others.join("; ")
            )
        }
    }
}

/// How the second arm of `c` (`first − other`) stands against the first, in words.
fn against_first(c: &Comparison<'_, '_>) -> String {
    let n = c.seeds.len();
    match paired_outcome(c) {
        Some(PairedOutcome {
            side,
            mean_pp,
            range,
        }) => match side {
            Side::Tie => format!(
                "is a tie with it: difference {} pp, 95% interval {range}, which includes 0 ({n} seeds)",
                pp(mean_pp)
            ),
            Side::FirstAhead => format!(
                "is behind it: {} pp lower, 95% interval of the difference {range}, which excludes 0 ({n} seeds)",
                pp(mean_pp)
            ),
            Side::SecondAhead => format!(
                "is ahead of it seed for seed: {} pp higher, 95% interval of the difference {range}, which excludes 0 ({n} seeds)",
                pp(-mean_pp)
            ),
        },
        None => format!(
            "cannot be told apart from it: {n} seed{} finished in both, fewer than the 2 an interval needs",
            plural(n)
        ),
    }
}

/// Which way a decided paired comparison `a − b` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The interval includes 0.
    Tie,
    /// The interval excludes 0 and the mean difference is positive: `a` is ahead.
    FirstAhead,
    /// The interval excludes 0 and the mean difference is not positive: `b` is ahead.
    SecondAhead,
}

/// A decided paired comparison as the sentences state it, whatever their words.
struct PairedOutcome {
    side: Side,
    /// The mean per-seed difference `a − b`, in percentage points (signed).
    mean_pp: f64,
    /// Its 95% interval, formatted as a percentage-point range.
    range: String,
}

/// The outcome of the paired comparison `c`, or `None` while it is undecided (fewer than 2
/// seeds both arms finished): the one place the report turns a comparison's interval into a
/// verdict and a range for a sentence.
fn paired_outcome(c: &Comparison<'_, '_>) -> Option<PairedOutcome> {
    let p = c.result.filter(|p| p.verdict != Verdict::Undecided)?;
    let d = p.difference;
    let (low, high) = d.interval().unwrap_or((d.mean, d.mean));
    let side = match p.verdict {
        Verdict::Tie => Side::Tie,
        _ if d.mean > 0.0 => Side::FirstAhead,
        _ => Side::SecondAhead,
    };
    Some(PairedOutcome {
        side,
        mean_pp: d.mean * 100.0,
        range: interval(low, high, true),
    })
}

/// Coupled against decoupled on best valid accuracy at each wd run in both modes, one sentence
/// per wd, for one seed per arm (each arm one run, `seeded` false) and several alike: the
/// numbers and the verdict are [`outcome`]'s (the "Coupled vs decoupled" section's), so the
/// verdict is reached in one place; with one seed the numbers are the run's own and the
/// accuracy tie rule decides, with several they are means over the finished runs and the
/// paired comparison over seeds decides.
pub(super) fn mode_comparison(arms: &[ArmRuns<'_>], seeded: bool, tie: AccuracyTie) -> Vec<String> {
    let has = |m: DecayMode| arms.iter().any(|a| a.mode == m);
    if !(has(DecayMode::Coupled) && has(DecayMode::Decoupled)) {
        return Vec::new();
    }
    let metric = Metric::BestValidAccuracy;
    let mut out = Vec::new();
    for (wd, coupled, decoupled) in mode_pairs(arms) {
        let o = outcome(
            metric,
            coupled,
            decoupled,
            seeded,
            tie,
            ("coupled", "decoupled"),
        );
        let (c, d) = (o.coupled, o.decoupled);
        if !(c.is_finite() && d.is_finite()) {
            // When neither has a number, one seed has always named coupled, several decoupled.
            let (decoupled_missing, what) = if seeded {
                (
                    !d.is_finite(),
                    "no finished run with a finite validation accuracy",
                )
            } else {
                (c.is_finite(), "no finite validation accuracy")
            };
            out.push(not_comparable(wd, decoupled_missing, what));
            continue;
        }
        out.push(if seeded {
            seeded_mode_sentence(wd, coupled, decoupled, &o)
        } else {
            one_seed_mode_sentence(wd, coupled.runs[0], decoupled.runs[0], &o)
        });
    }
    if out.is_empty() {
        out.push(NO_SHARED_WD.into());
    }
    out
}

/// [`mode_comparison`]'s sentence at `wd` for one seed per arm: the runs `c` and `d`.
fn one_seed_mode_sentence(wd: f64, c: &ArmSummary, d: &ArmSummary, o: &Outcome) -> String {
    let diff = (o.decoupled - o.coupled) * 100.0;
    let verdict = match o.verdict {
        Verdict::Tie => format!("about equal ({} pp apart)", pp(diff.abs())),
        _ if diff > 0.0 => format!("decoupled ahead by {} percentage points", pp(diff)),
        _ => format!("coupled ahead by {} percentage points", pp(-diff)),
    };
    let mut sentence = format!(
        "At wd={wd}, decoupled reached {} best valid accuracy and coupled {}: {verdict}. Final train loss {} decoupled vs {} coupled; decay shrink {} vs {}.",
        pct(o.decoupled),
        pct(o.coupled),
        num(d.final_train_loss),
        num(c.final_train_loss),
        shrink(d.decay_shrink),
        shrink(c.decay_shrink)
    );
    let notes: Vec<String> = [(d, "decoupled"), (c, "coupled")]
        .iter()
        .filter_map(|(a, m)| {
            let note = caveat(a).trim_start_matches("; ");
            (!note.is_empty()).then(|| format!("{m} {note}"))
        })
        .collect();
    if !notes.is_empty() {
        let _ = write!(sentence, " Caveat: {}.", notes.join(", "));
    }
    sentence
}

/// [`mode_comparison`]'s sentence at `wd` for several seeds per arm: paired over the seeds
/// both arms finished.
fn seeded_mode_sentence(
    wd: f64,
    coupled: &ArmRuns<'_>,
    decoupled: &ArmRuns<'_>,
    o: &Outcome,
) -> String {
    let cmp = compare(decoupled, coupled, o.metric);
    let n = cmp.seeds.len();
    let verdict = match paired_outcome(&cmp) {
        Some(PairedOutcome {
            side,
            mean_pp,
            range,
        }) => match side {
            Side::Tie => format!(
                "a tie (difference {} pp, 95% interval {range}, which includes 0)",
                pp(mean_pp)
            ),
            Side::FirstAhead => format!(
                "different, decoupled ahead by {} percentage points (95% interval {range}, which excludes 0)",
                pp(mean_pp)
            ),
            Side::SecondAhead => format!(
                "different, coupled ahead by {} percentage points (95% interval {range}, which excludes 0)",
                pp(-mean_pp)
            ),
        },
        None => "no verdict: fewer than 2 seeds finished in both".to_string(),
    };
    let (dm, cm) = (decoupled.mean_summary(), coupled.mean_summary());
    format!(
        "At wd={wd}, paired over {n} seed{}, decoupled's mean best valid accuracy was {} and coupled's {}: {verdict}. Mean final train loss {} decoupled vs {} coupled; decay shrink {} vs {}.",
        plural(n),
        pct(o.decoupled),
        pct(o.coupled),
        num(dm.final_train_loss),
        num(cm.final_train_loss),
        shrink(dm.decay_shrink),
        shrink(cm.decay_shrink)
    )
}
