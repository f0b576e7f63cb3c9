//! Evaluation: a model's loss and confusion matrix on a split, and the batch-to-tensor step
//! that training shares.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::{EpochPlan, ImageStore, Normalization, make_batch};
use crate::model::Cnn;
use crate::records::ConfusionMatrix;

/// Loss and confusion matrix of a model on a split.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Rows: true class, columns: predicted class.
    pub matrix: ConfusionMatrix,
}

/// Evaluates `model` (any mode; it is put in inference mode) on every image of `store`.
pub fn evaluate(
    model: &Cnn,
    store: &ImageStore,
    normalization: &Normalization,
    num_classes: usize,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    let model = model.valid();
    let plain = device.clone().inner();
    let loss_fn = CrossEntropyLossConfig::new().init(&plain);
    let plan = EpochPlan::sequential(store.len(), batch_size.max(1));
    let mut matrix = ConfusionMatrix::new(num_classes);
    let mut loss_sum = 0.0;
    for indices in plan.batches() {
        let batch = make_batch(store, indices, normalization, None);
        let shape = batch.shape();
        let (x, y) = tensors(batch.images, batch.labels.clone(), shape, &plain);
        let logits = model.forward(x);
        let loss = loss_fn.forward(logits.clone(), y).into_scalar::<f64>();
        loss_sum += loss * batch.len as f64;
        let predictions = logits.argmax(1).into_data();
        let predictions = predictions.iter::<i64>();
        for (label, predicted) in batch.labels.iter().zip(predictions) {
            // Labels and predictions are class indices below num_classes.
            let _ = matrix.add(*label as usize, predicted as usize);
        }
    }
    let n = store.len().max(1) as f64;
    Evaluation {
        loss: loss_sum / n,
        matrix,
    }
}

/// A batch's pixels and labels as the network's input and target tensors on `device`.
pub(crate) fn tensors(
    images: Vec<f32>,
    labels: Vec<i64>,
    shape: [usize; 4],
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let n = labels.len();
    (
        Tensor::from_data(TensorData::new(images, shape), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}
