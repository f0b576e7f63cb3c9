//! The CNN: a few conv + batch-norm + ReLU blocks with max pooling (burn-fused-conv's
//! `FusedConvBlock`), global average pooling and a linear head. Small enough to train on two CPU
//! cores in minutes.

use burn::config::Config;
use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use burn_fused_conv::{BlockKernel, FusedConvBlock, FusedConvBlockConfig};

/// The network's shape.
#[derive(Config, Debug)]
pub struct CnnConfig {
    /// Number of classes of the head.
    pub num_classes: usize,
    /// Output channels of each block; each block halves the image side.
    #[config(default = "vec![32, 64, 128, 256]")]
    pub channels: Vec<usize>,
    /// Which code runs the conv blocks: the fused flex op with Winograd products (where it
    /// exists), the same op with direct products, or Burn's stock layers. Each trains the same
    /// network with the same record.
    #[config(default = "BlockKernel::Winograd")]
    pub block: BlockKernel,
}

impl CnnConfig {
    /// The smallest image side the network accepts: every block halves it, and the last block
    /// must still see at least 2×2 pixels.
    pub fn min_image_size(&self) -> usize {
        2usize << self.channels.len()
    }

    /// Builds the network with the weights that `seed` gives, the same whatever else the process
    /// does.
    ///
    /// Burn's flex seed is process-wide and parameters are drawn lazily, on first use; so this
    /// seeds, builds and draws every parameter under one lock.
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Cnn {
        static INIT: Mutex<()> = Mutex::new(());
        let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        let model = self.init(device);
        model.visit(&mut Materialize);
        model
    }

    /// Builds the network on `device` with Burn's default (Kaiming-uniform) initialization.
    pub fn init(&self, device: &Device) -> Cnn {
        let mut blocks = Vec::with_capacity(self.channels.len());
        let mut input = 3;
        for &output in &self.channels {
            blocks.push(
                FusedConvBlockConfig::new([input, output])
                    .with_kernel(self.block)
                    .init(device),
            );
            input = output;
        }
        Cnn {
            blocks,
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            head: LinearConfig::new(input, self.num_classes).init(device),
        }
    }
}

/// Reads every float parameter once, which draws the lazily initialised ones.
struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// The classifier.
#[derive(Module, Debug)]
pub struct Cnn {
    /// conv 3×3 → batch norm → ReLU → 2×2 max pool, each; the record is that of `Conv2d` +
    /// `BatchNorm` fields `conv` and `bn`, whichever kernel runs them.
    blocks: Vec<FusedConvBlock>,
    gap: AdaptiveAvgPool2d,
    head: Linear,
}

impl Cnn {
    /// Logits `[batch, classes]` of images `[batch, 3, size, size]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x = self.gap.forward(x).flatten::<2>(1, 3);
        self.head.forward(x)
    }
}
