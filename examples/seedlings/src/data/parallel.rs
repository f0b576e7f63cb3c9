//! A minimal ordered parallel map over `0..n` with scoped threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Number of threads meant by `threads` (0 = one per available core), at least 1 and at most
/// `jobs` (when `jobs > 0`).
pub fn thread_count(threads: usize, jobs: usize) -> usize {
    let wanted = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    wanted.clamp(1, jobs.max(1))
}

/// Computes `f(0), …, f(n-1)` on [`thread_count`]`(threads, n)` threads and returns them in
/// index order, so the result never depends on thread timing. A panic in `f` is re-raised
/// here.
pub fn parallel_map<T, F>(n: usize, threads: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    let threads = thread_count(threads, n);
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let value = f(i);
                    slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(value);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|v| v.expect("every index is computed once the scope has ended"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order() {
        let out = parallel_map(100, 4, |i| i * i);
        assert_eq!(out, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert!(parallel_map(0, 4, |i| i).is_empty());
    }
}
