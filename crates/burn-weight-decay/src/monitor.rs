//! A cheap handle that reports what decay removed in one step and which steps were skipped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::equilibrium::EquilibriumSample;

/// Shared diagnostics of a [`WeightDecay`](crate::WeightDecay) optimizer.
///
/// Clone it before handing the optimizer to a [`ModuleOptimizer`](burn::optim::ModuleOptimizer)
/// and keep the clone. Measuring costs a read-back per parameter, so it is off until
/// [`arm`](Self::arm)ed: arm it before the step you want to measure (say the last step of an
/// epoch), then [`take_removed_norm`](Self::take_removed_norm) after it.
///
/// ```
/// use burn_weight_decay::{DecayConfig, DecayMonitor};
/// use burn::optim::{ModuleOptimizer, SgdConfig};
///
/// let monitor = DecayMonitor::default();
/// let optim: ModuleOptimizer = DecayConfig::decoupled(0.1)
///     .wrap(SgdConfig::new().build())
///     .with_monitor(monitor.clone())
///     .into();
/// monitor.arm();
/// // ... optim.step(lr, model, grads) ...
/// let removed = monitor.take_removed_norm(); // Some(‖removed‖₂) once a step ran
/// let turned = monitor.take_equilibrium(); // one sample per decayed tensor of that step
/// # let _ = (optim, removed, turned);
/// ```
///
/// An armed step also measures, for each decayed tensor, the angle it turned by against the
/// rotational equilibrium's prediction ([`take_equilibrium`](Self::take_equilibrium), see
/// [`equilibrium`](crate::equilibrium)): three reductions per tensor, so sample a few steps per
/// epoch rather than every step. Armed steps take Burn's tensor ops, not the fused kernel.
#[derive(Clone, Default, Debug)]
pub struct DecayMonitor {
    shared: Arc<Shared>,
}

#[derive(Default, Debug)]
struct Shared {
    armed: AtomicBool,
    removed_sq: Mutex<Option<f64>>,
    equilibrium: Mutex<Vec<EquilibriumSample>>,
    skipped: AtomicU64,
    fused: AtomicU64,
    updates: AtomicU64,
}

impl DecayMonitor {
    /// Measure the decay of the next step(s), until [`take_removed_norm`](Self::take_removed_norm).
    pub fn arm(&self) {
        if let Ok(mut sum) = self.shared.removed_sq.lock() {
            *sum = None;
        }
        if let Ok(mut samples) = self.shared.equilibrium.lock() {
            samples.clear();
        }
        self.shared.armed.store(true, Ordering::Release);
    }

    /// Whether measuring is on.
    pub fn is_armed(&self) -> bool {
        self.shared.armed.load(Ordering::Acquire)
    }

    /// The L2 norm of what decay removed from the decayed parameters while armed, over all of
    /// them together; `None` if no decayed parameter was stepped. Disarms the monitor.
    ///
    /// Decoupled mode: `‖u_t − w_{t+1}‖ = s_t·λ·‖w_t‖` (masked when cautious), exact.
    /// Coupled mode: `lr_t·λ·‖w_t‖`, the decay term's share of the gradient times the learning
    /// rate; exact for plain SGD, while Adam and momentum then rescale it.
    pub fn take_removed_norm(&self) -> Option<f64> {
        self.shared.armed.store(false, Ordering::Release);
        let mut sum = self.shared.removed_sq.lock().ok()?;
        sum.take().map(f64::sqrt)
    }

    /// The equilibrium samples of the decayed tensors stepped while armed, in the order they were
    /// stepped (a module's parameter order), and clears them. Unlike
    /// [`take_removed_norm`](Self::take_removed_norm) it leaves the monitor armed state as is, so
    /// take both in either order after the armed step.
    pub fn take_equilibrium(&self) -> Vec<EquilibriumSample> {
        self.shared
            .equilibrium
            .lock()
            .map(|mut samples| std::mem::take(&mut *samples))
            .unwrap_or_default()
    }

    /// A copy of the equilibrium samples measured so far, leaving them in place.
    pub fn peek_equilibrium(&self) -> Vec<EquilibriumSample> {
        self.shared
            .equilibrium
            .lock()
            .map(|samples| samples.clone())
            .unwrap_or_default()
    }

    pub(crate) fn add_equilibrium(&self, sample: EquilibriumSample) {
        if let Ok(mut samples) = self.shared.equilibrium.lock() {
            samples.push(sample);
        }
    }

    /// How many parameter updates were skipped because their gradient held NaN or ±∞
    /// (see [`NonFiniteGrad`](crate::NonFiniteGrad)), since the optimizer was built.
    pub fn skipped_updates(&self) -> u64 {
        self.shared.skipped.load(Ordering::Acquire)
    }

    /// How many parameter updates the fused flex kernel made (see
    /// [`AdamDecayConfig::fused`](crate::AdamDecayConfig::fused)), since the optimizer was built;
    /// the other updates went through tensor ops.
    pub fn fused_updates(&self) -> u64 {
        self.shared.fused.load(Ordering::Acquire)
    }

    /// How many parameter updates the optimizer was asked for (every parameter of every step,
    /// fused, tensor-op or skipped), since it was built: `fused_updates() == param_updates()`
    /// says the fused kernel made all of them.
    pub fn param_updates(&self) -> u64 {
        self.shared.updates.load(Ordering::Acquire)
    }

    pub(crate) fn count_update(&self) {
        self.shared.updates.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn add_removed_sq(&self, value: f64) {
        if let Ok(mut sum) = self.shared.removed_sq.lock() {
            *sum = Some(sum.unwrap_or(0.0) + value);
        }
    }

    pub(crate) fn count_skipped(&self) {
        self.shared.skipped.fetch_add(1, Ordering::AcqRel);
    }

    #[cfg_attr(not(feature = "flex"), allow(dead_code))]
    pub(crate) fn count_fused(&self) {
        self.shared.fused.fetch_add(1, Ordering::AcqRel);
    }
}
