//! Burn's Muon inside the wrapper (issue 24, item 5): the same numbers as Muon's own decoupled
//! decay at the same λ, and README's recipe — Muon on the 2-D weight matrices, AdamW on the rest,
//! one λ, biases and norms not decayed — in one `ModuleOptimizer`, saved and reloaded.

mod common;

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, MuonConfig, OptimizerRecord};
use burn::tensor::{Device, Tensor, TensorData};
use burn_weight_decay::{AdamDecayConfig, DecayConfig, rank_group};
use common::{floats, values};

const LAMBDA: f64 = 0.1;
const LR: f64 = 0.02;

#[derive(Module, Debug)]
struct Matrix {
    w: Param<Tensor<2>>,
}

/// Muon with its own decay (`WeightDecayConfig`) against Muon without it inside
/// `DecayConfig::decoupled(λ)`, 12 steps of varying gradients on a 6×5 matrix: both compute
/// `w − lr·λ·w − lr'·NS(m)`, in a different order of f32 operations (Muon multiplies by
/// `1 − lr·λ` first, the wrapper subtracts `lr·λ·w` after), so they agree to rounding: measured
/// worst relative difference 5.5e-7 over the 12 steps (`--nocapture` prints it), asserted ≤ 1e-6.
#[test]
fn wrapped_muon_equals_muons_own_decay() {
    let device = Device::default().autodiff();
    let start = Matrix {
        w: Param::from_tensor(Tensor::from_data(
            TensorData::new(floats(30, 4), [6, 5]),
            &device,
        )),
    };
    let run = |mut optim: ModuleOptimizer| {
        let mut m = start.clone();
        let mut trajectory = Vec::new();
        for t in 0..12u64 {
            let target =
                Tensor::<2>::from_data(TensorData::new(floats(30, 50 + t), [6, 5]), &device);
            let loss = (m.w.val() - target).powi_scalar(2).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            m = optim.step(LR, m, grads);
            trajectory.push(values(m.w.val()));
        }
        trajectory
    };
    let own = run(MuonConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(LAMBDA as f32)))
        .init());
    let wrapped = run(DecayConfig::decoupled(LAMBDA).init(MuonConfig::new().build()));
    let undecayed = run(MuonConfig::new().init());
    let mut worst = 0.0f64;
    for (a, b) in own.iter().zip(&wrapped) {
        worst = worst.max(common::rel_diff(b, a));
    }
    println!("wrapped vs Muon's own decay: worst relative difference {worst:e}");
    assert!(worst <= 1e-6, "{worst:e}");
    // And the decay did something: without it the weights differ by far more than that.
    assert!(common::rel_diff(&undecayed[11], &own[11]) > 1e-3);
}

#[derive(Module, Debug)]
struct Net {
    hidden: Linear,
    norm: LayerNorm,
    head: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(8, 16).init(device),
            norm: LayerNormConfig::new(16).init(device),
            head: LinearConfig::new(16, 4).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.head
            .forward(self.norm.forward(self.hidden.forward(x)).tanh())
    }
}

// ANCHOR: muon
/// Muon on the 2-D weight matrices, AdamW on every other parameter, one λ: biases and norm
/// parameters (rank 1) are not decayed, Muon's own decay stays off and the wrapper decays.
fn muon_and_adamw(model: &Net, lambda: f64) -> ModuleOptimizer {
    AdamDecayConfig::adamw(lambda).init().with_group(
        rank_group(model, 2),
        DecayConfig::decoupled(lambda).wrap(MuonConfig::new().build()),
        None,
    )
}
// ANCHOR_END: muon

fn loss(model: &Net, t: u64, device: &Device) -> Tensor<1> {
    let x = Tensor::<2>::from_data(TensorData::new(floats(32 * 8, 100 + t), [32, 8]), device);
    let y = Tensor::<2>::from_data(TensorData::new(floats(32 * 4, 200 + t), [32, 4]), device);
    (model.forward(x) - y).powi_scalar(2).mean()
}

fn train(mut model: Net, optim: &mut ModuleOptimizer, steps: std::ops::Range<u64>) -> Net {
    let device = model.devices()[0].clone();
    for t in steps {
        let grads = GradientsParams::from_grads(loss(&model, t, &device).backward(), &model);
        model = optim.step(LR, model, grads);
    }
    model
}

fn all_values(model: &Net) -> Vec<Vec<f32>> {
    vec![
        values(model.hidden.weight.val()),
        values(model.hidden.bias.as_ref().unwrap().val()),
        values(model.norm.gamma.val()),
        values(model.norm.beta.as_ref().unwrap().val()),
        values(model.head.weight.val()),
        values(model.head.bias.as_ref().unwrap().val()),
    ]
}

/// With a zero gradient Muon's and Adam's updates are zero, so one step of the recipe shows the
/// decay alone: both weight matrices shrink by exactly `1 − lr·λ` (0.998), every bias and norm
/// parameter stays as it was.
#[test]
fn the_recipe_decays_the_matrices_by_one_lambda_and_nothing_else() {
    let device = Device::default().autodiff();
    device.seed(3);
    let model = Net::new(&device);
    let before = all_values(&model);
    let mut optim = muon_and_adamw(&model, LAMBDA);
    let grads =
        GradientsParams::from_grads(loss(&model, 0, &device).mul_scalar(0.0).backward(), &model);
    let after = all_values(&optim.step(LR, model, grads));
    let factor = (1.0 - LR * LAMBDA) as f32;
    for (name, i) in [("hidden.weight", 0), ("head.weight", 4)] {
        for (a, b) in after[i].iter().zip(&before[i]) {
            assert!(
                (a - b * factor).abs() <= 3e-7 * b.abs().max(1e-3),
                "{name}: {b} → {a}"
            );
        }
    }
    for (name, i) in [
        ("hidden.bias", 1),
        ("norm.gamma", 2),
        ("norm.beta", 3),
        ("head.bias", 5),
    ] {
        assert_eq!(after[i], before[i], "{name} must not decay");
    }
}

/// The recipe trains (the loss falls), and a run saved after 10 of 20 steps, reloaded into a new
/// model and a new optimizer with `load_record`, ends bit for bit where the uninterrupted run does.
#[test]
fn the_recipe_trains_saves_and_reloads() {
    let device = Device::default().autodiff();
    device.seed(5);
    let initial = Net::new(&device);
    let start_loss = loss(&initial, 99, &device).into_scalar::<f32>();

    let mut optim = muon_and_adamw(&initial, LAMBDA);
    let straight = train(initial.clone(), &mut optim, 0..20);
    let end_loss = loss(&straight, 99, &device).into_scalar::<f32>();
    assert!(end_loss < start_loss, "loss {start_loss} → {end_loss}");

    let dir = tempfile::tempdir().unwrap();
    let mut optim = muon_and_adamw(&initial, LAMBDA);
    let half = train(initial.clone(), &mut optim, 0..10);
    half.save_file(dir.path().join("model.bpk")).unwrap();
    optim.save(dir.path().join("optim.bpk")).unwrap();

    let model = Net::new(&device)
        .try_load_file(dir.path().join("model.bpk"))
        .unwrap();
    let record = OptimizerRecord::load(dir.path().join("optim.bpk")).unwrap();
    let mut optim =
        burn_weight_decay::load_record(muon_and_adamw(&model, LAMBDA), record, &model).unwrap();
    let resumed = train(model, &mut optim, 10..20);
    assert_eq!(all_values(&resumed), all_values(&straight));
}

/// Both READMEs quote the recipe above as it is.
#[test]
fn readme_quotes_the_recipe() {
    let source = include_str!("muon.rs");
    let start = source.find("// ANCHOR: muon\n").unwrap();
    let end = source.find("// ANCHOR_END: muon").unwrap();
    let recipe: Vec<&str> = source[start..end].lines().skip(1).map(str::trim).collect();
    for (name, readme) in [
        ("README.md", include_str!("../../../README.md")),
        (
            "crates/burn-weight-decay/README.md",
            include_str!("../README.md"),
        ),
    ] {
        let readme: Vec<&str> = readme.lines().map(str::trim).collect();
        assert!(
            readme.windows(recipe.len()).any(|w| w == recipe.as_slice()),
            "{name} does not quote the Muon recipe {recipe:#?}"
        );
    }
}
