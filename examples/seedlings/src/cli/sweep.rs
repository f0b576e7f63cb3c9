//! The sweep (`seedlings` or `seedlings sweep`): its flags, and a run from them in named steps:
//! settle the settings (given, or saved for `--resume`), plan the arms, lock the run folder (one
//! process at a time: [`RunLock`]), open the devices, load the images, save the settings,
//! train, print each arm and the exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use burn::tensor::Device;
use burn_fused_conv::BlockKernel;
use clap::Args;
use seedlings::data::SeedlingSet;
use seedlings::devices::device;
use seedlings::interrupt::Interrupt;
use seedlings::model::CnnConfig;
use seedlings::report::{ArmStatus, RunInfo};
use seedlings::run::RunLock;
use seedlings::sweep::{Sweep, SweepResult};
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings, seed_list};
use serde::{Deserialize, Serialize};

use super::data::load_data;
use super::flags::{self, kept, parse_list, typed};
use super::preset::Preset;
use super::resume::{self, SavedSweep};

/// The sweep's flags. Serialized as `args` in `state/sweep.json`: field names, types and serde
/// attributes are that file's format, so `--resume` reads the files older runs wrote.
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
    /// Epochs per arm. The default recipe (32 epochs at 32 px, batch 32, peak lr 3e-3) was chosen
    /// by the search in docs/recipe-search.md: the best accuracy on the real photos with the
    /// whole default sweep under 10 minutes on 2 cores.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| flags::at_least_one("epochs", s.parse()?)))]
    pub epochs: usize,
    /// Side of the square input images, in pixels.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| flags::image_size(s.parse()?)))]
    pub image_size: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| flags::at_least_one("batch-size", s.parse()?)))]
    pub batch_size: usize,
    /// Peak learning rate of the one-cycle schedule.
    #[arg(long, default_value_t = 3e-3, value_parser = typed(|s| flags::learning_rate(s.parse()?)))]
    #[serde(with = "seedlings::exact::f64")]
    pub lr: f64,
    /// Weight decays, comma-separated.
    #[arg(long, default_value = "0.01,0.1,10", value_parser = kept(flags::weight_decays))]
    pub wd: String,
    /// Decay modes, comma-separated: coupled, decoupled.
    #[arg(long, default_value = "decoupled", value_parser = kept(flags::decay_modes))]
    pub modes: String,
    /// Inner optimizer: adam or sgd.
    #[arg(long, default_value = "adam", value_parser = kept(flags::optimizer))]
    pub optimizer: String,
    /// Conv blocks: fused (burn-fused-conv's op on flex, stock layers elsewhere) or stock
    /// (Burn's layers everywhere). Same network, same record.
    #[arg(long, default_value = "fused", value_parser = kept(flags::block_kernel))]
    #[serde(default = "default_block")]
    pub block: String,
    /// Backend: flex (default), ndarray or wgpu (when compiled in).
    // --backend and --devices stay unchecked by clap: a name is checked by opening its device
    // (`devices::device`), which for ws:// connects to the server, and `--resume` may replace
    // them; so they are checked in `open_devices`, once the settings are known.
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Several devices, comma-separated (e.g. `flex,wgpu:0,wgpu:1`, or `ws://host:3000` for a
    /// `seedlings serve` elsewhere): arms run concurrently, one per device at a time, with the
    /// same numbers as one after another. Overrides --backend.
    #[arg(long)]
    pub devices: Option<String>,
    /// Seed of initial weights, data order, augmentation and split. With --seeds N, the first
    /// of the N seeds, and the seed of the train/valid split for all of them.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Runs per arm, each from its own seed: run k of every arm uses --seed + k (k < N) for its
    /// initial weights, data order and augmentation, while the train/valid split stays that of
    /// --seed, so every run is scored on the same validation images. The report then gives
    /// each arm's mean, standard deviation and 95% confidence interval, and compares arms
    /// seed by seed.
    #[arg(long, default_value_t = 1, value_parser = typed(|s| flags::at_least_one("seeds", s.parse()?)))]
    #[serde(default = "one_seed")]
    pub seeds: usize,
    /// A named set of flags: `study` = --modes coupled,decoupled --wd 0.01,0.1,10 --seeds 3
    /// (18 runs) with the default recipe. Flags given with it override it.
    #[arg(long, value_enum)]
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Also decay the parameters of rank ≤ 1, biases and batch-norm parameters (fastai v1); off
    /// by default as in fastai v2. `--decay-norm-and-bias`, its older name, is still accepted.
    #[arg(long, alias = "decay-norm-and-bias")]
    #[serde(alias = "decay_norm_and_bias")]
    pub decay_rank_le_1: bool,
    /// Synthetic images per class when no data is found (train; valid gets a quarter).
    #[arg(long, default_value_t = 120)]
    pub synthetic_per_class: usize,
}

fn default_block() -> String {
    BlockKernel::Fused.name().to_string()
}

/// `--seeds` of a run folder from before the flag: one seed per arm.
fn one_seed() -> usize {
    1
}

/// What the settings' strings stand for: the arms and how each trains.
pub(super) struct Plan {
    pub(super) arms: Vec<ArmSpec>,
    optimizer: OptimizerKind,
    block: BlockKernel,
    channels: Vec<usize>,
}

pub fn run(args: SweepArgs, flags: &[String]) -> Result<ExitCode> {
    let (args, saved) = settle(args, flags)?;
    let plan = plan(&args)?;
    let started = chrono::Local::now();
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(started.format("%Y%m%d-%H%M%S").to_string()));
    // Before anything is read or written: a second process on this folder stops here.
    let lock = RunLock::acquire(&run_dir)?;
    let result = run_locked(&args, saved.as_ref(), plan, &run_dir, started);
    if result.is_err() {
        lock.release_unused();
    }
    result
}

/// The sweep in the locked run folder `run_dir`.
fn run_locked(
    args: &SweepArgs,
    saved: Option<&SavedSweep>,
    plan: Plan,
    run_dir: &Path,
    started: chrono::DateTime<chrono::Local>,
) -> Result<ExitCode> {
    let (device_names, devices) = open_devices(args)?;
    let (set, data_root) = load_images(args, saved)?;
    let info = run_info(args, &plan, &set, run_dir, &device_names, saved, started);
    if saved.is_none() {
        resume::save_sweep(run_dir, args, data_root, &set, &info.command, &info.started)?;
    }
    eprintln!("seedlings: writing to {}", run_dir.display());
    let stop = Arc::new(Interrupt::new());
    stop.install_signal_handler()
        .context("installing the Ctrl-C handler")?;
    let sweep = Sweep {
        settings: train_settings(args, &plan),
        arms: plan.arms,
        seeds: args.seeds,
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
            preset.apply(&mut args, flags);
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

/// The arms (every mode × every weight decay) and the training choices. Given flags were
/// checked by clap already; saved ones (`--resume`) are checked here by the same functions, and
/// so are the seeds (`--seed` + `--seeds` − 1 must fit 64 bits).
pub(super) fn plan(args: &SweepArgs) -> Result<Plan> {
    let wds = flags::weight_decays(&args.wd)?;
    let modes = flags::decay_modes(&args.modes)?;
    let arms = modes
        .iter()
        .flat_map(|&mode| wds.iter().map(move |&wd| ArmSpec { wd, mode }))
        .collect();
    let optimizer = flags::optimizer(&args.optimizer)?;
    let block = flags::block_kernel(&args.block)?;
    flags::at_least_one("epochs", args.epochs)?;
    flags::at_least_one("batch-size", args.batch_size)?;
    flags::learning_rate(args.lr)?;
    flags::image_size(args.image_size)?;
    seed_list(args.seed, args.seeds)?;
    Ok(Plan {
        arms,
        optimizer,
        block,
        channels: CnnConfig::new(1).channels,
    })
}

/// `--devices` (or the one `--backend`), each opened: the names and the devices.
fn open_devices(args: &SweepArgs) -> Result<(Vec<String>, Vec<Device>)> {
    let device_names = match &args.devices {
        Some(list) => parse_list(list, "devices", |s| Ok(s.to_string()))?,
        None => vec![args.backend.clone()],
    };
    let devices = device_names
        .iter()
        .map(|name| device(name))
        .collect::<Result<Vec<_>>>()?;
    Ok((device_names, devices))
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
        args.image_size,
        args.seed,
        args.synthetic_per_class,
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

fn train_settings(args: &SweepArgs, plan: &Plan) -> TrainSettings {
    TrainSettings {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer: plan.optimizer,
        seed: args.seed,
        decay_rank_le_1: args.decay_rank_le_1,
        loader_workers: 2,
        channels: plan.channels.clone(),
        block: plan.block,
    }
}

/// What the report says about the run; a resumed run keeps its command line and start time.
fn run_info(
    args: &SweepArgs,
    plan: &Plan,
    set: &SeedlingSet,
    run_dir: &std::path::Path,
    device_names: &[String],
    saved: Option<&SavedSweep>,
    started: chrono::DateTime<chrono::Local>,
) -> RunInfo {
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
        optimizer: plan.optimizer.describe(),
        block: plan.block.name().to_string(),
        schedule: train_settings(args, plan)
            .schedule(set.train.len())
            .describe(),
        epochs: args.epochs,
        image_size: args.image_size,
        batch_size: args.batch_size,
        lr: args.lr,
        seed: args.seed,
        // Set by the sweep, which owns the seeds.
        seeds: Vec::new(),
        planned_runs: 0,
        decay_rank_le_1: args.decay_rank_le_1,
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
