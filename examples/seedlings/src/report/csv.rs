//! `metrics.csv` on disk: written atomically and read back (to resume a run), in the format of
//! [`crate::records::csv`].

use std::path::Path;

use super::{ReportError, Result};
use crate::records::EpochRecord;
pub use crate::records::csv::{
    LEGACY_COLUMNS, METRICS_HEADER, format_f64, metrics_csv_bytes, parse_metrics_csv,
};
use crate::run::atomic::write_atomic;

/// Writes `records` to `path` as `metrics.csv`, atomically (see [`write_atomic`]).
pub fn write_metrics_csv(path: &Path, records: &[EpochRecord]) -> Result<()> {
    let bytes = metrics_csv_bytes(records).map_err(|message| ReportError::Format {
        path: path.to_path_buf(),
        message,
    })?;
    write_atomic(path, &bytes).map_err(|source| ReportError::write(path, source))
}

/// Reads a `metrics.csv` written by [`write_metrics_csv`] (used to resume a run).
///
/// The header must be exactly [`METRICS_HEADER`], or its first [`LEGACY_COLUMNS`] columns (a
/// file from before the equilibrium columns); errors name the file and the line.
pub fn read_metrics_csv(path: &Path) -> Result<Vec<EpochRecord>> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::read(path, source))?;
    parse_metrics_csv(&bytes).map_err(|message| ReportError::Format {
        path: path.to_path_buf(),
        message,
    })
}
