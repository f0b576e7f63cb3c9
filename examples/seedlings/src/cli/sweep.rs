//! The sweep (`seedlings` or `seedlings sweep`): its flags, and a run from them in named steps:
//! settle the settings (given, or saved for `--resume`), check them, lock the run folder (one
//! process at a time: [`RunLock`]), open the devices, load the images, save the settings,
//! train, print each arm and the exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;
use seedlings::data::SeedlingSet;
use seedlings::devices::{DeviceList, DeviceName};
use seedlings::interrupt::Interrupt;
use seedlings::report::{ArmStatus, RunInfo};
use seedlings::run::RunLock;
use seedlings::settings::SweepSettings;
use seedlings::settings::checks::typed;
use seedlings::sweep::{Sweep, SweepResult};
use serde::{Deserialize, Serialize};

use super::data::load_data;
use super::preset::Preset;
use super::resume::{self, SavedSweep};

/// The sweep's flags: the run folder, the images, the devices and the [`SweepSettings`].
/// Serialized as `args` in `state/sweep.json` (the settings flattened into it): field names,
/// types and serde attributes are that file's format, so `--resume` reads the files older runs
/// wrote.
#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct SweepArgs {
    /// Continue the interrupted sweep in this run folder with its own saved settings: finished
    /// arms are kept, unfinished ones continue from their last state. --data (the images
    /// moved), --devices and --backend (train elsewhere) may change; any other flag given with it
    /// must equal the saved value.
    #[arg(long, value_name = "RUN_DIR")]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
    /// Data folder (`train/` + `valid/`, or one folder per species). Default: $SEEDLINGS_DATA,
    /// then datasets/plant-seedlings/, else the built-in synthetic set.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run folder. Default: runs/<timestamp>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The recipe, the arms and the seeds.
    #[command(flatten)]
    #[serde(flatten)]
    pub settings: SweepSettings,
    /// Backend: flex (default), ndarray or wgpu (when compiled in).
    // Whether this build has it is checked when the device opens (`open_devices`), which for
    // ws:// connects to the server: `--resume` may replace a saved one this build lacks.
    #[arg(long, default_value = "flex", value_parser = typed(|s| s.parse::<DeviceName>()))]
    pub backend: DeviceName,
    /// Several devices, comma-separated (e.g. `flex,wgpu:0,wgpu:1`, or `ws://host:3000` for a
    /// `seedlings serve` elsewhere): arms run concurrently, one per device at a time, with the
    /// same numbers as one after another. Overrides --backend.
    #[arg(long, value_parser = typed(|s| s.parse::<DeviceList>()))]
    pub devices: Option<DeviceList>,
    /// A named set of flags: `study` = --modes coupled,decoupled --wd 0.01,0.1,10 --seeds 3
    /// (18 runs) with the default recipe. Flags given with it override it.
    #[arg(long, value_enum)]
    #[serde(default)]
    pub preset: Option<Preset>,
}

pub fn run(args: SweepArgs, flags: &[String]) -> Result<ExitCode> {
    let (args, saved) = settle(args, flags)?;
    args.settings.check()?;
    let started = chrono::Local::now();
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(started.format("%Y%m%d-%H%M%S").to_string()));
    // Before anything is read or written: a second process on this folder stops here.
    let lock = RunLock::acquire(&run_dir)?;
    let result = run_locked(&args, saved.as_ref(), &run_dir, started);
    if result.is_err() {
        lock.release_unused();
    }
    result
}

/// The sweep in the locked run folder `run_dir`.
fn run_locked(
    args: &SweepArgs,
    saved: Option<&SavedSweep>,
    run_dir: &Path,
    started: chrono::DateTime<chrono::Local>,
) -> Result<ExitCode> {
    let (device_names, devices) = open_devices(args)?;
    let (set, data_root) = load_images(args, saved)?;
    let info = run_info(args, &set, run_dir, &device_names, saved, started);
    if saved.is_none() {
        resume::save_sweep(run_dir, args, data_root, &set, &info.command, &info.started)?;
    }
    eprintln!("seedlings: writing to {}", run_dir.display());
    let stop = Arc::new(Interrupt::new());
    stop.install_signal_handler()
        .context("installing the Ctrl-C handler")?;
    let sweep = Sweep {
        settings: args.settings.train_settings(),
        arms: args.settings.arms(),
        set: &set,
        run_dir: run_dir.to_path_buf(),
        info,
        devices,
    };
    let result = sweep.run(&stop, &mut |line| eprintln!("{line}"))?;
    print_arms(&result, run_dir);
    Ok(exit_code(&result, run_dir))
}

/// The settings to run: those given (with a `--preset`'s flags where not given), or for
/// `--resume` those saved in the run folder (with the flags given checked against them).
pub(super) fn settle(
    mut args: SweepArgs,
    flags: &[String],
) -> Result<(SweepArgs, Option<SavedSweep>)> {
    let Some(run_dir) = &args.resume else {
        if let Some(preset) = args.preset {
            preset.apply(&mut args.settings, flags);
        }
        return Ok((args, None));
    };
    let saved = resume::resume_args(run_dir, &args, flags)?;
    eprintln!(
        "seedlings: resuming {} with its saved settings",
        run_dir.display()
    );
    Ok((saved.args.clone(), Some(saved)))
}

/// `--devices` (or the one `--backend`), each opened: the names and the devices.
fn open_devices(args: &SweepArgs) -> Result<(Vec<String>, Vec<Device>)> {
    let names = match &args.devices {
        Some(list) => list.0.clone(),
        None => vec![args.backend.clone()],
    };
    let devices = names
        .iter()
        .map(DeviceName::open)
        .collect::<Result<Vec<_>>>()?;
    Ok((names.iter().map(DeviceName::to_string).collect(), devices))
}

/// The images (those the run started with, for `--resume`), their summary and warnings printed;
/// with the folder read, if any.
fn load_images(
    args: &SweepArgs,
    saved: Option<&SavedSweep>,
) -> Result<(SeedlingSet, Option<PathBuf>)> {
    let (set, data_root) = load_data(
        args.data.as_deref(),
        saved.is_some_and(|saved| saved.synthetic),
        args.settings.image_size,
        args.settings.seed,
        args.settings.synthetic_per_class,
    )?;
    eprintln!("seedlings: {}", set.summary());
    for warning in &set.warnings {
        eprintln!("seedlings: warning: {warning}");
    }
    for skipped in &set.skipped {
        eprintln!(
            "seedlings: warning: skipped {}: {}",
            skipped.path.display(),
            skipped.reason
        );
    }
    if let Some(saved) = saved {
        saved.check_images(&set)?;
    }
    Ok((set, data_root))
}

/// What the report says about the run; a resumed run keeps its command line and start time.
fn run_info(
    args: &SweepArgs,
    set: &SeedlingSet,
    run_dir: &std::path::Path,
    device_names: &[String],
    saved: Option<&SavedSweep>,
    started: chrono::DateTime<chrono::Local>,
) -> RunInfo {
    let settings = &args.settings;
    let earlier = earlier_parts(run_dir, saved);
    RunInfo {
        name: run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        command: saved
            .map(|saved| saved.command.clone())
            .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" ")),
        data: set.summary(),
        synthetic: set.is_synthetic(),
        classes: set.class_names.clone(),
        train_images: set.train.len(),
        valid_images: set.valid.len(),
        skipped_files: set
            .skipped
            .iter()
            .map(|s| (s.path.display().to_string(), s.reason.clone()))
            .collect(),
        data_warnings: set.warnings.clone(),
        backend: device_names.join(","),
        optimizer: settings.optimizer.describe(),
        block: settings.block.name().to_string(),
        schedule: settings
            .train_settings()
            .schedule(set.train.len())
            .describe(),
        epochs: settings.epochs,
        image_size: settings.image_size,
        batch_size: settings.batch_size,
        lr: settings.lr,
        seed: settings.seed,
        // Set by the sweep, which owns the seeds.
        seeds: Vec::new(),
        planned_runs: 0,
        decay_rank_le_1: settings.decay_rank_le_1,
        started: saved
            .map(|saved| saved.started.clone())
            .unwrap_or_else(|| started.to_rfc3339()),
        seconds: earlier.seconds,
        resumed: earlier.resumed,
    }
}

/// What the earlier parts of a resumed run took: their wall time, from the last `summary.json`
/// they wrote, and how many resumptions this one makes. Nothing for a new run.
struct EarlierParts {
    seconds: f64,
    resumed: usize,
}

fn earlier_parts(run_dir: &Path, saved: Option<&SavedSweep>) -> EarlierParts {
    if saved.is_none() {
        return EarlierParts {
            seconds: 0.0,
            resumed: 0,
        };
    }
    let run = std::fs::read_to_string(run_dir.join("summary.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json.get("run").cloned());
    let field = |name: &str| run.as_ref().and_then(|run| run.get(name).cloned());
    EarlierParts {
        seconds: field("seconds")
            .and_then(|v| v.as_f64())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(0.0),
        resumed: field("resumed").and_then(|v| v.as_u64()).unwrap_or(0) as usize + 1,
    }
}

/// One line per arm, and where the report is.
fn print_arms(result: &SweepResult, run_dir: &std::path::Path) {
    for arm in &result.arms {
        println!(
            "{:<22} {:<12} best valid acc {:>6.2}%  final train loss {:.4}  final valid loss {:.4}  decay shrink {:.3e}  equilibrium progress {:.3}",
            arm.arm,
            arm.status.to_string(),
            100.0 * arm.best_valid_accuracy,
            arm.final_train_loss,
            arm.final_valid_loss,
            arm.decay_shrink,
            arm.equilibrium_progress
        );
    }
    println!("report: {}", run_dir.join("report.md").display());
}

/// 130 when interrupted (state saved), 1 when an arm failed (the others kept), else 0; with
/// the command that continues.
fn exit_code(result: &SweepResult, run_dir: &std::path::Path) -> ExitCode {
    if result.interrupted {
        eprintln!(
            "seedlings: interrupted; state saved. Continue with: seedlings --resume {}",
            run_dir.display()
        );
        ExitCode::from(130)
    } else if result
        .arms
        .iter()
        .any(|arm| matches!(arm.status, ArmStatus::Failed { .. }))
    {
        eprintln!(
            "seedlings: an arm failed (see report.md); the others are kept. Retry it with: \
             seedlings --resume {} [--devices ...]",
            run_dir.display()
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
