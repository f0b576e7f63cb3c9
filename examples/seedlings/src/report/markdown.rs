//! `report.md`: the human-readable account of a run, section by section.
//!
//! This file lays the page out: the title and banner, the data and settings, the results
//! table, with several seeds per arm the seeds' statistics and paired comparisons, the coupled
//! vs decoupled section when both modes ran, the charts ([`CHARTS`]), how to read the numbers,
//! and the files. The sentences under "What the numbers say", the comparison section's content
//! and the thresholds of their rules are in [`findings`](mod@super::findings); the statistics
//! in [`seeds`](super::seeds) and [`stats`](super::stats); number formatting and Markdown
//! escaping in `format.rs`.

use std::fmt::Write as _;

use super::findings::{
    answer, epochs_recorded, planned_comparison_section, planned_findings, seed_list, title,
};
use super::format::{
    and_list, cell, code, difference, estimate, inline, num, or_dash, pct, plural, progress, shrink,
};
use super::plots::CHARTS;
use super::seeds::{Metric, ReportPlan, arms_of, within_mode};
use super::stats::Verdict;
use crate::records::{ArmStatus, ArmSummary, EpochRecord, RunInfo};

/// The findings and their thresholds, at the path where they were first published.
pub use super::findings::{
    ABOUT_EQUAL_PP, CHANCE_FRACTION, EQUILIBRIUM_REACHED, NO_FIT_LOSS_RATIO,
    PREDICTION_AGREES_WITHIN, SAME_ANGLE_WITHIN, equilibrium_sentences, findings,
};

/// How many skipped files the report names.
const SKIPPED_SHOWN: usize = 5;

/// The text of `report.md` for a run with these settings, arm summaries and epoch records.
///
/// The records give the per-arm epoch counts; the charts it links ([`CHARTS`]) are written next
/// to it by [`write_plots`](super::write_plots).
///
/// The report's [`ReportPlan::of`] these runs says whether they have several seeds per arm.
pub fn render_report(info: &RunInfo, arms: &[ArmSummary], records: &[EpochRecord]) -> String {
    planned_report(ReportPlan::of(info, arms), info, arms, records)
}

/// [`render_report`] under a plan decided by the caller, which the charts it links were drawn
/// under too.
pub(crate) fn planned_report(
    plan: ReportPlan,
    info: &RunInfo,
    arms: &[ArmSummary],
    records: &[EpochRecord],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", inline(&title(plan, info, arms)));
    if info.synthetic {
        md.push_str(
            "> **⚠ These numbers come from the built-in SYNTHETIC images, not real photos.** \
             They show that the program works end to end; they say nothing about how weight \
             decay behaves on plant seedlings.\n\n",
        );
    }
    let seeded = plan.seeded;
    let count = if seeded {
        let seeds = seed_list(info, &arms_of(arms)).len();
        // the sweep's plan when it says one (a report written while runs are still to start),
        // else the arms seen so far
        let (groups, total) = match info.planned_runs {
            0 => {
                let groups = arms_of(arms).len();
                (groups, groups * seeds)
            }
            planned => (planned / seeds.max(1), planned),
        };
        let runs = if arms.len() == total {
            format!(" = {total} runs")
        } else {
            format!(" ({} of {total} runs so far)", arms.len())
        };
        format!(
            "{groups} arm{} × {seeds} seed{}{runs}",
            plural(groups),
            plural(seeds)
        )
    } else {
        format!("{} arm{}", arms.len(), plural(arms.len()))
    };
    let size = format!(
        "{count}, up to {} epoch{} each.",
        info.epochs,
        plural(info.epochs)
    );
    md.push_str("## Answer\n\n");
    if arms.is_empty() {
        let _ = writeln!(md, "- No arm has results yet: {size}");
    } else {
        for line in answer(plan, info, arms, &size) {
            let _ = writeln!(md, "- {line}");
        }
    }
    if !info.name.is_empty() {
        let _ = writeln!(md, "\nRun folder {}.", code(&info.name));
    }
    md.push('\n');

    data_section(&mut md, info);
    settings_section(&mut md, plan, info, arms);
    results_section(&mut md, info, arms, records);
    if seeded {
        seeds_section(&mut md, info, arms);
    }
    comparison(&mut md, plan, info, arms);

    md.push_str("## What the numbers say\n\n");
    for sentence in planned_findings(plan, info, arms, records) {
        let _ = writeln!(md, "- {sentence}");
    }
    md.push('\n');

    charts_section(&mut md, seeded);
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
    if !info.data_warnings.is_empty() {
        let _ = writeln!(
            md,
            "- Warnings from reading the data ({}):",
            info.data_warnings.len()
        );
        for warning in &info.data_warnings {
            let _ = writeln!(md, "  - {}", inline(warning));
        }
    }
    md.push('\n');
}

fn settings_section(md: &mut String, plan: ReportPlan, info: &RunInfo, arms: &[ArmSummary]) {
    md.push_str("## Settings\n\n| setting | value |\n|---|---|\n");
    let seed = if plan.seeded {
        let seeds: Vec<String> = seed_list(info, &arms_of(arms))
            .iter()
            .map(u64::to_string)
            .collect();
        (
            "seeds",
            format!(
                "{} (--seed {} + k: initial weights, data order and augmentation of each run; the train/valid split from {} for every run)",
                seeds.join(", "),
                info.seed,
                info.seed
            ),
        )
    } else {
        ("seed", info.seed.to_string())
    };
    let rows = [
        ("backend", or_dash(&cell(&info.backend))),
        ("optimizer", or_dash(&cell(&info.optimizer))),
        (
            "conv blocks",
            or_dash(&cell(&match info.block.as_str() {
                "fused" => {
                    "fused (burn-fused-conv's flex op; stock layers on other backends)".to_string()
                }
                "winograd" => {
                    "winograd (burn-fused-conv's flex op, Winograd F(2×2, 3×3) products; \
                               stock layers on other backends)"
                        .to_string()
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
        seed,
        (
            "decay on normalization layers and biases",
            if info.decay_rank_le_1 { "yes" } else { "no" }.to_string(),
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
            a.key.wd,
            cell(a.key.mode.name()),
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

/// The seeds' statistics per arm and the paired comparisons within each mode.
fn seeds_section(md: &mut String, info: &RunInfo, runs: &[ArmSummary]) {
    let arms = arms_of(runs);
    let seeds: Vec<String> = seed_list(info, &arms).iter().map(u64::to_string).collect();
    md.push_str("## Seeds\n\n");
    let _ = writeln!(
        md,
        "Every arm ran with {} seed{}: {} (seed_k = --seed + k). A seed sets a run's initial \
         weights, data order and augmentation; every run is scored on the same validation \
         images. Per arm, over its finished runs: the mean ± the sample standard deviation \
         (n − 1), and in brackets the 95% confidence interval of the mean, mean ± t·sd/√n with \
         Student's t (two-sided, n − 1 degrees of freedom).\n",
        seeds.len(),
        plural(seeds.len()),
        and_list(&seeds)
    );
    md.push_str(
        "| arm | wd | mode | finished runs | final train loss | best valid acc | final valid acc \
         | final weight norm |\n|---|--:|---|--:|--:|--:|--:|--:|\n",
    );
    for a in &arms {
        let cells: Vec<String> = Metric::ALL
            .iter()
            .map(|&m| estimate(a.estimate(m), m.is_accuracy()))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} of {} | {} |",
            cell(&a.name),
            a.wd,
            cell(a.mode.name()),
            a.finished().len(),
            a.runs.len().max(seeds.len()),
            cells.join(" | ")
        );
    }
    let pairs = within_mode(&arms);
    if pairs.is_empty() {
        md.push('\n');
        return;
    }
    md.push_str(
        "\nPaired comparisons on best valid accuracy, within each mode: for arms A and B, the \
         difference A − B per seed over the seeds both finished, its mean and the 95% interval \
         mean ± t·sd/√n (n − 1 degrees of freedom); *different* when the interval excludes 0, \
         else *tie* (*undecided* below 2 seeds).\n\n\
         | A | B | seeds | A − B, 95% interval | verdict |\n|---|---|--:|--:|---|\n",
    );
    for c in &pairs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&c.a.name),
            cell(&c.b.name),
            c.seeds.len(),
            difference(c.result.map(|r| r.difference), true),
            c.result.map_or(Verdict::Undecided, |r| r.verdict).name()
        );
    }
    md.push('\n');
}

/// "Coupled vs decoupled", when both modes ran.
fn comparison(md: &mut String, plan: ReportPlan, info: &RunInfo, arms: &[ArmSummary]) {
    let Some(section) = planned_comparison_section(plan, info, arms) else {
        return;
    };
    md.push_str("## Coupled vs decoupled\n\n");
    let _ = writeln!(md, "{}\n", section.caption);
    if section.tables.is_empty() {
        md.push_str(
            "No weight decay ran in both modes, so there is nothing to set side by side.\n\n",
        );
    }
    for table in &section.tables {
        let _ = writeln!(md, "### wd = {}\n", table.wd);
        let _ = writeln!(
            md,
            "| | {c} (coupled) | {d} (decoupled) | {d} − {c} | verdict |\n|---|--:|--:|--:|---|",
            c = cell(&section.coupled),
            d = cell(&section.decoupled)
        );
        for row in &table.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                row.metric.label(),
                row.coupled,
                row.decoupled,
                row.difference,
                row.verdict
            );
        }
        md.push('\n');
        for sentence in &table.sentences {
            let _ = writeln!(md, "- {sentence}");
        }
        md.push('\n');
    }
}

fn charts_section(md: &mut String, seeded: bool) {
    md.push_str("## Charts\n\n");
    for chart in &CHARTS {
        let _ = writeln!(md, "![{}]({})\n", chart.alt, chart.png());
    }
    let vector: Vec<String> = CHARTS
        .iter()
        .map(|chart| format!("[{0}]({0})", chart.svg()))
        .collect();
    let _ = writeln!(
        md,
        "Each arm has the same colour on every chart. Non-finite values are left out (the \
         legend counts them); on the equilibrium chart so are epochs without a measurement or \
         a prediction. Vector versions: {}.\n",
        vector.join(", ")
    );
    if seeded {
        md.push_str(
            "With several seeds per arm, each line is the arm's mean at that epoch over the runs \
             that completed it (of their finite values), and the shaded band around a solid line \
             spans the lowest to the highest of those runs (min–max, not a confidence \
             interval).\n\n",
        );
    }
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

fn status_cell(status: &ArmStatus, recorded: usize, epochs: usize) -> String {
    match status {
        ArmStatus::Finished => "finished".into(),
        ArmStatus::Diverged { epoch, step } => format!("**diverged** (epoch {epoch}, step {step})"),
        ArmStatus::Interrupted => format!("interrupted ({recorded}/{epochs} epochs)"),
        ArmStatus::Running => format!("running ({recorded}/{epochs} epochs)"),
        ArmStatus::Failed { reason } => format!("**failed**: {}", inline(reason)),
    }
}
