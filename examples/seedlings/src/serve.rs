//! `seedlings serve`: this machine's devices for other machines' sweeps, through Burn's remote
//! server over WebSocket (feature `remote`).
//!
//! A sweep elsewhere lists the server as `--devices ws://this-host:PORT`; each of its arms then
//! runs its tensor operations here, while the data, the autodiff graph, the optimizer's control
//! flow and the report stay on the machine that started the sweep.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// Where to listen and what to host.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Interface to listen on (`0.0.0.0` for every one).
    pub host: String,
    /// TCP port; 0 lets the system pick one, printed on the first line of standard output.
    pub port: u16,
    /// The devices to host, all of one backend; a client's `#N` picks the N-th.
    pub devices: Vec<Device>,
    /// Their names, for the first line.
    pub device_names: Vec<String>,
}

/// Serves until Ctrl+C or SIGTERM. The first line of standard output is
/// `seedlings: serving <devices> on ws://<host>:<port>`, printed once the port is bound, so a
/// script (or a test) can read the port back when it asked for port 0.
#[cfg(feature = "remote")]
pub fn serve(options: ServeOptions) -> Result<()> {
    use anyhow::Context;
    use burn::server::{RemoteServer, WebSocketTransport};
    use std::io::Write;
    use std::net::TcpListener;
    if options.devices.is_empty() {
        bail!("seedlings serve needs at least one device");
    }
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .with_context(|| format!("cannot listen on {}:{}", options.host, options.port))?;
    let address = listener.local_addr().context("the bound address")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "seedlings: serving {} on ws://{address}",
        options.device_names.join(",")
    )?;
    out.flush()?;
    drop(out);
    RemoteServer::new(options.devices)
        .serve(WebSocketTransport::from_listener(listener))
        .map_err(|err| anyhow::anyhow!("the remote server stopped: {err}"))
}

/// Without the `remote` feature there is no server to start.
#[cfg(not(feature = "remote"))]
pub fn serve(options: ServeOptions) -> Result<()> {
    bail!(
        "seedlings serve (port {}) needs a build with the `remote` feature \
         (`cargo run --release -p seedlings --features remote -- serve --port 3000`)",
        options.port
    )
}
