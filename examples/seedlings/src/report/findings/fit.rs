//! Whether the largest decay of each mode still fitted the training data
//! ([`NO_FIT_LOSS_RATIO`], [`CHANCE_FRACTION`]), and the train–valid gap, which is only read as
//! better generalisation for an arm that fitted.

use burn_weight_decay::DecayMode;

use super::{CHANCE_FRACTION, CHANCE_VALID_WITHIN, NO_FIT_LOSS_RATIO, best_of, in_mode, same};
use crate::records::{ArmSummary, RunInfo};
use crate::report::format::{capitalise, num};

/// The chance threshold `CHANCE_FRACTION·ln(n)` for `n ≥ 2` classes.
fn chance_threshold(info: &RunInfo) -> Option<f64> {
    let n = info.classes.len();
    (n >= 2).then(|| CHANCE_FRACTION * (n as f64).ln())
}

/// Whether `arm` did not fit, by the stated rule, compared with `best` of its mode. `None` when
/// its final train loss is not finite (nothing to judge).
pub(super) fn did_not_fit(
    info: &RunInfo,
    arm: &ArmSummary,
    best: Option<&ArmSummary>,
) -> Option<bool> {
    let loss = arm.final_train_loss;
    if !loss.is_finite() {
        return None;
    }
    let by_ratio = best.is_some_and(|b| {
        b.arm != arm.arm
            && b.final_train_loss.is_finite()
            && b.final_train_loss > 0.0
            && loss > NO_FIT_LOSS_RATIO * b.final_train_loss
    });
    let by_chance = chance_threshold(info).is_some_and(|t| loss > t);
    Some(by_ratio || by_chance)
}

pub(super) fn fit_sentences(
    info: &RunInfo,
    arms: &[ArmSummary],
    modes: &[DecayMode],
) -> Vec<String> {
    let mut out = Vec::new();
    let chance = chance_threshold(info);
    let rule = match chance {
        Some(t) => format!(
            "Fit rule used here: an arm did not fit when its final train loss is more than {NO_FIT_LOSS_RATIO}× that of the best arm of its mode (highest best valid accuracy), or above {CHANCE_FRACTION}·ln({n}) = {t:.2}, close to the {c:.2} of guessing uniformly among the {n} classes.",
            n = info.classes.len(),
            c = (info.classes.len() as f64).ln()
        ),
        None => format!(
            "Fit rule used here: an arm did not fit when its final train loss is more than {NO_FIT_LOSS_RATIO}× that of the best arm of its mode (highest best valid accuracy); with the class list unknown, the chance-level test is skipped."
        ),
    };
    out.push(rule);
    for mode in modes {
        let all = in_mode(arms, *mode);
        let best = best_of(&all);
        let Some(largest) = all
            .iter()
            .copied()
            .fold(None, |m: Option<&ArmSummary>, a| match m {
                Some(m) if m.key.wd >= a.key.wd => Some(m),
                _ => Some(a),
            })
        else {
            continue;
        };
        let m = capitalise(mode.name());
        let who = if all.len() == 1 {
            format!("the only arm, wd={}", largest.key.wd)
        } else {
            format!("the largest decay, wd={}", largest.key.wd)
        };
        let loss = largest.final_train_loss;
        let Some(failed) = did_not_fit(info, largest, best) else {
            out.push(format!(
                "{m}: {who}, has no finite final train loss, so whether it fitted cannot be judged."
            ));
            continue;
        };
        let mut reasons = Vec::new();
        if let Some(b) = best.filter(|b| b.arm != largest.arm) {
            if b.final_train_loss.is_finite() && b.final_train_loss > 0.0 {
                reasons.push(format!(
                    "{:.1}× the {} of the best arm wd={}",
                    loss / b.final_train_loss,
                    num(b.final_train_loss),
                    b.key.wd
                ));
            }
        } else if best.is_some() {
            reasons.push("it is itself the best arm of its mode".to_string());
        }
        if let Some(t) = chance {
            let side = if loss > t { "above" } else { "below" };
            reasons.push(format!("{side} the chance threshold {t:.2}"));
        }
        let verdict = if failed { "did not fit" } else { "fitted" };
        out.push(format!(
            "{m}: {who}, {verdict} the training data: final train loss {}{}.",
            num(loss),
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join("; "))
            }
        ));
    }
    out
}

/// Whether `arm` predicts validation images no better than guessing: its final valid loss is
/// within [`CHANCE_VALID_WITHIN`] of `ln(classes)`. `None` without a class list or a finite
/// loss.
pub(crate) fn at_chance_on_valid(info: &RunInfo, arm: &ArmSummary) -> Option<bool> {
    let n = info.classes.len();
    let loss = arm.final_valid_loss;
    (n >= 2 && loss.is_finite()).then(|| {
        let chance = (n as f64).ln();
        (loss - chance).abs() <= CHANCE_VALID_WITHIN * chance
    })
}

/// One sentence naming the arms at chance level on validation, with the rule; none when no arm
/// is.
pub(super) fn chance_sentences(info: &RunInfo, arms: &[ArmSummary]) -> Vec<String> {
    let at_chance: Vec<String> = arms
        .iter()
        .filter(|a| at_chance_on_valid(info, a) == Some(true))
        .map(|a| {
            format!(
                "wd={} {} (final valid loss {})",
                a.key.wd,
                a.key.mode,
                num(a.final_valid_loss)
            )
        })
        .collect();
    if at_chance.is_empty() {
        return Vec::new();
    }
    let n = info.classes.len();
    vec![format!(
        "At chance level on validation, predicting no better than guessing uniformly among the {n} classes: {} (rule: final valid loss within {:.0}% of ln({n}) = {:.2}).",
        super::super::format::and_list(&at_chance),
        CHANCE_VALID_WITHIN * 100.0,
        (n as f64).ln()
    )]
}

pub(super) fn gap_sentences(
    info: &RunInfo,
    arms: &[ArmSummary],
    modes: &[DecayMode],
) -> Vec<String> {
    let mut out = Vec::new();
    let finite: Vec<&ArmSummary> = arms
        .iter()
        .filter(|a| a.train_valid_gap.is_finite())
        .collect();
    let min = finite
        .iter()
        .copied()
        .min_by(|a, b| a.train_valid_gap.total_cmp(&b.train_valid_gap));
    let max = finite
        .iter()
        .copied()
        .max_by(|a, b| a.train_valid_gap.total_cmp(&b.train_valid_gap));
    match (min, max, finite.len()) {
        (Some(lo), Some(hi), n) if n >= 2 && same(lo.train_valid_gap, hi.train_valid_gap) => out.push(format!(
            "Train–valid gap (final valid loss − final train loss): the same for all {n} arms with finite final losses ({}).",
            num(lo.train_valid_gap)
        )),
        (Some(lo), Some(hi), n) if n >= 2 => {
            let mut s = format!(
                "Train–valid gap (final valid loss − final train loss): smallest for wd={} {} ({}), largest for wd={} {} ({}).",
                lo.key.wd,
                lo.key.mode,
                num(lo.train_valid_gap),
                hi.key.wd,
                hi.key.mode,
                num(hi.train_valid_gap)
            );
            let best_of_mode = best_of(&in_mode(arms, lo.key.mode));
            if did_not_fit(info, lo, best_of_mode) == Some(true) {
                s.push_str(&format!(
                    " wd={} {} did not fit by the rule above, so its small gap reflects underfitting, not better generalisation.",
                    lo.key.wd, lo.key.mode
                ));
            }
            out.push(s);
        }
        (Some(only), _, _) => out.push(format!(
            "Train–valid gap (final valid loss − final train loss): {} for wd={} {}, the only arm with finite final losses.",
            num(only.train_valid_gap),
            only.key.wd,
            only.key.mode
        )),
        _ => {
            out.push("No arm has finite final losses, so there is no train–valid gap to compare.".into())
        }
    }
    for mode in modes {
        let mut by_wd: Vec<&ArmSummary> = in_mode(arms, *mode)
            .into_iter()
            .filter(|a| a.train_valid_gap.is_finite())
            .collect();
        if by_wd.len() < 2 {
            continue;
        }
        by_wd.sort_by(|a, b| a.key.wd.total_cmp(&b.key.wd));
        let gaps: Vec<f64> = by_wd.iter().map(|a| a.train_valid_gap).collect();
        let trail: Vec<String> = by_wd
            .iter()
            .map(|a| format!("{} at wd={}", num(a.train_valid_gap), a.key.wd))
            .collect();
        let trend = if gaps.windows(2).all(|w| same(w[0], w[1])) {
            "stays the same at every wd"
        } else if gaps.windows(2).all(|w| w[1] < w[0] && !same(w[0], w[1])) {
            "shrinks as wd grows"
        } else if gaps.windows(2).all(|w| w[1] > w[0] && !same(w[0], w[1])) {
            "grows as wd grows"
        } else {
            "does not change monotonically with wd"
        };
        out.push(format!(
            "In the {mode} arms the gap {trend}: {}.",
            trail.join(" → ")
        ));
    }
    out
}
