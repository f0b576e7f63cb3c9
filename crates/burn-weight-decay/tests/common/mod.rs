//! Shared helpers of the integration tests.
#![allow(dead_code)]

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

/// Deterministic pseudo-random floats in [-1, 1) (a 64-bit LCG), so tests need no RNG seeding.
pub fn floats(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn tensor2(rows: usize, cols: usize, seed: u64, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(floats(rows * cols, seed), [rows, cols]),
        device,
    )
}

pub fn device() -> Device {
    Device::default().autodiff()
}

/// A linear layer with fixed weights.
pub fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let layer = LinearConfig::new(d_in, d_out).init(device);
    let weight = tensor2(d_in, d_out, 11, device);
    let bias = Tensor::from_data(TensorData::new(floats(d_out, 12), [d_out]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: layer.bias.map(|_| Param::from_tensor(bias)),
    }
}

/// Mean squared error of a linear layer on a fixed regression problem, batch `t`.
pub fn mse(model: &Linear, t: u64, device: &Device) -> Tensor<1> {
    let x = tensor2(16, model.weight.dims()[0], 100 + t, device);
    let y = tensor2(16, model.weight.dims()[1], 200 + t, device);
    (model.forward(x) - y).powi_scalar(2).mean()
}

/// Gradients that are exactly zero for every parameter of `model`.
pub fn zero_grads<M: Module>(model: &M, loss: Tensor<1>) -> GradientsParams {
    GradientsParams::from_grads(loss.mul_scalar(0.0).backward(), model)
}

pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

pub fn params(model: &Linear) -> Vec<f32> {
    let mut v = values(model.weight.val());
    if let Some(b) = &model.bias {
        v.extend(values(b.val()));
    }
    v
}

/// max |a − b| / max |b|.
pub fn rel_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max);
    let den = b.iter().map(|y| (*y as f64).abs()).fold(0.0, f64::max);
    num / den.max(1e-30)
}

/// Every replay case under `tests/cases/`, sorted by file name, with its float64 reference
/// trajectory (`expected[t]` is the parameter after step `t + 1`).
pub fn replay_cases() -> Vec<(
    std::path::PathBuf,
    burn_weight_decay::replay::Case,
    Vec<Vec<f64>>,
)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 32, "cases missing in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let case = burn_weight_decay::replay::Case::from_json(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let expected = serde_json::from_value(json["expected"].clone()).unwrap();
            (path, case, expected)
        })
        .collect()
}
