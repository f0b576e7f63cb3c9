//! The checks of the sweep's settings, each where a value enters: clap runs them on the flags
//! given ([`typed`] makes one a clap value parser, so a bad value ends as clap's error, exit
//! code 2, naming the flag and the value), and `state/sweep.json`'s text goes through the same
//! functions when `--resume` reads it back ([`text`](super::text)).

use anyhow::{Context, Result, anyhow, bail};
use burn_fused_conv::BlockKernel;
use burn_weight_decay::DecayMode;

use super::OptimizerKind;
use crate::model::CnnConfig;

/// A clap value parser from `parse`, its error (with its causes) as clap's message.
pub fn typed<T: Clone + Send + Sync + 'static>(
    parse: fn(&str) -> Result<T>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| parse(text).map_err(|err| format!("{err:#}"))
}

/// The comma-separated items of `--what`, blanks skipped, each through `parse`; none is an error.
///
/// ```
/// use seedlings::settings::checks::parse_list;
/// let items = parse_list("1, 2,,3", "n", |s| Ok(s.parse::<u8>()?)).unwrap();
/// assert_eq!(items, [1, 2, 3]);
/// assert!(parse_list(" , ", "n", |s| Ok(s.parse::<u8>()?)).is_err());
/// ```
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

/// `--image-size`: at least the network's minimum (its pooling halves the side per block).
pub fn image_size(image_size: usize) -> Result<usize> {
    let cnn_min = CnnConfig::new(1).min_image_size();
    if image_size < cnn_min {
        bail!("--image-size {image_size} is below the network's minimum of {cnn_min}");
    }
    Ok(image_size)
}

/// The seeds of `n` runs per arm: `base`, `base + 1`, …, `base + n − 1`. An error names the
/// value when `n` is 0 or the last seed overflows 64 bits.
pub fn seed_list(base: u64, n: usize) -> Result<Vec<u64>> {
    if n == 0 {
        bail!("--seeds must be at least 1");
    }
    let Some(last) = u64::try_from(n - 1).ok().and_then(|k| base.checked_add(k)) else {
        bail!(
            "--seed {base} with --seeds {n}: the last seed, {base} + {}, is above 2^64 − 1",
            n - 1
        );
    };
    Ok((base..=last).collect())
}
