//! Value parsers of the flags: a flag's check lives where clap parses it, so a bad value ends as
//! clap's error (exit code 2) naming the flag and the value, before anything runs.
//!
//! The sweep's list flags (`--wd`, `--modes`, `--optimizer`, `--block`) stay strings in
//! [`SweepArgs`](super::SweepArgs), because `state/sweep.json` stores them as written: their
//! parsers ([`kept`]) check the text and return it unchanged, and the same functions here turn
//! the text (given or saved) into values.

use anyhow::{Context, Result, anyhow, bail};
use burn_fused_conv::BlockKernel;
use burn_weight_decay::DecayMode;
use seedlings::model::CnnConfig;
use seedlings::train::OptimizerKind;

/// A clap value parser from `parse`, its error (with its causes) as clap's message.
pub fn typed<T: Clone + Send + Sync + 'static>(
    parse: fn(&str) -> Result<T>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| parse(text).map_err(|err| format!("{err:#}"))
}

/// A clap value parser that checks the text with `parse` and keeps the text itself.
pub fn kept<T: 'static>(
    parse: fn(&str) -> Result<T>,
) -> impl Fn(&str) -> Result<String, String> + Clone + Send + Sync + 'static {
    move |text| {
        parse(text)
            .map(|_| text.to_string())
            .map_err(|err| format!("{err:#}"))
    }
}

/// The comma-separated items of `--what`, blanks skipped, each through `parse`; none is an error.
pub fn parse_list<T>(text: &str, what: &str, parse: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    let items: Vec<T> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).with_context(|| format!("in --{what} `{text}`")))
        .collect::<Result<_>>()?;
    if items.is_empty() {
        bail!("--{what} is empty");
    }
    Ok(items)
}

/// `--wd` of the sweep: finite weight decays ≥ 0.
pub fn weight_decays(text: &str) -> Result<Vec<f64>> {
    parse_list(text, "wd", |s| {
        let v: f64 = s.parse().map_err(|_| anyhow!("`{s}` is not a number"))?;
        if !(v.is_finite() && v >= 0.0) {
            bail!("weight decay {v} must be finite and ≥ 0");
        }
        Ok(v)
    })
}

/// `--modes`: decay modes (none, coupled, decoupled).
pub fn decay_modes(text: &str) -> Result<Vec<DecayMode>> {
    parse_list(text, "modes", |s| Ok(s.parse::<DecayMode>()?))
}

/// `--block` of the bench: conv-block kernels (stock, fused).
pub fn block_kernels(text: &str) -> Result<Vec<BlockKernel>> {
    parse_list(text, "block", |s| {
        s.parse::<BlockKernel>().map_err(|err| anyhow!(err))
    })
}

/// `--block` of the sweep: one conv-block kernel.
pub fn block_kernel(text: &str) -> Result<BlockKernel> {
    text.parse()
        .map_err(|err: String| anyhow!("--block: {err}"))
}

/// `--optimizer`: adam or sgd.
pub fn optimizer(text: &str) -> Result<OptimizerKind> {
    Ok(text.parse()?)
}

/// A count such as `--epochs` or `--batch-size` (`flag` without its dashes): at least 1.
pub fn at_least_one(flag: &str, value: usize) -> Result<usize> {
    if value == 0 {
        bail!("--{flag} must be at least 1");
    }
    Ok(value)
}

/// `--lr`: finite and > 0.
pub fn learning_rate(lr: f64) -> Result<f64> {
    if !(lr.is_finite() && lr > 0.0) {
        bail!("--lr {lr} must be finite and > 0");
    }
    Ok(lr)
}

/// `--image-size` of the bench: one or more sides, each checked as [`image_size`].
pub fn image_sizes(text: &str) -> Result<Vec<usize>> {
    parse_list(text, "image-size", |s| image_size(s.parse()?))
}

/// `--image-size`: at least the network's minimum (its pooling halves the side per block).
pub fn image_size(image_size: usize) -> Result<usize> {
    let cnn_min = CnnConfig::new(1).min_image_size();
    if image_size < cnn_min {
        bail!("--image-size {image_size} is below the network's minimum of {cnn_min}");
    }
    Ok(image_size)
}
