//! Coupled L2 and decoupled weight decay as one wrapper around any Burn optimizer.
//!
//! Two different things go by the name "weight decay":
//!
//! - **coupled L2** ([`rule::coupled`]): `g ← g + λ·w`, the gradient of `λ/2·Σw²` added to the
//!   gradient, then the optimizer's own transform. Under Adam the decay is divided by `√v` too.
//! - **decoupled** ([`rule::decoupled`], Loshchilov & Hutter's SGDW/AdamW):
//!   `w_{t+1} = inner_update(w_t, g_t) − s_t·λ·w_t`, outside the gradient transform, with
//!   `s_t = lr_t` by default ([`DecayScale`]).
//!
//! [`WeightDecay`] applies either around any [`Optimizer`](burn::optim::Optimizer) (Burn's SGD,
//! Adam, RMSProp, Lion… or your own) and is an `Optimizer` itself. [`SgdDecayConfig`] and
//! [`AdamDecayConfig`] are the ready-made SGD(W) and Adam(W) with PyTorch's formulas and
//! hyper-parameters, named by what they build: [`AdamDecayConfig::adamw`], [`adam_l2`](AdamDecayConfig::adam_l2),
//! [`adam`](AdamDecayConfig::adam), [`SgdDecayConfig::sgdw`], [`sgd_l2`](SgdDecayConfig::sgd_l2),
//! [`sgd`](SgdDecayConfig::sgd). Their `new()` decays: `AdamDecayConfig::new()` is AdamW with
//! λ = 0.01 (as `torch.optim.AdamW()`), `SgdDecayConfig::new()` SGDW with λ = 0.01.
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::optim::GradientsParams;
//! use burn::tensor::{Device, Distribution, Tensor};
//! use burn_weight_decay::AdamDecayConfig;
//!
//! let device = Device::default().autodiff();
//! let mut model: Linear = LinearConfig::new(4, 2).init(&device);
//! let mut optim = AdamDecayConfig::adamw(0.01).init(); // AdamW, λ = 0.01
//! for _ in 0..3 {
//!     let x = Tensor::<2>::random([8, 4], Distribution::Default, &device);
//!     let loss = model.forward(x).powi_scalar(2).mean();
//!     let grads = GradientsParams::from_grads(loss.backward(), &model);
//!     model = optim.step(1e-3, model, grads);
//! }
//! ```
//!
//! Beyond what PyTorch, optax, fastai, Keras and timm offer together:
//!
//! | what | where | formula |
//! | --- | --- | --- |
//! | corrected decay (AdamC, Defazio et al. 2025) | [`DecayScale::Corrected`] | `s_t = lr_t² / lr_max` |
//! | a λ schedule (linear, cosine, per step), resumable | [`RateSchedule`] | `λ_t`, `t` saved in the record |
//! | decay toward the initial weights (L2-SP, Li et al. 2018) | [`DecayTarget::Initial`] | `u_t − s_t·λ·(w_t − w₀)`, `g + λ·(w_t − w₀)` |
//! | decay toward a target norm per tensor (Weight Norm Control, AdamWN, Loshchilov 2023) | [`DecayTarget::Norm`], [`DecayTarget::NormRatio`] | `u_t − s_t·λ·(1 − r/‖w_t‖)·w_t`, `r = 0` is AdamW |
//! | proximal decoupled decay (Adan, Xie et al. 2022) | [`DecayForm::Proximal`] | `u_t / (1 + s_t·λ)` |
//! | rotational-equilibrium diagnostics (Kosson et al. 2024) | [`equilibrium`], [`DecayMonitor::take_equilibrium`] | angle vs `√(2·η·λ·(1−β1)/(1+β1))` |
//! | one parameter choice for optimizer and diagnostics | [`Selection`] | rank ≥ 2, all, a `ParamGroup` |
//! | a mismatched optimizer record is an error | [`load_record`] | names each parameter |
//! | the same decay in every library's units | [`convert`] | `λ·lr_max`, `2·wd`, `λ/(1 − μ)`, … |
//! | λ from an EMA timescale (Wang & Aitchison 2025) | [`convert::rate_from_timescale_epochs`], [`convert::timescale_epochs`] | `τ_iter = 1/(η·λ)`, `τ_epoch = τ_iter/(N/B)` |
//! | stable weight decay (AdamS, Xie et al. 2023) | [`DecayConfig::stable`] | `s_t·λ_t/√(mean v̂_t)`, mean per tensor |
//! | a bad learning rate or `s_t·λ ≥ 1` is an error, not NaN/∞ weights | [`DecayConfig::check_step`], [`LargeDecay`] | `lr` finite `≥ 0`, `s_t·λ_t < 1` |
//! | diagnostics of parameters only, never running statistics | [`weight_norm`], [`parameter_ids`] | `√Σw²` |
//! | Burn's Muon on the 2-D matrices, AdamW on the rest | [`rank_group`] | one `ModuleOptimizer`, one λ |
//! | decay metrics for burn-train's `Learner` (feature `learner`) | `learner::DecayedWeightNormMetric`, `learner::EquilibriumProgressMetric` | dashboard and logs |
//!
//! Biases and other parameters of rank ≤ 1 are not decayed unless
//! [`DecayConfig::decay_rank_le_1`] is set. The article form `wd·Σw²` added to the loss is
//! [`l2_penalty`], equal to coupled L2 with `λ = 2·wd`. [`convert`] turns other libraries' and
//! the paper's weight-decay numbers into this crate's, and back.
//!
//! # Fused update on flex
//!
//! With the `flex` feature (the default), the optimizers of [`AdamDecayConfig`] and
//! [`SgdDecayConfig`] update each parameter on the flex backend in one pass: weight, gradient and
//! state (Adam's two moments, SGD's velocity) are each read once and written once, in place when
//! their buffers are uniquely owned (as in a training loop), split over rayon's threads for large
//! tensors. Burn's tensor ops take about 30 passes for Adam with decay where 7 must move, so a
//! step on a memory-bound 4M-element tensor is 3–5× faster, and the decay itself costs no extra
//! memory traffic (`BENCHMARKS.md`). The kernel repeats Burn's f32 operations in Burn's order:
//! results are bit for bit those of the tensor ops, and the state is Burn's own `AdamState` /
//! `SgdState`, so records load either way. `NonFiniteGrad::Skip` reads the gradient once more
//! before anything is written.
//!
//! Which parameter updates the kernel covers is listed once, with where each case is declined, in
//! the module doc of `src/fused/flex/mod.rs` in the source. Anything else takes Burn's tensor
//! ops, unchanged. `with_fused(false)` on either config forces the tensor ops;
//! [`DecayMonitor::fused_updates`] counts the parameter updates the kernel made.

#![warn(missing_docs)]

mod configs;
pub mod convert;
mod decay_config;
pub mod equilibrium;
mod error;
mod form;
mod fused;
#[cfg(feature = "learner")]
pub mod learner;
mod mode;
mod monitor;
mod penalty;
mod reference;
mod reload;
pub mod rule;
mod scale;
mod schedule;
mod selection;
mod state;
mod target;
mod wrapper;

pub use configs::{AdamDecayConfig, SgdDecayConfig};
pub use decay_config::{DecayConfig, LargeDecay, NonFiniteGrad};
pub use error::ConfigError;
pub use form::DecayForm;
pub use mode::DecayMode;
pub use monitor::DecayMonitor;
pub use penalty::{
    decayed_weight_norm, l2_penalty, l2_penalty_of, parameter_ids, rank_group, weight_norm,
    weight_norm_of,
};
pub use reference::reference_record;
pub use reload::{RecordMismatch, load_record};
pub use scale::{DecayScale, decay_shrink, normalized_rate};
pub use schedule::RateSchedule;
pub use selection::Selection;
pub use state::DecayState;
pub use target::DecayTarget;
pub use wrapper::WeightDecay;
pub mod replay;
