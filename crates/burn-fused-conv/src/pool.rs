//! Running a training loop on a worker of rayon's global pool.
//!
//! The fused op, flex's own ops and the fused optimizer split their work with rayon. Called from
//! a thread outside the pool, every parallel loop is injected into the pool and the caller
//! sleeps until a worker has woken up and run it; a training step of the seedlings CNN makes
//! dozens of such loops, each paying a wake-up. Called from a worker, a loop starts on the
//! caller's own deque and the other workers steal from it. [`join_global_pool`] builds the
//! global pool with the calling thread as its worker 0 (rayon's `use_current_thread`), so a
//! program's main thread runs its parallel loops as a worker (measured: 10–15 % more images/s
//! at 32 px on 2 cores, `seedlings bench`).
//!
//! It must run before anything else uses rayon (the global pool is built once); `RAYON_NUM_THREADS`
//! still sets the number of threads.
//!
//! ```
//! // In `main`, first thing:
//! assert!(burn_fused_conv::pool::join_global_pool());
//! // The pool exists now: a second call leaves it as it is.
//! assert!(!burn_fused_conv::pool::join_global_pool());
//! ```

/// Builds rayon's global pool with the calling thread as one of its workers. Returns `false`
/// (and changes nothing) when the global pool already exists.
pub fn join_global_pool() -> bool {
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
        .is_ok()
}
