//! The optimizer-step benches of `optimizer_step`, with mimalloc as the global allocator.
//!
//! `cargo bench -p burn-weight-decay --bench optimizer_step_mimalloc`. Results: `BENCHMARKS.md`.

#[path = "shared/mod.rs"]
mod shared;

#[global_allocator]
static ALLOCATOR: shared::Counting<mimalloc::MiMalloc> = shared::Counting(mimalloc::MiMalloc);

fn main() {
    shared::main("mimalloc");
}
