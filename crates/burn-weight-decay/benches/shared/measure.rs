//! The measurements of each parameter set: the criterion benches ([`bench_set`]), the bytes
//! allocated and page-faulted per step ([`profile_set`]) and the interleaved rounds the summary's
//! figures come from ([`interleave_set`]), with the plain copies and finiteness checks they are
//! set against.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::Tensor;
use criterion::{Criterion, SamplingMode, Throughput};

use super::alloc::{ALLOCATED, ALLOCATIONS, minor_faults};
use super::cases::{Family, cases};
use super::params::{Grads, Runner, floats};
use super::timing::record;

/// A parameter set as benched: its name, description and gradient layout.
pub(super) struct SetInfo {
    pub(super) name: &'static str,
    pub(super) what: String,
    pub(super) numel: usize,
    pub(super) tensors: usize,
}

/// What a finiteness check of every gradient costs.
#[derive(Clone, Copy)]
pub(super) enum Check {
    /// What `NonFiniteGrad::Skip` runs: `!g.is_finite().all().into_scalar()` per parameter.
    IsFiniteAll,
    /// A one-pass alternative, for comparison: `g.sum().into_scalar().is_finite()`.
    Sum,
}

impl Check {
    pub(super) fn name(self) -> &'static str {
        match self {
            Check::IsFiniteAll => "check_is_finite_all",
            Check::Sum => "check_sum",
        }
    }

    fn run<const D: usize>(self, grad: Tensor<D>) -> bool {
        match self {
            Check::IsFiniteAll => grad.is_finite().all().into_scalar::<bool>(),
            Check::Sum => grad.sum().into_scalar::<f32>().is_finite(),
        }
    }
}

impl Grads {
    /// Runs `check` on every gradient of the template, as the wrapper does on a clone.
    fn check(&self, check: Check) -> bool {
        let mut finite = true;
        for &(id, rank) in &self.ids {
            finite &= match rank {
                1 => check.run(self.template.get::<1>(id).expect("registered")),
                2 => check.run(self.template.get::<2>(id).expect("registered")),
                3 => check.run(self.template.get::<3>(id).expect("registered")),
                4 => check.run(self.template.get::<4>(id).expect("registered")),
                _ => unreachable!("rank {rank}"),
            };
        }
        finite
    }
}

/// The physical limit: a plain copy that moves `bytes` (reads half, writes half), single
/// threaded (`copy_from_slice`) or split over `threads` scoped threads.
struct CopyBuffers {
    src: Vec<f32>,
    dst: Vec<f32>,
}

impl CopyBuffers {
    fn new(bytes: u64) -> Self {
        let n = (bytes / 8) as usize;
        let src = floats(n, 7, 1.0);
        let mut dst = vec![0.0f32; n];
        dst.copy_from_slice(&src); // fault the pages in before timing
        Self { src, dst }
    }

    fn copy(&mut self, threads: usize) -> Duration {
        let start = Instant::now();
        if threads <= 1 {
            self.dst.copy_from_slice(black_box(&self.src));
        } else {
            let chunk = self.dst.len().div_ceil(threads);
            std::thread::scope(|scope| {
                for (d, s) in self.dst.chunks_mut(chunk).zip(self.src.chunks(chunk)) {
                    scope.spawn(move || d.copy_from_slice(black_box(s)));
                }
            });
        }
        black_box(&mut self.dst);
        start.elapsed()
    }
}

fn copy_variants() -> [(&'static str, usize); 2] {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    [("copy_1t", 1), ("copy_mt", threads)]
}

/// Criterion benches of one parameter set: every optimizer, the copies, the checks.
pub(super) fn bench_set<M: Module>(
    c: &mut Criterion,
    set: &'static str,
    what: &str,
    model: &M,
    measurement: Duration,
) -> SetInfo {
    let grads = Grads::of(model);
    for family in [Family::Adam, Family::Sgd] {
        let bytes = grads.bytes(family);
        let mut group = c.benchmark_group(format!("{set}/{}", family.name()));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(measurement)
            .throughput(Throughput::Bytes(bytes));
        for case in cases().iter().filter(|case| case.family == family) {
            let mut runner = Runner::new(model.clone(), case);
            // The first step creates the state; the benches measure steady steps.
            for _ in 0..2 {
                runner.step(grads.fresh());
            }
            let key = format!("crit:{set}/{}", case.name);
            group.bench_function(case.name, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let g = grads.fresh();
                        let elapsed = runner.step(g);
                        record(&key, elapsed);
                        total += elapsed;
                    }
                    total
                })
            });
        }
        let mut buffers = CopyBuffers::new(bytes);
        for (label, threads) in copy_variants() {
            let key = format!("crit:{set}/{}_{label}", family.name());
            group.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let elapsed = buffers.copy(threads);
                        record(&key, elapsed);
                        total += elapsed;
                    }
                    total
                })
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group(format!("{set}/nonfinite"));
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(measurement / 2);
    for check in [Check::IsFiniteAll, Check::Sum] {
        let key = format!("crit:{set}/{}", check.name());
        group.bench_function(check.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    assert!(grads.check(check));
                    let elapsed = start.elapsed();
                    record(&key, elapsed);
                    total += elapsed;
                }
                total
            })
        });
    }
    group.finish();
    SetInfo {
        name: set,
        what: what.to_string(),
        numel: grads.numel,
        tensors: grads.tensors,
    }
}

/// Bytes and number of allocations per step (the step's gradients left out) and bytes of
/// memory page-faulted in per step, each optimizer alone, steps 4 to 3 + `steps`.
#[derive(Clone, Copy)]
pub(super) struct Profile {
    pub(super) allocated: f64,
    pub(super) allocations: f64,
    pub(super) faulted: Option<f64>,
}

pub(super) static PROFILES: Mutex<BTreeMap<String, Profile>> = Mutex::new(BTreeMap::new());

pub(super) fn profile_set<M: Module>(set: &str, model: &M, steps: usize) {
    let grads = Grads::of(model);
    for case in cases() {
        let mut runner = Runner::new(model.clone(), &case);
        for _ in 0..3 {
            runner.step(grads.fresh());
        }
        let (mut bytes, mut count) = (0u64, 0u64);
        let mut faults = Some(0u64);
        for _ in 0..steps {
            let g = grads.fresh();
            let (b0, n0, f0) = (
                ALLOCATED.load(Ordering::Relaxed),
                ALLOCATIONS.load(Ordering::Relaxed),
                minor_faults(),
            );
            runner.step(g);
            bytes += ALLOCATED.load(Ordering::Relaxed) - b0;
            count += ALLOCATIONS.load(Ordering::Relaxed) - n0;
            faults = match (faults, f0, minor_faults()) {
                (Some(total), Some(a), Some(b)) => Some(total + b.saturating_sub(a)),
                _ => None,
            };
        }
        let steps = steps.max(1) as f64;
        PROFILES.lock().unwrap().insert(
            format!("{set}/{}", case.name),
            Profile {
                allocated: bytes as f64 / steps,
                allocations: count as f64 / steps,
                faulted: faults.map(|f| f as f64 * PAGE_SIZE / steps),
            },
        );
    }
}

/// The page size the fault count is in (4 KiB on the machines this runs on).
const PAGE_SIZE: f64 = 4096.0;

/// The figures of the summary: every optimizer of the set lives at once and, round after
/// round, each takes `block` steps (the last `timed` of them timed), then the copies and
/// checks run once; so a change of machine load during the run touches every case alike.
pub(super) fn interleave_set<M: Module>(
    set: &str,
    model: &M,
    rounds: usize,
    block: usize,
    timed: usize,
) {
    let grads = Grads::of(model);
    let all = cases();
    let mut runners: Vec<Runner<M>> = all
        .iter()
        .map(|case| {
            let mut runner = Runner::new(model.clone(), case);
            runner.step(grads.fresh());
            runner
        })
        .collect();
    let mut buffers: Vec<(Family, CopyBuffers)> = [Family::Adam, Family::Sgd]
        .into_iter()
        .map(|family| (family, CopyBuffers::new(grads.bytes(family))))
        .collect();
    for _ in 0..rounds {
        for (case, runner) in all.iter().zip(runners.iter_mut()) {
            for i in 0..block {
                let elapsed = runner.step(grads.fresh());
                if i + timed >= block {
                    record(&format!("il:{set}/{}", case.name), elapsed);
                }
            }
        }
        for (family, buffer) in buffers.iter_mut() {
            for (label, threads) in copy_variants() {
                let elapsed = buffer.copy(threads);
                record(&format!("il:{set}/{}_{label}", family.name()), elapsed);
            }
        }
        for check in [Check::IsFiniteAll, Check::Sum] {
            let start = Instant::now();
            assert!(grads.check(check));
            record(&format!("il:{set}/{}", check.name()), start.elapsed());
        }
    }
}
