//! Device names on the command line, and what they open.
//!
//! | name | device |
//! | --- | --- |
//! | `flex` | Burn's pure-Rust CPU backend (the default) |
//! | `ndarray` | Burn's deprecated ndarray CPU backend (feature `ndarray`) |
//! | `wgpu`, `wgpu:N` | the default GPU adapter, the N-th discrete GPU (feature `wgpu`) |
//! | `ws://host:port` | device 0 of a `seedlings serve` on another machine (feature `remote`) |
//! | `ws://host:port#N` | device N of that server |
//!
//! Every device of one list trains the same network with the same optimizer: only where the
//! arithmetic runs changes.

use anyhow::{Result, anyhow, bail};
use burn::tensor::Device;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A device name (see the module docs), its form checked where it enters (`--backend`,
/// `--devices`, `state/sweep.json`); whether this build and machine have it is checked when it
/// is opened ([`DeviceName::open`]), so a saved name this build lacks can still be replaced by
/// `--resume`. Written back as it was given.
///
/// ```
/// use seedlings::devices::DeviceName;
/// let name: DeviceName = "wgpu:1".parse().unwrap();
/// assert_eq!(name, DeviceName::WgpuGpu(1));
/// assert_eq!(name.to_string(), "wgpu:1");
/// assert!("tpu".parse::<DeviceName>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceName {
    /// `flex`.
    Flex,
    /// `ndarray`.
    Ndarray,
    /// `wgpu`: the default GPU adapter.
    Wgpu,
    /// `wgpu:N`: the N-th discrete GPU.
    WgpuGpu(usize),
    /// `ws://host:port` or `ws://host:port#N`, as given.
    Remote(String),
}

impl std::str::FromStr for DeviceName {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        let name = name.trim();
        Ok(match name {
            "flex" => Self::Flex,
            "ndarray" => Self::Ndarray,
            "wgpu" => Self::Wgpu,
            other if other.starts_with("wgpu:") => Self::WgpuGpu(
                other["wgpu:".len()..]
                    .parse()
                    .map_err(|_| anyhow!("`{other}`: expected wgpu:N with N a GPU index"))?,
            ),
            other if other.starts_with("ws://") => {
                parse_remote(other)?;
                Self::Remote(other.to_string())
            }
            other => bail!(
                "unknown or not compiled-in backend `{other}` (this build has: {})",
                compiled_backends().join(", ")
            ),
        })
    }
}

impl std::fmt::Display for DeviceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flex => f.write_str("flex"),
            Self::Ndarray => f.write_str("ndarray"),
            Self::Wgpu => f.write_str("wgpu"),
            Self::WgpuGpu(index) => write!(f, "wgpu:{index}"),
            Self::Remote(url) => f.write_str(url),
        }
    }
}

impl DeviceName {
    /// The device it names ([`device`]).
    pub fn open(&self) -> Result<Device> {
        device(&self.to_string())
    }
}

/// Serde as the text `Display` writes and `FromStr` reads (`"wgpu:0"`, `"flex,wgpu:0"`).
macro_rules! serde_as_text {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?
                    .parse()
                    .map_err(|err| serde::de::Error::custom(format!("{err:#}")))
            }
        }
    )*};
}

serde_as_text!(DeviceName, DeviceList);

/// Several devices, comma-separated (`--devices flex,wgpu:0`), written back the same way.
///
/// ```
/// use seedlings::devices::DeviceList;
/// let list: DeviceList = "flex, wgpu:0".parse().unwrap();
/// assert_eq!(list.to_string(), "flex,wgpu:0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList(pub Vec<DeviceName>);

impl std::str::FromStr for DeviceList {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        crate::settings::checks::parse_list(text, "devices", str::parse).map(Self)
    }
}

impl std::fmt::Display for DeviceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.0.iter().map(DeviceName::to_string).collect();
        f.write_str(&names.join(","))
    }
}

/// The backends compiled into this build, in the order `seedlings backends` lists them.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "flex") {
        names.push("flex");
    }
    if cfg!(feature = "ndarray") {
        names.push("ndarray");
    }
    if cfg!(feature = "wgpu") {
        names.push("wgpu");
    }
    if cfg!(feature = "remote") {
        names.push("ws://");
    }
    names
}

/// The device a name stands for (see the module docs). A `ws://` name connects to its server
/// here, so an unreachable server is an error before any training starts.
///
/// ```
/// let device = seedlings::devices::device("flex").unwrap();
/// assert!(seedlings::devices::device("tpu").is_err());
/// # let _ = device;
/// ```
pub fn device(name: &str) -> Result<Device> {
    let name = name.trim();
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "wgpu")]
        other if other.starts_with("wgpu:") => {
            let index: usize = other["wgpu:".len()..]
                .parse()
                .map_err(|_| anyhow!("`{other}`: expected wgpu:N with N a GPU index"))?;
            Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)))
        }
        other if other.starts_with("ws://") => remote(other),
        other => bail!(
            "unknown or not compiled-in backend `{other}` (this build has: {})",
            compiled_backends().join(", ")
        ),
    }
}

/// `ws://host:port` or `ws://host:port#N`: the split into the server's address and the index of
/// one of its devices (0 when not given).
pub fn parse_remote(name: &str) -> Result<(&str, usize)> {
    let (url, index) = match name.split_once('#') {
        Some((url, index)) => (
            url,
            index.parse().map_err(|_| {
                anyhow!("`{name}`: expected ws://host:port#N with N a device index")
            })?,
        ),
        None => (name, 0),
    };
    let Some(rest) = url.strip_prefix("ws://") else {
        bail!("`{name}`: a remote device starts with ws://");
    };
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok((url, index)),
        _ => bail!("`{name}`: expected ws://host:port (the port `seedlings serve` printed)"),
    }
}

#[cfg(feature = "remote")]
fn remote(name: &str) -> Result<Device> {
    use burn::tensor::remote::RemoteHost;
    let (url, index) = parse_remote(name)?;
    Device::remote_options(&RemoteHost::websocket(url))
        .device_index(index)
        .init()
        .map_err(|err| anyhow!("cannot reach the remote device `{name}`: {err}"))
}

#[cfg(not(feature = "remote"))]
fn remote(name: &str) -> Result<Device> {
    parse_remote(name)?;
    bail!(
        "`{name}` is a remote device, which needs a build with the `remote` feature \
         (`cargo run --release -p seedlings --features remote`)"
    )
}

/// Whether a device works: a tiny sum on it, with a panic inside the backend (a missing GPU
/// adapter, a server gone) caught and returned as an error.
pub fn probe(device: &Device) -> Result<()> {
    let device = device.clone();
    let sum = std::panic::catch_unwind(move || {
        let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        t.sum().into_scalar::<f32>()
    })
    .map_err(|panic| anyhow!("no usable device: {}", panic_message(panic.as_ref())))?;
    if sum != 3.0 {
        bail!("1 + 2 gave {sum}");
    }
    Ok(())
}

/// The text of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_are_parsed() {
        assert_eq!(
            parse_remote("ws://127.0.0.1:3000").unwrap(),
            ("ws://127.0.0.1:3000", 0)
        );
        assert_eq!(
            parse_remote("ws://gpu-a:3000#2").unwrap(),
            ("ws://gpu-a:3000", 2)
        );
        for bad in [
            "ws://gpu-a",
            "ws://:3000",
            "ws://gpu-a:port",
            "ws://gpu-a:3000#x",
            "http://gpu-a:3000",
        ] {
            assert!(parse_remote(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn unknown_names_list_what_the_build_has() {
        let err = device("tpu").unwrap_err().to_string();
        assert!(err.contains("`tpu`") && err.contains("flex"), "{err}");
    }

    #[test]
    fn flex_probes_usable() {
        probe(&device("flex").unwrap()).unwrap();
    }

    #[cfg(not(feature = "remote"))]
    #[test]
    fn remote_names_need_the_feature() {
        let err = device("ws://127.0.0.1:3000").unwrap_err().to_string();
        assert!(err.contains("--features remote"), "{err}");
    }
}
