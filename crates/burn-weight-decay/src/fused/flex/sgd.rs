//! SGD's fused step, without momentum, with it and with Nesterov's: its scalars as Burn rounds
//! them, its per-element kernel, and the steps that check what SGD's state holds and build the new
//! `SgdState`.
//!
//! Holds the crate's one `unsafe` block, [`into_velocity`]: Burn keeps the velocity inside
//! `MomentumState` private, and the kernel needs it as a tensor.

use std::mem::ManuallyDrop;

use burn::backend::flex::FlexTensor;
use burn::optim::SgdState;
use burn::optim::momentum::MomentumState;
use burn::tensor::Tensor;

use super::Outcome::{self, Declined};
use super::pass::{Finished, Kernel, Pass};
use super::{Context, decay_scalars, decayed_grad, decayed_weight, flex, probe};
use crate::fused::SgdMomentum;

/// SGD kinds: no momentum, momentum, Nesterov momentum.
const PLAIN: u8 = 0;
const MOMENTUM: u8 = 1;
const NESTEROV: u8 = 2;

/// One SGD step, or the arguments back when the kernel does not cover it (tensors [`probe`]
/// refuses, or a `MomentumState` not laid out as [`into_velocity`] needs).
pub(super) fn sgd<const D: usize>(
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
    let kind = if momentum.nesterov {
        NESTEROV
    } else {
        MOMENTUM
    };
    let (weight, grad) = (flex(tensor), flex(grad));
    let velocity = velocity.map(flex);
    sgd_pass(
        kind,
        Some(momentum),
        ctx,
        weight,
        grad,
        velocity,
        |finished| match finished {
            Finished::Stepped { m: velocity, .. } => {
                let velocity = velocity.expect("momentum SGD writes a velocity");
                Some(SgdState::new(Some(MomentumState::new(velocity))))
            }
            Finished::Skipped { m: velocity, .. } => restore(velocity),
        },
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
    sgd_pass(
        PLAIN,
        None,
        ctx,
        weight,
        grad,
        None,
        |finished| match finished {
            Finished::Stepped { .. } => Some(SgdState::new(state.and_then(|s| s.momentum))),
            Finished::Skipped { .. } => state,
        },
    )
}

/// The SGD pass of kind `kind`; `velocity`: the previous velocity (none on the first step).
/// `state` builds the SGD state from the velocity [`Pass::run`] hands back (the kernel's `m`).
fn sgd_pass<const D: usize>(
    kind: u8,
    momentum: Option<SgdMomentum>,
    ctx: &Context<'_>,
    weight: FlexTensor,
    grad: FlexTensor,
    velocity: Option<FlexTensor>,
    state: impl FnOnce(Finished<D>) -> Option<SgdState<D>>,
) -> Outcome<D, SgdState<D>> {
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
    let roles = pass.roles(b, None, kind != PLAIN, false);
    let first = b.is_none();
    let kernel: Box<dyn Kernel> = by_mode!(ctx.decay, MODE => match (kind, first) {
        (PLAIN, _) => Box::new(SgdKernel::<MODE, PLAIN, false>(scalars)),
        (MOMENTUM, true) => Box::new(SgdKernel::<MODE, MOMENTUM, true>(scalars)),
        (MOMENTUM, false) => Box::new(SgdKernel::<MODE, MOMENTUM, false>(scalars)),
        (_, true) => Box::new(SgdKernel::<MODE, NESTEROV, true>(scalars)),
        (_, false) => Box::new(SgdKernel::<MODE, NESTEROV, false>(scalars)),
    });
    pass.run(&roles, kernel.as_ref(), ctx, state)
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
            let g = decayed_grad::<MODE>(g, w0, s.rate);
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
            *w = decayed_weight::<MODE>(updated, w0, s.factor);
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
}
