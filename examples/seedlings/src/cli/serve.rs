//! `seedlings serve`: hosts this machine's devices for sweeps elsewhere (`--devices ws://…`).

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use seedlings::devices::device;

use super::flags::parse_list;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// TCP port (0: any free port; the first line printed names it).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Interface to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Local devices to host, comma-separated, all of one backend (e.g. `wgpu:0,wgpu:1`).
    // Checked here, not by clap: a name is checked by opening its device (as for the sweep's
    // --backend), which a parser should not do.
    #[arg(long, default_value = "flex")]
    devices: String,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let device_names = parse_list(&args.devices, "devices", |s| Ok(s.to_string()))?;
    if let Some(remote) = device_names.iter().find(|name| name.starts_with("ws://")) {
        bail!("--devices {remote}: a server hosts its own devices, not remote ones");
    }
    let devices = device_names
        .iter()
        .map(|name| device(name))
        .collect::<Result<Vec<_>>>()?;
    seedlings::serve::serve(seedlings::serve::ServeOptions {
        host: args.host,
        port: args.port,
        devices,
        device_names,
    })?;
    Ok(ExitCode::SUCCESS)
}
