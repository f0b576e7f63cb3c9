//! The seedlings CNN's shape as the benches build it: a copy of the defaults of
//! `examples/seedlings/src/model.rs` (`CnnConfig`'s `channels`) and of the number of species the
//! experiment classifies (`seedlings::data::synthetic::SPECIES`, the 12 of the Plant Seedlings
//! data set).
//!
//! Copied because a bench of `burn-weight-decay` cannot depend on the `seedlings` example crate
//! (it depends on this one). This file has no imports so that the seedlings test
//! `examples/seedlings/tests/bench_cnn_copy.rs` can include it with `#[path]` and check both
//! numbers against the real ones: change them there and that test fails until they change here.

/// Output channels of each conv block, first to last (`CnnConfig::channels`' default).
pub(super) const CHANNELS: [usize; 4] = [32, 64, 128, 256];

/// Classes of the linear head (`seedlings::data::synthetic::SPECIES.len()`).
pub(super) const CLASSES: usize = 12;
