//! Adam's fused step: its scalars as Burn rounds them, its per-element kernel, and the step that
//! checks what Adam's state holds, plans the pass and builds the new `AdamState`.

use burn::optim::{AdamState, AdaptiveMomentumState};
use burn::tensor::Tensor;

use super::Outcome::{self, Declined};
use super::pass::{Finished, Kernel, Pass};
use super::{Context, decay_scalars, decayed_grad, decayed_weight, flex, probe};
use crate::fused::AdamHyper;

/// One Adam step, or the arguments back when the kernel does not cover it (AMSGrad state, or
/// tensors [`probe`] refuses).
pub(super) fn adam<const D: usize>(
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
    let first = m.is_none();
    let roles = pass.roles(m, v, true, true);
    let kernel: Box<dyn Kernel> = by_mode!(ctx.decay, MODE => if first {
        Box::new(AdamKernel::<MODE, true>(scalars))
    } else {
        Box::new(AdamKernel::<MODE, false>(scalars))
    });
    pass.run(&roles, kernel.as_ref(), ctx, |finished| match finished {
        Finished::Stepped { m, v } => {
            let (m, v) = (
                m.expect("Adam writes moment 1"),
                v.expect("Adam writes moment 2"),
            );
            Some(adam_state(time + 1, m, v))
        }
        // The moments as they came (none on the first step).
        Finished::Skipped { m, v } => m.zip(v).map(|(m, v)| adam_state(time, m, v)),
    })
}

/// Burn's state after `time` steps, without AMSGrad's maximum.
fn adam_state<const D: usize>(
    time: usize,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
) -> AdamState<D> {
    AdamState::new(AdaptiveMomentumState {
        time,
        moment_1,
        moment_2,
        max_moment_2: None,
    })
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
            let g = decayed_grad::<MODE>(g, w0, s.rate);
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
            *w = decayed_weight::<MODE>(updated, w0, s.factor);
        }
    }
}
