//! [`DecayState`]: the inner optimizer's per-parameter state, plus what decay itself must keep.

use std::cell::RefCell;

use burn::optim::{RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};
use burn_pack::Scalar;

/// The per-parameter state of a [`WeightDecay`](crate::WeightDecay) optimizer.
///
/// - `inner`: the inner optimizer's state (Adam's moments, SGD's velocity, …), untouched.
/// - `step`: how many steps this parameter has taken, the position `t` of the
///   [`RateSchedule`](crate::RateSchedule) (a skipped non-finite gradient does not count).
/// - `reference`: `w₀` of [`DecayTarget::Initial`](crate::DecayTarget::Initial) (L2-SP), the
///   parameter's value when the optimizer first stepped it; `None` otherwise, so decay toward
///   zero adds no memory.
/// - `initial_norm`: `‖w₀‖` of [`DecayTarget::NormRatio`](crate::DecayTarget::NormRatio), the
///   parameter's norm when the optimizer first stepped it; `None` otherwise.
///
/// **Its record is the inner optimizer's record plus a few entries beside it**: the inner state's
/// tensors and scalars keep their own names (`"{param}.momentum.moment_1"` for Adam), and the
/// wrapper adds `"{param}.decay_step"`, `"{param}.decay_kind"`, with a reference
/// `"{param}.decay_reference"`, and with an initial norm the scalar
/// `"{param}.decay_initial_norm"`. So Burn's own optimizer loads a wrapper's record (it ignores
/// the extra entries), and the wrapper loads Burn's (the schedule then starts at step 0 and the
/// reference and initial norm are taken at the next step).
///
/// A state that belongs to another optimizer (an RmsProp record loaded into Adam, say) cannot be
/// rebuilt; Burn's `ModuleOptimizer::load_record` then silently starts that parameter fresh.
/// [`load_record`](crate::load_record) reports it as an error instead.
#[derive(Clone, Debug)]
pub struct DecayState<S, const D: usize> {
    /// The inner optimizer's state; `None` when it keeps none.
    pub inner: Option<S>,
    /// Steps this parameter has taken: the decay schedule's position.
    pub step: u64,
    /// `w₀` of decay toward the initial weights.
    pub reference: Option<Tensor<D>>,
    /// `‖w₀‖` of decay toward a ratio of the initial norm.
    pub initial_norm: Option<f64>,
}

pub(crate) const STEP: &str = "decay_step";
pub(crate) const KIND: &str = "decay_kind";
pub(crate) const REFERENCE: &str = "decay_reference";
pub(crate) const INITIAL_NORM: &str = "decay_initial_norm";
pub(crate) const HAS_INNER: &str = "decay_has_inner";

/// A stable tag of the inner state's type: the FNV-1a hash of its name without module path or
/// generics (`AdamState`, `SgdState`, `RmsPropState`), so it does not change with the compiler
/// or the crate layout.
pub(crate) fn kind_tag<S>() -> u64 {
    let name = short_type_name::<S>();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in name.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// `burn_optim::optim::adam::AdamState<2>` → `AdamState`.
pub(crate) fn short_type_name<S>() -> &'static str {
    let full = std::any::type_name::<S>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// What loading one parameter's recorded state found, for [`load_record`](crate::load_record).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Loaded {
    /// The state could not be rebuilt: why, in words.
    Unloadable {
        /// The parameter id, as the record names it.
        param: String,
        /// Why, in words.
        reason: String,
    },
    /// The state was rebuilt; the shapes of its tensors of the parameter's rank, which an
    /// element-wise state must share with the parameter.
    Shapes {
        /// The parameter id, as the record names it.
        param: String,
        /// `(leaf name, shape)` of each rank-`D` tensor.
        shapes: Vec<(String, Vec<usize>)>,
    },
}

thread_local! {
    /// What [`DecayState::state_unflatten`] found on this thread, for
    /// [`load_record`](crate::load_record). Bounded, so plain `load_record` calls never grow it.
    static LOADED: RefCell<Vec<Loaded>> = const { RefCell::new(Vec::new()) };
}

const MAX_REPORTED: usize = 4096;

fn note(entry: Loaded) {
    LOADED.with(|list| {
        let mut list = list.borrow_mut();
        if list.len() < MAX_REPORTED {
            list.push(entry);
        }
    });
}

fn report(param: &str, reason: String) {
    note(Loaded::Unloadable {
        param: param.to_string(),
        reason,
    });
}

/// Takes what was noted on this thread since the last call.
pub(crate) fn take_loaded() -> Vec<Loaded> {
    LOADED.with(|list| std::mem::take(&mut *list.borrow_mut()))
}

impl<S: RecordState, const D: usize> DecayState<S, D> {
    /// `(leaf, shape)` of each of this state's tensors of rank `D`.
    fn shapes(&self, prefix: &str) -> Vec<(String, Vec<usize>)> {
        let mut sink = StateSink::default();
        self.state_flatten(prefix, &mut sink);
        sink.tensors
            .into_iter()
            .filter(|(_, data)| data.rank() == D)
            .map(|(name, data)| {
                let leaf = name
                    .strip_prefix(prefix)
                    .map(|l| l.trim_start_matches('.'))
                    .unwrap_or(&name)
                    .to_string();
                (leaf, data.shape().to_vec())
            })
            .collect()
    }
}

impl<S: RecordState, const D: usize> RecordState for DecayState<S, D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        if let Some(inner) = &self.inner {
            inner.state_flatten(prefix, out);
        }
        out.push_scalar(prefix, STEP, Scalar::from(self.step));
        out.push_scalar(prefix, KIND, Scalar::from(kind_tag::<S>()));
        out.push_scalar(prefix, HAS_INNER, Scalar::from(self.inner.is_some()));
        if let Some(reference) = &self.reference {
            out.push_tensor(prefix, REFERENCE, reference.clone().into_data());
        }
        if let Some(norm) = self.initial_norm {
            out.push_scalar(prefix, INITIAL_NORM, Scalar::from(norm));
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let kind = src
            .take_scalar(prefix, KIND)
            .and_then(|s| u64::try_from(s).ok());
        let expected = short_type_name::<S>();
        if let Some(kind) = kind
            && kind != kind_tag::<S>()
        {
            report(
                prefix,
                format!("its state was written for another optimizer, not one keeping {expected}"),
            );
            return None;
        }
        let step = src
            .take_scalar(prefix, STEP)
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0);
        let has_inner = src
            .take_scalar(prefix, HAS_INNER)
            .and_then(|s| bool::try_from(s).ok())
            .unwrap_or(true);
        let reference = src
            .take_tensor(prefix, REFERENCE)
            .map(|data| Tensor::<D>::from_data(data, device));
        let initial_norm = src
            .take_scalar(prefix, INITIAL_NORM)
            .and_then(|s| f64::try_from(s).ok());
        if let Some(reference) = &reference
            && reference.dims().len() != D
        {
            report(
                prefix,
                format!(
                    "its decay reference has rank {}, not {D}",
                    reference.dims().len()
                ),
            );
            return None;
        }
        let inner = if has_inner {
            match S::state_unflatten(prefix, src, device) {
                Some(inner) => Some(inner),
                None => {
                    report(
                        prefix,
                        format!(
                            "its state does not rebuild as {expected} (another optimizer's, or truncated)"
                        ),
                    );
                    return None;
                }
            }
        } else {
            None
        };
        let state = Self {
            inner,
            step,
            reference,
            initial_norm,
        };
        note(Loaded::Shapes {
            param: prefix.to_string(),
            shapes: state.shapes(prefix),
        });
        Some(state)
    }
}
