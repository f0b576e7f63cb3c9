//! Which weight decay did best: per mode by best validation accuracy, and coupled against
//! decoupled at each wd run in both modes. With one seed, two accuracies at most
//! [`AccuracyTie`] apart are a tie; with several ([`best_in_mode_seeded`],
//! [`mode_comparison_seeded`]) the tie comes from the paired comparison over seeds.

use std::fmt::Write as _;

use burn_weight_decay::DecayMode;

use super::{AccuracyTie, caveat, in_mode};
use crate::records::ArmSummary;
use crate::report::format::{capitalise, estimate, interval, num, pct, plural, pp, shrink};
use crate::report::seeds::{
    ArmRuns, Comparison, Metric, compare, has_both_modes, mode_pairs, pair_by_wd,
};
use crate::report::stats::{Estimate, Verdict};

pub(super) fn best_in_mode(mode: DecayMode, arms: &[ArmSummary], tie: AccuracyTie) -> String {
    let all = in_mode(arms, mode);
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

pub(super) fn mode_comparison(arms: &[ArmSummary], tie: AccuracyTie) -> Vec<String> {
    if !has_both_modes(arms) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (wd, c, d) in pair_by_wd(arms, |a| a.key.wd, |a| a.key.mode) {
        if !(c.best_valid_accuracy.is_finite() && d.best_valid_accuracy.is_finite()) {
            out.push(not_comparable(
                wd,
                c.best_valid_accuracy.is_finite(),
                "no finite validation accuracy",
            ));
            continue;
        }
        let diff = (d.best_valid_accuracy - c.best_valid_accuracy) * 100.0;
        let verdict = if tie.holds(diff) {
            format!("about equal ({} pp apart)", pp(diff.abs()))
        } else if diff > 0.0 {
            format!("decoupled ahead by {} percentage points", pp(diff))
        } else {
            format!("coupled ahead by {} percentage points", pp(-diff))
        };
        let mut sentence = format!(
            "At wd={wd}, decoupled reached {} best valid accuracy and coupled {}: {verdict}. Final train loss {} decoupled vs {} coupled; decay shrink {} vs {}.",
            pct(d.best_valid_accuracy),
            pct(c.best_valid_accuracy),
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
        out.push(sentence);
    }
    if out.is_empty() {
        out.push(NO_SHARED_WD.into());
    }
    out
}

/// Seeded: the arm of `mode` with the highest mean best valid accuracy over its finished runs,
/// and how every other arm of the mode compares with it, paired over seeds.
pub(super) fn best_in_mode_seeded(mode: DecayMode, arms: &[ArmRuns<'_>]) -> String {
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
    match c.result {
        Some(p) if p.verdict != Verdict::Undecided => {
            let d = p.difference;
            let (low, high) = d.interval().unwrap_or((d.mean, d.mean));
            let range = interval(low, high, true);
            match p.verdict {
                Verdict::Tie => format!(
                    "is a tie with it: difference {} pp, 95% interval {range}, which includes 0 ({n} seeds)",
                    pp(d.mean * 100.0)
                ),
                _ if d.mean > 0.0 => format!(
                    "is behind it: {} pp lower, 95% interval of the difference {range}, which excludes 0 ({n} seeds)",
                    pp(d.mean * 100.0)
                ),
                _ => format!(
                    "is ahead of it seed for seed: {} pp higher, 95% interval of the difference {range}, which excludes 0 ({n} seeds)",
                    pp(-d.mean * 100.0)
                ),
            }
        }
        _ => format!(
            "cannot be told apart from it: {n} seed{} finished in both, fewer than the 2 an interval needs",
            plural(n)
        ),
    }
}

/// Seeded: coupled against decoupled at each wd run in both modes, paired over seeds on best
/// valid accuracy.
pub(super) fn mode_comparison_seeded(arms: &[ArmRuns<'_>]) -> Vec<String> {
    let has = |m: DecayMode| arms.iter().any(|a| a.mode == m);
    if !(has(DecayMode::Coupled) && has(DecayMode::Decoupled)) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (wd, coupled, decoupled) in mode_pairs(arms) {
        let metric = Metric::BestValidAccuracy;
        let (Some(d), Some(c)) = (decoupled.estimate(metric), coupled.estimate(metric)) else {
            out.push(not_comparable(
                wd,
                decoupled.estimate(metric).is_none(),
                "no finished run with a finite validation accuracy",
            ));
            continue;
        };
        let cmp = compare(decoupled, coupled, metric);
        let n = cmp.seeds.len();
        let verdict = match cmp.result {
            Some(p) if p.verdict != Verdict::Undecided => {
                let diff = p.difference;
                let (low, high) = diff.interval().unwrap_or((diff.mean, diff.mean));
                let range = interval(low, high, true);
                match p.verdict {
                    Verdict::Tie => format!(
                        "a tie (difference {} pp, 95% interval {range}, which includes 0)",
                        pp(diff.mean * 100.0)
                    ),
                    _ if diff.mean > 0.0 => format!(
                        "different, decoupled ahead by {} percentage points (95% interval {range}, which excludes 0)",
                        pp(diff.mean * 100.0)
                    ),
                    _ => format!(
                        "different, coupled ahead by {} percentage points (95% interval {range}, which excludes 0)",
                        pp(-diff.mean * 100.0)
                    ),
                }
            }
            _ => "no verdict: fewer than 2 seeds finished in both".to_string(),
        };
        let (dm, cm) = (decoupled.mean_summary(), coupled.mean_summary());
        out.push(format!(
            "At wd={wd}, paired over {n} seed{}, decoupled's mean best valid accuracy was {} and coupled's {}: {verdict}. Mean final train loss {} decoupled vs {} coupled; decay shrink {} vs {}.",
            plural(n),
            pct(d.mean),
            pct(c.mean),
            num(dm.final_train_loss),
            num(cm.final_train_loss),
            shrink(dm.decay_shrink),
            shrink(cm.decay_shrink)
        ));
    }
    if out.is_empty() {
        out.push(NO_SHARED_WD.into());
    }
    out
}
