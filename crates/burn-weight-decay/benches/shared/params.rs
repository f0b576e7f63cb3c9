//! The parameter sets and how they are stepped: the 4M-element matrix ([`Big`]), the seedlings
//! CNN's parameters ([`SeedlingsCnn`]), the gradients made for each step ([`Grads`]) and
//! [`Runner`], a model with its optimizer stepped as a training loop steps it.

use std::time::{Duration, Instant};

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use super::cases::{Case, Family};
use super::seedlings_cnn::{CHANNELS, CLASSES};

/// Deterministic pseudo-random floats in `[-scale, scale)` (a 64-bit LCG).
pub(super) fn floats(n: usize, seed: u64, scale: f32) -> Vec<f32> {
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
pub(super) struct Big {
    weight: Param<Tensor<2>>,
}

impl Big {
    pub(super) fn new(device: &Device) -> Self {
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

/// The seedlings CNN's parameters: a block per entry of [`CHANNELS`] (32, 64, 128, 256) on
/// 3-channel (RGB) input, then a linear head 256 → [`CLASSES`] (12). The shape is a copy of
/// `examples/seedlings/src/model.rs` (see [`super::seedlings_cnn`] for why, and for the test that
/// keeps it equal).
#[derive(Module, Debug)]
pub(super) struct SeedlingsCnn {
    blocks: Vec<Block>,
    head: Linear,
}

impl SeedlingsCnn {
    pub(super) fn new(device: &Device) -> Self {
        let mut blocks = Vec::new();
        let mut input = 3;
        for output in CHANNELS {
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
            head: LinearConfig::new(input, CLASSES).init(device),
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
pub(super) struct Grads {
    pub(super) template: GradientsParams,
    pub(super) ids: Vec<(ParamId, usize)>,
    pub(super) numel: usize,
    pub(super) tensors: usize,
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
    pub(super) fn of<M: Module>(model: &M) -> Self {
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
    pub(super) fn fresh(&self) -> GradientsParams {
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

    pub(super) fn bytes(&self, family: Family) -> u64 {
        self.numel as u64 * 4 * family.passes()
    }
}

/// A model and its optimizer, stepped as a training loop steps them.
pub(super) struct Runner<M> {
    model: Option<M>,
    pub(super) optim: ModuleOptimizer,
    lr: f64,
    device: Device,
    autodiff: Device,
}

impl<M: Module> Runner<M> {
    pub(super) fn new(model: M, case: &Case) -> Self {
        Self {
            model: Some(model),
            optim: (case.build)(),
            lr: case.family.lr(),
            device: Device::flex(),
            autodiff: Device::flex().autodiff(),
        }
    }

    /// One optimizer step; the time covers `ModuleOptimizer::step` and a device sync only.
    pub(super) fn step(&mut self, grads: GradientsParams) -> Duration {
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
