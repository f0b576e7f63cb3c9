//! conv 3×3 → batch norm → ReLU → 2×2 max-pool as one Burn op on the flex backend, with a
//! handwritten backward pass, and Burn's stock layers everywhere else.
//!
//! [`FusedConvBlock`] is a drop-in for the usual block of a small CNN:
//!
//! ```text
//! y = conv3×3(x, W)                      (padding 1, stride 1, no bias)
//! z = γ·(y − μ)/√(σ² + ε) + β            (batch statistics in training, running ones in eval)
//! out = maxpool2×2(max(z, 0))            (stride 2)
//! ```
//!
//! Its parameters and record are those of a `Conv2d` field `conv` and a `BatchNorm` field `bn`,
//! so records move between it and a stock model in both directions, and the running statistics
//! are updated exactly as `BatchNorm::forward` updates them.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use burn_fused_conv::{FusedConvBlockConfig, Route};
//!
//! let device = Device::flex().autodiff();
//! let block = FusedConvBlockConfig::new([3, 16]).init(&device);
//! let x = Tensor::<4>::ones([4, 3, 32, 32], &device);
//! assert_eq!(block.route(&x), Route::FusedTrain);
//! let y = block.forward(x); // [4, 16, 16, 16]
//! let grads = y.sum().backward();
//! assert!(block.conv.weight.grad(&grads).is_some());
//! ```
//!
//! # Where the fused op runs
//!
//! Through Burn's backend-extension mechanism ([`backend::FusedConvBackend`],
//! `#[backend_extension(Flex, Autodiff)]`): on `Device::flex().autodiff()` in training mode (batch
//! statistics, the handwritten backward pass) and on `Device::flex()` (inference, running
//! statistics), for f32 tensors and the block's own convolution. Everywhere else, ndarray, wgpu,
//! remote devices, evaluation mode on an autodiff device, [`BlockKernel::Stock`], the block runs
//! `Conv2d`, `BatchNorm`, ReLU and `MaxPool2d` themselves ([`FusedConvBlock::route`] says which).
//!
//! # How it works ([`kernel`])
//!
//! - Activations stay channels-last. The block's output is `[N, C, H/2, W/2]` to Burn but
//!   channels-last in memory (strides `[H·W·C/4, 1, W·C/2, C]`), as is the input gradient it
//!   hands back; the next fused block reads either without a layout conversion.
//! - The convolution is one matrix product whose left operand is the input padded by one pixel
//!   on every side, read in place (three runs of `3·C` floats per output pixel, one per kernel
//!   row; no im2col copy): see [`kernel::geometry`] and [`kernel::conv`]. The products are the
//!   crate's own register-tiled kernels ([`kernel::tile`]: 12 rows × 32 channels of sums in
//!   AVX-512 registers, 6 × 16 with AVX2 + FMA, picked at run time), which skip the layout's
//!   scratch rows and split the work by shape, not by thread count.
//! - [`BlockKernel::Winograd`] (the default) runs the three products as Winograd F(2×2, 3×3)
//!   and F(3×3, 2×2) ([`kernel::winograd`]: 2.25× fewer multiply-adds, the 16 products on the
//!   same register tiles) wherever a block has at least 16 input channels, even sides and 64
//!   tiles of 2×2 outputs; the direct products run elsewhere (the first block, odd sides, small
//!   batches) and everywhere with [`BlockKernel::Fused`]. Its outputs and gradients differ from
//!   the direct products' in the last bits (both are within 3e-6 of the exact values, relative
//!   to the outputs' scale) and are deterministic too.
//! - Batch-norm statistics, normalize + ReLU + pool noting each window's winner (a 1-byte
//!   argmax and the conv output there), and their backward in two passes
//!   ([`kernel::norm_pool`]).
//! - Backward: the conv output's gradient is written padded; the weight gradient is a product
//!   over the forward's padded input (kept) and it, summed over a number of row chunks fixed by
//!   the shape (returned contiguous); the input gradient, only when the input needs one, is the
//!   forward product on that padded gradient and the flipped, transposed weight
//!   ([`kernel::conv`]).
//! - Deterministic: every reduction runs in a fixed order, independent of thread timing, of the
//!   number of threads (tested on 1 and 2 threads) and of the instruction set: each output of a
//!   product is one chain of fused multiply-adds in the same order with AVX-512, AVX2 + FMA or
//!   plain Rust (tested), so processors with either give the same bits.
//! - The instruction set is the widest the processor has unless the environment variable
//!   `BURN_FUSED_CONV_MAX_ISA` (`avx512`, `avx2`, `plain`) caps it ([`isa`]): one host can time
//!   another's code path.
//!
//! Training frees and reallocates the same large buffers every step; [`alloc::keep_freed_memory`]
//! (glibc) keeps them in the heap rather than page-faulting through fresh ones;
//! [`pool::join_global_pool`] makes the main thread a worker of rayon's pool, so that the op's
//! parallel loops start without waking the pool from outside. [`mod@bench`] times a block
//! against the machine's measured FMA peak.
//!
//! # Features
//!
//! - `flex` (default): the fused op (Burn's `flex`, `rayon`, `simd`, `extension` and `x86-v4`
//!   features: flex's own matrix products get their AVX-512 kernels, chosen at run time where
//!   the processor has AVX-512, AVX2 elsewhere).
//! - `ndarray`: Burn's ndarray backend, where the block runs the stock layers.

pub mod alloc;
#[cfg(feature = "flex")]
pub mod backend;
#[cfg(feature = "flex")]
pub mod bench;
mod block;
#[cfg(feature = "flex")]
mod flex_op;
#[cfg(feature = "flex")]
pub mod isa;
#[cfg(feature = "flex")]
pub mod kernel;
#[cfg(feature = "flex")]
pub mod pool;

pub use block::{BlockKernel, FusedConvBlock, FusedConvBlockConfig, Route};
