//! `report.md`: the human-readable account of a run.
//!
//! Every sentence under "What the numbers say" is computed from the numbers, with the rule that
//! produced it stated next to it; nothing is a canned conclusion. The rules' thresholds are the
//! public constants of this module.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::records::{ArmStatus, ArmSummary, EpochRecord, RunInfo};

/// Two best validation accuracies at most this many percentage points apart are called
/// "about equal".
pub const ABOUT_EQUAL_PP: f64 = 1.0;

/// An arm "did not fit" when its final train loss exceeds this multiple of the final train loss
/// of the best arm (highest best valid accuracy) of its mode…
pub const NO_FIT_LOSS_RATIO: f64 = 2.0;

/// …or exceeds this fraction of `ln(number of classes)`, the cross-entropy of guessing uniformly
/// at random.
pub const CHANCE_FRACTION: f64 = 0.9;

/// An arm reached rotational equilibrium when its equilibrium progress `Σ_t s_t·λ` over the
/// steps it ran (steps run ÷ the `1/(η·λ)` steps equilibrium needs) is at least this.
pub const EQUILIBRIUM_REACHED: f64 = 1.0;

/// An epoch's measured conv-weight angle per step (or norm) agrees with the equilibrium's
/// prediction when it is within this factor of it, either way. Only an arm that reached
/// equilibrium ([`EQUILIBRIUM_REACHED`]) tests the prediction.
pub const PREDICTION_AGREES_WITHIN: f64 = 2.0;

/// Arms short of equilibrium whose mean measured angles per step are at most this fraction
/// apart (largest ÷ smallest − 1) turned "by the same angle": the same effective learning rate.
pub const SAME_ANGLE_WITHIN: f64 = 0.1;

/// How many skipped files the report names.
const SKIPPED_SHOWN: usize = 5;

/// The text of `report.md` for a run with these settings, arm summaries and epoch records.
///
/// The records give the per-arm epoch counts; the charts it links (`loss.png`, `accuracy.png`,
/// `weight_norm.png`, `equilibrium.png`) are written next to it by
/// [`write_plots`](super::write_plots).
pub fn render_report(info: &RunInfo, arms: &[ArmSummary], records: &[EpochRecord]) -> String {
    let mut md = String::new();
    let title = if info.name.is_empty() {
        "seedlings"
    } else {
        &info.name
    };
    let _ = writeln!(md, "# Weight decay sweep: {}\n", inline(title));
    if info.synthetic {
        md.push_str(
            "> **⚠ These numbers come from the built-in SYNTHETIC images, not real photos.** \
             They show that the program works end to end; they say nothing about how weight \
             decay behaves on plant seedlings.\n\n",
        );
    }
    let _ = writeln!(
        md,
        "{} arm{}, up to {} epoch{} each. Started {}, ran for {}.\n",
        arms.len(),
        plural(arms.len()),
        info.epochs,
        plural(info.epochs),
        or_dash(&info.started),
        duration(info.seconds)
    );

    data_section(&mut md, info);
    settings_section(&mut md, info);
    results_section(&mut md, info, arms, records);

    md.push_str("## What the numbers say\n\n");
    for sentence in findings(info, arms, records) {
        let _ = writeln!(md, "- {sentence}");
    }
    md.push('\n');

    md.push_str("## Charts\n\n");
    md.push_str("![Training loss (solid) and validation loss (dashed) per epoch](loss.png)\n\n");
    md.push_str("![Validation accuracy per epoch](accuracy.png)\n\n");
    md.push_str("![Weight norm per epoch](weight_norm.png)\n\n");
    md.push_str(
        "![Angle per step of the conv weights, measured (solid) and as rotational equilibrium \
         predicts (dashed)](equilibrium.png)\n\n",
    );
    md.push_str(
        "Each arm has the same colour on every chart. Non-finite values are left out (the \
         legend counts them); on the equilibrium chart so are epochs without a measurement or \
         a prediction. Vector versions: [loss.svg](loss.svg), [accuracy.svg](accuracy.svg), \
         [weight_norm.svg](weight_norm.svg), [equilibrium.svg](equilibrium.svg).\n\n",
    );

    how_to_read(&mut md);
    files_section(&mut md, arms);
    md
}

fn data_section(md: &mut String, info: &RunInfo) {
    md.push_str("## Data\n\n");
    let _ = writeln!(md, "- Source: {}", or_dash(&inline(&info.data)));
    let _ = writeln!(
        md,
        "- Images: {} for training, {} for validation",
        info.train_images, info.valid_images
    );
    let names: Vec<String> = info.classes.iter().map(|c| inline(c)).collect();
    let _ = writeln!(
        md,
        "- Classes ({}): {}",
        info.classes.len(),
        or_dash(&names.join(", "))
    );
    let skipped = &info.skipped_files;
    if skipped.is_empty() {
        md.push_str("- Skipped files: none\n");
    } else {
        let shown: Vec<String> = skipped
            .iter()
            .take(SKIPPED_SHOWN)
            .map(|(path, reason)| format!("{} ({})", code(path), inline(reason)))
            .collect();
        let more = if skipped.len() > SKIPPED_SHOWN {
            format!(", and {} more", skipped.len() - SKIPPED_SHOWN)
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "- Skipped files: {}, not used: {}{more}",
            skipped.len(),
            shown.join(", ")
        );
    }
    md.push('\n');
}

fn settings_section(md: &mut String, info: &RunInfo) {
    md.push_str("## Settings\n\n| setting | value |\n|---|---|\n");
    let rows = [
        ("backend", or_dash(&cell(&info.backend))),
        ("optimizer", or_dash(&cell(&info.optimizer))),
        (
            "conv blocks",
            or_dash(&cell(&match info.block.as_str() {
                "fused" => {
                    "fused (burn-fused-conv's flex op; stock layers on other backends)".to_string()
                }
                "stock" => "stock (Burn's Conv2d, BatchNorm, ReLU, MaxPool2d)".to_string(),
                other => other.to_string(),
            })),
        ),
        ("learning-rate schedule", or_dash(&cell(&info.schedule))),
        ("peak learning rate", info.lr.to_string()),
        ("epochs", info.epochs.to_string()),
        ("image size", format!("{0}×{0} px", info.image_size)),
        ("batch size", info.batch_size.to_string()),
        ("seed", info.seed.to_string()),
        (
            "decay on normalization layers and biases",
            if info.decay_norm_and_bias {
                "yes"
            } else {
                "no"
            }
            .to_string(),
        ),
        ("command", cell(&code(&info.command))),
    ];
    for (k, v) in rows {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    md.push('\n');
}

fn results_section(md: &mut String, info: &RunInfo, arms: &[ArmSummary], records: &[EpochRecord]) {
    md.push_str("## Results\n\n");
    if arms.is_empty() {
        md.push_str("No arm has results yet.\n\n");
        return;
    }
    md.push_str(
        "| arm | wd | mode | status | best valid acc (epoch) | final train loss | final valid loss \
         | final valid acc | train–valid gap | decay shrink Π(1−s_t·λ) | weight norm \
         | equilibrium progress Σs_t·λ |\n",
    );
    md.push_str("|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for a in arms {
        let best = if a.best_valid_accuracy.is_finite() {
            format!("{} ({})", pct(a.best_valid_accuracy), a.best_epoch)
        } else {
            "—".into()
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&a.arm),
            a.wd,
            cell(&a.mode),
            cell(&status_cell(
                &a.status,
                epochs_recorded(records, &a.arm),
                info.epochs
            )),
            best,
            num(a.final_train_loss),
            num(a.final_valid_loss),
            pct(a.final_valid_accuracy),
            num(a.train_valid_gap),
            shrink(a.decay_shrink),
            num(a.final_weight_norm),
            progress(a.equilibrium_progress),
        );
    }
    md.push_str(
        "\n*Best valid acc* is the highest validation accuracy of any epoch, with that epoch in \
         brackets; the *final* columns are the last recorded epoch. See *How to read this* \
         below.\n\n",
    );
}

fn how_to_read(md: &mut String) {
    md.push_str("## How to read this\n\n");
    md.push_str(
        "**Decay shrink** Π(1−s_t·λ) is the factor that weight decay alone would have multiplied \
         the weights by over the whole run: the product, over every optimizer step t, of \
         (1 − s_t·λ), where λ is the arm's weight decay and s_t the step's decay scale (the \
         learning rate at that step unless the settings say otherwise). It is what would be left \
         of a weight that never received a gradient. 1 means decay did nothing; 1e-3 means decay \
         alone would have shrunk every weight a thousandfold, so the gradient had to keep \
         rebuilding them; 0 means some step had s_t·λ ≥ 1, where decay alone would wipe the \
         weights out (or flip their sign) in one step. For *coupled* (L2) decay the term λ·w is \
         added to the gradient and passes through the optimizer, so with an adaptive optimizer \
         such as Adam the real shrink differs: there the column measures how strong the decay \
         is, not the exact shrink. The **train–valid gap** is final valid loss − final train \
         loss: how much worse the model does on images it did not train on. A large gap is \
         the usual sign of overfitting; a small gap is only good news when the train loss is \
         low too. The **weight norm** is the L2 norm of the weights at the last recorded \
         epoch.\n\n",
    );
    md.push_str(
        "**Equilibrium progress** Σs_t·λ is the sum over every optimizer step of the fraction \
         f_t = s_t·λ that decay removes from a weight (lr_t·λ for coupled decay). In Kosson et \
         al. 2024 (\"Rotational Equilibrium\"), a weight tensor's norm settles where the growth \
         from its updates balances the shrink from decay, after about 1/f steps; from then on \
         each step turns it by the same expected angle, √(2·η·λ·(1−β1)/(1+β1)) for AdamW, whatever its \
         gradient. The sum is therefore the steps run ÷ the steps equilibrium needs: below 1 \
         the run ended before its weights got there, and decay had not yet set their scale; \
         several times 1, they spent most of the run there. The **equilibrium chart** shows, per \
         epoch, the angle a step turned the conv weights by (averaged over the conv layers and \
         a few steps spread over the epoch) next to that prediction at the same steps. The \
         conv weights feed batch norm, so their scale does not change the network's output: \
         the angle is their effective learning rate. Adam with coupled L2 has no such \
         prediction (its decay is divided by √v), so those arms have no dashed line.\n\n",
    );
}

fn files_section(md: &mut String, arms: &[ArmSummary]) {
    md.push_str("## Files\n\n");
    md.push_str("- [metrics.csv](metrics.csv): every arm's numbers at every epoch\n");
    md.push_str("- [summary.json](summary.json): the settings and the table above, for programs\n");
    for a in arms {
        let link = |p: &Option<String>| {
            p.as_deref().map_or("none".to_string(), |p| {
                format!("[{}]({})", inline(p), p.replace(' ', "%20"))
            })
        };
        if a.best_checkpoint.is_some() || a.final_checkpoint.is_some() {
            let _ = writeln!(
                md,
                "- {}: best checkpoint {}, final checkpoint {}",
                inline(&a.arm),
                link(&a.best_checkpoint),
                link(&a.final_checkpoint)
            );
        }
    }
}

/// The sentences under "What the numbers say", each derived from the numbers, with the rule
/// used stated in the sentence.
pub fn findings(info: &RunInfo, arms: &[ArmSummary], records: &[EpochRecord]) -> Vec<String> {
    let mut out = Vec::new();
    if arms.is_empty() {
        out.push("There are no arm results yet, so there is nothing to compare.".into());
        return out;
    }
    if info.synthetic {
        out.push(
            "All of this describes the synthetic images; it is no evidence about real seedlings."
                .into(),
        );
    }
    if info.valid_images > 0 {
        out.push(format!(
            "With {} validation images, one image is {} percentage points of accuracy.",
            info.valid_images,
            num(100.0 / info.valid_images as f64)
        ));
    }
    let modes = modes(arms);
    for mode in &modes {
        out.push(best_in_mode(mode, arms));
    }
    out.extend(fit_sentences(info, arms, &modes));
    out.extend(equilibrium_sentences(info, arms, records));
    out.extend(gap_sentences(info, arms, &modes));
    out.extend(mode_comparison(arms));
    out.extend(status_sentences(info, arms, records));
    out
}

/// The modes, in order of first appearance.
fn modes(arms: &[ArmSummary]) -> Vec<String> {
    let mut modes: Vec<String> = Vec::new();
    for a in arms {
        if !modes.contains(&a.mode) {
            modes.push(a.mode.clone());
        }
    }
    modes
}

fn in_mode<'a>(arms: &'a [ArmSummary], mode: &str) -> Vec<&'a ArmSummary> {
    arms.iter().filter(|a| a.mode == mode).collect()
}

/// The arm of `mode` with the highest finite best valid accuracy (the first on a tie).
fn best_of<'a>(arms: &[&'a ArmSummary]) -> Option<&'a ArmSummary> {
    arms.iter()
        .filter(|a| a.best_valid_accuracy.is_finite())
        .fold(None, |best: Option<&ArmSummary>, a| match best {
            Some(b) if b.best_valid_accuracy >= a.best_valid_accuracy => Some(b),
            _ => Some(a),
        })
}

fn best_in_mode(mode: &str, arms: &[ArmSummary]) -> String {
    let all = in_mode(arms, mode);
    let mut ranked: Vec<&ArmSummary> = all
        .iter()
        .copied()
        .filter(|a| a.best_valid_accuracy.is_finite())
        .collect();
    ranked.sort_by(|a, b| b.best_valid_accuracy.total_cmp(&a.best_valid_accuracy));
    let m = capitalise(mode);
    match ranked.as_slice() {
        [] => format!(
            "{m}: no arm has a finite validation accuracy, so there is no best weight decay."
        ),
        [only] if all.len() == 1 => format!(
            "{m}: only wd={} ran, reaching {} best valid accuracy (epoch {}{}).",
            only.wd,
            pct(only.best_valid_accuracy),
            only.best_epoch,
            caveat(only)
        ),
        [only] => format!(
            "{m}: only wd={} has a finite validation accuracy ({}, epoch {}{}); the other {} cannot be ranked.",
            only.wd,
            pct(only.best_valid_accuracy),
            only.best_epoch,
            caveat(only),
            if all.len() == 2 { "arm" } else { "arms" }
        ),
        [first, second, rest @ ..] => {
            let diff = (first.best_valid_accuracy - second.best_valid_accuracy) * 100.0;
            let mut s = if about_equal(diff) {
                format!(
                    "{m}: by best valid accuracy, wd={} ({}, epoch {}{}) and wd={} ({}{}) are about equal: {} percentage points apart, within the {} pp this report treats as a tie.",
                    first.wd,
                    pct(first.best_valid_accuracy),
                    first.best_epoch,
                    caveat(first),
                    second.wd,
                    pct(second.best_valid_accuracy),
                    caveat(second),
                    pp(diff),
                    ABOUT_EQUAL_PP
                )
            } else {
                format!(
                    "{m}: the best weight decay by best valid accuracy was wd={} ({}, epoch {}{}), {} percentage points ahead of the runner-up wd={} ({}{}).",
                    first.wd,
                    pct(first.best_valid_accuracy),
                    first.best_epoch,
                    caveat(first),
                    pp(diff),
                    second.wd,
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
                        format!("wd={} {}{note}", a.wd, pct(a.best_valid_accuracy))
                    })
                    .collect();
                let _ = write!(s, " Then: {}.", others.join(", "));
            }
            s
        }
    }
}

/// Whether two accuracies `diff_pp` percentage points apart count as a tie. The difference is
/// rounded to the 0.1 pp the report prints, so the verdict agrees with the number shown (and
/// 0.82 − 0.81, which is 1.0000000000000009 pp in floating point, is a tie).
fn about_equal(diff_pp: f64) -> bool {
    (diff_pp.abs() * 10.0).round() / 10.0 <= ABOUT_EQUAL_PP
}

/// "; later diverged" and the like, for an arm whose numbers are partial; empty otherwise.
fn caveat(a: &ArmSummary) -> &'static str {
    match a.status {
        ArmStatus::Finished => "",
        ArmStatus::Diverged { .. } => "; later diverged",
        ArmStatus::Interrupted => "; interrupted, partial",
        ArmStatus::Running => "; still running, partial",
        ArmStatus::Failed { .. } => "; failed, partial",
    }
}

/// Whether two numbers are equal up to rounding noise.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The chance threshold `CHANCE_FRACTION·ln(n)` for `n ≥ 2` classes.
fn chance_threshold(info: &RunInfo) -> Option<f64> {
    let n = info.classes.len();
    (n >= 2).then(|| CHANCE_FRACTION * (n as f64).ln())
}

/// Whether `arm` did not fit, by the stated rule, compared with `best` of its mode. `None` when
/// its final train loss is not finite (nothing to judge).
fn did_not_fit(info: &RunInfo, arm: &ArmSummary, best: Option<&ArmSummary>) -> Option<bool> {
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

fn fit_sentences(info: &RunInfo, arms: &[ArmSummary], modes: &[String]) -> Vec<String> {
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
        let all = in_mode(arms, mode);
        let best = best_of(&all);
        let Some(largest) = all
            .iter()
            .copied()
            .fold(None, |m: Option<&ArmSummary>, a| match m {
                Some(m) if m.wd >= a.wd => Some(m),
                _ => Some(a),
            })
        else {
            continue;
        };
        let m = capitalise(mode);
        let who = if all.len() == 1 {
            format!("the only arm, wd={}", largest.wd)
        } else {
            format!("the largest decay, wd={}", largest.wd)
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
                    b.wd
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

/// The rule, then one sentence per arm: how far towards rotational equilibrium it got
/// ([`EQUILIBRIUM_REACHED`]) and whether its measured angles matched the prediction
/// ([`PREDICTION_AGREES_WITHIN`]).
pub fn equilibrium_sentences(
    info: &RunInfo,
    arms: &[ArmSummary],
    records: &[EpochRecord],
) -> Vec<String> {
    let mut out = vec![format!(
        "Equilibrium rule used here (Kosson et al. 2024, rotational equilibrium; chart: equilibrium.png): decay balances a weight's growth after about 1/(η·λ) steps, so an arm reached equilibrium when Σ_t s_t·λ over its steps, the steps run ÷ the steps needed, is at least {EQUILIBRIUM_REACHED}; for an arm that reached it, the prediction (for AdamW an angle of √(2·η·λ·(1−β1)/(1+β1)) per step and a norm of √(η·C/(2·λ)) over C weights) held in an epoch when the conv weights' measured value is within a factor {PREDICTION_AGREES_WITHIN} of it."
    )];
    let adam = info.optimizer.to_ascii_lowercase().contains("adam");
    for a in arms {
        out.push(equilibrium_sentence(info, a, records, adam));
    }
    for mode in modes(arms) {
        let known: Vec<&ArmSummary> = in_mode(arms, &mode)
            .into_iter()
            .filter(|a| a.equilibrium_progress.is_finite() && a.wd > 0.0 && a.mode != "none")
            .collect();
        if known.len() < 2 {
            continue;
        }
        let list = |reached: bool| -> Vec<String> {
            known
                .iter()
                .filter(|a| (a.equilibrium_progress >= EQUILIBRIUM_REACHED) == reached)
                .map(|a| format!("wd={}", a.wd))
                .collect()
        };
        let (yes, no) = (list(true), list(false));
        let m = capitalise(&mode);
        let mut sentence = match (yes.is_empty(), no.is_empty()) {
            (true, _) => format!(
                "{m}, by the equilibrium rule: no arm reached equilibrium ({}).",
                and_list(&no)
            ),
            (_, true) => format!(
                "{m}, by the equilibrium rule: every arm reached equilibrium ({}).",
                and_list(&yes)
            ),
            _ => format!(
                "{m}, by the equilibrium rule: {} reached equilibrium, {} did not.",
                and_list(&yes),
                and_list(&no)
            ),
        };
        if let Some(angles) = same_angle_sentence(&known, records) {
            sentence.push(' ');
            sentence.push_str(&angles);
        }
        out.push(sentence);
    }
    out
}

/// For arms of one mode: each one's mean measured conv angle per step over the epochs measured
/// in all of them, and whether those short of equilibrium turned by the same angle (within
/// [`SAME_ANGLE_WITHIN`]), i.e. had the same effective learning rate whatever their decay.
fn same_angle_sentence(arms: &[&ArmSummary], records: &[EpochRecord]) -> Option<String> {
    let angle = |arm: &str, epoch: usize| {
        records
            .iter()
            .find(|r| r.arm == arm && r.epoch == epoch && r.is_ok())
            .and_then(|r| r.conv_angle)
            .filter(|v| v.is_finite())
    };
    let epochs: Vec<usize> = records
        .iter()
        .filter(|r| r.arm == arms[0].arm)
        .map(|r| r.epoch)
        .filter(|&e| arms.iter().all(|a| angle(&a.arm, e).is_some()))
        .collect();
    if epochs.is_empty() {
        return None;
    }
    let mean = |a: &ArmSummary| {
        epochs.iter().filter_map(|&e| angle(&a.arm, e)).sum::<f64>() / epochs.len() as f64
    };
    let means: Vec<String> = arms
        .iter()
        .map(|a| format!("wd={} {}", a.wd, angle_rad(mean(a))))
        .collect();
    let over = if epochs.len() == 1 {
        format!("epoch {}", epochs[0])
    } else {
        format!("the {} epochs measured in every arm", epochs.len())
    };
    let listed = format!("mean over {over}: {} rad", means.join(", "));
    let short: Vec<&&ArmSummary> = arms
        .iter()
        .filter(|a| a.equilibrium_progress < EQUILIBRIUM_REACHED)
        .collect();
    if short.len() < 2 {
        return Some(format!("Angle per step of the conv weights ({listed})."));
    }
    let values: Vec<f64> = short.iter().map(|a| mean(a)).collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    let apart = hi / lo - 1.0;
    let names: Vec<String> = short.iter().map(|a| format!("wd={}", a.wd)).collect();
    Some(if apart <= SAME_ANGLE_WITHIN {
        format!(
            "{}, short of equilibrium, turned their conv weights by the same angle per step to within {:.0}% ({listed}): their decay had not changed their effective learning rate.",
            and_list(&names),
            100.0 * apart
        )
    } else {
        format!(
            "{}, short of equilibrium, turned their conv weights by angles per step {:.0}% apart ({listed}).",
            and_list(&names),
            100.0 * apart
        )
    })
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn equilibrium_sentence(
    info: &RunInfo,
    a: &ArmSummary,
    records: &[EpochRecord],
    adam: bool,
) -> String {
    let who = format!("wd={} {}", a.wd, a.mode);
    if a.mode == "none" || a.wd == 0.0 {
        return format!("{who}: no decay, so there is no equilibrium to reach.");
    }
    let needed = if info.lr.is_finite() && info.lr > 0.0 {
        format!(
            " (1/(η·λ) ≈ {} steps at the peak rate η = {})",
            steps(1.0 / (info.lr * a.wd)),
            info.lr
        )
    } else {
        String::new()
    };
    let p = a.equilibrium_progress;
    let reached = p.is_finite() && p >= EQUILIBRIUM_REACHED;
    let mut clauses = vec![if !p.is_finite() {
        format!(
            "how many of the steps equilibrium needs were run is not known ({})",
            a.status
        )
    } else if reached {
        format!(
            "{}× the steps equilibrium needs were run{needed}, so its weights reached equilibrium, where decay sets their norm and how far each step turns them",
            ratio(p)
        )
    } else {
        format!(
            "{} of the steps equilibrium needs were run{needed}, so its weights never reached equilibrium: decay had not yet set their norm",
            ratio(p)
        )
    }];
    let mut own: Vec<&EpochRecord> = records
        .iter()
        .filter(|r| r.arm == a.arm && r.is_ok() && r.conv_angle.is_some_and(f64::is_finite))
        .collect();
    own.sort_by_key(|r| r.epoch);
    if own.is_empty() {
        clauses.push("the angle per step was not measured in this run".into());
        return format!("{who}: {}.", clauses.join("; "));
    }
    let norms: Vec<f64> = own
        .iter()
        .filter_map(|r| {
            let (n, p) = (r.conv_norm?, r.conv_norm_predicted?);
            (n.is_finite() && p.is_finite() && p > 0.0).then(|| n / p)
        })
        .collect();
    if let Some(spread) = Spread::of(&norms) {
        let side = if spread.all_within() {
            "at it".to_string()
        } else if spread.hi < 1.0 / PREDICTION_AGREES_WITHIN {
            "below it, still growing towards it".to_string()
        } else if spread.lo > PREDICTION_AGREES_WITHIN {
            "above it, still shrinking towards it".to_string()
        } else {
            format!(
                "within a factor {PREDICTION_AGREES_WITHIN} of it in {} of {}",
                spread.within, spread.n
            )
        };
        clauses.push(format!(
            "the conv weights' norm was {}: {side}",
            spread.describe("the predicted equilibrium norm")
        ));
    }
    let angles: Vec<f64> = own.iter().filter_map(|r| r.angle_ratio()).collect();
    let Some(spread) = Spread::of(&angles) else {
        let first = own.first().and_then(|r| r.conv_angle).unwrap_or(f64::NAN);
        let last = own.last().and_then(|r| r.conv_angle).unwrap_or(f64::NAN);
        let span = format!(
            "measured angle per step {} → {} rad",
            angle_rad(first),
            angle_rad(last)
        );
        clauses.push(if a.mode == "coupled" && adam {
            format!(
                "the paper gives no equilibrium for Adam + L2 (coupled decay is divided by Adam's √v), so there is no predicted angle to compare ({span})"
            )
        } else {
            format!("no predicted angle was recorded to compare ({span})")
        });
        return format!("{who}: {}.", clauses.join("; "));
    };
    clauses.push(if reached {
        let verdict = if spread.all_within() {
            "so the prediction held".to_string()
        } else if spread.within == 0 {
            format!(
                "outside a factor {PREDICTION_AGREES_WITHIN} in every one, so the prediction did not hold here"
            )
        } else {
            format!(
                "within a factor {PREDICTION_AGREES_WITHIN} in {} of {}",
                spread.within, spread.n
            )
        };
        format!(
            "its measured angle per step was {}, {verdict}",
            spread.describe("the predicted one")
        )
    } else {
        format!(
            "its measured angle per step was {}, which is no test of the prediction for weights not at equilibrium",
            spread.describe("the equilibrium value")
        )
    });
    format!("{who}: {}.", clauses.join("; "))
}

/// Per-epoch ratios measured ÷ predicted: their range, median, and how many lie within
/// [`PREDICTION_AGREES_WITHIN`].
struct Spread {
    lo: f64,
    hi: f64,
    median: f64,
    n: usize,
    within: usize,
}

impl Spread {
    fn of(ratios: &[f64]) -> Option<Self> {
        if ratios.is_empty() {
            return None;
        }
        let mut sorted = ratios.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if !n.is_multiple_of(2) {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let f = PREDICTION_AGREES_WITHIN;
        Some(Self {
            lo: sorted[0],
            hi: sorted[n - 1],
            median,
            n,
            within: sorted.iter().filter(|r| (1.0 / f..=f).contains(*r)).count(),
        })
    }

    fn all_within(&self) -> bool {
        self.within == self.n
    }

    /// `0.3× WHAT in its one measured epoch`, `0.1× WHAT in all its 8 measured epochs`,
    /// `0.25–2× WHAT over its 8 measured epochs (median 1.1)`.
    fn describe(&self, what: &str) -> String {
        if self.n == 1 {
            format!("{}× {what} in its one measured epoch", ratio(self.lo))
        } else if ratio(self.lo) == ratio(self.hi) {
            format!(
                "{}× {what} in all its {} measured epochs",
                ratio(self.lo),
                self.n
            )
        } else {
            format!(
                "{}–{}× {what} over its {} measured epochs (median {})",
                ratio(self.lo),
                ratio(self.hi),
                self.n,
                ratio(self.median)
            )
        }
    }
}

fn gap_sentences(info: &RunInfo, arms: &[ArmSummary], modes: &[String]) -> Vec<String> {
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
                lo.wd,
                lo.mode,
                num(lo.train_valid_gap),
                hi.wd,
                hi.mode,
                num(hi.train_valid_gap)
            );
            let best_of_mode = best_of(&in_mode(arms, &lo.mode));
            if did_not_fit(info, lo, best_of_mode) == Some(true) {
                s.push_str(&format!(
                    " wd={} {} did not fit by the rule above, so its small gap reflects underfitting, not better generalisation.",
                    lo.wd, lo.mode
                ));
            }
            out.push(s);
        }
        (Some(only), _, _) => out.push(format!(
            "Train–valid gap (final valid loss − final train loss): {} for wd={} {}, the only arm with finite final losses.",
            num(only.train_valid_gap),
            only.wd,
            only.mode
        )),
        _ => {
            out.push("No arm has finite final losses, so there is no train–valid gap to compare.".into())
        }
    }
    for mode in modes {
        let mut by_wd: Vec<&ArmSummary> = in_mode(arms, mode)
            .into_iter()
            .filter(|a| a.train_valid_gap.is_finite())
            .collect();
        if by_wd.len() < 2 {
            continue;
        }
        by_wd.sort_by(|a, b| a.wd.total_cmp(&b.wd));
        let gaps: Vec<f64> = by_wd.iter().map(|a| a.train_valid_gap).collect();
        let trail: Vec<String> = by_wd
            .iter()
            .map(|a| format!("{} at wd={}", num(a.train_valid_gap), a.wd))
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

fn mode_comparison(arms: &[ArmSummary]) -> Vec<String> {
    let has = |m: &str| arms.iter().any(|a| a.mode == m);
    if !(has("coupled") && has("decoupled")) {
        return Vec::new();
    }
    // Keyed by the bits of wd, in wd order of first appearance is not needed: BTreeMap on the
    // ordered bit pattern of non-negative floats sorts them by value.
    let mut by_wd: BTreeMap<u64, (Option<&ArmSummary>, Option<&ArmSummary>)> = BTreeMap::new();
    for a in arms.iter().filter(|a| a.wd >= 0.0) {
        let slot = by_wd.entry(a.wd.to_bits()).or_default();
        match a.mode.as_str() {
            "coupled" if slot.0.is_none() => slot.0 = Some(a),
            "decoupled" if slot.1.is_none() => slot.1 = Some(a),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (c, d) in by_wd.values().filter_map(|(c, d)| Some(((*c)?, (*d)?))) {
        let wd = c.wd;
        if !(c.best_valid_accuracy.is_finite() && d.best_valid_accuracy.is_finite()) {
            out.push(format!(
                "At wd={wd}, coupled and decoupled cannot be compared: {} has no finite validation accuracy.",
                if c.best_valid_accuracy.is_finite() { "decoupled" } else { "coupled" }
            ));
            continue;
        }
        let diff = (d.best_valid_accuracy - c.best_valid_accuracy) * 100.0;
        let verdict = if about_equal(diff) {
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
        out.push(
            "No weight decay ran in both modes, so coupled and decoupled cannot be compared at the same wd."
                .into(),
        );
    }
    out
}

fn status_sentences(info: &RunInfo, arms: &[ArmSummary], records: &[EpochRecord]) -> Vec<String> {
    let mut out = Vec::new();
    for a in arms {
        let n = epochs_recorded(records, &a.arm);
        match &a.status {
            ArmStatus::Finished => {}
            ArmStatus::Diverged { epoch, step } => out.push(format!(
                "wd={} {} diverged at epoch {epoch}, step {step} (a loss or weight became non-finite); its numbers come from the {n} epoch{} it recorded.",
                a.wd,
                a.mode,
                plural(n)
            )),
            ArmStatus::Interrupted => out.push(format!(
                "wd={} {} was interrupted after {n} of {} epochs; its numbers are partial.",
                a.wd, a.mode, info.epochs
            )),
            ArmStatus::Running => out.push(format!(
                "wd={} {} is still running ({n} of {} epochs so far); its numbers are partial.",
                a.wd, a.mode, info.epochs
            )),
            ArmStatus::Failed { reason } => out.push(format!(
                "wd={} {} failed ({}) after {n} epoch{}; its numbers are partial.",
                a.wd,
                a.mode,
                inline(reason),
                plural(n)
            )),
        }
    }
    if out.is_empty() {
        out.push("No arm diverged, failed or was interrupted.".into());
    }
    out
}

fn epochs_recorded(records: &[EpochRecord], arm: &str) -> usize {
    records.iter().filter(|r| r.arm == arm && r.is_ok()).count()
}

fn status_cell(status: &ArmStatus, recorded: usize, epochs: usize) -> String {
    match status {
        ArmStatus::Finished => "finished".into(),
        ArmStatus::Diverged { epoch, step } => format!("**diverged** (epoch {epoch}, step {step})"),
        ArmStatus::Interrupted => format!("interrupted ({recorded}/{epochs} epochs)"),
        ArmStatus::Running => format!("running ({recorded}/{epochs} epochs)"),
        ArmStatus::Failed { reason } => format!("**failed**: {}", inline(reason)),
    }
}

/// A fraction as a percentage with one decimal, `—` when not finite.
fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "—".into()
    }
}

/// Percentage points, one decimal, or two below 0.1.
fn pp(v: f64) -> String {
    if v.abs() < 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// About three significant digits; scientific outside [1e-3, 1e4); `NaN`/`inf` as such.
fn num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.2e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

/// Equilibrium progress: [`ratio`], `—` when unknown.
fn progress(v: f64) -> String {
    if v.is_finite() {
        ratio(v)
    } else {
        "—".into()
    }
}

/// An angle in radians, `1.23e-3` (small angles span decades, so always scientific).
fn angle_rad(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2e}")
    } else {
        format!("{v}")
    }
}

/// A ratio with two significant digits (`0.031`, `0.52`, `1.9`, `18`, `250`).
fn ratio(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a == 0.0 {
        "0".into()
    } else if a >= 10.0 {
        format!("{}", round_sig(v, 2))
    } else {
        let decimals = (1 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// A step count rounded to two significant digits, thousands grouped: `33 000`.
fn steps(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return format!("{v}");
    }
    let digits = round_sig(v, 2).round().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// The decay shrink in scientific notation (exact 0 and 1 written plainly).
fn shrink(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v == 0.0 || v == 1.0 || !v.is_finite() {
        format!("{v}")
    } else {
        format!("{v:.2e}")
    }
}

fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "an unknown time".into();
    }
    let s = seconds.round() as u64;
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => "(no mode)".into(),
    }
}

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "—".into()
    } else {
        s.to_string()
    }
}

/// Text on one line, with Markdown's emphasis and link characters neutralised.
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\n' | '\r' => out.push(' '),
            '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Text for a table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "\\|")
}

/// An inline code span that survives backticks in `s`.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.is_empty() {
        return String::new();
    }
    let mut fence = "`".to_string();
    while s.contains(&fence) {
        fence.push('`');
    }
    if s.contains('`') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_honest() {
        assert_eq!(num(0.41), "0.410");
        assert_eq!(num(2.4123), "2.41");
        assert_eq!(num(123.44), "123");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(num(2.5e-5), "2.50e-5");
        assert_eq!(pct(0.8421), "84.2%");
        assert_eq!(pct(f64::NAN), "—");
        assert_eq!(shrink(0.0), "0");
        assert_eq!(shrink(0.004537), "4.54e-3");
        assert_eq!(duration(75.2), "1 min 15 s");
        assert_eq!(duration(7322.0), "2 h 02 min");
        assert_eq!(steps(33_333.3), "33 000");
        assert_eq!(steps(3_333_333.0), "3 300 000");
        assert_eq!(steps(333.3), "330");
        assert_eq!(steps(3.3), "3");
        assert_eq!(ratio(0.0312), "0.031");
        assert_eq!(ratio(0.52), "0.52");
        assert_eq!(ratio(0.008), "0.008");
        assert_eq!(ratio(0.1), "0.1");
        assert_eq!(ratio(2.0), "2");
        assert_eq!(ratio(1.94), "1.9");
        assert_eq!(ratio(18.2), "18");
        assert_eq!(ratio(254.0), "250");
        assert_eq!(progress(f64::NAN), "—");
    }

    #[test]
    fn markdown_special_characters_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(code("run `x`"), "`` run `x` ``");
        assert_eq!(code("seedlings --wd 0.1"), "`seedlings --wd 0.1`");
        assert_eq!(inline("*bold* [x]"), "\\*bold\\* \\[x\\]");
    }
}
