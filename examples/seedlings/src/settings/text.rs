//! The text of the typed settings in `state/sweep.json`: serde adapters that write what the
//! program wrote when the settings were kept as text (`"wd": "0.01,0.1,10"`, `"modes":
//! "decoupled"`, `"optimizer": "adam"`, `"block": "fused"`) and read it back through the
//! checks of the flags ([`checks`](super::checks)), so a file older or newer reads the same.
//!
//! Use with `#[serde(with = "crate::settings::text::wd_list")]` and friends.

use serde::{Deserialize, Deserializer, Serializer};

/// Reads a string and turns it into a value with `parse`, its error as serde's.
fn read<'de, D: Deserializer<'de>, T>(
    d: D,
    parse: fn(&str) -> anyhow::Result<T>,
) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(|err| serde::de::Error::custom(format!("{err:#}")))
}

/// `Vec<f64>` as `"0.01,0.1,10"` (each as Rust prints it, which reads back exactly).
pub mod wd_list {
    use super::*;

    /// Writes the decays comma-separated.
    pub fn serialize<S: Serializer>(wds: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<String> = wds.iter().map(|wd| wd.to_string()).collect();
        s.serialize_str(&text.join(","))
    }

    /// Reads them with [`weight_decays`](crate::settings::checks::weight_decays).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        read(d, crate::settings::checks::weight_decays)
    }
}

/// `Vec<DecayMode>` as `"coupled,decoupled"`.
pub mod mode_list {
    use super::*;
    use burn_weight_decay::DecayMode;

    /// Writes the modes' names comma-separated.
    pub fn serialize<S: Serializer>(modes: &[DecayMode], s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<&str> = modes.iter().map(DecayMode::name).collect();
        s.serialize_str(&text.join(","))
    }

    /// Reads them with [`decay_modes`](crate::settings::checks::decay_modes).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DecayMode>, D::Error> {
        read(d, crate::settings::checks::decay_modes)
    }
}

/// [`OptimizerKind`](crate::settings::OptimizerKind) as `"adam"` or `"sgd"`.
pub mod optimizer_name {
    use super::*;
    use crate::settings::OptimizerKind;

    /// Writes its name.
    pub fn serialize<S: Serializer>(kind: &OptimizerKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.name())
    }

    /// Reads it with [`optimizer`](crate::settings::checks::optimizer).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OptimizerKind, D::Error> {
        read(d, crate::settings::checks::optimizer)
    }
}

/// [`BlockKernel`](burn_fused_conv::BlockKernel) as `"fused"` or `"stock"`.
pub mod block_name {
    use super::*;
    use burn_fused_conv::BlockKernel;

    /// Writes its name.
    pub fn serialize<S: Serializer>(block: &BlockKernel, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(block.name())
    }

    /// Reads it with [`block_kernel`](crate::settings::checks::block_kernel).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BlockKernel, D::Error> {
        read(d, crate::settings::checks::block_kernel)
    }
}
