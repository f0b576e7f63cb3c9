//! The run folder and what lets a run resume: where every file of an arm lives ([`paths`]),
//! the arm's saved position with its typed end state ([`progress`]: loading, saving the
//! position with its model and optimizer state, removing state files no position names), and
//! the crash-safe writes that training, checkpoints and the report all go through ([`atomic`]),
//! and the lock that keeps a second process out of a folder being written ([`lock`]).
//!
//! The sweep's saved settings (`state/sweep.json`) stay in the binary's `cli/resume.rs`: only
//! the command line writes and reads them, so the library has no use for them.

pub mod atomic;
pub mod lock;
pub mod paths;
pub mod progress;

pub use atomic::{write_atomic, write_atomic_str};
pub use lock::{LockError, RunLock};
pub use paths::ArmPaths;
pub use progress::{ArmEnd, ArmProgress};
