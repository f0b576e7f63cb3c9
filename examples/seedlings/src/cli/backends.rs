//! `seedlings backends`: the backends compiled into this build, and whether each has a working
//! device here.

use std::process::ExitCode;

use anyhow::Result;
use seedlings::devices::{compiled_backends, device};

pub fn run() -> Result<ExitCode> {
    println!("backends compiled into this build:");
    for name in compiled_backends() {
        if name == "ws://" {
            println!(
                "  {name:<8} remote devices: `seedlings serve` on the server, `--devices ws://host:port` here"
            );
            continue;
        }
        // A tiny computation proves the device works (a missing GPU adapter panics inside
        // the backend, so it is caught and reported rather than aborting).
        match device(name).and_then(|device| seedlings::devices::probe(&device)) {
            Ok(()) => println!("  {name:<8} usable"),
            Err(err) => println!("  {name:<8} NOT usable: {err:#}"),
        }
    }
    let missing: Vec<&str> = ["flex", "ndarray", "wgpu", "ws://"]
        .into_iter()
        .filter(|name| !compiled_backends().contains(name))
        .collect();
    if !missing.is_empty() {
        println!(
            "not compiled in: {} (build with e.g. `cargo run --release -p seedlings --features wgpu`)",
            missing.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
