//! The memory check, and its tables: the live heap and its peak after a short and a long run of
//! steps (no growth with the number of steps), and the optimizer state against the inner
//! optimizer's (no larger).

use std::sync::atomic::Ordering;

use burn::module::Module;

use super::alloc::{ALLOCATED, ALLOCATIONS, LIVE, PEAK, rss_bytes};
use super::cases::cases;
use super::params::{Grads, Runner};
use super::summary::mb;

pub(super) struct MemRow {
    set: &'static str,
    case: &'static str,
    /// Heap freed by dropping the stepped optimizer less what a fresh one holds: its state.
    state_heap: usize,
    fixed: usize,
    record_tensors: usize,
    record_bytes: usize,
    live_short: usize,
    live_long: usize,
    peak_short: usize,
    peak_long: usize,
    alloc_per_step: f64,
    allocs_per_step: f64,
    rss_short: Option<u64>,
    rss_long: Option<u64>,
}

/// Peak-heap growth tolerated between the short and the long run.
const PEAK_SLACK: i64 = 4096;

/// The cases of the memory check on the 4M set (each of 100 steps takes 50–100 ms there).
pub(super) const MEMORY_CASES_BIG: [&str; 5] =
    ["burn_adam", "adam_l2", "adamw", "burn_sgd", "sgdw"];

/// The cases of the memory check on the CNN set.
pub(super) const MEMORY_CASES: [&str; 7] = [
    "burn_adam",
    "burn_adamw",
    "adam_l2",
    "adamw",
    "burn_sgd",
    "sgd_l2",
    "sgdw",
];

pub(super) fn memory_check<M: Module>(
    set: &'static str,
    model: &M,
    names: &[&str],
    short: usize,
    long: usize,
) -> Vec<MemRow> {
    let grads = Grads::of(model);
    let all = cases();
    let mut rows = Vec::new();
    for &name in names {
        let case = all.iter().find(|c| c.name == name).expect("case");
        let mut runner = Runner::new(model.clone(), case);
        let base_live = LIVE.load(Ordering::Relaxed);
        PEAK.store(base_live, Ordering::Relaxed);
        for _ in 0..short {
            runner.step(grads.fresh());
        }
        let live_short = LIVE.load(Ordering::Relaxed) - base_live;
        let peak_short = PEAK.load(Ordering::Relaxed) - base_live;
        let rss_short = rss_bytes();
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut grad_bytes = 0u64;
        let mut grad_allocs = 0u64;
        let allocated = ALLOCATED.load(Ordering::Relaxed);
        let allocations = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in short..long {
            let (a, n) = (
                ALLOCATED.load(Ordering::Relaxed),
                ALLOCATIONS.load(Ordering::Relaxed),
            );
            let g = grads.fresh();
            grad_bytes += ALLOCATED.load(Ordering::Relaxed) - a;
            grad_allocs += ALLOCATIONS.load(Ordering::Relaxed) - n;
            runner.step(g);
        }
        let steps = (long - short).max(1) as f64;
        let alloc_per_step =
            (ALLOCATED.load(Ordering::Relaxed) - allocated - grad_bytes) as f64 / steps;
        let allocs_per_step =
            (ALLOCATIONS.load(Ordering::Relaxed) - allocations - grad_allocs) as f64 / steps;
        let live_long = LIVE.load(Ordering::Relaxed) - base_live;
        let peak_long = PEAK.load(Ordering::Relaxed) - base_live;
        let rss_long = rss_bytes();
        let record_tensors = runner.optim.to_record().len();
        let record_bytes = runner.optim.into_bytes().expect("record").len();
        let before_drop = LIVE.load(Ordering::Relaxed);
        drop(runner.optim);
        let freed = before_drop - LIVE.load(Ordering::Relaxed);
        // What a never-stepped optimizer of the same config holds (the optimizer object itself).
        let before_build = LIVE.load(Ordering::Relaxed);
        let fresh = (case.build)();
        let fixed = LIVE.load(Ordering::Relaxed) - before_build;
        drop(fresh);
        let state_heap = freed - fixed;
        rows.push(MemRow {
            set,
            case: case.name,
            state_heap,
            fixed,
            record_tensors,
            record_bytes,
            live_short,
            live_long,
            peak_short,
            peak_long,
            alloc_per_step,
            allocs_per_step,
            rss_short,
            rss_long,
        });
    }
    rows
}

pub(super) fn print_memory(rows: &[MemRow], short: usize, long: usize) {
    println!();
    println!(
        "### Memory: live heap after {short} and {long} steps (counting allocator), optimizer state"
    );
    println!();
    println!(
        "Live heap and its peak are counted from just before the first step (they include the new \
         weights and the state); allocated/step leaves out the gradients made for the step. \
         State = heap freed by dropping the optimizer after {long} steps less the heap of a \
         never-stepped one (the optimizer object, shown as +fixed); record = \
         `ModuleOptimizer::to_record().len()` tensors and `into_bytes()` burnpack size (256-byte \
         aligned tensors in HashMap order, so its padding varies by a few hundred bytes)."
    );
    println!();
    println!(
        "| set | optimizer | state (heap) | record | live after {short} | live after {long} | \
         growth | peak steps 1–{short} | peak steps {}–{long} | allocated/step | \
         allocations/step | RSS after {short} → {long} |",
        short + 1
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let rss = match (r.rss_short, r.rss_long) {
            (Some(a), Some(b)) => format!("{} → {}", mb(a as f64), mb(b as f64)),
            _ => "–".to_string(),
        };
        println!(
            "| {} | `{}` | {} B (+{} B) | {} tensors, {} B | {} B | {} B | {:+} B | {} | {} | {} | {:.0} | {} |",
            r.set,
            r.case,
            r.state_heap,
            r.fixed,
            r.record_tensors,
            r.record_bytes,
            r.live_short,
            r.live_long,
            r.live_long as i64 - r.live_short as i64,
            mb(r.peak_short as f64),
            mb(r.peak_long as f64),
            mb(r.alloc_per_step),
            r.allocs_per_step,
            rss
        );
    }
    println!();
    let find = |set: &str, case: &str| rows.iter().find(|r| r.set == set && r.case == case);
    let mut sets: Vec<&str> = Vec::new();
    for r in rows {
        if !sets.contains(&r.set) {
            sets.push(r.set);
        }
    }
    println!("| target | measured | verdict |");
    println!("| --- | ---: | --- |");
    for set in sets {
        for (ours, inner) in [
            ("adamw", "burn_adam"),
            ("adam_l2", "burn_adam"),
            ("sgdw", "burn_sgd"),
            ("sgd_l2", "burn_sgd"),
        ] {
            if let (Some(a), Some(b)) = (find(set, ours), find(set, inner)) {
                let verdict =
                    if a.state_heap <= b.state_heap && a.record_tensors <= b.record_tensors {
                        "met".to_string()
                    } else {
                        format!(
                            "MISSED ({:+} B, {:+} tensors)",
                            a.state_heap as i64 - b.state_heap as i64,
                            a.record_tensors as i64 - b.record_tensors as i64
                        )
                    };
                println!(
                    "| {set}: state of `{ours}` ≤ state of `{inner}` (Burn's inner optimizer, no \
                     decay) | {} vs {} B, {} vs {} tensors | {verdict} |",
                    a.state_heap, b.state_heap, a.record_tensors, b.record_tensors
                );
            }
        }
        for r in rows.iter().filter(|r| r.set == set) {
            let growth = r.live_long as i64 - r.live_short as i64;
            let peak_growth = r.peak_long as i64 - r.peak_short as i64;
            // A few hundred bytes of transient bookkeeping may land on a new peak; a buffer per
            // step would be megabytes.
            let verdict = if growth <= 0 && peak_growth <= PEAK_SLACK {
                "met".to_string()
            } else {
                format!("MISSED (live {growth:+} B, peak {peak_growth:+} B)")
            };
            println!(
                "| {set}: `{}` live heap does not grow, peak grows < 4 KiB, step {short} → {long} | \
                 {growth:+} B, peak {peak_growth:+} B | {verdict} |",
                r.case
            );
        }
    }
}
