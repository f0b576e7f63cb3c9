//! The fused flex kernel against the tensor-op path, bit for bit: weights after every step and
//! the optimizer state, for Adam and SGD (plain, momentum, Nesterov with dampening) in every decay
//! mode, on parameters of rank 4, 2 and 1, through `ModuleOptimizer` and through
//! `Optimizer::step` directly; with shared weights, gradients and state (the copy path), a
//! non-finite gradient under `Skip`, and the cases the kernel leaves to tensor ops. Every
//! comparison also checks that the fused path ran (`DecayMonitor::fused_updates`), so that a
//! kernel that silently declined would fail.
#![cfg(feature = "flex")]

mod common;

use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::optim::{Adam, GradientsParams, ModuleOptimizer, Optimizer, RecordState, Sgd, StateSink};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{
    AdamDecayConfig, DecayConfig, DecayForm, DecayMonitor, DecayScale, DecayTarget, NonFiniteGrad,
    RateSchedule, SgdDecayConfig, WeightDecay,
};
use common::{floats, linear, mse};

const STEPS: usize = 10;

/// A learning rate that changes every step (a schedule), so that every step's f64 → f32 rounding
/// of `lr` and `s_t·λ` is exercised.
fn lr(step: usize, base: f64) -> f64 {
    base / (1.0 + 0.37 * step as f64)
}

// ---------------------------------------------------------------------------------------------
// The optimizers
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Inner {
    /// Adam with PyTorch's defaults.
    Adam,
    /// Adam with other betas and ε.
    AdamCustom,
    /// SGD without momentum.
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// SGD with Nesterov momentum 0.8 and dampening 0.1.
    NesterovDampened,
}

impl Inner {
    const ALL: [Inner; 5] = [
        Inner::Adam,
        Inner::AdamCustom,
        Inner::Sgd,
        Inner::Momentum,
        Inner::NesterovDampened,
    ];

    fn base_lr(self) -> f64 {
        match self {
            Inner::Adam | Inner::AdamCustom => 1e-2,
            _ => 5e-2,
        }
    }

    fn adam(self, decay: DecayConfig, fused: bool) -> AdamDecayConfig {
        let config = AdamDecayConfig::new().with_decay(decay).with_fused(fused);
        match self {
            Inner::AdamCustom => config.with_beta_1(0.8).with_beta_2(0.99).with_epsilon(1e-6),
            _ => config,
        }
    }

    fn sgd(self, decay: DecayConfig, fused: bool) -> SgdDecayConfig {
        let config = SgdDecayConfig::new().with_decay(decay).with_fused(fused);
        match self {
            Inner::Momentum => config.with_momentum(0.9),
            Inner::NesterovDampened => config
                .with_momentum(0.8)
                .with_dampening(0.1)
                .with_nesterov(true),
            _ => config,
        }
    }

    fn is_adam(self) -> bool {
        matches!(self, Inner::Adam | Inner::AdamCustom)
    }

    /// The whole-module optimizer and the monitor it reports to.
    fn module(self, decay: DecayConfig, fused: bool) -> (ModuleOptimizer, DecayMonitor) {
        let monitor = DecayMonitor::default();
        let optim = if self.is_adam() {
            self.adam(decay, fused)
                .build()
                .with_monitor(monitor.clone())
                .into()
        } else {
            self.sgd(decay, fused)
                .build()
                .with_monitor(monitor.clone())
                .into()
        };
        (optim, monitor)
    }
}

/// The decay settings every optimizer is checked with.
fn decays() -> Vec<(&'static str, DecayConfig)> {
    vec![
        ("none", DecayConfig::none()),
        ("coupled", DecayConfig::coupled(0.05)),
        ("decoupled", DecayConfig::decoupled(0.1)),
        (
            "coupled, rank ≤ 1 too",
            DecayConfig::coupled(0.05).with_decay_rank_le_1(true),
        ),
        (
            "decoupled, rank ≤ 1 too, schedule scale",
            DecayConfig::decoupled(0.3)
                .with_decay_rank_le_1(true)
                .with_scale(DecayScale::Schedule { lr_max: 0.02 }),
        ),
        (
            "decoupled, Propagate",
            DecayConfig::decoupled(0.1).with_non_finite(NonFiniteGrad::Propagate),
        ),
        (
            "decoupled, corrected scale, cosine λ schedule",
            DecayConfig::decoupled(0.3)
                .with_scale(DecayScale::Corrected { lr_max: 0.02 })
                .with_schedule(RateSchedule::Cosine {
                    start: 0.3,
                    end: 0.05,
                    steps: 3,
                }),
        ),
        (
            "coupled, per-step λ",
            DecayConfig::coupled(0.05).with_schedule(RateSchedule::PerStep(vec![0.05, 0.2, 0.0])),
        ),
        (
            "decoupled, proximal",
            DecayConfig::decoupled(0.7).with_form(DecayForm::Proximal),
        ),
        (
            "decoupled, toward norm 10 (the conv weight's 3.7 grows, the big one's 149 shrinks)",
            DecayConfig::decoupled(0.5).with_toward(DecayTarget::Norm(10.0)),
        ),
        (
            "coupled, toward 1.5 × the initial norm, rank ≤ 1 too",
            DecayConfig::coupled(0.05)
                .with_toward(DecayTarget::NormRatio(1.5))
                .with_decay_rank_le_1(true),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Through ModuleOptimizer
// ---------------------------------------------------------------------------------------------

/// Parameters of rank 4, 2 (large enough for the pass to be split over threads: ≥ 2^18
/// elements) and 1.
#[derive(Module, Debug)]
struct Net {
    conv: Param<Tensor<4>>,
    big: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
}

const CONV: [usize; 4] = [6, 3, 3, 3];
const BIG: [usize; 2] = [520, 509];
const BIAS: usize = 37;

fn tensor<const D: usize>(shape: [usize; D], seed: u64, scale: f32, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    let values: Vec<f32> = floats(n, seed).into_iter().map(|x| x * scale).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            conv: Param::from_tensor(tensor(CONV, 1, 0.5, device)),
            big: Param::from_tensor(tensor(BIG, 2, 0.5, device)),
            bias: Param::from_tensor(tensor([BIAS], 3, 0.5, device)),
        }
    }

    fn ids(&self) -> [ParamId; 3] {
        [self.conv.id, self.big.id, self.bias.id]
    }

    /// Every parameter's bits, in order.
    fn bits(&self) -> Vec<u32> {
        let mut out = bits(self.conv.val());
        out.extend(bits(self.big.val()));
        out.extend(bits(self.bias.val()));
        out
    }
}

fn bits<const D: usize>(t: Tensor<D>) -> Vec<u32> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f32::to_bits)
        .collect()
}

/// Fresh, uniquely owned gradients of step `step` on the inner flex device, as
/// `GradientsParams::from_grads` hands them over; `poison` puts a NaN into the big weight's.
fn grads(net: &Net, step: usize, poison: bool) -> GradientsParams {
    let device = Device::flex();
    let seed = 100 * step as u64;
    let [conv, big, bias] = net.ids();
    let mut grads = GradientsParams::new();
    grads.register(conv, tensor(CONV, seed + 1, 1.0, &device));
    let mut big_grad: Vec<f32> = floats(BIG[0] * BIG[1], seed + 2);
    if poison {
        big_grad[BIG[1] + 7] = f32::NAN;
    }
    grads.register(
        big,
        Tensor::<2>::from_data(TensorData::new(big_grad, BIG), &device),
    );
    grads.register(bias, tensor([BIAS], seed + 3, 1.0, &device));
    grads
}

/// Steps `STEPS` times with `fused` on and off from the same model and asserts equal bits
/// after every step; then moves each optimizer's state into a tensor-path optimizer and steps
/// both once more, which only agrees if the states agree. `poison_at`: a step whose gradient
/// holds a NaN. `keep_alive`: keep a clone of the model (the weights are then shared).
fn compare(
    inner: Inner,
    name: &str,
    decay: DecayConfig,
    poison_at: Option<usize>,
    keep_alive: bool,
) {
    let device = Device::flex().autodiff();
    let start = Net::new(&device);
    let initial = start.bits();
    let (mut fused, fused_monitor) = inner.module(decay.clone(), true);
    let (mut tensor, tensor_monitor) = inner.module(decay.clone(), false);
    let (mut a, mut b) = (start.clone(), start.clone());
    let mut alive = Vec::new();
    for step in 0..STEPS {
        let poison = poison_at == Some(step);
        let lr = lr(step, inner.base_lr());
        if keep_alive {
            alive.push(a.clone());
        }
        a = fused.step(lr, a, grads(&start, step, poison));
        b = tensor.step(lr, b, grads(&start, step, poison));
        assert_eq!(a.bits(), b.bits(), "{inner:?} {name}: step {step}");
    }
    // The fused path ran for every parameter update, the tensor path never.
    let skipped = match (poison_at, decay.non_finite) {
        (Some(_), NonFiniteGrad::Skip) => 1,
        _ => 0,
    };
    assert_eq!(
        fused_monitor.fused_updates(),
        (3 * STEPS - skipped) as u64,
        "{inner:?} {name}"
    );
    assert_eq!(tensor_monitor.fused_updates(), 0);
    assert_eq!(fused_monitor.skipped_updates(), skipped as u64);
    assert_eq!(tensor_monitor.skipped_updates(), skipped as u64);
    // A shared weight was copied, not overwritten.
    if let Some(first) = alive.first() {
        assert_eq!(
            first.bits(),
            initial,
            "{inner:?} {name}: a kept clone changed"
        );
    }

    // The states: continue both from each optimizer's record, on the tensor path.
    let (fresh_a, _) = inner.module(decay.clone(), false);
    let (fresh_b, _) = inner.module(decay, false);
    let mut from_fused = fresh_a.load_record(fused.to_record());
    let mut from_tensor = fresh_b.load_record(tensor.to_record());
    let a = from_fused.step(1e-2, a, grads(&start, STEPS, false));
    let b = from_tensor.step(1e-2, b, grads(&start, STEPS, false));
    assert_eq!(a.bits(), b.bits(), "{inner:?} {name}: the states differ");
}

#[test]
fn module_optimizer_fused_equals_tensor_ops_bit_for_bit() {
    for inner in Inner::ALL {
        for (name, decay) in decays() {
            compare(inner, name, decay, None, false);
        }
    }
}

#[test]
fn shared_weights_take_the_copy_path() {
    for inner in Inner::ALL {
        for (name, decay) in [
            ("coupled", DecayConfig::coupled(0.05)),
            (
                "decoupled",
                DecayConfig::decoupled(0.1).with_decay_rank_le_1(true),
            ),
        ] {
            compare(inner, name, decay, None, true);
        }
    }
}

#[test]
fn non_finite_gradient_is_skipped_before_any_write() {
    for inner in Inner::ALL {
        // At the first step (no state yet) and later (state in place).
        for at in [0, 4] {
            compare(
                inner,
                "decoupled",
                DecayConfig::decoupled(0.1),
                Some(at),
                false,
            );
            compare(inner, "coupled", DecayConfig::coupled(0.05), Some(at), true);
        }
    }
}

/// A cloned `ModuleOptimizer` shares its states with the original: stepping the clone must copy
/// them, leaving the original's continuation unchanged.
#[test]
fn shared_state_is_copied_not_overwritten() {
    for inner in Inner::ALL {
        let device = Device::flex().autodiff();
        let start = Net::new(&device);
        let decay = DecayConfig::decoupled(0.1).with_decay_rank_le_1(true);
        let (mut fused, monitor) = inner.module(decay.clone(), true);
        let (mut tensor, _) = inner.module(decay, false);
        let (mut a, mut b) = (start.clone(), start.clone());
        for step in 0..3 {
            a = fused.step(1e-2, a, grads(&start, step, false));
            b = tensor.step(1e-2, b, grads(&start, step, false));
        }
        let mut twin = fused.clone();
        let twin_model = twin.step(1e-2, a.clone(), grads(&start, 50, false));
        assert!(monitor.fused_updates() >= 12, "{inner:?}");
        // The original continues as the tensor path does.
        for step in 3..6 {
            a = fused.step(1e-2, a, grads(&start, step, false));
            b = tensor.step(1e-2, b, grads(&start, step, false));
            assert_eq!(a.bits(), b.bits(), "{inner:?}: step {step}");
        }
        assert_ne!(twin_model.bits(), a.bits());
    }
}

// ---------------------------------------------------------------------------------------------
// Through Optimizer::step: the state itself, bit for bit
// ---------------------------------------------------------------------------------------------

fn state_bits<S: RecordState>(state: &S) -> (Vec<(String, Vec<u32>)>, String) {
    let mut sink = StateSink::default();
    state.state_flatten("p", &mut sink);
    let mut tensors: Vec<(String, Vec<u32>)> = sink
        .tensors
        .into_iter()
        .map(|(name, data)| {
            let bits = data
                .try_to_vec::<f32>()
                .unwrap()
                .into_iter()
                .map(f32::to_bits);
            (name, bits.collect())
        })
        .collect();
    tensors.sort();
    (tensors, format!("{:?}", sink.scalars))
}

/// What to keep alive across a direct step, so that the buffer is shared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Share {
    Nothing,
    Weight,
    Grad,
    State,
    All,
}

/// `STEPS` direct steps of `fused` and `tensor` on a rank-`D` parameter; asserts the weights and
/// the flattened states equal bit for bit after every step, and what was shared unchanged.
fn direct<O: Optimizer, const D: usize>(
    what: &str,
    fused: &WeightDecay<O>,
    tensor: &WeightDecay<O>,
    shape: [usize; D],
    share: Share,
    base_lr: f64,
) {
    let device = Device::flex();
    let mut wa: Tensor<D> = tensor_of(shape, 7, &device);
    let mut wb = wa.clone();
    let mut sa: Option<<WeightDecay<O> as Optimizer>::State<D>> = None;
    let mut sb: Option<<WeightDecay<O> as Optimizer>::State<D>> = None;
    for step in 0..STEPS {
        // Each side gets its own, uniquely owned gradient.
        let g: Tensor<D> = tensor_of(shape, 1000 + step as u64, &device);
        let gb: Tensor<D> = tensor_of(shape, 1000 + step as u64, &device);
        let lr = lr(step, base_lr);
        let kept_w =
            matches!(share, Share::Weight | Share::All).then(|| (wa.clone(), bits(wa.clone())));
        let kept_g =
            matches!(share, Share::Grad | Share::All).then(|| (g.clone(), bits(g.clone())));
        let kept_s = matches!(share, Share::State | Share::All)
            .then(|| sa.clone().map(|s| (state_bits(&s), s)))
            .flatten();
        let (w, s) = fused.step(lr, wa, g, sa);
        (wa, sa) = (w, s);
        let (w, s) = tensor.step(lr, wb, gb, sb);
        (wb, sb) = (w, s);
        assert_eq!(
            bits(wa.clone()),
            bits(wb.clone()),
            "{what} {share:?}: weight, step {step}"
        );
        let (a, b) = (sa.as_ref().unwrap(), sb.as_ref().unwrap());
        assert_eq!(
            state_bits(a),
            state_bits(b),
            "{what} {share:?}: state, step {step}"
        );
        if let Some((t, before)) = kept_w {
            assert_eq!(bits(t), before, "{what}: a shared weight changed");
        }
        if let Some((t, before)) = kept_g {
            assert_eq!(bits(t), before, "{what}: a shared gradient changed");
        }
        if let Some((before, s)) = kept_s {
            assert_eq!(state_bits(&s), before, "{what}: a shared state changed");
        }
    }
    assert_eq!(
        fused.monitor().fused_updates(),
        STEPS as u64,
        "{what} {share:?}"
    );
    assert_eq!(tensor.monitor().fused_updates(), 0);
}

fn tensor_of<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    tensor(shape, seed, 1.0, device)
}

fn direct_all<const D: usize>(shape: [usize; D], share: Share) {
    for inner in Inner::ALL {
        for (name, decay) in decays() {
            let what = format!("{inner:?} {name} rank {D}");
            if inner.is_adam() {
                let fused: WeightDecay<Adam> = inner.adam(decay.clone(), true).build();
                let tensor: WeightDecay<Adam> = inner.adam(decay, false).build();
                direct(&what, &fused, &tensor, shape, share, inner.base_lr());
            } else {
                let fused: WeightDecay<Sgd> = inner.sgd(decay.clone(), true).build();
                let tensor: WeightDecay<Sgd> = inner.sgd(decay, false).build();
                direct(&what, &fused, &tensor, shape, share, inner.base_lr());
            }
        }
    }
}

#[test]
fn optimizer_step_state_equal_bit_for_bit() {
    direct_all([40, 33], Share::Nothing);
    direct_all([520, 509], Share::Nothing);
    direct_all([1001], Share::Nothing);
}

#[test]
fn optimizer_step_with_shared_buffers() {
    for share in [Share::Weight, Share::Grad, Share::State, Share::All] {
        direct_all([520, 509], share);
        direct_all([13], share);
    }
}

// ---------------------------------------------------------------------------------------------
// Real training, and what the kernel leaves to tensor ops
// ---------------------------------------------------------------------------------------------

/// A training loop with real backward passes: the optimizer receives plain flex tensors and
/// the fused path runs, with the tensor path's results.
#[test]
fn training_with_backward_passes_is_fused() {
    let device = Device::flex().autodiff();
    for inner in Inner::ALL {
        let decay = DecayConfig::decoupled(0.1);
        let (mut fused, monitor) = inner.module(decay.clone(), true);
        let (mut tensor, _) = inner.module(decay, false);
        let mut a: Linear = linear(7, 5, &device);
        let mut b = a.clone();
        for t in 0..STEPS as u64 {
            let grads = GradientsParams::from_grads(mse(&a, t, &device).backward(), &a);
            a = fused.step(1e-2, a, grads);
            let grads = GradientsParams::from_grads(mse(&b, t, &device).backward(), &b);
            b = tensor.step(1e-2, b, grads);
            assert_eq!(bits(a.weight.val()), bits(b.weight.val()), "{inner:?}");
            let (ab, bb) = (a.bias.as_ref().unwrap(), b.bias.as_ref().unwrap());
            assert_eq!(bits(ab.val()), bits(bb.val()), "{inner:?}");
        }
        assert_eq!(monitor.fused_updates(), 2 * STEPS as u64, "{inner:?}");
    }
}

/// A real `Conv2d` + `BatchNorm` model, with the conv weight's gradient in the layout Burn's flex
/// backend hands over in the seedlings CNN: a permuted view (`[C_out, C_in, 3, 3]` over
/// `[C_in][C_out]` memory, strides `[9, 9·C_out, 3, 1]`), which the kernel takes after one copy.
/// Every parameter update is fused and equals the tensor path bit for bit.
#[derive(Module, Debug)]
struct ConvNet {
    conv: burn::nn::conv::Conv2d,
    bn: burn::nn::BatchNorm,
}

impl ConvNet {
    fn new(device: &Device) -> Self {
        let mut conv = burn::nn::conv::Conv2dConfig::new([8, 16], [3, 3])
            .with_padding(burn::nn::PaddingConfig2d::Same)
            .with_bias(false)
            .init(device);
        conv.weight = Param::from_tensor(tensor([16, 8, 3, 3], 3, 0.1, device));
        Self {
            conv,
            bn: burn::nn::BatchNormConfig::new(16).init(device),
        }
    }

    /// The gradients of a loss, the conv weight's as a permuted view.
    fn grads(&self, t: u64, device: &Device) -> GradientsParams {
        use burn::backend::Flex;
        let x = tensor([4, 8, 6, 6], 100 + t, 1.0, device);
        let y = self.bn.forward(self.conv.forward(x));
        let loss = (y.clone() * y).mean() + self.conv.weight.val().sum() * 1e-3;
        let mut grads = GradientsParams::from_grads(loss.backward(), self);
        let id = self.conv.weight.id;
        let dw: Tensor<4> = grads.remove(id).expect("a conv gradient");
        let swapped =
            Tensor::<4>::from_data(dw.swap_dims(0, 1).into_data(), &device.clone().inner());
        let permuted = swapped.swap_dims(0, 1);
        let layout = permuted
            .clone()
            .try_into_primitive::<Flex>()
            .unwrap()
            .layout()
            .clone();
        assert!(
            layout.contiguous_offsets().is_none(),
            "{:?}",
            layout.strides()
        );
        grads.register(id, permuted);
        grads
    }
}

#[test]
fn conv_and_batch_norm_updates_are_all_fused() {
    let device = Device::flex().autodiff();
    for inner in Inner::ALL {
        let decay = DecayConfig::decoupled(0.1);
        let (mut fused, monitor) = inner.module(decay.clone(), true);
        let (mut tensor_path, _) = inner.module(decay, false);
        let (mut a, mut b) = (ConvNet::new(&device), ConvNet::new(&device));
        for t in 0..STEPS as u64 {
            let grads = a.grads(t, &device);
            a = fused.step(1e-2, a, grads);
            let grads = b.grads(t, &device);
            b = tensor_path.step(1e-2, b, grads);
            assert_eq!(
                bits(a.conv.weight.val()),
                bits(b.conv.weight.val()),
                "{inner:?}"
            );
            assert_eq!(bits(a.bn.gamma.val()), bits(b.bn.gamma.val()), "{inner:?}");
        }
        // conv weight, γ and β, every step.
        assert_eq!(monitor.param_updates(), 3 * STEPS as u64, "{inner:?}");
        assert_eq!(
            monitor.fused_updates(),
            monitor.param_updates(),
            "{inner:?}"
        );
    }
}

/// AMSGrad, cautious decay, an armed monitor, autodiff tensors handed to `step` directly and a
/// transposed (non-contiguous) weight all go through tensor ops, with the same results.
#[test]
fn uncovered_cases_take_the_tensor_path() {
    let device = Device::flex().autodiff();
    let start = Net::new(&device);
    let cases: Vec<(&str, Inner, DecayConfig, bool)> = vec![
        (
            "cautious coupled",
            Inner::Momentum,
            DecayConfig::coupled(0.05).with_cautious(true),
            false,
        ),
        (
            "cautious decoupled",
            Inner::Adam,
            DecayConfig::decoupled(0.1).with_cautious(true),
            false,
        ),
        (
            "armed monitor",
            Inner::Adam,
            DecayConfig::decoupled(0.1),
            true,
        ),
    ];
    for (name, inner, decay, arm) in cases {
        let (mut fused, monitor) = inner.module(decay.clone(), true);
        let (mut tensor, _) = inner.module(decay.clone(), false);
        let (mut a, mut b) = (start.clone(), start.clone());
        for step in 0..3 {
            if arm {
                monitor.arm();
            }
            a = fused.step(1e-2, a, grads(&start, step, false));
            b = tensor.step(1e-2, b, grads(&start, step, false));
            assert_eq!(a.bits(), b.bits(), "{name}");
        }
        // Cautious decay applies to the decayed parameters only; the bias takes the kernel.
        let expected = if decay.cautious { 3 } else { 0 };
        assert_eq!(monitor.fused_updates(), expected, "{name}");
    }

    // AMSGrad: the config does not attach the kernel.
    let (mut amsgrad, monitor) = {
        let monitor = DecayMonitor::default();
        let optim: ModuleOptimizer = AdamDecayConfig::new()
            .with_amsgrad(true)
            .build()
            .with_monitor(monitor.clone())
            .into();
        (optim, monitor)
    };
    let _ = amsgrad.step(1e-2, start.clone(), grads(&start, 0, false));
    assert_eq!(monitor.fused_updates(), 0);

    // Autodiff tensors and a transposed weight, handed to `Optimizer::step` directly.
    let fused = AdamDecayConfig::new()
        .with_decay(DecayConfig::decoupled(0.1))
        .build();
    let tensor = AdamDecayConfig::new()
        .with_decay(DecayConfig::decoupled(0.1))
        .with_fused(false)
        .build();
    let flex = Device::flex();
    for (what, w, g) in [
        (
            "autodiff",
            tensor_of([8, 9], 1, &device),
            tensor_of([8, 9], 2, &device),
        ),
        (
            "transposed",
            tensor_of([9, 8], 1, &flex).transpose(),
            tensor_of([8, 9], 2, &flex),
        ),
    ] {
        let (a, sa) = fused.step(1e-2, w.clone(), g.clone(), None);
        let (b, sb) = tensor.step(1e-2, w, g, None);
        assert_eq!(bits(a), bits(b), "{what}");
        assert_eq!(state_bits(&sa.unwrap()), state_bits(&sb.unwrap()), "{what}");
    }
    assert_eq!(fused.monitor().fused_updates(), 0);
}

/// `DecayConfig::wrap` around Burn's own optimizers never takes the kernel.
#[test]
fn wrapping_burn_optimizers_uses_tensor_ops() {
    let device = Device::flex().autodiff();
    let start = Net::new(&device);
    let wrapped = DecayConfig::decoupled(0.1).wrap(burn::optim::AdamConfig::new().build());
    let monitor = wrapped.monitor().clone();
    let mut optim: ModuleOptimizer = wrapped.into();
    let _ = optim.step(1e-2, start.clone(), grads(&start, 0, false));
    assert_eq!(monitor.fused_updates(), 0);
}
