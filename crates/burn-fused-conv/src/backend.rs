//! The fused block as a Burn backend extension: [`FusedConvBackend`], implemented on flex (the
//! fused kernels) and on flex autodiff (the fused kernels with a handwritten backward pass).
//!
//! Call it through [`crate::FusedConvBlock`], which picks it only where it is implemented and
//! runs the stock layers everywhere else; the functions here are for callers that hold
//! Burn's primitives themselves.

use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::ops::ConvOptions;
use burn::backend::{AutodiffBackend, Backend, Flex, backend_extension, tensor::FloatTensor};
use std::sync::Arc;

use crate::flex_op::{self, Saved, Stats};
use crate::kernel::conv::Products;

/// The op's settings besides its tensors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpOptions {
    /// Batch norm's ε.
    pub epsilon: f64,
    /// How the convolution's forward and input-gradient products run: direct, or Winograd
    /// F(2×2, 3×3) where the shape allows.
    pub products: Products,
}

/// conv 3×3 (padding 1, no bias) → batch norm → ReLU → 2×2 max-pool (stride 2), as one op.
///
/// Shapes: `x [N, C_in, H, W]`, `weight [C_out, C_in, 3, 3]`, `gamma`, `beta`, `mean`, `var`
/// `[C_out]`; the output is `[N, C_out, ⌊H/2⌋, ⌊W/2⌋]`. [`OpOptions`] holds batch norm's ε
/// and how the convolution's products run (the default implementation of
/// `conv_bn_relu_pool_eval`, Burn's own ops, uses ε only).
#[backend_extension(Flex, Autodiff)]
pub trait FusedConvBackend: Backend {
    /// Training: batch norm with the batch's own statistics. Returns the output, the batch mean
    /// and the biased batch variance (what a running average is fed; not differentiated).
    fn conv_bn_relu_pool_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        options: OpOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Inference: batch norm with the given (running) statistics.
    fn conv_bn_relu_pool_eval(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        options: OpOptions,
    ) -> FloatTensor<Self> {
        // Burn's own ops, differentiable wherever `Self` is: used on autodiff.
        let y = Self::conv2d(x, weight, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
        let z = Self::relu(Self::batch_norm(y, gamma, beta, mean, var, options.epsilon));
        Self::max_pool2d(z, [2, 2], [2, 2], [0, 0], [1, 1], false)
    }
}

impl FusedConvBackend for Flex {
    fn conv_bn_relu_pool_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        options: OpOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let out = flex_op::forward(&x, &weight, &gamma, &beta, Stats::Batch, options, false);
        let (mean, var) = out.stats.expect("batch statistics in training");
        (out.output, mean, var)
    }

    fn conv_bn_relu_pool_eval(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        options: OpOptions,
    ) -> FloatTensor<Self> {
        let stats = Stats::Given {
            mean: &mean,
            var: &var,
        };
        flex_op::forward(&x, &weight, &gamma, &beta, stats, options, false).output
    }
}

/// The handwritten backward pass: parents are the input, the weight, γ and β.
#[derive(Debug)]
struct FusedBlockBackward;

impl Backward<Flex, 4> for FusedBlockBackward {
    type State = Arc<Saved>;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_gamma, node_beta] = ops.parents;
        let output_grad = grads.consume::<Flex>(&ops.node);
        let out = flex_op::backward(&ops.state, &output_grad, node_x.is_some());
        if let (Some(node), Some(dx)) = (node_x, out.x) {
            grads.register::<Flex>(node.id, dx);
        }
        if let Some(node) = node_weight {
            grads.register::<Flex>(node.id, out.weight);
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, out.gamma);
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, out.beta);
        }
    }
}

impl<C: CheckpointStrategy> FusedConvBackend for Autodiff<Flex, C> {
    fn conv_bn_relu_pool_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        options: OpOptions,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prep = FusedBlockBackward
            .prepare::<C>([x.node(), weight.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let tracked = matches!(prep, OpsKind::Tracked(_));
        let out = flex_op::forward(
            x.primitive(),
            weight.primitive(),
            gamma.primitive(),
            beta.primitive(),
            Stats::Batch,
            options,
            tracked,
        );
        let (mean, var) = out.stats.expect("batch statistics in training");
        let output = match prep {
            OpsKind::Tracked(prep) => {
                prep.finish(out.saved.expect("saved when tracked"), out.output)
            }
            OpsKind::UnTracked(prep) => prep.finish(out.output),
        };
        (output, Self::from_inner(mean), Self::from_inner(var))
    }
}
