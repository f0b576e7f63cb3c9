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

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, NonFiniteGrad, SgdDecayConfig};
use criterion::{Criterion, SamplingMode, Throughput};

// ---------------------------------------------------------------------------------------------
// Counting allocator
// ---------------------------------------------------------------------------------------------

/// A global allocator that counts what passes through the allocator it wraps: live bytes, their
/// peak, bytes and number of allocations. Two relaxed atomic adds per call.
pub struct Counting<A>(pub A);

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn on_alloc(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
    ALLOCATED.fetch_add(size as u64, Ordering::Relaxed);
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
}

fn on_dealloc(size: usize) {
    LIVE.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the wrapped allocator; only counters are added.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as is.
        let ptr = unsafe { self.0.alloc(layout) };
        if !ptr.is_null() {
            on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if !ptr.is_null() {
            on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`.
        unsafe { self.0.dealloc(ptr, layout) };
        on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `alloc`.
        let new = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            on_dealloc(layout.size());
            on_alloc(new_size);
        }
        new
    }
}

/// Resident set size of the process in bytes (Linux `/proc/self/status`), if readable.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Minor page faults of the process so far (Linux `/proc/self/stat`, field 10): pages the
/// kernel had to map, most of them zero-filled pages of memory freshly taken from the OS.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(7)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The optimizers
// ---------------------------------------------------------------------------------------------

const LAMBDA: f64 = 0.01;
const ADAM_LR: f64 = 1e-3;
const SGD_LR: f64 = 1e-2;
const MOMENTUM: f64 = 0.9;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Family {
    Adam,
    Sgd,
}

impl Family {
    /// f32 tensors that must cross memory per step and per element: Adam reads w, g, m, v and
    /// writes w, m, v; SGD with momentum reads w, g, b and writes w, b.
    fn passes(self) -> u64 {
        match self {
            Family::Adam => 7,
            Family::Sgd => 5,
        }
    }

    fn lr(self) -> f64 {
        match self {
            Family::Adam => ADAM_LR,
            Family::Sgd => SGD_LR,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::Adam => "adam",
            Family::Sgd => "sgd",
        }
    }
}

struct Case {
    name: &'static str,
    what: &'static str,
    family: Family,
    /// The case this one is compared with in the table.
    baseline: Option<&'static str>,
    build: fn() -> ModuleOptimizer,
}

fn ours_adam(decay: DecayConfig) -> ModuleOptimizer {
    AdamDecayConfig::new().with_decay(decay).init()
}

fn ours_sgd(decay: DecayConfig) -> ModuleOptimizer {
    SgdDecayConfig::new()
        .with_momentum(MOMENTUM)
        .with_decay(decay)
        .init()
}

/// This crate's Adam with the fused kernel off: Burn's tensor ops, as before the kernel.
fn ours_adam_tensor(decay: DecayConfig) -> ModuleOptimizer {
    AdamDecayConfig::new()
        .with_decay(decay)
        .with_fused(false)
        .init()
}

/// This crate's SGD with momentum and the fused kernel off.
fn ours_sgd_tensor(decay: DecayConfig) -> ModuleOptimizer {
    SgdDecayConfig::new()
        .with_momentum(MOMENTUM)
        .with_decay(decay)
        .with_fused(false)
        .init()
}

fn propagate(decay: DecayConfig) -> DecayConfig {
    decay.with_non_finite(NonFiniteGrad::Propagate)
}

/// Burn's momentum with PyTorch's dampening 0, as this crate's SGD uses.
fn burn_momentum() -> MomentumConfig {
    MomentumConfig::new()
        .with_momentum(MOMENTUM)
        .with_dampening(0.0)
}

fn cases() -> Vec<Case> {
    use Family::{Adam, Sgd};
    vec![
        Case {
            name: "burn_adam",
            what: "Burn Adam, no decay",
            family: Adam,
            baseline: None,
            build: || AdamConfig::new().with_epsilon(1e-8).init(),
        },
        Case {
            name: "burn_adam_l2",
            what: "Burn Adam + WeightDecayConfig (coupled)",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || {
                AdamConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(Some(WeightDecayConfig::new(LAMBDA as f32)))
                    .init()
            },
        },
        Case {
            name: "burn_adamw",
            what: "Burn AdamW",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || {
                AdamWConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(LAMBDA as f32)
                    .init()
            },
        },
        Case {
            name: "adam_none",
            what: "ours Adam, DecayConfig::none() (fused)",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || ours_adam(DecayConfig::none()),
        },
        Case {
            name: "adam_l2",
            what: "ours Adam + coupled L2 (fused)",
            family: Adam,
            baseline: Some("burn_adam_l2"),
            build: || ours_adam(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "adamw",
            what: "ours AdamW, decoupled (fused)",
            family: Adam,
            baseline: Some("burn_adamw"),
            build: || ours_adam(DecayConfig::decoupled(LAMBDA)),
        },
        Case {
            name: "adam_none_prop",
            what: "ours Adam none, Propagate (fused)",
            family: Adam,
            baseline: Some("adam_none"),
            build: || ours_adam(propagate(DecayConfig::none())),
        },
        Case {
            name: "adam_l2_prop",
            what: "ours Adam + coupled L2, Propagate (fused)",
            family: Adam,
            baseline: Some("adam_l2"),
            build: || ours_adam(propagate(DecayConfig::coupled(LAMBDA))),
        },
        Case {
            name: "adamw_prop",
            what: "ours AdamW, Propagate (fused)",
            family: Adam,
            baseline: Some("adamw"),
            build: || ours_adam(propagate(DecayConfig::decoupled(LAMBDA))),
        },
        Case {
            name: "adam_none_tensor",
            what: "ours Adam, DecayConfig::none(), tensor ops (fused off)",
            family: Adam,
            baseline: Some("burn_adam"),
            build: || ours_adam_tensor(DecayConfig::none()),
        },
        Case {
            name: "adam_l2_tensor",
            what: "ours Adam + coupled L2, tensor ops (fused off)",
            family: Adam,
            baseline: Some("burn_adam_l2"),
            build: || ours_adam_tensor(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "adamw_tensor",
            what: "ours AdamW, tensor ops (fused off)",
            family: Adam,
            baseline: Some("burn_adamw"),
            build: || ours_adam_tensor(DecayConfig::decoupled(LAMBDA)),
        },
        Case {
            name: "burn_sgd",
            what: "Burn SGD + momentum, no decay",
            family: Sgd,
            baseline: None,
            build: || SgdConfig::new().with_momentum(Some(burn_momentum())).init(),
        },
        Case {
            name: "burn_sgd_l2",
            what: "Burn SGD + momentum + WeightDecayConfig",
            family: Sgd,
            baseline: Some("burn_sgd"),
            build: || {
                SgdConfig::new()
                    .with_momentum(Some(burn_momentum()))
                    .with_weight_decay(Some(WeightDecayConfig::new(LAMBDA as f32)))
                    .init()
            },
        },
        Case {
            name: "sgd_none",
            what: "ours SGD + momentum, DecayConfig::none() (fused)",
            family: Sgd,
            baseline: Some("burn_sgd"),
            build: || ours_sgd(DecayConfig::none()),
        },
        Case {
            name: "sgd_l2",
            what: "ours SGD + momentum + coupled L2 (fused)",
            family: Sgd,
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "sgdw",
            what: "ours SGDW, momentum, decoupled (fused)",
            family: Sgd,
            // Burn has no SGDW; its coupled SGD is the closest.
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd(DecayConfig::decoupled(LAMBDA)),
        },
        Case {
            name: "sgd_none_prop",
            what: "ours SGD none, Propagate (fused)",
            family: Sgd,
            baseline: Some("sgd_none"),
            build: || ours_sgd(propagate(DecayConfig::none())),
        },
        Case {
            name: "sgd_l2_prop",
            what: "ours SGD + coupled L2, Propagate (fused)",
            family: Sgd,
            baseline: Some("sgd_l2"),
            build: || ours_sgd(propagate(DecayConfig::coupled(LAMBDA))),
        },
        Case {
            name: "sgdw_prop",
            what: "ours SGDW, Propagate (fused)",
            family: Sgd,
            baseline: Some("sgdw"),
            build: || ours_sgd(propagate(DecayConfig::decoupled(LAMBDA))),
        },
        Case {
            name: "sgd_none_tensor",
            what: "ours SGD + momentum, DecayConfig::none(), tensor ops (fused off)",
            family: Sgd,
            baseline: Some("burn_sgd"),
            build: || ours_sgd_tensor(DecayConfig::none()),
        },
        Case {
            name: "sgd_l2_tensor",
            what: "ours SGD + momentum + coupled L2, tensor ops (fused off)",
            family: Sgd,
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd_tensor(DecayConfig::coupled(LAMBDA)),
        },
        Case {
            name: "sgdw_tensor",
            what: "ours SGDW, tensor ops (fused off)",
            family: Sgd,
            baseline: Some("burn_sgd_l2"),
            build: || ours_sgd_tensor(DecayConfig::decoupled(LAMBDA)),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The parameter sets
// ---------------------------------------------------------------------------------------------

/// Deterministic pseudo-random floats in `[-scale, scale)` (a 64-bit LCG).
fn floats(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0) * scale
        })
        .collect()
}

/// One 4M-element weight matrix, the whole module.
#[derive(Module, Debug)]
struct Big {
    weight: Param<Tensor<2>>,
}

impl Big {
    fn new(device: &Device) -> Self {
        let [rows, cols] = [2048, 2048];
        let data = TensorData::new(floats(rows * cols, 1, 0.05), [rows, cols]);
        Self {
            weight: Param::from_tensor(Tensor::from_data(data, device)),
        }
    }
}

/// conv 3×3 (no bias) → batch norm; the ReLU and pooling of the real block have no parameters.
#[derive(Module, Debug)]
struct Block {
    conv: Conv2d,
    bn: BatchNorm,
}

/// The seedlings CNN's parameters: 4 blocks of 32, 64, 128, 256 channels on 3-channel input,
/// then a linear head 256 → 12 (`examples/seedlings/src/model.rs`).
#[derive(Module, Debug)]
struct SeedlingsCnn {
    blocks: Vec<Block>,
    head: Linear,
}

impl SeedlingsCnn {
    fn new(device: &Device) -> Self {
        let mut blocks = Vec::new();
        let mut input = 3;
        for output in [32, 64, 128, 256] {
            blocks.push(Block {
                conv: Conv2dConfig::new([input, output], [3, 3])
                    .with_padding(PaddingConfig2d::Same)
                    .with_bias(false)
                    .init(device),
                bn: BatchNormConfig::new(output).init(device),
            });
            input = output;
        }
        let model = Self {
            blocks,
            head: LinearConfig::new(input, 12).init(device),
        };
        // Parameters are drawn lazily: draw them once so every clone shares the same weights.
        model.visit(&mut Materialize);
        model
    }
}

struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// One gradient per trainable parameter (batch-norm running statistics get none, as from a
/// backward pass), kept as a template; [`Grads::fresh`] copies it for each step.
struct Grads {
    template: GradientsParams,
    ids: Vec<(ParamId, usize)>,
    numel: usize,
    tensors: usize,
}

struct MakeGrads<'a> {
    grads: &'a mut Grads,
    device: Device,
}

impl ModuleVisitor for MakeGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        let dims = value.dims();
        let numel = dims.iter().product::<usize>();
        let seed = 1000 + self.grads.ids.len() as u64;
        let data = TensorData::new(floats(numel, seed, 0.01), dims);
        self.grads
            .template
            .register(param.id, Tensor::<D>::from_data(data, &self.device));
        self.grads.ids.push((param.id, D));
        self.grads.numel += numel;
        self.grads.tensors += 1;
    }
}

impl Grads {
    fn of<M: Module>(model: &M) -> Self {
        let mut grads = Grads {
            template: GradientsParams::new(),
            ids: Vec::new(),
            numel: 0,
            tensors: 0,
        };
        // Gradients live on the inner (non-autodiff) device, as `GradientsParams::from_grads`
        // gives them.
        model.visit(&mut MakeGrads {
            grads: &mut grads,
            device: Device::flex(),
        });
        grads
    }

    /// A new, uniquely owned copy of every gradient (the template stays shared).
    fn fresh(&self) -> GradientsParams {
        let mut out = GradientsParams::new();
        for &(id, rank) in &self.ids {
            match rank {
                1 => self.copy::<1>(id, &mut out),
                2 => self.copy::<2>(id, &mut out),
                3 => self.copy::<3>(id, &mut out),
                4 => self.copy::<4>(id, &mut out),
                _ => unreachable!("rank {rank}"),
            }
        }
        out
    }

    fn copy<const D: usize>(&self, id: ParamId, out: &mut GradientsParams) {
        let shared: Tensor<D> = self.template.get(id).expect("registered");
        // The template is shared, so this writes a new buffer.
        out.register(id, shared.mul_scalar(1.0));
    }

    fn bytes(&self, family: Family) -> u64 {
        self.numel as u64 * 4 * family.passes()
    }
}

/// A model and its optimizer, stepped as a training loop steps them.
struct Runner<M> {
    model: Option<M>,
    optim: ModuleOptimizer,
    lr: f64,
    device: Device,
    autodiff: Device,
}

impl<M: Module> Runner<M> {
    fn new(model: M, case: &Case) -> Self {
        Self {
            model: Some(model),
            optim: (case.build)(),
            lr: case.family.lr(),
            device: Device::flex(),
            autodiff: Device::flex().autodiff(),
        }
    }

    /// One optimizer step; the time covers `ModuleOptimizer::step` and a device sync only.
    fn step(&mut self, grads: GradientsParams) -> Duration {
        let model = self.model.take().expect("model");
        let start = Instant::now();
        let model = self.optim.step(self.lr, model, grads);
        self.device.sync().expect("sync");
        let elapsed = start.elapsed();
        self.model = Some(model);
        self.sweep_autodiff_graph();
        elapsed
    }

    /// The step hands every parameter back marked `require_grad`, which registers a root node
    /// in Burn's autodiff graph; the roots of the replaced parameters are freed by the next
    /// `backward()` (its orphan sweep). A training loop runs one backward per step; this loop
    /// has none, so it runs a one-element backward, untimed, to give the same sweep.
    fn sweep_autodiff_graph(&self) {
        let x = Tensor::<1>::from_floats([1.0], &self.autodiff).require_grad();
        let _ = x.sum().backward();
    }
}

// ---------------------------------------------------------------------------------------------
// Timing records
// ---------------------------------------------------------------------------------------------

/// Every timed step of every measurement, in seconds. Keys: `crit:SET/NAME` for the criterion
/// benches, `il:SET/NAME` for the interleaved rounds.
static TIMES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(key: &str, elapsed: Duration) {
    TIMES
        .lock()
        .unwrap()
        .entry(key.to_string())
        .or_default()
        .push(elapsed.as_secs_f64());
}

/// Median and quartiles of one record, in seconds.
#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    p25: f64,
    p75: f64,
    n: usize,
}

fn stats(key: &str) -> Option<Stats> {
    let mut v = TIMES.lock().unwrap().get(key)?.clone();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let x = p * (v.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
    };
    Some(Stats {
        median: q(0.5),
        p25: q(0.25),
        p75: q(0.75),
        n: v.len(),
    })
}

/// The figure the summary uses: the interleaved median.
fn median(set: &str, name: &str) -> Option<f64> {
    stats(&format!("il:{set}/{name}")).map(|s| s.median)
}

// ---------------------------------------------------------------------------------------------
// The benches
// ---------------------------------------------------------------------------------------------

/// A parameter set as benched: its name, description and gradient layout.
struct SetInfo {
    name: &'static str,
    what: String,
    numel: usize,
    tensors: usize,
}

/// What a finiteness check of every gradient costs.
#[derive(Clone, Copy)]
enum Check {
    /// What `NonFiniteGrad::Skip` runs: `!g.is_finite().all().into_scalar()` per parameter.
    IsFiniteAll,
    /// A one-pass alternative, for comparison: `g.sum().into_scalar().is_finite()`.
    Sum,
}

impl Check {
    fn name(self) -> &'static str {
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
fn bench_set<M: Module>(
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
struct Profile {
    allocated: f64,
    allocations: f64,
    faulted: Option<f64>,
}

static PROFILES: Mutex<BTreeMap<String, Profile>> = Mutex::new(BTreeMap::new());

fn profile_set<M: Module>(set: &str, model: &M, steps: usize) {
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
fn interleave_set<M: Module>(set: &str, model: &M, rounds: usize, block: usize, timed: usize) {
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

// ---------------------------------------------------------------------------------------------
// Memory: no growth with the number of steps, state no larger than the inner optimizer's
// ---------------------------------------------------------------------------------------------

struct MemRow {
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
const MEMORY_CASES_BIG: [&str; 5] = ["burn_adam", "adam_l2", "adamw", "burn_sgd", "sgdw"];

/// The cases of the memory check on the CNN set.
const MEMORY_CASES: [&str; 7] = [
    "burn_adam",
    "burn_adamw",
    "adam_l2",
    "adamw",
    "burn_sgd",
    "sgd_l2",
    "sgdw",
];

fn memory_check<M: Module>(
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

// ---------------------------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------------------------

fn ms(seconds: f64) -> String {
    if seconds >= 0.1 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// The best copy bandwidth (bytes / s) measured for `family`'s byte count on `set`, with the
/// single-threaded and the all-core figures.
fn copy_bandwidth(set: &str, family: Family, bytes: u64) -> Option<(f64, f64, f64)> {
    let one = median(set, &format!("{}_copy_1t", family.name())).map(|t| bytes as f64 / t);
    let many = median(set, &format!("{}_copy_mt", family.name())).map(|t| bytes as f64 / t);
    let best = match (one, many) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some((best, one.unwrap_or(f64::NAN), many.unwrap_or(f64::NAN)))
}

struct Target {
    what: String,
    /// Interleaved medians.
    ratio: Option<f64>,
    /// Criterion's sequential medians.
    sequential: Option<f64>,
    limit: f64,
}

fn print_set(info: &SetInfo, targets: &mut Vec<Target>) {
    let set = info.name;
    println!();
    println!(
        "### {set}: {} — {} tensors, {} elements",
        info.what, info.tensors, info.numel
    );
    println!();
    for family in [Family::Adam, Family::Sgd] {
        let bytes = info.numel as u64 * 4 * family.passes();
        match copy_bandwidth(set, family, bytes) {
            Some((best, one, many)) => println!(
                "- {} steps must move {} ({} f32 per element); a plain copy of {} runs at \
                 {:.2} GB/s (1 thread {:.2}, all cores {:.2})",
                family.name(),
                mb(bytes as f64),
                family.passes(),
                mb(bytes as f64),
                best / 1e9,
                one / 1e9,
                many / 1e9
            ),
            None => println!("- {}: copy not measured", family.name()),
        }
    }
    println!();
    println!(
        "| optimizer | time/step | p25–p75 | criterion | baseline | ratio | GB/s | share of copy \
         | allocated/step | page-faulted/step |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for case in cases() {
        let Some(s) = stats(&format!("il:{set}/{}", case.name)) else {
            println!(
                "| `{}` {} | not run | | | | | | | | |",
                case.name, case.what
            );
            continue;
        };
        let t = s.median;
        let crit = stats(&format!("crit:{set}/{}", case.name)).map_or("–".to_string(), |c| {
            format!("{} (n={})", ms(c.median), c.n)
        });
        let bytes = info.numel as u64 * 4 * case.family.passes();
        let share = copy_bandwidth(set, case.family, bytes)
            .map_or("–".to_string(), |(best, _, _)| {
                format!("{:.0} %", 100.0 * bytes as f64 / t / best)
            });
        let (base, ratio) = match case.baseline {
            Some(b) => (
                format!("`{b}`"),
                median(set, b).map_or("–".to_string(), |tb| format!("{:.2}×", t / tb)),
            ),
            None => ("–".to_string(), "–".to_string()),
        };
        let tensor_bytes = info.numel as f64 * 4.0;
        let (allocated, faulted) = match PROFILES
            .lock()
            .unwrap()
            .get(&format!("{set}/{}", case.name))
        {
            Some(p) => (
                format!(
                    "{} ({:.2} × params, {:.0} allocs)",
                    mb(p.allocated),
                    p.allocated / tensor_bytes,
                    p.allocations
                ),
                p.faulted.map_or("–".to_string(), mb),
            ),
            None => ("–".to_string(), "–".to_string()),
        };
        println!(
            "| `{}` {} | {} (n={}) | {}–{} | {} | {} | {} | {:.2} | {} | {} | {} |",
            case.name,
            case.what,
            ms(t),
            s.n,
            ms(s.p25),
            ms(s.p75),
            crit,
            base,
            ratio,
            bytes as f64 / t / 1e9,
            share,
            allocated,
            faulted
        );
    }
    let ratio = |a: &str, b: &str| Some(median(set, a)? / median(set, b)?);
    let sequential = |a: &str, b: &str| {
        let m = |n: &str| stats(&format!("crit:{set}/{n}")).map(|s| s.median);
        Some(m(a)? / m(b)?)
    };
    let mut target = |what: String, a: &str, b: &str, limit: f64| {
        targets.push(Target {
            what: format!("{set}: {what}"),
            ratio: ratio(a, b),
            sequential: sequential(a, b),
            limit,
        })
    };
    for (suffix, policy) in [("", "Skip"), ("_prop", "Propagate")] {
        target(
            format!("coupled Adam ≤ 1.05 × Adam without decay ({policy})"),
            &format!("adam_l2{suffix}"),
            &format!("adam_none{suffix}"),
            1.05,
        );
        target(
            format!("AdamW ≤ 1.05 × Adam without decay ({policy})"),
            &format!("adamw{suffix}"),
            &format!("adam_none{suffix}"),
            1.05,
        );
        target(
            format!("coupled SGD ≤ 1.05 × SGD without decay ({policy})"),
            &format!("sgd_l2{suffix}"),
            &format!("sgd_none{suffix}"),
            1.05,
        );
        target(
            format!("SGDW ≤ 1.05 × SGD without decay ({policy})"),
            &format!("sgdw{suffix}"),
            &format!("sgd_none{suffix}"),
            1.05,
        );
    }
    target(
        "ours coupled Adam ≤ 1.1 × Burn's AdamW (Skip)".to_string(),
        "adam_l2",
        "burn_adamw",
        1.1,
    );
    target(
        "ours coupled Adam ≤ 1.1 × Burn's AdamW (Propagate)".to_string(),
        "adam_l2_prop",
        "burn_adamw",
        1.1,
    );
    target(
        "ours AdamW (fused, Skip) ≤ 1.0 × Burn's AdamW".to_string(),
        "adamw",
        "burn_adamw",
        1.0,
    );
    // The absolute figure: PyTorch's fused AdamW, ~1.5 ms on 4M elements.
    if set == "4M" {
        let absolute = |key: &str| stats(key).map(|s| s.median / PYTORCH_FUSED_ADAMW_4M);
        targets.push(Target {
            what: "4M: ours AdamW (fused, Skip) ≤ 1.5 ms (PyTorch fused AdamW), as time / 1.5 ms"
                .to_string(),
            ratio: absolute("il:4M/adamw"),
            sequential: absolute("crit:4M/adamw"),
            limit: 1.0,
        });
    }

    print_fused(info);

    println!();
    println!("Skip vs Propagate (the per-parameter finiteness check and its read-back):");
    println!();
    for (skip, prop) in [
        ("adam_none", "adam_none_prop"),
        ("adam_l2", "adam_l2_prop"),
        ("adamw", "adamw_prop"),
        ("sgd_none", "sgd_none_prop"),
        ("sgd_l2", "sgd_l2_prop"),
        ("sgdw", "sgdw_prop"),
    ] {
        if let (Some(s), Some(p)) = (median(set, skip), median(set, prop)) {
            println!(
                "- `{skip}`: Skip {} − Propagate {} = {} per step ({:+.0} %)",
                ms(s),
                ms(p),
                ms(s - p),
                100.0 * (s / p - 1.0)
            );
        }
    }
    for check in [Check::IsFiniteAll, Check::Sum] {
        if let Some(s) = stats(&format!("il:{set}/{}", check.name())) {
            println!(
                "- `{}` alone, on every gradient of the set: {} (p25–p75 {}–{})",
                check.name(),
                ms(s.median),
                ms(s.p25),
                ms(s.p75)
            );
        }
    }
    if let (Some(w), Some(b)) = (median(set, "adam_none_prop"), median(set, "burn_adam")) {
        println!(
            "- the wrapper without decay or check (`adam_none_prop`) vs Burn's bare Adam: {:.2}×",
            w / b
        );
    }
    if let (Some(w), Some(b)) = (median(set, "adam_l2"), median(set, "burn_adam")) {
        println!(
            "- everything on (coupled Adam, Skip) vs Burn's bare Adam: {:.2}×",
            w / b
        );
    }
}

/// PyTorch's fused AdamW on 4M f32 elements, the reference figure, in seconds.
const PYTORCH_FUSED_ADAMW_4M: f64 = 1.5e-3;

/// The fused kernel against the tensor-op path (same config, `fused` off) and Burn's equivalent.
fn print_fused(info: &SetInfo) {
    let set = info.name;
    println!();
    println!(
        "Fused kernel vs tensor ops (same config with `with_fused(false)`) vs Burn's own \
         optimizer, interleaved medians (criterion's in brackets):"
    );
    println!();
    println!(
        "| optimizer | fused | tensor ops | tensor / fused | Burn | fused / Burn | fused GB/s \
         | fused share of copy |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    let crit = |name: &str| stats(&format!("crit:{set}/{name}")).map(|s| s.median);
    let both = |name: &str| match (median(set, name), crit(name)) {
        (Some(a), Some(b)) => format!("{} ({})", ms(a), ms(b)),
        (Some(a), None) => ms(a),
        _ => "–".to_string(),
    };
    for (fused, tensor, burn, family) in [
        ("adam_none", "adam_none_tensor", "burn_adam", Family::Adam),
        ("adam_l2", "adam_l2_tensor", "burn_adam_l2", Family::Adam),
        ("adamw", "adamw_tensor", "burn_adamw", Family::Adam),
        ("sgd_none", "sgd_none_tensor", "burn_sgd", Family::Sgd),
        ("sgd_l2", "sgd_l2_tensor", "burn_sgd_l2", Family::Sgd),
        ("sgdw", "sgdw_tensor", "burn_sgd_l2", Family::Sgd),
    ] {
        let ratio = |a: &str, b: &str| match (median(set, a), median(set, b)) {
            (Some(a), Some(b)) => format!("{:.2}×", a / b),
            _ => "–".to_string(),
        };
        let bytes = info.numel as u64 * 4 * family.passes();
        let (gbs, share) = match median(set, fused) {
            Some(t) => (
                format!("{:.2}", bytes as f64 / t / 1e9),
                copy_bandwidth(set, family, bytes).map_or("–".to_string(), |(best, _, _)| {
                    format!("{:.0} %", 100.0 * bytes as f64 / t / best)
                }),
            ),
            None => ("–".to_string(), "–".to_string()),
        };
        println!(
            "| `{fused}` | {} | {} | {} | `{burn}` {} | {} | {gbs} | {share} |",
            both(fused),
            both(tensor),
            ratio(tensor, fused),
            both(burn),
            ratio(fused, burn),
        );
    }
}

fn print_targets(targets: &[Target]) {
    println!();
    println!("### Targets");
    println!();
    println!(
        "Met only when both the interleaved and criterion's sequential medians are within the \
         limit."
    );
    println!();
    println!("| target | interleaved | sequential (criterion) | verdict |");
    println!("| --- | ---: | ---: | --- |");
    let show = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.3}×"));
    for t in targets {
        let verdict = match (t.ratio, t.sequential) {
            (Some(a), Some(b)) if a <= t.limit && b <= t.limit => "met".to_string(),
            (Some(a), Some(b)) if a <= t.limit || b <= t.limit => {
                format!("MISSED in one measurement ({a:.2}× / {b:.2}×)")
            }
            (Some(a), Some(b)) => format!("MISSED ({a:.2}× / {b:.2}×)"),
            (Some(a), None) if a <= t.limit => "met (interleaved only)".to_string(),
            (Some(a), None) => format!("MISSED ({a:.2}×)"),
            _ => "not run".to_string(),
        };
        println!(
            "| {} | {} | {} | {verdict} |",
            t.what,
            show(t.ratio),
            show(t.sequential)
        );
    }
}

fn print_memory(rows: &[MemRow], short: usize, long: usize) {
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
            "the seedlings CNN's parameters (4 conv 3×3 no bias + batch norm, 32…256 channels, \
             linear 256→12)",
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
