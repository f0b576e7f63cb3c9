//! [`FusedConvBlock`]: conv 3×3 → batch norm → ReLU → 2×2 max-pool, with the parameter names,
//! shapes and record layout of the stock `Conv2d` + `BatchNorm` pair.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{DType, Device, Tensor};

/// Which code runs a [`FusedConvBlock`].
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum BlockKernel {
    /// The fused op where it exists (flex, flex autodiff, f32) with the direct products
    /// ([`crate::kernel::conv`]), the stock layers elsewhere.
    Fused,
    /// Always Burn's stock `Conv2d`, `BatchNorm`, ReLU and `MaxPool2d`.
    Stock,
    /// The fused op with its convolution's products as Winograd F(2×2, 3×3) and F(3×3, 2×2)
    /// (2.25× fewer multiply-adds) where the shape allows (even sides, at least 16 input
    /// channels: [`crate::kernel::winograd`]), the direct products elsewhere; the stock layers
    /// where [`BlockKernel::Fused`] would use them.
    Winograd,
}

impl BlockKernel {
    /// Every kernel, in the order benchmarks list them.
    pub const ALL: [BlockKernel; 3] = [
        BlockKernel::Stock,
        BlockKernel::Fused,
        BlockKernel::Winograd,
    ];

    /// The kernel's name on a command line: `fused`, `stock` or `winograd`.
    pub fn name(self) -> &'static str {
        match self {
            BlockKernel::Fused => "fused",
            BlockKernel::Stock => "stock",
            BlockKernel::Winograd => "winograd",
        }
    }

    /// Whether the fused op runs (where it exists): every kernel but [`BlockKernel::Stock`].
    pub fn is_fused(self) -> bool {
        self != BlockKernel::Stock
    }

    /// How the fused op's forward and input-gradient products run.
    #[cfg(feature = "flex")]
    pub fn products(self) -> crate::kernel::conv::Products {
        match self {
            BlockKernel::Winograd => crate::kernel::conv::Products::Winograd,
            _ => crate::kernel::conv::Products::Direct,
        }
    }
}

impl std::str::FromStr for BlockKernel {
    type Err = String;

    /// A [`BlockKernel::name`] (any case).
    ///
    /// ```
    /// use burn_fused_conv::BlockKernel;
    /// assert_eq!("fused".parse(), Ok(BlockKernel::Fused));
    /// assert_eq!("Winograd".parse(), Ok(BlockKernel::Winograd));
    /// assert!("fast".parse::<BlockKernel>().unwrap_err().contains("fused, stock, winograd"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        BlockKernel::ALL
            .into_iter()
            .find(|kernel| kernel.name() == wanted)
            .ok_or_else(|| {
                format!("unknown block kernel {wanted:?} (expected one of: fused, stock, winograd)")
            })
    }
}

/// Settings of a [`FusedConvBlock`]. The pool is fixed: 2×2, stride 2, no padding (odd sides
/// drop their last row or column, as `MaxPool2d` does).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use burn_fused_conv::FusedConvBlockConfig;
///
/// let device = Device::flex().autodiff();
/// let block = FusedConvBlockConfig::new([3, 8]).init(&device);
/// let x = Tensor::<4>::ones([2, 3, 6, 6], &device).require_grad();
/// let y = block.forward(x.clone());
/// assert_eq!(y.dims(), [2, 8, 3, 3]);
/// let grads = y.sum().backward();
/// assert!(x.grad(&grads).is_some());
/// ```
#[derive(Config, Debug)]
pub struct FusedConvBlockConfig {
    /// Input and output channels of the convolution.
    pub channels: [usize; 2],
    /// Batch norm's ε (burn-nn's default).
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Batch norm's running-average momentum (burn-nn's default).
    #[config(default = 0.1)]
    pub momentum: f64,
    /// Which code runs the block.
    #[config(default = "BlockKernel::Winograd")]
    pub kernel: BlockKernel,
}

impl FusedConvBlockConfig {
    /// The block on `device`, with burn-nn's initialisation of `Conv2d` (Kaiming uniform, no
    /// bias) and `BatchNorm` (γ = 1, β = 0, running mean 0 and variance 1).
    pub fn init(&self, device: &Device) -> FusedConvBlock {
        FusedConvBlock {
            conv: Conv2dConfig::new(self.channels, [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(self.channels[1])
                .with_epsilon(self.epsilon)
                .with_momentum(self.momentum)
                .init(device),
            kernel: self.kernel,
        }
    }
}

/// conv 3×3 (padding same, no bias) → batch norm → ReLU → 2×2 max-pool.
///
/// Its record is the stock pair's: `conv` (a `Conv2d`) and `bn` (a `BatchNorm`), so a record
/// saved from a model of `Conv2d` + `BatchNorm` fields of those names loads into it and back.
/// Batch norm uses the batch's statistics on an autodiff device in training mode and the running
/// statistics otherwise, and updates the running statistics as `BatchNorm::forward` does.
///
/// Where the fused op runs: f32 tensors on `Device::flex()` (inference) and
/// `Device::flex().autodiff()` (training, with the handwritten backward pass), when the
/// convolution is the block's own (3×3, stride 1, padding same, no bias). Everywhere else
/// (ndarray, wgpu, remote, other dtypes, [`BlockKernel::Stock`]) the stock layers run.
#[derive(Module, Debug)]
pub struct FusedConvBlock {
    /// The convolution's parameters.
    pub conv: Conv2d,
    /// Batch norm's parameters and running statistics.
    pub bn: BatchNorm,
    /// Which code runs the block (not saved in the record).
    #[module(skip)]
    pub kernel: BlockKernel,
}

/// What [`FusedConvBlock::forward`] runs for a given input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The fused op with batch statistics and the handwritten backward pass.
    FusedTrain,
    /// The fused op with the running statistics.
    FusedEval,
    /// Burn's stock layers.
    Stock,
}

impl FusedConvBlock {
    /// `[N, C_in, H, W]` → `[N, C_out, ⌊H/2⌋, ⌊W/2⌋]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self.route(&x) {
            #[cfg(feature = "flex")]
            Route::FusedTrain => self.forward_fused_train(x),
            #[cfg(feature = "flex")]
            Route::FusedEval => self.forward_fused_eval(x),
            _ => self.forward_stock(x),
        }
    }

    /// Which code [`forward`](Self::forward) runs for `x`.
    pub fn route(&self, x: &Tensor<4>) -> Route {
        let device = x.device();
        let training = device.is_autodiff() && self.bn.training.is_enabled();
        let own_conv = self.conv.kernel_size == [3, 3]
            && self.conv.stride == [1, 1]
            && self.conv.dilation == [1, 1]
            && self.conv.groups == 1
            && self.conv.bias.is_none()
            && matches!(self.conv.padding, PaddingConfig2d::Same);
        let eligible = cfg!(feature = "flex")
            && self.kernel.is_fused()
            && own_conv
            && x.dtype() == DType::F32
            && is_flex(&device);
        match (eligible, training, device.is_autodiff()) {
            (false, _, _) => Route::Stock,
            (true, true, _) => Route::FusedTrain,
            (true, false, false) => Route::FusedEval,
            // Evaluation mode on an autodiff device: the stock layers keep it differentiable.
            (true, false, true) => Route::Stock,
        }
    }

    /// Burn's stock layers: `Conv2d`, `BatchNorm`, ReLU, `MaxPool2d`.
    pub fn forward_stock(&self, x: Tensor<4>) -> Tensor<4> {
        let z = burn::tensor::activation::relu(self.bn.forward(self.conv.forward(x)));
        MaxPool2dConfig::new([2, 2])
            .with_strides([2, 2])
            .init()
            .forward(z)
    }

    /// The fused op's ε and products.
    #[cfg(feature = "flex")]
    fn op_options(&self) -> crate::backend::OpOptions {
        crate::backend::OpOptions {
            epsilon: self.bn.epsilon,
            products: self.kernel.products(),
        }
    }

    #[cfg(feature = "flex")]
    fn forward_fused_train(&self, x: Tensor<4>) -> Tensor<4> {
        use crate::backend::FusedConvBackend;
        use burn::backend::Dispatch;
        let device = x.device();
        let (out, mean, var) = <Dispatch as FusedConvBackend>::conv_bn_relu_pool_train(
            x.into_dispatch(),
            self.conv.weight.val().into_dispatch(),
            self.bn.gamma.val().into_dispatch(),
            self.bn.beta.val().into_dispatch(),
            self.op_options(),
        );
        let mean = Tensor::<1>::from_dispatch(mean);
        let var = Tensor::<1>::from_dispatch(var);
        // burn-nn's BatchNorm::forward_train, operation for operation.
        let momentum = self.bn.momentum;
        let running_mean = self.bn.running_mean.value_sync().to_device(&device);
        let running_var = self.bn.running_var.value_sync().to_device(&device);
        let running_mean = running_mean
            .mul_scalar(1.0 - momentum)
            .add(mean.detach().mul_scalar(momentum));
        let running_var = running_var
            .mul_scalar(1.0 - momentum)
            .add(var.detach().mul_scalar(momentum));
        self.bn.running_mean.update(running_mean.detach());
        self.bn.running_var.update(running_var.detach());
        Tensor::from_dispatch(out)
    }

    #[cfg(feature = "flex")]
    fn forward_fused_eval(&self, x: Tensor<4>) -> Tensor<4> {
        use crate::backend::FusedConvBackend;
        use burn::backend::Dispatch;
        let device = x.device();
        let mean = self.bn.running_mean.value().to_device(&device);
        let var = self.bn.running_var.value().to_device(&device);
        Tensor::from_dispatch(<Dispatch as FusedConvBackend>::conv_bn_relu_pool_eval(
            x.into_dispatch(),
            self.conv.weight.val().into_dispatch(),
            self.bn.gamma.val().into_dispatch(),
            self.bn.beta.val().into_dispatch(),
            mean.into_dispatch(),
            var.into_dispatch(),
            self.op_options(),
        ))
    }
}

/// Whether `device` is flex (with or without autodiff).
fn is_flex(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        device.clone().inner() == Device::flex()
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}
