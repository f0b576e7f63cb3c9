//! The run folder: where every file of an arm lives ([`paths`]), the crash-safe writes that
//! training, checkpoints and the report all go through ([`atomic`]), and the lock that keeps a
//! second process out of a folder being written ([`lock`]). This module depends on nothing
//! else of the crate; an arm's resumable position, which holds training state, is
//! [`train::progress`](crate::train::progress).
//!
//! The sweep's saved settings (`state/sweep.json`) stay in the binary's `cli/resume.rs`: only
//! the command line writes and reads them, so the library has no use for them.

pub mod atomic;
pub mod lock;
pub mod paths;

pub use atomic::{write_atomic, write_atomic_str};
pub use lock::{LockError, RunLock};
pub use paths::ArmPaths;
