//! metrics.csv, summary.json, report.md and plots of a sweep.
//!
//! Data flows one way into this module: the training loop hands it [`EpochRecord`]s,
//! [`ArmSummary`]s and a [`RunInfo`] (the types of [`crate::records`]); it depends on neither
//! Burn nor the training code. Every
//! file goes through [`write_atomic`], so a killed run never leaves a truncated file behind —
//! each output is either the previous complete version or the new one.
//!
//! [`write_run`] writes everything; the pieces are public for tests and partial updates. With
//! several seeds per arm the runs are grouped into arms and compared by [`seeds`], with the
//! statistics of [`stats`].

/// Moved to [`crate::run::atomic`]; still reachable here.
pub use crate::run::atomic;
pub mod csv;
pub mod findings;
mod format;
pub mod markdown;
pub mod plots;
pub mod seeds;
pub mod stats;
pub mod summary;

use std::io;
use std::path::{Path, PathBuf};

/// Moved to [`crate::records`] (what training writes and the report reads); still reachable
/// here.
pub use crate::records;
/// Moved to [`crate::records::metrics`]; still reachable here.
pub use crate::records::metrics;

pub use atomic::{write_atomic, write_atomic_str};
pub use csv::{METRICS_HEADER, read_metrics_csv, write_metrics_csv};
pub use findings::findings;
pub use markdown::render_report;
pub use metrics::{ClassMetrics, ClassOutOfRange, ConfusionMatrix};
pub use plots::{CHARTS, Chart, write_plots};
pub use records::{
    ArmStatus, ArmSummary, DivergedAt, EpochRecord, RunEnd, RunInfo, RunKey, arm_name, run_name,
};
pub use seeds::ReportPlan;
pub use summary::write_summary_json;

/// Why a report file could not be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing (or creating the folder of) a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file's content is malformed, or could not be produced (e.g. a chart failed to draw).
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ReportError {
    pub(crate) fn write(path: &Path, source: io::Error) -> Self {
        Self::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        Self::Read {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The report module's result type.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// The files [`write_run`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// `metrics.csv`.
    pub metrics_csv: PathBuf,
    /// `summary.json`.
    pub summary_json: PathBuf,
    /// `report.md`.
    pub report_md: PathBuf,
    /// The charts, PNG and SVG (see [`write_plots`]).
    pub plots: Vec<PathBuf>,
}

impl Written {
    /// All written files.
    pub fn all(&self) -> Vec<&Path> {
        [&self.metrics_csv, &self.summary_json, &self.report_md]
            .into_iter()
            .chain(&self.plots)
            .map(PathBuf::as_path)
            .collect()
    }
}

/// Writes the run folder's report files into `dir` (created if missing): `metrics.csv`,
/// `summary.json`, the charts and `report.md`, each atomically.
///
/// Safe to call after every epoch: each file is replaced whole. The CSV and JSON are written
/// first so that the raw numbers survive even if a chart fails to draw.
pub fn write_run(
    dir: &Path,
    info: &RunInfo,
    records: &[EpochRecord],
    arms: &[ArmSummary],
) -> Result<Written> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::write(dir, source))?;
    let metrics_csv = dir.join("metrics.csv");
    write_metrics_csv(&metrics_csv, records)?;
    let summary_json = dir.join("summary.json");
    // Decided once, here, and read by every file: seeded by the settings (`seeds` is set with
    // several) or by the runs' summaries.
    let plan = ReportPlan::of(info, arms);
    summary::write_planned_summary_json(&summary_json, plan, info, arms)?;
    let plots = write_plots(dir, records, plan.seeded)?;
    let report_md = dir.join("report.md");
    let report = markdown::planned_report(plan, info, arms, records);
    write_atomic_str(&report_md, &report)
        .map_err(|source| ReportError::write(&report_md, source))?;
    Ok(Written {
        metrics_csv,
        summary_json,
        report_md,
        plots,
    })
}
