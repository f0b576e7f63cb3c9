//! Arms whose numbers are partial: diverged, failed, interrupted or still running (with several
//! seeds per arm, each run, named by its seed).

use super::epochs_recorded;
use crate::records::{ArmStatus, ArmSummary, EpochRecord, RunInfo};
use crate::report::format::{inline, plural};

pub(super) fn status_sentences(
    info: &RunInfo,
    arms: &[ArmSummary],
    records: &[EpochRecord],
) -> Vec<String> {
    let mut out = Vec::new();
    for a in arms {
        let n = epochs_recorded(records, &a.arm);
        let who = match a.key.seed {
            None => format!("wd={} {}", a.key.wd, a.key.mode),
            Some(seed) => format!("wd={} {} seed {seed}", a.key.wd, a.key.mode),
        };
        match &a.status {
            ArmStatus::Finished => {}
            ArmStatus::Diverged { epoch, step } => out.push(format!(
                "{who} diverged at epoch {epoch}, step {step} (a loss or weight became non-finite); its numbers come from the {n} epoch{} it recorded.",
                plural(n)
            )),
            ArmStatus::Interrupted => out.push(format!(
                "{who} was interrupted after {n} of {} epochs; its numbers are partial.",
                info.epochs
            )),
            ArmStatus::Running => out.push(format!(
                "{who} is still running ({n} of {} epochs so far); its numbers are partial.",
                info.epochs
            )),
            ArmStatus::Failed { reason } => out.push(format!(
                "{who} failed ({}) after {n} epoch{}; its numbers are partial.",
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
