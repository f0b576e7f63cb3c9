//! The report's title and its "Answer": what a reader who stops after the first screen needs.
//!
//! At most five lines: each mode's winner (or the tie) by best valid accuracy, the arms that did
//! not fit, the run against the article's claim ("0.1 works best, 0.01 needs more epochs, 10
//! never fits"), and the run's size and wall time. A tie is [`AccuracyTie`] with one seed per
//! arm, the paired comparison over seeds with several; "did not fit" is the fit rule of
//! `fit.rs`. Any number of seeds takes the same path: one seed is `n = 1`.

use burn_weight_decay::DecayMode;

use super::comparison::optimizer_words;
use super::fit::did_not_fit;
use super::{AccuracyTie, arm_summaries, best_of, seed_list};
use crate::records::{ArmStatus, ArmSummary, RunInfo};
use crate::report::format::{and_list, duration, num, or_dash, pct, plural, pp};
use crate::report::seeds::{ArmRuns, Metric, ReportPlan, arms_of, compare};
use crate::report::stats::Verdict;

/// The weight decays the article compares, with decoupled decay (fastai's).
const ARTICLE_WDS: [f64; 3] = [0.01, 0.1, 10.0];

/// The title: what was swept, on what, at which size, e.g. "Weight decay on plant seedlings:
/// AdamW, wd 0.01 / 0.1 / 10, 32 px, 32 epochs".
///
/// `plan` is the report's ([`ReportPlan::of`] these runs).
pub fn title(plan: ReportPlan, info: &RunInfo, runs: &[ArmSummary]) -> String {
    let arms = arms_of(runs);
    let (coupled, decoupled, _, _) = optimizer_words(info);
    let mut names = Vec::new();
    for (mode, name) in [
        (DecayMode::Coupled, coupled),
        (DecayMode::Decoupled, decoupled),
    ] {
        if arms.iter().any(|a| a.mode == mode) {
            names.push(name.to_string());
        }
    }
    let mut wds: Vec<f64> = arms.iter().map(|a| a.wd).collect();
    wds.sort_by(f64::total_cmp);
    wds.dedup();
    let wds: Vec<String> = wds.iter().map(f64::to_string).collect();
    let on = if info.synthetic {
        "synthetic images"
    } else {
        "plant seedlings"
    };
    let seeds = if plan.seeded {
        let n = seed_list(info, &arms).len();
        format!(", {n} seed{}", plural(n))
    } else {
        String::new()
    };
    format!(
        "Weight decay on {on}: {}, wd {}, {} px, {} epoch{}{seeds}",
        or_dash(&names.join(" and ")),
        or_dash(&wds.join(" / ")),
        info.image_size,
        info.epochs,
        plural(info.epochs)
    )
}

/// The Answer's lines (at most five), for `runs` (one per arm and seed); `size` is the run's
/// size in words ("3 arms, up to 32 epochs each."), which the last line starts with.
///
/// `plan` is the report's ([`ReportPlan::of`] these runs); each arm's numbers are those the
/// findings read (with several seeds, the means over its finished runs).
pub fn answer(plan: ReportPlan, info: &RunInfo, runs: &[ArmSummary], size: &str) -> Vec<String> {
    let arms = arms_of(runs);
    let seeded = plan.seeded;
    let means = arm_summaries(runs, &arms, seeded);
    let tie = AccuracyTie::for_valid_images(info.valid_images);
    let (coupled, decoupled, _, _) = optimizer_words(info);
    let mut out = Vec::new();
    let mut not_fitted = Vec::new();
    let mut diverged = Vec::new();
    for (mode, name) in [
        (DecayMode::Coupled, coupled),
        (DecayMode::Decoupled, decoupled),
    ] {
        let idx: Vec<usize> = (0..arms.len()).filter(|&i| arms[i].mode == mode).collect();
        if idx.is_empty() {
            continue;
        }
        let mut ranked: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| means[i].best_valid_accuracy.is_finite())
            .collect();
        ranked.sort_by(|&a, &b| {
            means[b]
                .best_valid_accuracy
                .total_cmp(&means[a].best_valid_accuracy)
        });
        out.push(winner_line(name, &arms, &means, &ranked, (seeded, tie)));
        let in_mode: Vec<&ArmSummary> = idx.iter().map(|&i| &means[i]).collect();
        let best = best_of(&in_mode);
        for &i in &idx {
            let n = arms[i].runs.len();
            let broke = arms[i]
                .runs
                .iter()
                .filter(|r| matches!(r.status, ArmStatus::Diverged { .. }))
                .count();
            if broke > 0 {
                diverged.push(if n == 1 {
                    format!("{name} wd {}", means[i].key.wd)
                } else {
                    format!("{name} wd {} ({broke} of {n} runs)", means[i].key.wd)
                });
            }
            if did_not_fit(info, &means[i], best) == Some(true) {
                not_fitted.push(format!(
                    "{name} wd {} (final train loss {})",
                    means[i].key.wd,
                    num(means[i].final_train_loss)
                ));
            }
        }
    }
    let mut fit = Vec::new();
    if !not_fitted.is_empty() {
        fit.push(format!(
            "Did not fit the training data: {}.",
            and_list(&not_fitted)
        ));
    }
    if !diverged.is_empty() {
        fit.push(format!("Diverged: {}.", and_list(&diverged)));
    }
    out.push(if fit.is_empty() {
        "Every arm fitted the training data.".to_string()
    } else {
        fit.join(" ")
    });
    out.push(article_line(info, &arms, &means, (seeded, tie), decoupled));
    let resumed = match info.resumed {
        0 => String::new(),
        1 => " in all, over 2 parts: interrupted and resumed once".to_string(),
        n => format!(
            " in all, over {} parts: interrupted and resumed {n} times",
            n + 1
        ),
    };
    out.push(format!(
        "{size} Started {}, ran for {}{resumed}.",
        or_dash(&info.started),
        duration(info.seconds)
    ));
    out
}

/// Whether arms `a` and `b` tie on best valid accuracy: by the paired comparison with several
/// seeds per arm (`seeded`; `None` while it is undecided), else by `tie`.
fn tied(
    a: &ArmRuns<'_>,
    b: &ArmRuns<'_>,
    means: (&ArmSummary, &ArmSummary),
    (seeded, tie): (bool, AccuracyTie),
) -> Option<bool> {
    if seeded {
        let result = compare(a, b, Metric::BestValidAccuracy).result?;
        match result.verdict {
            Verdict::Tie => Some(true),
            Verdict::Different => Some(false),
            Verdict::Undecided => None,
        }
    } else {
        Some(tie.holds((means.0.best_valid_accuracy - means.1.best_valid_accuracy) * 100.0))
    }
}

/// "AdamW: wd 0.1 and wd 0.01 tie for best (91.2 % and 91.0 %); then wd 10 (85.5 %)."
fn winner_line(
    name: &str,
    arms: &[ArmRuns<'_>],
    means: &[ArmSummary],
    ranked: &[usize],
    tie: (bool, AccuracyTie),
) -> String {
    let acc = |i: usize| pct(means[i].best_valid_accuracy);
    let Some(&first) = ranked.first() else {
        return format!("{name}: no arm has a finite validation accuracy.");
    };
    let mut top = vec![first];
    let mut undecided = false;
    for &i in &ranked[1..] {
        match tied(&arms[first], &arms[i], (&means[first], &means[i]), tie) {
            Some(true) => top.push(i),
            Some(false) => {}
            None => undecided = true,
        }
    }
    let rest: Vec<String> = ranked
        .iter()
        .filter(|i| !top.contains(i))
        .map(|&i| format!("wd {} ({})", means[i].key.wd, acc(i)))
        .collect();
    let then = if rest.is_empty() {
        String::new()
    } else {
        format!("; behind: {}", rest.join(", "))
    };
    // the numbers are means over seeds when the report is seeded
    let mean = if tie.0 { "mean " } else { "" };
    let head = if top.len() == 1 && ranked.len() > 1 {
        let second = ranked[1];
        format!(
            "wd {} is best ({} {mean}best valid accuracy, {} pp ahead of wd {})",
            means[first].key.wd,
            acc(first),
            pp((means[first].best_valid_accuracy - means[second].best_valid_accuracy) * 100.0),
            means[second].key.wd
        )
    } else if top.len() == 1 {
        format!(
            "only wd {} ran ({} {mean}best valid accuracy)",
            means[first].key.wd,
            acc(first)
        )
    } else {
        let names: Vec<String> = top
            .iter()
            .map(|&i| format!("wd {}", means[i].key.wd))
            .collect();
        let accs: Vec<String> = top.iter().map(|&i| acc(i)).collect();
        format!(
            "{} tie for best ({} {mean}best valid accuracy)",
            and_list(&names),
            and_list(&accs)
        )
    };
    let pending = if undecided {
        " (too few seeds finished to compare every arm)"
    } else {
        ""
    };
    format!("{name}: {head}{then}{pending}.")
}

/// The run against the article's claim, with decoupled decay (fastai's), or why it cannot be
/// held against it.
fn article_line(
    info: &RunInfo,
    arms: &[ArmRuns<'_>],
    means: &[ArmSummary],
    tie: (bool, AccuracyTie),
    decoupled: &str,
) -> String {
    let claim = "The article's claim (0.1 works best, 0.01 needs more epochs, 10 never fits)";
    let find = |wd: f64| {
        (0..arms.len()).find(|&i| arms[i].mode == DecayMode::Decoupled && arms[i].wd == wd)
    };
    let (Some(a), Some(b), Some(c)) = (
        find(ARTICLE_WDS[0]),
        find(ARTICLE_WDS[1]),
        find(ARTICLE_WDS[2]),
    ) else {
        return format!(
            "{claim} is about decoupled decay at wd 0.01, 0.1 and 10: this run did not train all three."
        );
    };
    let finite = |i: usize| means[i].best_valid_accuracy.is_finite();
    if !(finite(a) && finite(b)) {
        return format!(
            "{claim}: wd 0.01 or 0.1 has no finite validation accuracy, so it cannot be checked."
        );
    }
    let (acc_a, acc_b, acc_c) = (
        means[a].best_valid_accuracy,
        means[b].best_valid_accuracy,
        means[c].best_valid_accuracy,
    );
    let best = if tied(&arms[a], &arms[b], (&means[a], &means[b]), tie) == Some(true) {
        "0.1 and 0.01 tie, so 0.01 needed no more epochs here".to_string()
    } else if acc_b > acc_a {
        "0.1 beats 0.01, as the article says".to_string()
    } else {
        "0.01 beats 0.1, unlike the article".to_string()
    };
    let best = if finite(c) && acc_c > acc_a.max(acc_b) {
        format!("{best}, but 10 beats both")
    } else {
        best
    };
    let in_mode: Vec<&ArmSummary> = [a, b, c].iter().map(|&i| &means[i]).collect();
    let fit = match did_not_fit(info, &means[c], best_of(&in_mode)) {
        Some(true) => "10 did not fit, as the article says",
        Some(false) => "10 fitted, unlike the article",
        None if matches!(means[c].status, ArmStatus::Diverged { .. }) => {
            "10 diverged, so it never fitted"
        }
        None => "whether 10 fitted cannot be judged",
    };
    format!(
        "{claim}, with {decoupled} in {} epoch{}: {best}; {fit}.",
        info.epochs,
        plural(info.epochs)
    )
}
