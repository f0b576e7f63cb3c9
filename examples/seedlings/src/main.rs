//! `seedlings`: trains a CNN on plant-seedling photos at several weight decays and writes curves,
//! plots and a report. See README.md and `seedlings --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use burn_fused_conv::BlockKernel;
use burn_weight_decay::DecayMode;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use seedlings::checkpoint;
use seedlings::data::{self, LoadOptions, Located, SeedlingSet};
use seedlings::devices::{compiled_backends, device};
use seedlings::interrupt::Interrupt;
use seedlings::model::CnnConfig;
use seedlings::report::{RunInfo, write_atomic_str};
use seedlings::sweep::Sweep;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings, evaluate};
use serde::{Deserialize, Serialize};

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

#[derive(Args, Debug)]
struct ServeArgs {
    /// TCP port (0: any free port; the first line printed names it).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Interface to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Local devices to host, comma-separated, all of one backend (e.g. `wgpu:0,wgpu:1`).
    #[arg(long, default_value = "flex")]
    devices: String,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Data folder, found as for the sweep (synthetic images when there is none).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Side of the square input images.
    #[arg(long, default_value_t = 64)]
    image_size: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Timed steps per configuration.
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Weight decay of the benchmarked optimizer.
    #[arg(long, default_value_t = 0.1)]
    wd: f64,
    /// Decay modes to compare, comma-separated (none shows the optimizer without decay).
    #[arg(long, default_value = "none,decoupled,coupled")]
    modes: String,
    /// Inner optimizer: adam or sgd.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Conv-block kernels to compare, comma-separated: stock, fused.
    #[arg(long, default_value = "stock,fused")]
    block: String,
    /// Skip the per-block forward/backward timing.
    #[arg(long)]
    no_block_timing: bool,
    /// Also time PyTorch on the same network, batch and optimizer with this Python (one that
    /// can import torch), and print ours ÷ PyTorch's best (bench/torch_reference.py).
    #[arg(long, value_name = "PYTHON")]
    torch_python: Option<String>,
    /// Loader threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Backend.
    #[arg(long, default_value = "flex")]
    backend: String,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug, Clone, Serialize, Deserialize)]
struct SweepArgs {
    /// Continue the interrupted sweep in this run folder with its own saved settings: finished
    /// arms are kept, unfinished ones continue from their last state. --data (the images
    /// moved), --devices and --backend (train elsewhere) may change; any other flag given with it
    /// must equal the saved value.
    #[arg(long, value_name = "RUN_DIR")]
    #[serde(skip)]
    resume: Option<PathBuf>,
    /// Data folder (`train/` + `valid/`, or one folder per species). Default: $SEEDLINGS_DATA,
    /// then datasets/plant-seedlings/, else the built-in synthetic set.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run folder. Default: runs/<timestamp>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Epochs per arm (12 reach 86.6 % on the real photos at wd 0.1; 8 stop near 81 %).
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    /// Side of the square input images, in pixels.
    #[arg(long, default_value_t = 64)]
    image_size: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate of the one-cycle schedule.
    #[arg(long, default_value_t = 3e-3)]
    #[serde(with = "seedlings::exact::f64")]
    lr: f64,
    /// Weight decays, comma-separated.
    #[arg(long, default_value = "0.01,0.1,10")]
    wd: String,
    /// Decay modes, comma-separated: coupled, decoupled.
    #[arg(long, default_value = "decoupled")]
    modes: String,
    /// Inner optimizer: adam or sgd.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Conv blocks: fused (burn-fused-conv's op on flex, stock layers elsewhere) or stock
    /// (Burn's layers everywhere). Same network, same record.
    #[arg(long, default_value = "fused")]
    #[serde(default = "default_block")]
    block: String,
    /// Backend: flex (default), ndarray or wgpu (when compiled in).
    #[arg(long, default_value = "flex")]
    backend: String,
    /// Several devices, comma-separated (e.g. `flex,wgpu:0,wgpu:1`, or `ws://host:3000` for a
    /// `seedlings serve` elsewhere): arms run concurrently, one per device at a time, with the
    /// same numbers as one after another. Overrides --backend.
    #[arg(long)]
    devices: Option<String>,
    /// Seed of initial weights, data order, augmentation and split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also decay biases and batch-norm parameters (fastai v1); off by default as in fastai v2.
    #[arg(long)]
    decay_norm_and_bias: bool,
    /// Synthetic images per class when no data is found (train; valid gets a quarter).
    #[arg(long, default_value_t = 120)]
    synthetic_per_class: usize,
}

#[derive(Args, Debug)]
struct EvaluateArgs {
    /// A checkpoint folder, e.g. runs/NAME/checkpoints/decoupled-wd0.1/best.
    #[arg(long)]
    checkpoint: PathBuf,
    /// A root with train/ and valid/ (valid/ is used) or a folder of class folders.
    #[arg(long)]
    data: PathBuf,
    /// Print JSON: {"accuracy", "macro_f1", "per_class": {...}}.
    #[arg(long)]
    json: bool,
    /// Backend.
    #[arg(long, default_value = "flex")]
    backend: String,
}

#[derive(Args, Debug)]
struct DownloadArgs {
    /// Address of the zip archive (http, https or file).
    #[arg(long, default_value = data::AARHUS_V2_URL)]
    url: String,
    /// Where to unpack it.
    #[arg(long, default_value = data::DEFAULT_DATA_DIR)]
    dest: PathBuf,
}

fn main() -> ExitCode {
    // Training frees and reallocates the same large buffers every step: keep them in the heap
    // instead of page-faulting through fresh ones (glibc only; see burn_fused_conv::alloc).
    burn_fused_conv::alloc::keep_freed_memory();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let sweep_matches = matches.subcommand_matches("sweep").unwrap_or(&matches);
    let given = flags_given(sweep_matches);
    let result = match cli.command {
        Some(Command::Sweep(args)) => run_sweep(args, &given),
        None => run_sweep(cli.sweep, &given),
        Some(Command::Evaluate(args)) => run_evaluate(args),
        Some(Command::Download(args)) => run_download(args),
        Some(Command::Bench(args)) => run_bench(args),
        Some(Command::Backends) => run_backends(),
        Some(Command::Serve(args)) => run_serve(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("seedlings: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The flags written on the command line (not defaulted), by their argument ids (`epochs`,
/// `batch_size`, …): what `--resume` compares with the saved settings.
fn flags_given(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

fn parse_list<T>(text: &str, what: &str, parse: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
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

fn parse_arms(args: &SweepArgs) -> Result<Vec<ArmSpec>> {
    let wds = parse_list(&args.wd, "wd", |s| {
        let v: f64 = s.parse().map_err(|_| anyhow!("`{s}` is not a number"))?;
        if !(v.is_finite() && v >= 0.0) {
            bail!("weight decay {v} must be finite and ≥ 0");
        }
        Ok(v)
    })?;
    let modes = parse_list(&args.modes, "modes", |s| {
        let mode: DecayMode = s.parse()?;
        Ok(mode)
    })?;
    Ok(modes
        .iter()
        .flat_map(|&mode| wds.iter().map(move |&wd| ArmSpec { wd, mode }))
        .collect())
}

fn check_settings(args: &SweepArgs, cnn_min: usize) -> Result<()> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        bail!("--lr {} must be finite and > 0", args.lr);
    }
    check_image_size(args.image_size, cnn_min)
}

fn check_image_size(image_size: usize, cnn_min: usize) -> Result<()> {
    if image_size < cnn_min {
        bail!("--image-size {image_size} is below the network's minimum of {cnn_min}");
    }
    Ok(())
}

fn load_data(
    flag: Option<&Path>,
    force_synthetic: bool,
    image_size: usize,
    seed: u64,
    synthetic_per_class: usize,
) -> Result<(SeedlingSet, Option<PathBuf>)> {
    let options = LoadOptions {
        image_size,
        split_seed: seed,
        ..LoadOptions::default()
    };
    let located = data::locate(flag);
    if force_synthetic {
        eprintln!("seedlings: the run used the built-in SYNTHETIC images; so does its resumption");
    } else if matches!(&located, Located::NotFound { .. }) {
        eprintln!(
            "seedlings: no data found ({}); using the built-in SYNTHETIC images. \
             Set SEEDLINGS_DATA, pass --data DIR, or run `seedlings download`.",
            located.describe()
        );
    }
    if force_synthetic || matches!(&located, Located::NotFound { .. }) {
        return Ok((
            data::synthetic(
                image_size,
                synthetic_per_class,
                synthetic_per_class.div_ceil(4),
                seed,
            ),
            None,
        ));
    }
    let (root, _) = located.into_result()?.context("no data folder")?;
    eprintln!("seedlings: reading {}", root.display());
    let set = data::load(&root, &options)?;
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    Ok((set, Some(root)))
}

/// What `--resume` needs to rebuild a sweep: its settings and the images it trained on.
#[derive(Debug, Serialize, Deserialize)]
struct SavedSweep {
    /// The sweep's flags (with `data` the folder actually read, if any).
    args: SweepArgs,
    /// Class names, train and valid counts: resuming on other images is refused.
    classes: Vec<String>,
    train_images: usize,
    valid_images: usize,
    /// Whether it ran on the built-in synthetic images (resumed on them too).
    synthetic: bool,
    /// The command line that started the run.
    command: String,
    /// When it started (RFC 3339).
    started: String,
}

fn saved_sweep_path(run_dir: &Path) -> PathBuf {
    run_dir.join("state").join("sweep.json")
}

/// The flags `--resume` takes besides the run folder: where the images are, and where to train.
const RESUME_OVERRIDES: [&str; 3] = ["data", "devices", "backend"];

/// Settings of `--resume RUN_DIR`: those saved in the run folder, with `--data`, `--devices` and
/// `--backend` as the only overrides. Any other flag given with `--resume` must equal the saved
/// value (it changes nothing); a different value is an error naming both, rather than silently
/// ignored.
fn resume_args(run_dir: &Path, given: &SweepArgs, flags: &[String]) -> Result<SavedSweep> {
    let defaults = Cli::try_parse_from(["seedlings"])
        .map(|cli| cli.sweep)
        .context("default settings")?;
    let compared: Vec<&String> = flags
        .iter()
        .filter(|flag| flag.as_str() != "resume" && !RESUME_OVERRIDES.contains(&flag.as_str()))
        .collect();
    let flag_name = |key: &str| format!("--{}", key.replace('_', "-"));
    let path = saved_sweep_path(run_dir);
    if !path.is_file() {
        let flags: Vec<String> = compared.iter().map(|key| flag_name(key)).collect();
        let checked = if flags.is_empty() {
            String::new()
        } else {
            format!(
                "; {} cannot be checked against saved settings",
                flags.join(", ")
            )
        };
        bail!(
            "{} holds no resumable sweep (no {}){checked}",
            run_dir.display(),
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut saved: SavedSweep = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a saved sweep", path.display()))?;
    let (given_json, saved_json) = (
        serde_json::to_value(given)?,
        serde_json::to_value(&saved.args)?,
    );
    let conflicts: Vec<String> = compared
        .iter()
        .filter_map(|key| {
            let (now, then) = (given_json.get(key.as_str())?, saved_json.get(key.as_str())?);
            (now != then).then(|| format!("{} {now} (saved: {then})", flag_name(key)))
        })
        .collect();
    if !conflicts.is_empty() {
        bail!(
            "--resume continues with the settings saved in {}; these flags differ from them: {} \
             (give the saved value or drop the flag)",
            path.display(),
            conflicts.join(", ")
        );
    }
    if given.data.is_some() {
        saved.args.data = given.data.clone();
    }
    // Another device list or backend: e.g. a server that died, or a GPU now free. Within a
    // backend's tolerance the numbers do not depend on where an arm runs.
    if given.devices.is_some() {
        saved.args.devices = given.devices.clone();
    } else if given.backend != defaults.backend {
        saved.args.backend = given.backend.clone();
        saved.args.devices = None;
    }
    saved.args.out = Some(run_dir.to_path_buf());
    Ok(saved)
}

fn run_sweep(args: SweepArgs, flags: &[String]) -> Result<ExitCode> {
    let (args, saved) = match &args.resume {
        Some(run_dir) => {
            let saved = resume_args(run_dir, &args, flags)?;
            eprintln!(
                "seedlings: resuming {} with its saved settings",
                run_dir.display()
            );
            (saved.args.clone(), Some(saved))
        }
        None => (args, None),
    };
    let arms = parse_arms(&args)?;
    let optimizer: OptimizerKind = args.optimizer.parse()?;
    let block: BlockKernel = args
        .block
        .parse()
        .map_err(|err: String| anyhow!("--block: {err}"))?;
    let channels = CnnConfig::new(1).channels;
    let cnn_min = CnnConfig::new(1)
        .with_channels(channels.clone())
        .min_image_size();
    check_settings(&args, cnn_min)?;
    let device_names = match &args.devices {
        Some(list) => parse_list(list, "devices", |s| Ok(s.to_string()))?,
        None => vec![args.backend.clone()],
    };
    let devices = device_names
        .iter()
        .map(|name| device(name))
        .collect::<Result<Vec<_>>>()?;
    let (set, data_root) = load_data(
        args.data.as_deref(),
        saved.as_ref().is_some_and(|saved| saved.synthetic),
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
    if let Some(saved) = &saved
        && (saved.classes != set.class_names
            || saved.train_images != set.train.len()
            || saved.valid_images != set.valid.len())
    {
        bail!(
            "the images now found ({}) are not those the run started with ({} classes, {} train, {} valid); pass --data with the original folder",
            set.summary(),
            saved.classes.len(),
            saved.train_images,
            saved.valid_images
        );
    }
    let started = chrono::Local::now();
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(started.format("%Y%m%d-%H%M%S").to_string()));
    let settings = TrainSettings {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer,
        seed: args.seed,
        decay_norm_and_bias: args.decay_norm_and_bias,
        loader_workers: 2,
        channels,
        block,
    };
    let info = RunInfo {
        name: run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        command: saved
            .as_ref()
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
        backend: device_names.join(","),
        optimizer: optimizer.describe().to_string(),
        block: block.name().to_string(),
        schedule: format!(
            "one-cycle (fastai): {:.1e} → {:.1e} over the first 25% of steps, cosine down to {:.1e}",
            args.lr / 25.0,
            args.lr,
            args.lr / 1e5
        ),
        epochs: args.epochs,
        image_size: args.image_size,
        batch_size: args.batch_size,
        lr: args.lr,
        seed: args.seed,
        decay_norm_and_bias: args.decay_norm_and_bias,
        started: saved
            .as_ref()
            .map(|saved| saved.started.clone())
            .unwrap_or_else(|| started.to_rfc3339()),
        seconds: 0.0,
    };
    if saved.is_none() {
        let path = saved_sweep_path(&run_dir);
        if path.exists() {
            bail!(
                "{} already holds a sweep: continue it with `seedlings --resume {}` or choose another --out",
                run_dir.display(),
                run_dir.display()
            );
        }
        let record = SavedSweep {
            args: SweepArgs {
                data: data_root.clone(),
                out: Some(run_dir.clone()),
                ..args.clone()
            },
            classes: set.class_names.clone(),
            train_images: set.train.len(),
            valid_images: set.valid.len(),
            synthetic: set.is_synthetic(),
            command: info.command.clone(),
            started: info.started.clone(),
        };
        let dir = run_dir.join("state");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_atomic_str(&path, &serde_json::to_string_pretty(&record)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("seedlings: writing to {}", run_dir.display());
    let stop = Arc::new(Interrupt::new());
    stop.install_signal_handler()
        .context("installing the Ctrl-C handler")?;
    let sweep = Sweep {
        settings,
        arms,
        set: &set,
        run_dir: run_dir.clone(),
        info,
        devices,
    };
    let result = sweep.run(&stop, &mut |line| eprintln!("{line}"))?;
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
    Ok(if result.interrupted {
        eprintln!(
            "seedlings: interrupted; state saved. Continue with: seedlings --resume {}",
            run_dir.display()
        );
        ExitCode::from(130)
    } else if result
        .arms
        .iter()
        .any(|arm| matches!(arm.status, seedlings::report::ArmStatus::Failed { .. }))
    {
        eprintln!(
            "seedlings: an arm failed (see report.md); the others are kept. Retry it with: \
             seedlings --resume {} [--devices ...]",
            run_dir.display()
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_evaluate(args: EvaluateArgs) -> Result<ExitCode> {
    let device = device(&args.backend)?;
    let (model, meta) = checkpoint::load(&args.checkpoint, &device)?;
    let root = if args.data.join("valid").is_dir() {
        args.data.join("valid")
    } else {
        args.data.clone()
    };
    let options = LoadOptions {
        image_size: meta.image_size,
        valid_fraction: 0.0,
        ..LoadOptions::default()
    };
    let set = data::load(&root, &options)?;
    // Map the folder's classes onto the checkpoint's by name.
    let mut store = data::ImageStore::new(meta.image_size);
    for i in 0..set.train.len() {
        let name = &set.class_names[set.train.label(i).unwrap_or(0)];
        let Some(label) = meta.class_names.iter().position(|c| c == name) else {
            bail!(
                "class `{name}` in {} is not one the checkpoint knows",
                root.display()
            );
        };
        store.push(
            label,
            set.train.image(i).unwrap_or(&[]),
            set.train.path(i).unwrap_or(Path::new("")),
        );
    }
    let eval = evaluate(
        &model,
        &store,
        &meta.normalization,
        meta.class_names.len(),
        64,
        &device,
    );
    let m = &eval.matrix;
    if args.json {
        let per_class: serde_json::Map<String, serde_json::Value> = meta
            .class_names
            .iter()
            .zip(m.per_class())
            .map(|(name, c)| {
                (
                    name.clone(),
                    serde_json::json!({"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}),
                )
            })
            .collect();
        let out = serde_json::json!({"accuracy": m.accuracy(), "macro_f1": m.macro_f1(), "loss": eval.loss, "images": m.total(), "per_class": per_class});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "checkpoint {} ({} epoch {})",
            args.checkpoint.display(),
            meta.arm,
            meta.epoch
        );
        println!(
            "images: {}  accuracy: {:.2}%  macro-F1: {:.4}  loss: {:.4}",
            m.total(),
            100.0 * m.accuracy(),
            m.macro_f1(),
            eval.loss
        );
        println!("\n{}", m.render_per_class(&meta.class_names));
        println!("{}", m.render(&meta.class_names));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_download(args: DownloadArgs) -> Result<ExitCode> {
    eprintln!(
        "seedlings: downloading {} into {}",
        args.url,
        args.dest.display()
    );
    let root = data::download(&args.url, &args.dest)?;
    println!("data ready in {}", root.display());
    Ok(ExitCode::SUCCESS)
}

fn default_block() -> String {
    BlockKernel::Fused.name().to_string()
}

fn run_bench(args: BenchArgs) -> Result<ExitCode> {
    let optimizer: OptimizerKind = args.optimizer.parse()?;
    let blocks = parse_list(&args.block, "block", |s| {
        s.parse::<BlockKernel>().map_err(|err| anyhow!(err))
    })?;
    let modes = parse_list(&args.modes, "modes", |s| Ok(s.parse::<DecayMode>()?))?;
    if !(args.wd.is_finite() && args.wd >= 0.0) {
        bail!("--wd {} must be finite and ≥ 0", args.wd);
    }
    if args.steps == 0 || args.batch_size == 0 {
        bail!("--steps and --batch-size must be at least 1");
    }
    let channels = CnnConfig::new(1).channels;
    let cnn_min = CnnConfig::new(1)
        .with_channels(channels.clone())
        .min_image_size();
    check_image_size(args.image_size, cnn_min)?;
    let device = device(&args.backend)?.autodiff();
    let decode_started = std::time::Instant::now();
    let (set, _) = load_data(args.data.as_deref(), false, args.image_size, args.seed, 120)?;
    let decode_seconds = decode_started.elapsed().as_secs_f64();
    eprintln!(
        "seedlings: {} (decoded once, in {decode_seconds:.1}s)",
        set.summary()
    );
    let normalization = data::Normalization::from_store(&set.train);
    let mut rows = Vec::new();
    for &block in &blocks {
        for &mode in &modes {
            let settings = TrainSettings {
                epochs: 1,
                batch_size: args.batch_size,
                lr: 1e-3,
                optimizer,
                seed: args.seed,
                decay_norm_and_bias: false,
                loader_workers: args.workers,
                channels: channels.clone(),
                block,
            };
            let arm = ArmSpec { wd: args.wd, mode };
            let figures = seedlings::bench::bench_training(
                &settings,
                &arm,
                &set.train,
                normalization,
                set.num_classes(),
                &device,
                args.warmup,
                args.steps,
            )?;
            rows.push((block, arm, figures));
        }
    }
    let torch = args
        .torch_python
        .as_deref()
        .map(|python| torch_reference(python, &args))
        .transpose()?
        .flatten();
    let block_timing = (!args.no_block_timing).then(|| {
        burn_fused_conv::bench::time_network(
            &channels,
            args.batch_size,
            args.image_size,
            &blocks,
            5,
        )
    });
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(block, arm, f)| {
                serde_json::json!({
                    "block": block.name(), "mode": arm.mode.name(), "wd": arm.wd, "figures": f,
                    "fused_updates": f.fused_updates, "param_updates": f.param_updates,
                    "data_wait_share": f.data_wait_share(),
                    "optimizer_share": f.optimizer_share(),
                    "forward_backward_share": f.forward_backward_share(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "backend": args.backend, "image_size": args.image_size,
                "batch_size": args.batch_size, "workers": args.workers,
                "decode_seconds": decode_seconds, "runs": out,
                "block_timing": block_timing, "torch": torch,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "backend {}, {}×{} images, batch {}, {} loader threads, {} timed steps after {} warm-up",
        args.backend,
        args.image_size,
        args.image_size,
        args.batch_size,
        args.workers,
        args.steps,
        args.warmup
    );
    println!(
        "{:<6} {:<10} {:>10} {:>11} {:>15} {:>11}",
        "block", "mode", "images/s", "data wait", "fwd+backward", "optimizer"
    );
    let verdict = |share: f64| {
        if share <= 0.05 { "met" } else { "MISSED" }
    };
    for (block, arm, f) in &rows {
        println!(
            "{:<6} {:<10} {:>10.1} {:>10.1}% {:>14.1}% {:>10.1}%   (targets < 5%: data {}, optimizer {})",
            block.name(),
            arm.mode.name(),
            f.images_per_second,
            100.0 * f.data_wait_share(),
            100.0 * f.forward_backward_share(),
            100.0 * f.optimizer_share(),
            verdict(f.data_wait_share()),
            verdict(f.optimizer_share()),
        );
    }
    let find = |block: BlockKernel, mode: DecayMode| {
        rows.iter()
            .find(|(b, arm, _)| *b == block && arm.mode == mode)
            .map(|(_, _, f)| f)
    };
    for &block in &blocks {
        if let Some(base) = find(block, DecayMode::None) {
            for (_, arm, f) in rows
                .iter()
                .filter(|(b, arm, _)| *b == block && arm.mode != DecayMode::None)
            {
                println!(
                    "{} blocks: {} decay costs {:+.1}% optimizer time and {:+.1}% step time over no decay",
                    block.name(),
                    arm.mode.name(),
                    100.0 * (f.optimizer_seconds / base.optimizer_seconds - 1.0),
                    100.0 * (base.images_per_second / f.images_per_second - 1.0)
                );
            }
        }
    }
    for (block, arm, f) in &rows {
        println!(
            "{} blocks, {}: {} of {} parameter updates by the fused optimizer kernel",
            block.name(),
            arm.mode.name(),
            f.fused_updates,
            f.param_updates
        );
    }
    for &mode in &modes {
        if let (Some(stock), Some(fused)) = (
            find(BlockKernel::Stock, mode),
            find(BlockKernel::Fused, mode),
        ) {
            println!(
                "{}: fused blocks train at {:.2}× the stock blocks' images/s",
                mode.name(),
                fused.images_per_second / stock.images_per_second
            );
        }
    }
    if let Some(torch) = &torch
        && let Some(best) = torch["images_per_second"]
            .as_object()
            .and_then(|per_layout| {
                per_layout
                    .iter()
                    .filter_map(|(layout, v)| Some((layout.clone(), v.as_f64()?)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
            })
    {
        println!(
            "PyTorch {} ({} threads), same network, batch and AdamW: {}",
            torch["torch"].as_str().unwrap_or("?"),
            torch["threads"],
            torch["images_per_second"]
        );
        for (block, arm, f) in &rows {
            println!(
                "{} blocks, {}: {:.2}× PyTorch's best ({}, {:.1} images/s)",
                block.name(),
                arm.mode.name(),
                f.images_per_second / best.1,
                best.0,
                best.1
            );
        }
    }
    if let Some(timing) = &block_timing {
        print!("{}", timing.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `bench/torch_reference.py` with `python` on the bench's batch, image size and step
/// counts: its JSON, or `None` (with its message) when torch is not importable there.
fn torch_reference(python: &str, args: &BenchArgs) -> Result<Option<serde_json::Value>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/torch_reference.py");
    let output = std::process::Command::new(python)
        .arg(&script)
        .args(["--json", "--batch-size", &args.batch_size.to_string()])
        .args(["--image-size", &args.image_size.to_string()])
        .args(["--steps", &args.steps.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .output()
        .with_context(|| format!("running {python} {}", script.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{python} {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    match serde_json::from_str(text.trim()) {
        Ok(value) => Ok(Some(value)),
        Err(_) => {
            eprintln!("seedlings: {}", text.trim());
            Ok(None)
        }
    }
}

fn run_backends() -> Result<ExitCode> {
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

fn run_serve(args: ServeArgs) -> Result<ExitCode> {
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
