//! Quickstart: a small MLP trained with AdamW and with Adam + L2 at the same λ, a parameter group
//! that gives the head another λ, and a save and reload that continues bit for bit.
//!
//! ```text
//! cargo run --release -p burn-weight-decay --example quickstart
//! ```
//!
//! `tests/quickstart.rs` runs it and checks its numbers; README.md links to it.

use std::error::Error;

use burn::module::{Module, ParamGroup};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{AdamDecayConfig, weight_norm};

const LAMBDA: f64 = 0.1; // the same λ for AdamW and Adam + L2
const HEAD_LAMBDA: f64 = 1.0; // the head's own λ, in a parameter group
const LR: f64 = 1e-2;
const STEPS: usize = 200;

#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Linear,
    act: Relu,
    head: Linear,
}

impl Mlp {
    pub fn new(device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(8, 32).init(device),
            act: Relu::new(),
            head: LinearConfig::new(32, 1).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.head.forward(self.act.forward(self.hidden.forward(x)))
    }
}

/// 256 points `x ∈ [-1, 1)⁸` from a fixed generator, `y = sin(3·x₀) + x₁·x₂ − x₃/2`: half of the
/// inputs do not matter.
fn data(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let n = 256;
    let mut state = 42u64;
    let x: Vec<f32> = (0..n * 8)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    let y: Vec<f32> = x
        .chunks(8)
        .map(|x| (3.0 * x[0]).sin() + x[1] * x[2] - 0.5 * x[3])
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [n, 8]), device),
        Tensor::from_data(TensorData::new(y, [n, 1]), device),
    )
}

fn mse(model: &Mlp, (x, y): &(Tensor<2>, Tensor<2>)) -> Tensor<1> {
    (model.forward(x.clone()) - y.clone()).powi_scalar(2).mean()
}

/// `steps` full-batch steps; returns the model and the loss before each step.
fn train(
    mut model: Mlp,
    optim: &mut ModuleOptimizer,
    data: &(Tensor<2>, Tensor<2>),
    steps: usize,
) -> (Mlp, Vec<f32>) {
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let loss = mse(&model, data);
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(LR, model, grads);
    }
    (model, losses)
}

/// AdamW with λ = 0.1 everywhere but the head, which gets λ = 1. (Biases are not decayed.)
fn adamw_with_head_group() -> ModuleOptimizer {
    AdamDecayConfig::adamw(LAMBDA).init().with_group(
        ParamGroup::from_predicate("head"),
        AdamDecayConfig::adamw(HEAD_LAMBDA).build(),
        None,
    )
}

/// One trained model's numbers.
#[derive(Debug, Clone, Copy)]
pub struct Arm {
    /// Training MSE after the last step.
    pub loss: f32,
    /// `‖w‖₂` over every parameter.
    pub norm: f64,
    /// `‖w‖₂` over the head's parameters.
    pub head_norm: f64,
}

impl Arm {
    fn of(model: &Mlp, data: &(Tensor<2>, Tensor<2>)) -> Self {
        Self {
            loss: mse(model, data).into_scalar::<f32>(),
            norm: weight_norm(model),
            head_norm: weight_norm(&model.head),
        }
    }
}

/// What [`run`] measured.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The untrained model (the same for every arm).
    pub initial: Arm,
    /// `AdamDecayConfig::adamw(0.1)`, as `torch.optim.AdamW(weight_decay=0.1)`.
    pub adamw: Arm,
    /// `AdamDecayConfig::adam_l2(0.1)`, as `torch.optim.Adam(weight_decay=0.1)`.
    pub adam_l2: Arm,
    /// `AdamDecayConfig::adam()`, as `torch.optim.Adam()`: no decay.
    pub adam: Arm,
    /// AdamW with the head in a group of its own, λ = 1.
    pub grouped: Arm,
    /// The grouped run saved to disk after half the steps, reloaded into a new model and a new
    /// optimizer, and trained on.
    pub resumed: Arm,
}

pub fn run() -> Result<Summary, Box<dyn Error>> {
    let device = Device::default().autodiff();
    device.seed(0);
    let initial = Mlp::new(&device);
    let data = data(&device);

    let arm = |mut optim: ModuleOptimizer| {
        let (model, _) = train(initial.clone(), &mut optim, &data, STEPS);
        Arm::of(&model, &data)
    };
    let adamw = arm(AdamDecayConfig::adamw(LAMBDA).init());
    let adam_l2 = arm(AdamDecayConfig::adam_l2(LAMBDA).init());
    let adam = arm(AdamDecayConfig::adam().init());

    // The grouped run, once straight through...
    let mut optim = adamw_with_head_group();
    let (grouped, losses) = train(initial.clone(), &mut optim, &data, STEPS);

    // ...and once saved after half the steps, reloaded into fresh objects, and trained on.
    let dir = std::env::temp_dir().join(format!("bwd-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut optim = adamw_with_head_group();
    let (half, _) = train(initial.clone(), &mut optim, &data, STEPS / 2);
    half.save_file(dir.join("model.bpk"))?;
    optim.save(dir.join("optim.bpk"))?;
    let model = Mlp::new(&device).try_load_file(dir.join("model.bpk"))?;
    // `load_record` is Burn's, except that a record of another optimizer or shape is an error.
    let record = burn::optim::OptimizerRecord::load(dir.join("optim.bpk"))?;
    let mut optim = burn_weight_decay::load_record(adamw_with_head_group(), record, &model)?;
    let (resumed, resumed_losses) = train(model, &mut optim, &data, STEPS - STEPS / 2);
    // Only now: Burn 0.22.1 reads a loaded tensor from its file when the tensor is first used.
    std::fs::remove_dir_all(&dir)?;

    let predictions = |model: &Mlp| model.forward(data.0.clone()).into_data();
    if resumed_losses != losses[STEPS / 2..] || predictions(&resumed) != predictions(&grouped) {
        return Err("the reloaded run did not continue as the uninterrupted one".into());
    }
    Ok(Summary {
        initial: Arm::of(&initial, &data),
        adamw,
        adam_l2,
        adam,
        grouped: Arm::of(&grouped, &data),
        resumed: Arm::of(&resumed, &data),
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let s = run()?;
    println!("{STEPS} steps of Adam, lr {LR}, on y = sin(3·x₀) + x₁·x₂ − x₃/2");
    println!("{:<34} {:>9} {:>7} {:>8}", "", "loss", "‖w‖", "‖head‖");
    for (name, arm) in [
        ("untrained", s.initial),
        ("Adam, no decay", s.adam),
        ("AdamW, λ = 0.1", s.adamw),
        ("Adam + L2, λ = 0.1", s.adam_l2),
        ("AdamW, λ = 0.1, head λ = 1", s.grouped),
        ("  saved at 100, reloaded, resumed", s.resumed),
    ] {
        println!(
            "{name:<34} {:>9.5} {:>7.3} {:>8.3}",
            arm.loss, arm.norm, arm.head_norm
        );
    }
    println!("the resumed run's last 100 losses and predictions equal the uninterrupted run's");
    Ok(())
}
