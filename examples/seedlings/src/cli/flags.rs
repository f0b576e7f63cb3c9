//! Value parsers of the flags: a flag's check lives where clap parses it, so a bad value ends as
//! clap's error (exit code 2) naming the flag and the value, before anything runs.
//!
//! The sweep's checks are the library's ([`seedlings::settings::checks`], re-exported here),
//! since `state/sweep.json` is read through them too; the bench's lists of them are here.

use anyhow::{Result, anyhow};
use burn_fused_conv::BlockKernel;
pub use seedlings::settings::checks::{
    at_least_one, decay_modes, image_size, optimizer, parse_list, typed,
};

/// `--block` of the bench: conv-block kernels (stock, fused, winograd).
pub fn block_kernels(text: &str) -> Result<Vec<BlockKernel>> {
    parse_list(text, "block", |s| {
        s.parse::<BlockKernel>().map_err(|err| anyhow!(err))
    })
}

/// `--image-size` of the bench: one or more sides, each checked as [`image_size`].
pub fn image_sizes(text: &str) -> Result<Vec<usize>> {
    parse_list(text, "image-size", |s| image_size(s.parse()?))
}
