//! The contract between training and the report: what the training loop hands on, one
//! [`EpochRecord`] per arm and epoch, one [`ArmSummary`] per arm and one [`RunInfo`] per run,
//! and the [`ConfusionMatrix`] an evaluation produces. `train` and `report` both import this
//! module; it imports neither.
//!
//! In `summary.json` every float that is not finite (a diverged loss, a metric with no samples)
//! is written as `null`, and `null` reads back as `NaN` (see [`nullable_f64`]).
//!
//! One type per file: [`EpochRecord`] (`epoch.rs`), [`ArmStatus`] and [`DivergedAt`]
//! (`status.rs`), [`ArmSummary`] and the [`RunEnd`] it is derived from (`arm.rs`), [`RunInfo`]
//! (`run_info.rs`) and the [`nullable_f64`] serde helpers (`nullable_f64.rs`), the confusion
//! matrix (`metrics.rs`); the names of arms and runs (a typed [`RunKey`], from which
//! [`arm_name`] and [`run_name`] derive them) in `names.rs`, with [`mode_name`], where a mode's
//! text in `metrics.csv` and `summary.json` becomes a `DecayMode` and back.

mod arm;
pub mod csv;
mod epoch;
pub mod metrics;
mod names;
pub mod nullable_f64;
mod run_info;
mod status;

pub use arm::{ArmSummary, RunEnd};
pub use epoch::EpochRecord;
pub use metrics::{ClassMetrics, ClassOutOfRange, ConfusionMatrix};
pub use names::{RunKey, arm_name, mode_name, run_name};
pub use run_info::RunInfo;
pub use status::{ArmStatus, DivergedAt};
