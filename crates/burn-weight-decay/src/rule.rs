//! The decay rules themselves: small pure functions on tensors, one formula each.
//!
//! [`WeightDecay`](crate::WeightDecay) decides *when* and *on which parameters* to call them;
//! these functions only say *what* each rule computes.

use burn::tensor::{Bool, Tensor};

/// Coupled L2 decay: adds the gradient of `λ/2·Σw²` to the gradient.
///
/// ```text
/// g ← g + λ·w
/// ```
///
/// The inner optimizer then transforms the decayed gradient like any other, so under Adam the
/// decay term is divided by `√v` too.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let g = Tensor::<1>::from_floats([1.0, -1.0], &dev);
/// let w = Tensor::<1>::from_floats([2.0, 4.0], &dev);
/// let out = burn_weight_decay::rule::coupled(g, w, 0.5);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![2.0, 1.0]);
/// ```
pub fn coupled<const D: usize>(grad: Tensor<D>, weight: Tensor<D>, rate: f64) -> Tensor<D> {
    grad.add(weight.mul_scalar(rate))
}

/// Decoupled decay (Loshchilov & Hutter): shrinks the weights of the previous step directly,
/// outside the inner optimizer's gradient transform.
///
/// ```text
/// w_{t+1} = u_t − f_t·w_t        with u_t = inner_update(w_t, g_t), f_t = s_t·λ
/// ```
///
/// For SGD and Adam, whose update is `u_t = w_t − Δ_t`, this is `w_t·(1 − f_t) − Δ_t`: PyTorch's
/// AdamW order, shrink then update.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let updated = Tensor::<1>::from_floats([1.5, 3.0], &dev);
/// let previous = Tensor::<1>::from_floats([2.0, 4.0], &dev);
/// let out = burn_weight_decay::rule::decoupled(updated, previous, 0.25);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
/// ```
pub fn decoupled<const D: usize>(
    updated: Tensor<D>,
    previous: Tensor<D>,
    factor: f64,
) -> Tensor<D> {
    updated.sub(previous.mul_scalar(factor))
}

/// Cautious mask: `true` where the weight and a direction agree in sign, `w·d > 0`.
///
/// Cautious weight decay (arXiv:2510.12402) decays a coordinate only where the decay pulls the
/// same way as the optimizer's own update, so that decay never fights the update. Where `w` or
/// `d` is zero the mask is `false` (there is nothing to decay, or no update to agree with).
pub fn cautious_mask<const D: usize>(weight: Tensor<D>, direction: Tensor<D>) -> Tensor<D, Bool> {
    weight.mul(direction).greater_elem(0.0)
}

/// Cautious coupled decay: `g ← g + λ·w·[w·g > 0]`.
///
/// The decay term is added only where it has the sign of the gradient, so it only ever speeds up
/// a step that was already shrinking that weight.
pub fn coupled_cautious<const D: usize>(
    grad: Tensor<D>,
    weight: Tensor<D>,
    rate: f64,
) -> Tensor<D> {
    let mask = cautious_mask(weight.clone(), grad.clone());
    let decay = weight.mul_scalar(rate).mask_fill(mask.bool_not(), 0.0);
    grad.add(decay)
}

/// Cautious decoupled decay: `w_{t+1} = u_t − f_t·w_t·[w_t·(w_t − u_t) > 0]`.
///
/// `w_t − u_t` is the step the inner optimizer took (positive where it decreased the weight), so
/// the weight is shrunk only where the update already moves it towards zero.
pub fn decoupled_cautious<const D: usize>(
    updated: Tensor<D>,
    previous: Tensor<D>,
    factor: f64,
) -> Tensor<D> {
    let step = previous.clone().sub(updated.clone());
    let mask = cautious_mask(previous.clone(), step);
    let decay = previous.mul_scalar(factor).mask_fill(mask.bool_not(), 0.0);
    updated.sub(decay)
}

/// Coupled L2 toward a reference `w₀` (L2-SP): the gradient of `λ/2·‖w − w₀‖²` added.
///
/// ```text
/// g ← g + λ·(w − w₀)
/// ```
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let g = Tensor::<1>::from_floats([1.0, -1.0], &dev);
/// let w = Tensor::<1>::from_floats([2.0, 4.0], &dev);
/// let w0 = Tensor::<1>::from_floats([1.0, 4.0], &dev);
/// let out = burn_weight_decay::rule::coupled_toward(g, w, w0, 0.5);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![1.5, -1.0]);
/// ```
pub fn coupled_toward<const D: usize>(
    grad: Tensor<D>,
    weight: Tensor<D>,
    reference: Tensor<D>,
    rate: f64,
) -> Tensor<D> {
    grad.add(weight.sub(reference).mul_scalar(rate))
}

/// Decoupled decay toward a reference `w₀` (L2-SP).
///
/// ```text
/// w_{t+1} = u_t − f_t·(w_t − w₀)
/// ```
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let updated = Tensor::<1>::from_floats([1.5, 3.0], &dev);
/// let previous = Tensor::<1>::from_floats([2.0, 4.0], &dev);
/// let w0 = Tensor::<1>::from_floats([2.0, 0.0], &dev);
/// let out = burn_weight_decay::rule::decoupled_toward(updated, previous, w0, 0.25);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![1.5, 2.0]);
/// ```
pub fn decoupled_toward<const D: usize>(
    updated: Tensor<D>,
    previous: Tensor<D>,
    reference: Tensor<D>,
    factor: f64,
) -> Tensor<D> {
    updated.sub(previous.sub(reference).mul_scalar(factor))
}

/// The L2 norm `‖w‖ = √Σw²` of one tensor, as the decay toward a target norm measures it: the
/// sum of squares in the tensor's float type, its square root in f64.
pub fn tensor_norm<const D: usize>(weight: &Tensor<D>) -> f64 {
    let sum_sq: f64 = weight.clone().square().sum().into_scalar::<f64>();
    sum_sq.sqrt()
}

/// Decoupled decay toward a target norm `r` (Weight Norm Control, Loshchilov 2023, arXiv
/// 2311.11446, eq. 3; AdamWN around Adam): moves `w_t` the fraction `f_t` of the way toward its
/// own direction rescaled to norm `r`.
///
/// ```text
/// w_{t+1} = u_t − f_t·(w_t − r·w_t/‖w_t‖) = u_t − f_t·(1 − r/‖w_t‖)·w_t
/// ```
///
/// Below the target `1 − r/‖w_t‖ < 0` and the weight grows (no clamp, as in the paper); at
/// `r = 0` it is [`decoupled`], bit for bit; an all-zero `w_t` (no direction) is decayed as by
/// [`decoupled`], which leaves it at zero. See [`DecayTarget`](crate::DecayTarget) for the
/// choices.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let previous = Tensor::<1>::from_floats([3.0, 4.0], &dev); // ‖w‖ = 5
/// // No inner update, f = 0.5, r = 2.5: halfway from norm 5 to 2.5, so 3.75 along (0.6, 0.8).
/// let out = burn_weight_decay::rule::decoupled_toward_norm(previous.clone(), previous, 2.5, 0.5);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![2.25, 3.0]);
/// ```
pub fn decoupled_toward_norm<const D: usize>(
    updated: Tensor<D>,
    previous: Tensor<D>,
    target: f64,
    factor: f64,
) -> Tensor<D> {
    let coefficient = crate::target::norm_coefficient(norm_unless_zero(&previous, target), target);
    decoupled(updated, previous, factor * coefficient)
}

/// Coupled decay toward a target norm `r`: the gradient of `λ/2·(‖w‖ − r)²` added.
///
/// ```text
/// g ← g + λ·(1 − r/‖w‖)·w
/// ```
///
/// Not in the Weight Norm Control paper, which is about decoupled decay: this is the penalty
/// whose gradient step under plain SGD is [`decoupled_toward_norm`]'s, as [`coupled`] is to
/// [`decoupled`]. At `r = 0` it is [`coupled`], bit for bit; an all-zero `w` adds nothing.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let g = Tensor::<1>::from_floats([1.0, -1.0], &dev);
/// let w = Tensor::<1>::from_floats([3.0, 4.0], &dev); // ‖w‖ = 5, so 1 − 10/5 = −1
/// let out = burn_weight_decay::rule::coupled_toward_norm(g, w, 10.0, 0.5);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![-0.5, -3.0]);
/// ```
pub fn coupled_toward_norm<const D: usize>(
    grad: Tensor<D>,
    weight: Tensor<D>,
    target: f64,
    rate: f64,
) -> Tensor<D> {
    let coefficient = crate::target::norm_coefficient(norm_unless_zero(&weight, target), target);
    coupled(grad, weight, rate * coefficient)
}

/// `‖w‖`, or 0 without measuring when the target is 0 (its coefficient is then 1 whatever the
/// norm).
fn norm_unless_zero<const D: usize>(weight: &Tensor<D>, target: f64) -> f64 {
    if target == 0.0 {
        0.0
    } else {
        tensor_norm(weight)
    }
}

/// Proximal decoupled decay (Adan's form): the proximal step of `f_t/2·‖w‖²` after the update.
///
/// ```text
/// w_{t+1} = u_t / (1 + f_t)
/// ```
///
/// Unlike [`decoupled`], it never flips a sign: with `f_t = 2` the multiplicative form sends `w`
/// to `u − 2·w`, the proximal one to `u/3`.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let updated = Tensor::<1>::from_floats([1.5, -3.0], &dev);
/// let out = burn_weight_decay::rule::decoupled_proximal(updated, 2.0);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![0.5, -1.0]);
/// ```
pub fn decoupled_proximal<const D: usize>(updated: Tensor<D>, factor: f64) -> Tensor<D> {
    updated.div_scalar(1.0 + factor)
}

/// Proximal decoupled decay toward a reference `w₀`: the proximal step of `f_t/2·‖w − w₀‖²`.
///
/// ```text
/// w_{t+1} = (u_t + f_t·w₀) / (1 + f_t)
/// ```
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let dev = Device::default();
/// let updated = Tensor::<1>::from_floats([3.0, 0.0], &dev);
/// let w0 = Tensor::<1>::from_floats([0.0, 3.0], &dev);
/// let out = burn_weight_decay::rule::decoupled_proximal_toward(updated, w0, 2.0);
/// assert_eq!(out.into_data().try_to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
/// ```
pub fn decoupled_proximal_toward<const D: usize>(
    updated: Tensor<D>,
    reference: Tensor<D>,
    factor: f64,
) -> Tensor<D> {
    updated
        .add(reference.mul_scalar(factor))
        .div_scalar(1.0 + factor)
}

/// Keeps `decayed` where `mask` holds and `updated` elsewhere: the cautious form of any decoupled
/// rule, with the mask `d·(w_t − u_t) > 0` for the displacement `d` being decayed (`w_t`, or
/// `w_t − w₀` toward a reference).
pub fn cautious_select<const D: usize>(
    decayed: Tensor<D>,
    updated: Tensor<D>,
    mask: Tensor<D, Bool>,
) -> Tensor<D> {
    decayed.mask_where(mask.bool_not(), updated)
}
