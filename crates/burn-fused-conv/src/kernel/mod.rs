//! The fused block's kernels on plain f32 buffers, independent of Burn's types: the padded
//! layout ([`geometry`]), reading strided tensors ([`strided`]), the GEMMs ([`conv`], [`winograd`]) and batch
//! norm + ReLU + pool forward and backward ([`norm_pool`]).
//!
//! The per-channel loops index several per-channel arrays at once (`scale[ch]`, `shift[ch]`,
//! `y0[ch]` …), which reads better than a zip of six slices: hence the lint allowance.
#![allow(clippy::needless_range_loop)]

pub mod conv;
pub mod geometry;
mod lanes;
pub mod norm_pool;
mod simd;
pub mod strided;
pub mod tile;
pub mod winograd;
