//! `seedlings`: trains a CNN on plant-seedling photos at several weight decays and writes curves,
//! plots and a report. See README.md and `seedlings --help`.
//!
//! This file parses the command line and dispatches; each subcommand lives in [`cli`].

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cli::{BenchArgs, DownloadArgs, EvaluateArgs, ServeArgs, SweepArgs};

#[derive(Parser, Debug)]
#[command(
    name = "seedlings",
    version,
    about = "Weight decay on plant-seedling photos: coupled L2 vs decoupled, wd 0.01 / 0.1 / 10"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    sweep: SweepArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sweep (the default when no subcommand is given).
    Sweep(SweepArgs),
    /// Accuracy, macro-F1 and confusion matrix of a checkpoint on a folder of images.
    Evaluate(EvaluateArgs),
    /// Download the public Aarhus "V2 Plant Seedlings" archive into datasets/plant-seedlings/.
    Download(DownloadArgs),
    /// Time training steps (data loading and optimizer included): images/s and where the time goes.
    Bench(BenchArgs),
    /// The backends this build can train on, and whether each has a device here.
    Backends,
    /// Serve this machine's devices to sweeps on other machines (`--devices ws://host:PORT`
    /// there); needs the `remote` feature. Runs until Ctrl+C or SIGTERM.
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    // Training frees and reallocates the same large buffers every step: keep them in the heap
    // instead of page-faulting through fresh ones (glibc only; see burn_fused_conv::alloc).
    burn_fused_conv::alloc::keep_freed_memory();
    // The kernels' parallel loops start faster from a worker of rayon's pool: this thread
    // becomes one (see burn_fused_conv::pool). Only the flex build has the fused op.
    #[cfg(feature = "flex")]
    burn_fused_conv::pool::join_global_pool();
    let matches = Cli::command().get_matches();
    let parsed = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let sweep_matches = matches.subcommand_matches("sweep").unwrap_or(&matches);
    let given = cli::resume::flags_given(sweep_matches);
    let result = match parsed.command {
        Some(Command::Sweep(args)) => cli::sweep::run(args, &given),
        None => cli::sweep::run(parsed.sweep, &given),
        Some(Command::Evaluate(args)) => cli::evaluate::run(args),
        Some(Command::Download(args)) => cli::download::run(args),
        Some(Command::Bench(args)) => cli::bench::run(args),
        Some(Command::Backends) => cli::backends::run(),
        Some(Command::Serve(args)) => cli::serve::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("seedlings: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
