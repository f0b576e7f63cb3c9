//! Arms whose numbers are partial: diverged, failed, interrupted or still running.

use super::epochs_recorded;
use crate::report::format::{inline, plural};
use crate::report::records::{ArmStatus, ArmSummary, EpochRecord, RunInfo};

pub(super) fn status_sentences(
    info: &RunInfo,
    arms: &[ArmSummary],
    records: &[EpochRecord],
) -> Vec<String> {
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
