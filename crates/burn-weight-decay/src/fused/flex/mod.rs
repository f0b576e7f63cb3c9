//! The fused kernels on flex: the dispatch from a step to Adam's or SGD's kernel, the decay modes
//! as const parameters, and which tensors a kernel takes. The pass engine is [`pass`], the
//! kernels [`adam`] and [`sgd`].
//!
//! # What the fused kernel covers
//!
//! This is the one full list; the crate docs, the configs' `fused` fields, README.md and
//! BENCHMARKS.md link here. A parameter's step is fused when all of these hold, and takes Burn's
//! tensor ops, unchanged and with the same bits, when any does not:
//!
//! - the `flex` feature is on (the default), and the [`WeightDecay`](crate::WeightDecay) was built
//!   by [`AdamDecayConfig`](crate::AdamDecayConfig) or [`SgdDecayConfig`](crate::SgdDecayConfig)
//!   with `fused` on (the default), which attaches a [`Fused`](super::Fused) descriptor; an
//!   optimizer wrapped with [`DecayConfig::wrap`](crate::DecayConfig::wrap) has none;
//! - the optimizer is Burn's `Adam` without AMSGrad (the config attaches no descriptor with
//!   `amsgrad`, and a state holding AMSGrad's maximum, say from an AMSGrad run's record, is
//!   declined in [`adam`]), or Burn's `Sgd` with or without momentum, dampening and Nesterov
//!   included (checked in [`step`]);
//! - the [`DecayMonitor`](crate::DecayMonitor) is not armed (it measures with tensor ops);
//! - the decay is none, coupled, or decoupled in either [`DecayForm`](crate::DecayForm), with any
//!   [`DecayScale`](crate::DecayScale) and any [`RateSchedule`](crate::RateSchedule), not
//!   cautious, not stable, and toward zero or a target norm
//!   ([`DecayTarget::Norm`](crate::DecayTarget::Norm) and
//!   [`NormRatio`](crate::DecayTarget::NormRatio): the step measures `‖w_t‖` with tensor ops,
//!   one more read of the weight, and the kernel gets the decay scalar times `1 − r/‖w_t‖`, as
//!   the tensor path does), not [`DecayTarget::Initial`](crate::DecayTarget::Initial) (its `w₀`
//!   would be one more state tensor); a parameter that does not decay (rank ≤ 1 by default) is
//!   fused whatever the decay settings (these checks are `WeightDecay::try_fused`'s);
//! - the weight and the state tensors are plain (non-autodiff) f32 flex tensors, contiguous and
//!   of one shape ([`probe`]): other backends, dtypes and layouts are declined. The gradient may
//!   have any layout: a non-contiguous one is copied into row-major order first
//!   ([`contiguous_gradient`]).
//!
//! Both [`NonFiniteGrad`](crate::NonFiniteGrad) policies are covered: with `Skip` the pass reads
//! the gradient once before anything is written. Each fused update is counted by
//! [`DecayMonitor::fused_updates`](crate::DecayMonitor::fused_updates).
//!
//! # Adding a kernel
//!
//! A new optimizer touches every one of these places:
//!
//! 1. `fused.rs`: a [`Fused`](super::Fused) variant holding the hyper-parameters its kernel needs
//!    (Burn's optimizers keep theirs private).
//! 2. `configs.rs`: the config's `try_build` attaches that variant with `with_fused` when its
//!    `fused` field is on and the kernel covers the settings (as Adam's does only without
//!    AMSGrad).
//! 3. This module: an arm in [`step`] matching the variant and the optimizer's type, running the
//!    kernel through [`with_typed_state`]; the kernel's file as a `mod` below; the list above.
//! 4. Its own file beside [`adam`] and [`sgd`]: the scalars, as the f32 values Burn's tensor ops
//!    multiply and add; a [`Kernel`](pass::Kernel) impl with the decay mode as a const
//!    parameter, chosen by `by_mode!`, repeating Burn's f32 operations in Burn's order; and the
//!    step: [`probe`] the tensors (else [`Outcome::Declined`]), [`Pass::new`](pass::Pass::new),
//!    [`Pass::input`](pass::Pass::input) for each state tensor,
//!    [`Pass::roles`](pass::Pass::roles), then [`Pass::run`](pass::Pass::run) with a closure
//!    building the optimizer's state from the [`Finished`](pass::Finished) tensors.
//! 5. [`pass`], only if the kernel has more than two state tensors: `Roles`, the block arrays
//!    and [`Kernel::block`](pass::Kernel::block) hold `m` and `v`.
//! 6. `wrapper.rs`, `WeightDecay::try_fused`, only if some decay setting must be declined for it.
//! 7. `tests/fused.rs`: the new config against itself with `with_fused(false)`, bit for bit, in
//!    every decay mode, first and later steps, shared buffers and a non-finite gradient; and a
//!    case in `benches/optimizer_step.rs`.

use std::any::{Any, TypeId};

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::optim::{Adam, LearningRate, Optimizer, Sgd};
use burn::tensor::{DType, Tensor};

use super::{Decay, Fused};
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

/// Decay modes, as const parameters of the kernels.
const NONE: u8 = 0;
const COUPLED: u8 = 1;
const DECOUPLED: u8 = 2;
const PROXIMAL: u8 = 3;

/// The gradient after decay `MODE`, element by element: `rule::coupled`, `grad + weight·λ`, in
/// coupled mode, the gradient itself otherwise. Shared by every kernel, in Burn's f32 order.
#[inline(always)]
fn decayed_grad<const MODE: u8>(g: f32, w0: f32, rate: f32) -> f32 {
    if MODE == COUPLED { g + w0 * rate } else { g }
}

/// The weight after the inner update `updated` of `w0` and decay `MODE`, element by element:
/// `rule::decoupled`, `updated − weight·(s_t·λ)`, or `rule::decoupled_proximal`,
/// `updated / (1 + s_t·λ)` (`factor` is then the divisor); `updated` otherwise.
#[inline(always)]
fn decayed_weight<const MODE: u8>(updated: f32, w0: f32, factor: f32) -> f32 {
    if MODE == DECOUPLED {
        updated - w0 * factor
    } else if MODE == PROXIMAL {
        updated / factor
    } else {
        updated
    }
}

/// Evaluates `$body` with `$mode` a const of the decay's mode, so that each mode gets its own
/// branch-free kernel.
macro_rules! by_mode {
    ($decay:expr, $mode:ident => $body:expr) => {
        match $decay {
            $crate::fused::Decay::None => {
                const $mode: u8 = $crate::fused::flex::NONE;
                $body
            }
            $crate::fused::Decay::Coupled(_) => {
                const $mode: u8 = $crate::fused::flex::COUPLED;
                $body
            }
            $crate::fused::Decay::Decoupled(_) => {
                const $mode: u8 = $crate::fused::flex::DECOUPLED;
                $body
            }
            $crate::fused::Decay::Proximal(_) => {
                const $mode: u8 = $crate::fused::flex::PROXIMAL;
                $body
            }
        }
    };
}

// After `by_mode!`, which the kernels use.
mod adam;
mod pass;
mod sgd;

/// What the wrapper decided for this parameter and step.
pub(crate) struct Context<'a> {
    pub decay: Decay,
    pub skip_non_finite: bool,
    pub monitor: &'a DecayMonitor,
    pub lr: LearningRate,
}

/// One step of `O` by the fused kernel, or the arguments back ([`Outcome::Declined`]) when the
/// kernel does not cover it: `O` or its state is not the optimizer `fused` describes, AMSGrad
/// state, a weight or state tensor not a plain (non-autodiff) contiguous f32 flex tensor, or
/// shapes that differ.
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
            with_typed_state(tensor, grad, state, |t, g, s| {
                adam::adam(hyper, ctx, t, g, s)
            })
        }
        Fused::Sgd(momentum) if TypeId::of::<O>() == TypeId::of::<Sgd>() => {
            with_typed_state(tensor, grad, state, |t, g, s| {
                sgd::sgd(momentum, ctx, t, g, s)
            })
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
