//! The fused kernels on flex: which buffers a step reads and writes, the parallel block loop, and
//! Adam's and SGD's update per element.
//!
//! A step is one pass over its operands, all f32 buffers: the weight, the gradient and the state
//! tensors. An output goes into its own input's buffer when that buffer is uniquely owned (in
//! place), else into the gradient's buffer when the gradient is uniquely owned and not taken yet
//! (the step consumes it), else into a new buffer. The index range is split into parts for
//! rayon's threads (large tensors only), each part worked in blocks of [`BLOCK`] elements. In the
//! usual step every output is in place and the kernel runs on the buffers themselves; otherwise
//! (first step, shared buffers) a block's inputs are all loaded into stack arrays before any
//! output is stored, so an output may share its buffer with any input, the written buffers being
//! viewed as `&[Cell<f32>]`. The one `unsafe` block is [`into_velocity`].

use std::any::{Any, TypeId};
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ops::Range;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::optim::momentum::MomentumState;
use burn::optim::{Adam, AdamState, AdaptiveMomentumState, LearningRate, Optimizer, Sgd, SgdState};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::{AdamHyper, Decay, Fused, SgdMomentum};
use crate::DecayMonitor;

/// What a fused step did.
// Returned once per step and moved out at once: boxing the larger variant would allocate every
// step to save 256 bytes of stack.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome<const D: usize, S> {
    /// The step is done: the new weight and state.
    Stepped(Tensor<D>, Option<S>),
    /// The gradient held NaN or ±∞ and nothing was written: the weight and state as they came.
    Skipped(Tensor<D>, Option<S>),
    /// The kernel does not cover this step: the weight, the gradient and the state, untouched,
    /// for the tensor-op path.
    Declined(Tensor<D>, Tensor<D>, Option<S>),
}

use Outcome::{Declined, Skipped, Stepped};

/// Elements per block of the inner loop (4 stack arrays of 2 KiB).
const BLOCK: usize = 512;

/// The fewest elements worth a part of their own on rayon's pool (512 KiB per buffer): below
/// twice this, a pass runs on the calling thread, as waking the pool costs more than it saves.
const MIN_PART: usize = 1 << 17;

/// Decay modes, as const parameters of the kernels.
const NONE: u8 = 0;
const COUPLED: u8 = 1;
const DECOUPLED: u8 = 2;
const PROXIMAL: u8 = 3;

/// Evaluates `$body` with `$mode` a const of the decay's mode, so that each mode gets its own
/// branch-free kernel.
macro_rules! by_mode {
    ($decay:expr, $mode:ident => $body:expr) => {
        match $decay {
            Decay::None => {
                const $mode: u8 = NONE;
                $body
            }
            Decay::Coupled(_) => {
                const $mode: u8 = COUPLED;
                $body
            }
            Decay::Decoupled(_) => {
                const $mode: u8 = DECOUPLED;
                $body
            }
            Decay::Proximal(_) => {
                const $mode: u8 = PROXIMAL;
                $body
            }
        }
    };
}

/// What the wrapper decided for this parameter and step.
pub(crate) struct Context<'a> {
    pub decay: Decay,
    pub skip_non_finite: bool,
    pub monitor: &'a DecayMonitor,
    pub lr: LearningRate,
}

/// One step of `O` by the fused kernel, or the arguments back ([`Outcome::Declined`]) when the
/// kernel does not cover it: `O` or its state is not the optimizer `fused` describes, AMSGrad state, a tensor not
/// a plain (non-autodiff) contiguous f32 flex tensor, or shapes that differ.
///
/// With `skip_non_finite`, a gradient holding NaN or ±∞ leaves the weight and the state as they
/// were (one read of the gradient before anything is written) and is counted in the monitor.
pub(crate) fn step<O: Optimizer, const D: usize>(
    fused: Fused,
    ctx: &Context<'_>,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<O::State<D>>,
) -> Outcome<D, O::State<D>> {
    let grad = contiguous_gradient(grad);
    match fused {
        Fused::Adam(hyper) if TypeId::of::<O>() == TypeId::of::<Adam>() => {
            with_typed_state(tensor, grad, state, |t, g, s| adam(hyper, ctx, t, g, s))
        }
        Fused::Sgd(momentum) if TypeId::of::<O>() == TypeId::of::<Sgd>() => {
            with_typed_state(tensor, grad, state, |t, g, s| sgd(momentum, ctx, t, g, s))
        }
        _ => Declined(tensor, grad, state),
    }
}

/// Runs `run` on the state as its concrete type `T` (`O::State<D>` is `'static`), and puts the
/// state it returns back into the optimizer's type.
fn with_typed_state<S: 'static, T: 'static, const D: usize>(
    tensor: Tensor<D>,
    grad: Tensor<D>,
    mut state: Option<S>,
    run: impl FnOnce(Tensor<D>, Tensor<D>, Option<T>) -> Outcome<D, T>,
) -> Outcome<D, S> {
    let Some(slot) = (&mut state as &mut dyn Any).downcast_mut::<Option<T>>() else {
        return Declined(tensor, grad, state);
    };
    match run(tensor, grad, slot.take()) {
        Stepped(tensor, typed) => {
            *slot = typed;
            Stepped(tensor, state)
        }
        Skipped(tensor, typed) => {
            *slot = typed;
            Skipped(tensor, state)
        }
        Declined(tensor, grad, typed) => {
            *slot = typed;
            Declined(tensor, grad, state)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Adam
// ---------------------------------------------------------------------------------------------

fn adam<const D: usize>(
    hyper: AdamHyper,
    ctx: &Context<'_>,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<AdamState<D>>,
) -> Outcome<D, AdamState<D>> {
    let eligible = match &state {
        None => probe(&[&tensor, &grad]),
        // AMSGrad's running maximum (say, from an AMSGrad run's record) is left to Burn.
        Some(s) if s.momentum.max_moment_2.is_some() => false,
        Some(s) => probe(&[&tensor, &grad, &s.momentum.moment_1, &s.momentum.moment_2]),
    };
    if !eligible {
        return Declined(tensor, grad, state);
    }
    let (weight, grad) = (flex(tensor), flex(grad));
    let (time, moments) = match state {
        None => (0, None),
        Some(AdamState { momentum }) => (
            momentum.time,
            Some((flex(momentum.moment_1), flex(momentum.moment_2))),
        ),
    };
    // Burn's `AdaptiveMomentum::transform`, scalar for scalar, in f32.
    let t = (time + 1) as i32;
    let bias_correction2_sqrt = (1.0 - hyper.beta_2.powi(t)).sqrt();
    let (rate, factor) = decay_scalars(ctx.decay);
    let scalars = AdamScalars {
        beta_1: hyper.beta_1,
        beta_2: hyper.beta_2,
        one_minus_beta_1: 1.0 - hyper.beta_1,
        one_minus_beta_2: 1.0 - hyper.beta_2,
        combined: bias_correction2_sqrt / (1.0 - hyper.beta_1.powi(t)),
        eps: hyper.epsilon * bias_correction2_sqrt,
        lr: ctx.lr as f32,
        rate,
        factor,
    };

    let mut pass = Pass::new(weight, grad);
    let (m, v) = match moments {
        Some((m, v)) => (Some(pass.input(m)), Some(pass.input(v))),
        None => (None, None),
    };
    let roles = Roles {
        w: Pass::WEIGHT,
        g: Pass::GRAD,
        m,
        v,
        w_out: pass.output(Some(Pass::WEIGHT)),
        m_out: Some(pass.output(m)),
        v_out: Some(pass.output(v)),
    };
    let first = roles.m.is_none();
    let kernel: Box<dyn Kernel> = by_mode!(ctx.decay, MODE => if first {
        Box::new(AdamKernel::<MODE, true>(scalars))
    } else {
        Box::new(AdamKernel::<MODE, false>(scalars))
    });
    let (written, mut out) = pass.run(&roles, kernel.as_ref(), ctx.skip_non_finite);
    let state = |out: &mut [Option<FlexTensor>], time, m, v| {
        AdamState::new(AdaptiveMomentumState {
            time,
            moment_1: Tensor::from_primitive::<Flex>(take(out, m)),
            moment_2: Tensor::from_primitive::<Flex>(take(out, v)),
            max_moment_2: None,
        })
    };
    if !written {
        // A non-finite gradient: nothing was written, the inputs are as they came.
        ctx.monitor.count_skipped();
        let state = roles
            .m
            .is_some()
            .then(|| state(&mut out, time, roles.m, roles.v));
        let weight = Tensor::from_primitive::<Flex>(take(&mut out, Some(Pass::WEIGHT)));
        return Skipped(weight, state);
    }
    ctx.monitor.count_fused();
    let state = state(&mut out, time + 1, roles.m_out, roles.v_out);
    let weight = Tensor::from_primitive::<Flex>(take(&mut out, Some(roles.w_out)));
    Stepped(weight, Some(state))
}

/// Adam's scalars, each the f32 that Burn's tensor op multiplies or adds.
#[derive(Clone, Copy)]
struct AdamScalars {
    beta_1: f32,
    beta_2: f32,
    one_minus_beta_1: f32,
    one_minus_beta_2: f32,
    /// `√(1 − β2^t) / (1 − β1^t)`.
    combined: f32,
    /// `ε·√(1 − β2^t)`.
    eps: f32,
    lr: f32,
    /// Coupled `λ`.
    rate: f32,
    /// Decoupled `s_t·λ`; proximal: the divisor `1 + s_t·λ`.
    factor: f32,
}

/// Adam with decay `MODE`; `FIRST`: the step that creates the moments.
struct AdamKernel<const MODE: u8, const FIRST: bool>(AdamScalars);

impl<const MODE: u8, const FIRST: bool> Kernel for AdamKernel<MODE, FIRST> {
    fn block(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let s = &self.0;
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let w0 = *w;
            // rule::coupled: grad + weight·λ.
            let g = if MODE == COUPLED { g + w0 * s.rate } else { g };
            // moment_1 = moment_1·β1 + grad·(1 − β1), moment_2 = moment_2·β2 + grad²·(1 − β2);
            // the first step: grad·(1 − β1) and grad²·(1 − β2).
            let (m1, v1) = if FIRST {
                (g * s.one_minus_beta_1, (g * g) * s.one_minus_beta_2)
            } else {
                (
                    *m * s.beta_1 + g * s.one_minus_beta_1,
                    *v * s.beta_2 + (g * g) * s.one_minus_beta_2,
                )
            };
            *m = m1;
            *v = v1;
            // moment_1·combined / (√moment_2 + ε·√(1 − β2^t)); weight − step·lr.
            let step = (m1 * s.combined) / (v1.sqrt() + s.eps);
            let updated = w0 - step * s.lr;
            // rule::decoupled: updated − weight·(s_t·λ); rule::decoupled_proximal: updated / (1 + s_t·λ).
            *w = if MODE == DECOUPLED {
                updated - w0 * s.factor
            } else if MODE == PROXIMAL {
                updated / s.factor
            } else {
                updated
            };
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SGD
// ---------------------------------------------------------------------------------------------

/// SGD kinds: no momentum, momentum, Nesterov momentum.
const PLAIN: u8 = 0;
const MOMENTUM: u8 = 1;
const NESTEROV: u8 = 2;

fn sgd<const D: usize>(
    momentum: Option<SgdMomentum>,
    ctx: &Context<'_>,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<SgdState<D>>,
) -> Outcome<D, SgdState<D>> {
    let Some(momentum) = momentum else {
        return sgd_plain(ctx, tensor, grad, state);
    };
    if !velocity_is_lone_tensor::<D>() {
        return Declined(tensor, grad, state);
    }
    // Whether a state came in, and its velocity as a tensor.
    let (had_state, velocity) = match state {
        None => (false, None),
        Some(SgdState { momentum }) => (true, momentum.map(into_velocity)),
    };
    // The state exactly as it came in.
    let restore = |velocity: Option<Tensor<D>>| {
        had_state.then(|| SgdState::new(velocity.map(MomentumState::new)))
    };
    let eligible = match &velocity {
        None => probe(&[&tensor, &grad]),
        Some(velocity) => probe(&[&tensor, &grad, velocity]),
    };
    if !eligible {
        return Declined(tensor, grad, restore(velocity));
    }
    let (weight, grad) = (flex(tensor), flex(grad));
    let kind = if momentum.nesterov {
        NESTEROV
    } else {
        MOMENTUM
    };
    let (written, weight, velocity) =
        sgd_pass(kind, Some(momentum), ctx, weight, grad, velocity.map(flex));
    if !written {
        return Skipped(weight, restore(velocity));
    }
    let velocity = velocity.expect("momentum SGD writes a velocity");
    Stepped(
        weight,
        Some(SgdState::new(Some(MomentumState::new(velocity)))),
    )
}

/// SGD without momentum: Burn passes whatever momentum state there is through untouched.
fn sgd_plain<const D: usize>(
    ctx: &Context<'_>,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<SgdState<D>>,
) -> Outcome<D, SgdState<D>> {
    if !probe(&[&tensor, &grad]) {
        return Declined(tensor, grad, state);
    }
    let (weight, grad) = (flex(tensor), flex(grad));
    match sgd_pass(PLAIN, None, ctx, weight, grad, None) {
        (true, weight, _) => Stepped(weight, Some(SgdState::new(state.and_then(|s| s.momentum)))),
        (false, weight, _) => Skipped(weight, state),
    }
}

/// The SGD pass of kind `kind`; `velocity`: the previous velocity (none on the first step).
/// Returns whether it wrote (`false`: a non-finite gradient was skipped), the weight and the
/// velocity (as they came in if skipped).
fn sgd_pass<const D: usize>(
    kind: u8,
    momentum: Option<SgdMomentum>,
    ctx: &Context<'_>,
    weight: FlexTensor,
    grad: FlexTensor,
    velocity: Option<FlexTensor>,
) -> (bool, Tensor<D>, Option<Tensor<D>>) {
    let (rate, factor) = decay_scalars(ctx.decay);
    // Burn's `Momentum::transform`: `grad·(1 − dampening)` with the f64 difference, `velocity·μ`
    // with μ already f32.
    let scalars = SgdScalars {
        lr: ctx.lr as f32,
        rate,
        factor,
        one_minus_dampening: momentum.map_or(1.0, |m| (1.0 - m.dampening) as f32),
        momentum: momentum.map_or(0.0, |m| m.momentum),
    };
    let mut pass = Pass::new(weight, grad);
    let b = velocity.map(|v| pass.input(v));
    let roles = Roles {
        w: Pass::WEIGHT,
        g: Pass::GRAD,
        m: b,
        v: None,
        w_out: pass.output(Some(Pass::WEIGHT)),
        m_out: (kind != PLAIN).then(|| pass.output(b)),
        v_out: None,
    };
    let first = b.is_none();
    let kernel: Box<dyn Kernel> = by_mode!(ctx.decay, MODE => match (kind, first) {
        (PLAIN, _) => Box::new(SgdKernel::<MODE, PLAIN, false>(scalars)),
        (MOMENTUM, true) => Box::new(SgdKernel::<MODE, MOMENTUM, true>(scalars)),
        (MOMENTUM, false) => Box::new(SgdKernel::<MODE, MOMENTUM, false>(scalars)),
        (_, true) => Box::new(SgdKernel::<MODE, NESTEROV, true>(scalars)),
        (_, false) => Box::new(SgdKernel::<MODE, NESTEROV, false>(scalars)),
    });
    let (written, mut out) = pass.run(&roles, kernel.as_ref(), ctx.skip_non_finite);
    let (w, b) = if written {
        ctx.monitor.count_fused();
        (roles.w_out, roles.m_out)
    } else {
        // A non-finite gradient: nothing was written, the inputs are as they came.
        ctx.monitor.count_skipped();
        (Pass::WEIGHT, roles.m)
    };
    let velocity = b.map(|i| Tensor::from_primitive::<Flex>(take(&mut out, Some(i))));
    let weight = Tensor::from_primitive::<Flex>(take(&mut out, Some(w)));
    (written, weight, velocity)
}

/// SGD's scalars, each the f32 that Burn's tensor op multiplies by.
#[derive(Clone, Copy)]
struct SgdScalars {
    lr: f32,
    /// Coupled `λ`.
    rate: f32,
    /// Decoupled `s_t·λ`; proximal: the divisor `1 + s_t·λ`.
    factor: f32,
    one_minus_dampening: f32,
    momentum: f32,
}

/// SGD with decay `MODE`, of kind `KIND`; `FIRST`: the step that creates the velocity. The
/// velocity is the kernel's `m`.
struct SgdKernel<const MODE: u8, const KIND: u8, const FIRST: bool>(SgdScalars);

impl<const MODE: u8, const KIND: u8, const FIRST: bool> Kernel for SgdKernel<MODE, KIND, FIRST> {
    fn block(&self, w: &mut [f32], g: &[f32], b: &mut [f32], _: &mut [f32]) {
        let s = &self.0;
        for ((w, &g), b) in w.iter_mut().zip(g).zip(b.iter_mut()) {
            let w0 = *w;
            // rule::coupled: grad + weight·λ.
            let g = if MODE == COUPLED { g + w0 * s.rate } else { g };
            let step = if KIND == PLAIN {
                g
            } else {
                // velocity = grad·(1 − dampening) + velocity·μ; the first step: grad.
                let velocity = if FIRST {
                    g
                } else {
                    g * s.one_minus_dampening + *b * s.momentum
                };
                *b = velocity;
                // Nesterov: velocity·μ + grad.
                if KIND == NESTEROV {
                    velocity * s.momentum + g
                } else {
                    velocity
                }
            };
            let updated = w0 - step * s.lr;
            // rule::decoupled: updated − weight·(s_t·λ); rule::decoupled_proximal: updated / (1 + s_t·λ).
            *w = if MODE == DECOUPLED {
                updated - w0 * s.factor
            } else if MODE == PROXIMAL {
                updated / s.factor
            } else {
                updated
            };
        }
    }
}

/// Whether `MomentumState<D>` is laid out as a lone `Tensor<D>`, as [`into_velocity`] needs.
fn velocity_is_lone_tensor<const D: usize>() -> bool {
    use std::mem::{align_of, size_of};
    size_of::<MomentumState<D>>() == size_of::<Tensor<D>>()
        && align_of::<MomentumState<D>>() == align_of::<Tensor<D>>()
        && size_of::<Tensor<D>>() > 0
}

/// Burn's `MomentumState` keeps its only field, `velocity: Tensor<D>`, private (`burn-optim`
/// 0.22.1, pinned exactly), with no accessor; building one back is public
/// (`MomentumState::new`). This moves the velocity out.
///
/// # Panics
///
/// If [`velocity_is_lone_tensor`] is false (checked first by the caller).
fn into_velocity<const D: usize>(state: MomentumState<D>) -> Tensor<D> {
    assert!(velocity_is_lone_tensor::<D>(), "MomentumState layout");
    let state = ManuallyDrop::new(state);
    let ptr = std::ptr::from_ref::<MomentumState<D>>(&state).cast::<Tensor<D>>();
    // SAFETY: `MomentumState<D>` has exactly one field, of type `Tensor<D>` (burn-optim =0.22.1,
    // `src/optim/momentum.rs`). A struct of the same size as its only, non-zero-sized field holds
    // that field at offset 0 (the field must fit: offset + size ≤ size), so `ptr` points to a
    // valid, initialized `Tensor<D>`, aligned since the alignments are equal. The state is
    // wrapped in `ManuallyDrop`, so the tensor read out is owned once and dropped once.
    unsafe { std::ptr::read(ptr) }
}

// ---------------------------------------------------------------------------------------------
// The pass
// ---------------------------------------------------------------------------------------------

/// The elementwise update of one block: `w`, `g` and the state `m`, `v` (those a kernel does not
/// use are scratch) hold the block's inputs; the kernel leaves the outputs in `w`, `m`, `v`.
trait Kernel: Sync {
    fn block(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]);
}

/// Buffer indices of a pass: where each input is read and each output written.
struct Roles {
    w: usize,
    g: usize,
    m: Option<usize>,
    v: Option<usize>,
    w_out: usize,
    m_out: Option<usize>,
    v_out: Option<usize>,
}

impl Roles {
    /// Every output in its own input's buffer (so the gradient is not an output).
    fn in_place(&self) -> bool {
        self.w_out == self.w && self.m_out == self.m && self.v_out == self.v
    }
}

/// One buffer of a pass; `writable`: uniquely owned, so it may be written in place.
struct Buf {
    tensor: FlexTensor,
    writable: bool,
}

impl Buf {
    fn lane(&mut self) -> Lane<'_> {
        let (start, end) = self
            .tensor
            .layout()
            .contiguous_offsets()
            .expect("probed contiguous");
        if self.writable {
            let storage = self
                .tensor
                .try_storage_mut::<f32>()
                .expect("a writable buffer is uniquely owned");
            Lane::Write(&mut storage[start..end])
        } else {
            Lane::Read(&self.tensor.storage::<f32>()[start..end])
        }
    }
}

/// The buffers of one step: the weight, the gradient, the state tensors, then new buffers.
struct Pass {
    bufs: Vec<Buf>,
    /// The gradient's buffer while it may still take an output.
    spare: Option<usize>,
}

impl Pass {
    const WEIGHT: usize = 0;
    const GRAD: usize = 1;

    fn new(weight: FlexTensor, grad: FlexTensor) -> Self {
        let mut pass = Self {
            bufs: Vec::with_capacity(5),
            spare: None,
        };
        pass.input(weight);
        let grad = pass.input(grad);
        pass.spare = pass.bufs[grad].writable.then_some(grad);
        pass
    }

    fn input(&mut self, mut tensor: FlexTensor) -> usize {
        let writable = tensor.try_storage_mut::<f32>().is_some();
        self.bufs.push(Buf { tensor, writable });
        self.bufs.len() - 1
    }

    /// Where an output goes: its own input's buffer if writable, else the gradient's if still
    /// free, else a new buffer. Every output gets a buffer no other output has.
    fn output(&mut self, own: Option<usize>) -> usize {
        if let Some(own) = own
            && self.bufs[own].writable
        {
            return own;
        }
        if let Some(spare) = self.spare.take() {
            return spare;
        }
        let shape = self.bufs[Self::WEIGHT].tensor.layout().shape().clone();
        self.bufs.push(Buf {
            tensor: FlexTensor::zeros(shape, DType::F32),
            writable: true,
        });
        self.bufs.len() - 1
    }

    /// Runs `kernel` over every element, unless `check` finds a NaN or ±∞ in the gradient
    /// first; returns whether it ran (`false`: nothing was written) and the buffers, by index.
    ///
    /// A large pass runs as one job on rayon's pool, the check and the parts split over its
    /// threads: the caller waits for the pool to wake up once per parameter.
    fn run(
        mut self,
        roles: &Roles,
        kernel: &dyn Kernel,
        check: bool,
    ) -> (bool, Vec<Option<FlexTensor>>) {
        let n = self.bufs[Self::WEIGHT].tensor.layout().num_elements();
        let lanes: Vec<Lane<'_>> = self.bufs.iter_mut().map(Buf::lane).collect();
        let parts = parts(n);
        let pass = move || {
            let grad: &[f32] = match &lanes[roles.g] {
                Lane::Read(s) => s,
                Lane::Write(s) => s,
            };
            if check && has_non_finite(grad, parts > 1) {
                return false;
            }
            if parts <= 1 {
                run_part(lanes, roles, kernel);
            } else {
                let chunk = n.div_ceil(parts).next_multiple_of(BLOCK);
                split(lanes, chunk)
                    .into_par_iter()
                    .for_each(|lanes| run_part(lanes, roles, kernel));
            }
            true
        };
        let written = if parts <= 1 {
            pass()
        } else {
            rayon::scope(|_| pass())
        };
        let out = self.bufs.into_iter().map(|b| Some(b.tensor)).collect();
        (written, out)
    }
}

fn take(out: &mut [Option<FlexTensor>], index: Option<usize>) -> FlexTensor {
    index
        .and_then(|i| out[i].take())
        .expect("an output of the pass, taken once")
}

/// A buffer's elements as one pass sees them.
enum Lane<'a> {
    Read(&'a [f32]),
    Write(&'a mut [f32]),
}

/// Splits every lane at the same multiples of `chunk`: one list of lanes per part.
fn split(lanes: Vec<Lane<'_>>, chunk: usize) -> Vec<Vec<Lane<'_>>> {
    fn push<'a>(parts: &mut Vec<Vec<Lane<'a>>>, i: usize, lane: Lane<'a>) {
        if parts.len() <= i {
            parts.push(Vec::new());
        }
        parts[i].push(lane);
    }
    let mut parts = Vec::new();
    for lane in lanes {
        match lane {
            Lane::Read(s) => {
                for (i, c) in s.chunks(chunk).enumerate() {
                    push(&mut parts, i, Lane::Read(c));
                }
            }
            Lane::Write(s) => {
                for (i, c) in s.chunks_mut(chunk).enumerate() {
                    push(&mut parts, i, Lane::Write(c));
                }
            }
        }
    }
    parts
}

/// A lane inside one part: a written buffer is seen as cells, since an output may share its
/// buffer with an input.
enum View<'a> {
    Read(&'a [f32]),
    Cells(&'a [Cell<f32>]),
}

impl View<'_> {
    fn len(&self) -> usize {
        match self {
            View::Read(s) => s.len(),
            View::Cells(c) => c.len(),
        }
    }

    fn load(&self, range: Range<usize>, out: &mut [f32]) {
        match self {
            View::Read(s) => out.copy_from_slice(&s[range]),
            View::Cells(c) => {
                for (o, c) in out.iter_mut().zip(&c[range]) {
                    *o = c.get();
                }
            }
        }
    }

    fn store(&self, range: Range<usize>, values: &[f32]) {
        match self {
            View::Cells(c) => {
                for (c, &x) in c[range].iter().zip(values) {
                    c.set(x);
                }
            }
            View::Read(_) => unreachable!("outputs are planned on writable buffers"),
        }
    }
}

/// One part: block by block, load every input, run the kernel, store every output; or, when
/// every output is in place, run the kernel on the buffers themselves.
fn run_part(lanes: Vec<Lane<'_>>, roles: &Roles, kernel: &dyn Kernel) {
    if roles.in_place() {
        return run_part_in_place(lanes, roles, kernel);
    }
    let views: Vec<View<'_>> = lanes
        .into_iter()
        .map(|lane| match lane {
            Lane::Read(s) => View::Read(s),
            Lane::Write(s) => View::Cells(Cell::from_mut(s).as_slice_of_cells()),
        })
        .collect();
    let len = views.first().map_or(0, View::len);
    let (mut w, mut g, mut m, mut v) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
    let mut start = 0;
    while start < len {
        let k = BLOCK.min(len - start);
        let range = start..start + k;
        views[roles.w].load(range.clone(), &mut w[..k]);
        views[roles.g].load(range.clone(), &mut g[..k]);
        if let Some(i) = roles.m {
            views[i].load(range.clone(), &mut m[..k]);
        }
        if let Some(i) = roles.v {
            views[i].load(range.clone(), &mut v[..k]);
        }
        kernel.block(&mut w[..k], &g[..k], &mut m[..k], &mut v[..k]);
        views[roles.w_out].store(range.clone(), &w[..k]);
        if let Some(i) = roles.m_out {
            views[i].store(range.clone(), &m[..k]);
        }
        if let Some(i) = roles.v_out {
            views[i].store(range, &v[..k]);
        }
        start += k;
    }
}

/// The usual step: weight and state updated in their own, uniquely owned buffers, the gradient
/// only read. No staging: the kernel works on the buffers directly, block by block (blocks only
/// so that a state the kernel does not use has stack scratch to stand in for it).
fn run_part_in_place(lanes: Vec<Lane<'_>>, roles: &Roles, kernel: &dyn Kernel) {
    fn written(lane: Lane<'_>) -> &mut [f32] {
        match lane {
            Lane::Write(s) => s,
            Lane::Read(_) => unreachable!("in-place outputs are writable"),
        }
    }
    let mut lanes: Vec<Option<Lane<'_>>> = lanes.into_iter().map(Some).collect();
    let mut take = |i: usize| lanes[i].take().expect("one role per buffer");
    let w = written(take(roles.w));
    let g: &[f32] = match take(roles.g) {
        Lane::Read(s) => s,
        Lane::Write(s) => s,
    };
    let mut m = roles.m.map(|i| written(take(i)));
    let mut v = roles.v.map(|i| written(take(i)));
    let (mut scratch_m, mut scratch_v) = ([0.0; BLOCK], [0.0; BLOCK]);
    let mut start = 0;
    while start < w.len() {
        let end = w.len().min(start + BLOCK);
        let k = end - start;
        let m = match &mut m {
            Some(m) => &mut m[start..end],
            None => &mut scratch_m[..k],
        };
        let v = match &mut v {
            Some(v) => &mut v[start..end],
            None => &mut scratch_v[..k],
        };
        kernel.block(&mut w[start..end], &g[start..end], m, v);
        start = end;
    }
}

/// How many parts a pass over `n` elements is split into.
fn parts(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if threads <= 1 || n < 2 * MIN_PART {
        1
    } else {
        (n / MIN_PART).min(threads * 4)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Whether every tensor is a plain (non-autodiff) f32 flex tensor with a contiguous layout, all
/// of one shape. Looks at clones, so a uniquely owned buffer is unique again afterwards.
fn probe<const D: usize>(tensors: &[&Tensor<D>]) -> bool {
    let dims = tensors[0].dims();
    tensors.iter().all(|t| {
        t.dims() == dims
            && (*t)
                .clone()
                .try_into_primitive::<Flex>()
                .is_ok_and(|p| p.dtype() == DType::F32 && p.layout().contiguous_offsets().is_some())
    })
}

/// A plain f32 flex gradient whose layout is not contiguous (Burn returns a conv weight's
/// gradient as a permuted view, strides `[9, 576, 3, 1]` for `[64, 32, 3, 3]`) copied into
/// row-major order, in one pass over its memory; any other gradient as it is. The kernels walk
/// weight, gradient and state index by index, so they need the gradient in the weight's order.
fn contiguous_gradient<const D: usize>(grad: Tensor<D>) -> Tensor<D> {
    let needs_copy = grad
        .clone()
        .try_into_primitive::<Flex>()
        .is_ok_and(|p| p.dtype() == DType::F32 && p.layout().contiguous_offsets().is_none());
    if !needs_copy {
        return grad;
    }
    let primitive = flex(grad);
    Tensor::from_primitive::<Flex>(primitive.to_contiguous())
}

/// The flex primitive of a tensor [`probe`]d before.
fn flex<const D: usize>(tensor: Tensor<D>) -> FlexTensor {
    tensor
        .try_into_primitive::<Flex>()
        .expect("probed: a plain flex float tensor")
}

/// Whether any element is NaN or ±∞ (exponent bits all ones), split over rayon's threads if
/// `parallel`.
fn has_non_finite(values: &[f32], parallel: bool) -> bool {
    fn part(values: &[f32]) -> bool {
        const EXPONENT: u32 = 0x7f80_0000;
        const EXPONENT_ONE: u32 = 0x0080_0000;
        // An all-ones exponent plus one carries into bit 31; no other exponent reaches it.
        values.chunks(BLOCK).any(|c| {
            let carried = c.iter().fold(0u32, |acc, x| {
                acc | (x.to_bits() & EXPONENT).wrapping_add(EXPONENT_ONE)
            });
            carried & 0x8000_0000 != 0
        })
    }
    if parallel {
        values.par_chunks(MIN_PART).any(part)
    } else {
        part(values)
    }
}

/// The f32 decay scalars (coupled `λ`, decoupled `s_t·λ`, proximal `1 + s_t·λ`), as flex's
/// `mul_scalar` and `div_scalar` round them.
fn decay_scalars(decay: Decay) -> (f32, f32) {
    match decay {
        Decay::None => (0.0, 0.0),
        Decay::Coupled(rate) => (rate as f32, 0.0),
        Decay::Decoupled(factor) => (0.0, factor as f32),
        Decay::Proximal(factor) => (0.0, (1.0 + factor) as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn velocity_round_trips_through_momentum_state() {
        let device = Device::flex();
        let values = vec![1.0f32, -2.5, 3.25];
        let tensor = Tensor::<1>::from_data(TensorData::new(values.clone(), [3]), &device);
        assert!(velocity_is_lone_tensor::<1>());
        let velocity = into_velocity(MomentumState::new(tensor));
        assert_eq!(velocity.into_data().try_to_vec::<f32>().unwrap(), values);
    }

    #[test]
    fn non_finite_is_found_anywhere() {
        let mut values = vec![1.0f32; 3 * MIN_PART + 17];
        for parallel in [false, true] {
            assert!(!has_non_finite(&values, parallel));
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for at in [0, BLOCK - 1, MIN_PART + 5, values.len() - 1] {
                    let old = values[at];
                    values[at] = bad;
                    assert!(has_non_finite(&values, parallel), "{bad} at {at}");
                    values[at] = old;
                }
            }
        }
        let edge = [f32::MAX, f32::MIN, 0.0, -0.0, f32::MIN_POSITIVE / 2.0];
        assert!(!has_non_finite(&edge, false));
    }

    #[test]
    fn split_keeps_lanes_aligned() {
        let a: Vec<f32> = (0..10).map(|x| x as f32).collect();
        let mut b = vec![0.0f32; 10];
        let parts = split(vec![Lane::Read(&a), Lane::Write(&mut b)], 4);
        assert_eq!(parts.len(), 3);
        for part in parts {
            let [Lane::Read(r), Lane::Write(w)] = &part[..] else {
                panic!("lane order")
            };
            assert_eq!(r.len(), w.len());
        }
    }
}
