//! Optimizer-step benches with the system allocator (glibc's malloc on Linux).
//!
//! `cargo bench -p burn-weight-decay --bench optimizer_step`; the same benches with mimalloc are
//! `optimizer_step_mimalloc`. Results and analysis: `BENCHMARKS.md`.

#[path = "shared/mod.rs"]
mod shared;

#[global_allocator]
static ALLOCATOR: shared::Counting<std::alloc::System> = shared::Counting(std::alloc::System);

fn main() {
    shared::main("system (glibc malloc)");
}
