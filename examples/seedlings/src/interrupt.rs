//! Stopping a sweep cleanly: Ctrl-C (SIGINT) and SIGTERM set a flag that the training loop
//! checks between two batches; the arm then saves a resumable state and the sweep ends with
//! exit code 130.
//!
//! A second Ctrl-C while the state is being written exits at once (the previous state on disk
//! stays complete, since every file is written atomically).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A request to stop, shared between the signal handler and the training loop.
///
/// ```
/// use seedlings::interrupt::Interrupt;
/// let stop = Interrupt::new();
/// assert!(!stop.is_requested());
/// stop.request();
/// assert!(stop.is_requested());
/// ```
#[derive(Debug, Default)]
pub struct Interrupt {
    requested: AtomicBool,
    after_steps: Option<usize>,
    steps: AtomicUsize,
}

impl Interrupt {
    /// A flag nobody has raised yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag that raises itself once `steps` optimizer steps have been taken through it: an
    /// interruption at an exact point, for tests of resuming.
    pub fn after_steps(steps: usize) -> Self {
        Self {
            after_steps: Some(steps),
            ..Self::default()
        }
    }

    /// Asks the training loop to stop before its next batch.
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Counts one optimizer step (called by the training loop).
    pub fn step_taken(&self) {
        let steps = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        if self.after_steps.is_some_and(|limit| steps >= limit) {
            self.request();
        }
    }

    /// Optimizer steps counted so far.
    pub fn steps(&self) -> usize {
        self.steps.load(Ordering::SeqCst)
    }

    /// Makes Ctrl-C (SIGINT) and SIGTERM request a stop; a second signal exits at once with
    /// code 130. Can be installed once per process.
    pub fn install_signal_handler(self: &Arc<Self>) -> Result<(), ctrlc::Error> {
        let this = Arc::clone(self);
        ctrlc::set_handler(move || {
            if this.is_requested() {
                eprintln!("\nseedlings: second interrupt, exiting without waiting");
                std::process::exit(130);
            }
            eprintln!("\nseedlings: interrupt received, saving state after this batch…");
            this.request();
        })
    }
}
