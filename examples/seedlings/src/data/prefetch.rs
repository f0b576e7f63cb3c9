//! Making the next batches on background threads while the current one is used.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use super::ImageStore;
use super::augment::Normalization;
use super::batch::{AugmentSeed, Batch, EpochPlan, make_batch};

/// Batches each worker may have ready ahead of the consumer.
pub const PREFETCH_DEPTH: usize = 2;

/// An iterator over the batches of an [`EpochPlan`], made ahead of time by worker threads and
/// yielded strictly in plan order.
///
/// With `W` workers, worker `w` makes batches `start + w`, `start + w + W`, … and each worker
/// has its own bounded channel, so the consumer reads them round-robin: the order is fixed by
/// construction and every batch is exactly what [`make_batch`] gives, whatever the thread
/// timing. Dropping the iterator early stops the workers and joins them. If a worker thread
/// cannot be started, its batches are made on the consumer's thread instead.
pub struct Prefetcher {
    /// One slot per worker; `None` when that worker could not be started.
    receivers: Vec<Option<Receiver<Batch>>>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    store: Arc<ImageStore>,
    plan: Arc<EpochPlan>,
    normalization: Normalization,
    augment: Option<AugmentSeed>,
    start: usize,
    next: usize,
    end: usize,
}

impl Prefetcher {
    /// Starts `workers` threads (at least 1) making the batches of `plan` from batch
    /// `start_batch` on (for resuming mid-epoch; past the end gives an empty iterator).
    /// `augment` is `None` for validation.
    pub fn new(
        store: &ImageStore,
        plan: EpochPlan,
        normalization: Normalization,
        augment: Option<AugmentSeed>,
        start_batch: usize,
        workers: usize,
    ) -> Self {
        let end = plan.num_batches();
        let start = start_batch.min(end);
        let workers = workers.clamp(1, (end - start).max(1));
        let plan = Arc::new(plan);
        // One shallow copy (the pixels are shared), then shared by all workers.
        let shared = Arc::new(store.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(PREFETCH_DEPTH);
            let store = Arc::clone(&shared);
            let plan = Arc::clone(&plan);
            let stop = Arc::clone(&stop);
            let spawned = std::thread::Builder::new()
                .name(format!("seedlings-prefetch-{w}"))
                .spawn(move || {
                    for k in (start + w..end).step_by(workers) {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let Some(indices) = plan.batch(k) else { break };
                        let batch = make_batch(&store, indices, &normalization, augment);
                        if tx.send(batch).is_err() {
                            break;
                        }
                    }
                });
            match spawned {
                Ok(handle) => {
                    receivers.push(Some(rx));
                    handles.push(handle);
                }
                Err(_) => receivers.push(None),
            }
        }
        Prefetcher {
            receivers,
            handles,
            stop,
            store: shared,
            plan,
            normalization,
            augment,
            start,
            next: start,
            end,
        }
    }

    /// Index (in the plan) of the batch the next call to `next` returns.
    pub fn next_batch_index(&self) -> usize {
        self.next
    }

    /// Number of batches in the plan.
    pub fn num_batches(&self) -> usize {
        self.end
    }

    fn make_inline(&self, k: usize) -> Option<Batch> {
        let indices = self.plan.batch(k)?;
        Some(make_batch(
            &self.store,
            indices,
            &self.normalization,
            self.augment,
        ))
    }
}

impl Iterator for Prefetcher {
    type Item = Batch;

    /// The next batch in plan order.
    ///
    /// # Panics
    ///
    /// Re-raises the panic of a worker thread (which only [`make_batch`] can cause, on a
    /// programming error).
    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.end {
            return None;
        }
        let k = self.next;
        self.next += 1;
        if self.receivers.is_empty() {
            return self.make_inline(k);
        }
        let slot = (k - self.start) % self.receivers.len();
        let received = match &self.receivers[slot] {
            Some(rx) => rx.recv().ok(),
            None => return self.make_inline(k),
        };
        match received {
            Some(batch) => Some(batch),
            None => {
                // The worker ended without sending: it panicked. Surface its panic.
                self.stop.store(true, Ordering::Relaxed);
                self.receivers.clear();
                for handle in self.handles.drain(..) {
                    if let Err(payload) = handle.join() {
                        std::panic::resume_unwind(payload);
                    }
                }
                // Not reachable in practice; make the batch here rather than lose it.
                self.make_inline(k)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Prefetcher {}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers unblocks workers waiting in `send`.
        self.receivers.clear();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}
