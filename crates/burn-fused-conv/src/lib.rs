//! conv 3×3 → batch norm → ReLU → 2×2 max-pool as one Burn op on the flex backend, with its own
//! backward pass, and Burn's stock layers everywhere else.

pub mod alloc;
#[cfg(feature = "flex")]
pub mod backend;
#[cfg(feature = "flex")]
pub mod bench;
mod block;
#[cfg(feature = "flex")]
mod flex_op;
#[cfg(feature = "flex")]
pub mod kernel;

pub use block::{BlockKernel, FusedConvBlock, FusedConvBlockConfig, Route};
