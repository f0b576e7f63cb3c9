//! `summary.json`: the run's settings and one object per arm, for programs to read.
//!
//! ```json
//! {
//!   "run": { "name": …, "synthetic": false, "classes": […], … },
//!   "synthetic": false,
//!   "arms": [
//!     { "arm": "wd10-coupled", "wd": 10.0, "mode": "coupled", "status": "diverged",
//!       "diverged_at": { "epoch": 3, "step": 417 },
//!       "best_valid_accuracy": 0.41, "best_epoch": 2, …,
//!       "final_train_loss": null, …, "decay_shrink": 0.0,
//!       "best_checkpoint": "checkpoints/wd10-coupled/best", "final_checkpoint": null, … }
//!   ]
//! }
//! ```
//!
//! JSON has no NaN or infinity: such values (a diverged loss, a metric with no samples) are
//! written as `null`. A failed arm carries `"failure": "reason"`. Checkpoint paths are relative
//! to the run folder; `null` means none was written. The field list is [`ArmSummary`]'s and
//! [`RunInfo`]'s.

use std::path::Path;

use serde::Serialize;

use super::records::{ArmSummary, RunInfo};
use super::{ReportError, Result};
use crate::run::atomic::write_atomic;

#[derive(Serialize)]
struct SummaryFile<'a> {
    run: &'a RunInfo,
    synthetic: bool,
    arms: &'a [ArmSummary],
}

/// The text of `summary.json` (pretty-printed, ending in a newline).
pub fn summary_json(info: &RunInfo, arms: &[ArmSummary]) -> serde_json::Result<String> {
    let file = SummaryFile {
        run: info,
        synthetic: info.synthetic,
        arms,
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    Ok(text)
}

/// Writes `summary.json` to `path`, atomically.
pub fn write_summary_json(path: &Path, info: &RunInfo, arms: &[ArmSummary]) -> Result<()> {
    let text = summary_json(info, arms).map_err(|e| ReportError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes()).map_err(|source| ReportError::write(path, source))
}
