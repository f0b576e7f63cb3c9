//! The seedlings experiment: a CNN trained on plant-seedling photos at several weight decays.
//!
//! Data flows one way: files → [`data`] (decoded once) → batches → [`train`] (model from
//! [`model`], optimizer from `burn-weight-decay`, schedule from [`schedule`]) → [`records`]
//! → [`report`]. `train` and `report` both depend on `records` and never on each other.
//! [`sweep`] runs the arms; [`checkpoint`] saves what `evaluate` needs; [`run`] holds the run
//! folder's paths, its lock and the crash-safe writes; an arm's resumable position is
//! [`train::progress`]. The sweep's settings are [`settings`]: typed where they enter (the
//! flags, `state/sweep.json`), and the one place a sweep setting is declared. A run's identity
//! is a typed [`records::RunKey`]; its name is derived from it for people and never parsed
//! back.

pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod devices;
pub mod exact;
pub mod interrupt;
pub mod model;
pub mod records;
pub mod report;
pub mod run;
pub mod schedule;
pub mod serve;
pub mod settings;
pub mod sweep;
pub mod train;
