//! The body of the optimizer-step benches, shared by the two bench targets: `optimizer_step`
//! (the system allocator, glibc's malloc on Linux) and `optimizer_step_mimalloc` (mimalloc). A
//! target only chooses the global allocator (wrapped in [`Counting`]) and calls [`main`].
//!
//! What it measures, on the flex backend:
//!
//! - one optimizer step through [`ModuleOptimizer::step`], as a training loop calls it, for this
//!   crate's Adam/AdamW/SGD(W) (with and without decay, `NonFiniteGrad::Skip` and `Propagate`)
//!   and Burn's own Adam + `WeightDecayConfig`, `AdamW` and SGD + momentum + `WeightDecayConfig`;
//!   this crate's optimizers run the fused flex kernel (the default), and the `_tensor` cases are
//!   the same configs with `with_fused(false)`, Burn's tensor ops;
//! - on two parameter sets: one `[2048, 2048]` f32 tensor (4M elements) and the parameters of
//!   the seedlings CNN;
//! - timed twice: by criterion, one bench after the other, and in interleaved rounds (every
//!   optimizer of a set alive, each stepping in turn), whose medians the summary's ratios use;
//! - the effective bandwidth of each step (bytes that must move / time) next to a plain copy of
//!   the same number of bytes, measured in the same run;
//! - bytes allocated and page-faulted per step, the cost of the `Skip` finiteness check alone;
//! - the live heap after 10 and after 100 steps, and the size of the optimizer state.
//!
//! Gradients are not made by a backward pass: each step gets fresh, uniquely owned gradient
//! tensors (as `loss.backward()` gives them), registered under the parameters' ids and made
//! before the clock starts, so the time is the optimizer step alone. Results and their analysis:
//! `BENCHMARKS.md`.
//!
//! The code, one file per part: `alloc.rs` (the counting allocator), `cases.rs` (the optimizers),
//! `params.rs` (the parameter sets and stepping them), `seedlings_cnn.rs` (the CNN's shape, copied
//! from the example), `timing.rs` (the timing records), `measure.rs` (criterion, the per-step
//! allocation profile, the interleaved rounds), `memory.rs` (the memory check and its tables) and
//! `summary.rs` (the timing tables and targets); this file runs them in order.

use std::time::Duration;

use burn::tensor::Device;
use criterion::Criterion;

mod alloc;
mod cases;
mod measure;
mod memory;
mod params;
mod seedlings_cnn;
mod summary;
mod timing;

pub use alloc::Counting;
use cases::{ADAM_LR, LAMBDA, MOMENTUM, SGD_LR};
use measure::{bench_set, interleave_set, profile_set};
use memory::{MEMORY_CASES, MEMORY_CASES_BIG, memory_check, print_memory};
use params::{Big, SeedlingsCnn};
use seedlings_cnn::{CHANNELS, CLASSES};
use summary::{print_set, print_targets};

/// Runs the criterion benches, the interleaved rounds and the memory check, then prints the
/// summary.
pub fn main(allocator: &str) {
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let listing = args.iter().any(|a| a == "--list");
    let mut c = Criterion::default()
        .without_plots()
        .nresamples(10_000)
        .configure_from_args();

    let device = Device::flex().autodiff();
    let big = Big::new(&device);
    let cnn = SeedlingsCnn::new(&device);
    let sets = [
        bench_set(
            &mut c,
            "4M",
            "one [2048, 2048] f32 parameter",
            &big,
            Duration::from_millis(1200),
        ),
        bench_set(
            &mut c,
            "cnn",
            &format!(
                "the seedlings CNN's parameters ({} conv 3×3 no bias + batch norm, {}…{last} \
                 channels, linear {last}→{CLASSES})",
                CHANNELS.len(),
                CHANNELS[0],
                last = CHANNELS[CHANNELS.len() - 1],
            ),
            &cnn,
            Duration::from_millis(800),
        ),
    ];
    c.final_summary();
    if listing {
        return;
    }

    // (rounds, block, timed) of the interleaved figures, and the memory check's step counts.
    let (big_rounds, cnn_rounds, short, long) = if bench_mode {
        ((8, 3, 2), (40, 6, 5), 10, 100)
    } else {
        ((1, 2, 1), (1, 2, 1), 2, 4)
    };
    let profile_steps = if bench_mode { 4 } else { 1 };
    profile_set("4M", &big, profile_steps);
    profile_set("cnn", &cnn, profile_steps);
    interleave_set("4M", &big, big_rounds.0, big_rounds.1, big_rounds.2);
    interleave_set("cnn", &cnn, cnn_rounds.0, cnn_rounds.1, cnn_rounds.2);
    let mut memory = memory_check("4M", &big, &MEMORY_CASES_BIG, short, long);
    memory.extend(memory_check("cnn", &cnn, &MEMORY_CASES, short, long));

    println!();
    println!("## Summary — allocator: {allocator}");
    println!();
    println!(
        "Flex backend, {} cores, λ = {LAMBDA}, Adam lr {ADAM_LR}, SGD lr {SGD_LR}, momentum \
         {MOMENTUM}. Time per step: median over interleaved rounds (every optimizer of the set \
         steps in turn, {} and {} timed steps each, so load changes hit all alike), p25–p75 its \
         quartiles; `criterion` is the median of criterion's own sequential run. Ratios, GB/s \
         (bytes that must move / time, 1 GB = 1e9 B) and share of copy use the interleaved \
         median. Allocated/step (gradients left out) and page-faulted/step (minor faults × 4 \
         KiB) come from each optimizer stepping alone, {profile_steps} steps after 3.",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        big_rounds.0 * big_rounds.2,
        cnn_rounds.0 * cnn_rounds.2,
    );
    let mut targets = Vec::new();
    for info in &sets {
        print_set(info, &mut targets);
    }
    print_targets(&targets);
    print_memory(&memory, short, long);
}
