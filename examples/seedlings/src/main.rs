//! `seedlings`: trains a CNN on plant-seedling photos at several weight decays and writes curves,
//! plots and a report. See README.md and `seedlings --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use burn_weight_decay::DecayMode;
use clap::{Args, Parser, Subcommand};
use seedlings::checkpoint;
use seedlings::data::{self, LoadOptions, Located, SeedlingSet};
use seedlings::model::CnnConfig;
use seedlings::report::RunInfo;
use seedlings::sweep::Sweep;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings, evaluate};

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
}

#[derive(Args, Debug, Clone)]
struct SweepArgs {
    /// Data folder (`train/` + `valid/`, or one folder per species). Default: $SEEDLINGS_DATA,
    /// then datasets/plant-seedlings/, else the built-in synthetic set.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Run folder. Default: runs/<timestamp>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Epochs per arm.
    #[arg(long, default_value_t = 8)]
    epochs: usize,
    /// Side of the square input images, in pixels.
    #[arg(long, default_value_t = 64)]
    image_size: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Peak learning rate of the one-cycle schedule.
    #[arg(long, default_value_t = 3e-3)]
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
    /// Backend: flex (default), ndarray or wgpu (when compiled in).
    #[arg(long, default_value = "flex")]
    backend: String,
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
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Sweep(args)) => run_sweep(args),
        None => run_sweep(cli.sweep),
        Some(Command::Evaluate(args)) => run_evaluate(args),
        Some(Command::Download(args)) => run_download(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("seedlings: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The device of a backend name.
fn device(name: &str) -> Result<Device> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        other => bail!(
            "unknown or not compiled-in backend `{other}` (this build has: {})",
            compiled_backends().join(", ")
        ),
    }
}

fn compiled_backends() -> Vec<&'static str> {
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
    names
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
        let v: f64 = s
            .parse()
            .map_err(|_| anyhow::anyhow!("`{s}` is not a number"))?;
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
    if args.image_size < cnn_min {
        bail!(
            "--image-size {} is below the network's minimum of {cnn_min}",
            args.image_size
        );
    }
    Ok(())
}

fn load_data(
    flag: Option<&Path>,
    image_size: usize,
    seed: u64,
    synthetic_per_class: usize,
) -> Result<SeedlingSet> {
    let options = LoadOptions {
        image_size,
        split_seed: seed,
        ..LoadOptions::default()
    };
    let located = data::locate(flag);
    if let Located::NotFound { .. } = &located {
        eprintln!(
            "seedlings: no data found ({}); using the built-in SYNTHETIC images. \
             Set SEEDLINGS_DATA, pass --data DIR, or run `seedlings download`.",
            located.describe()
        );
        return Ok(data::synthetic(
            image_size,
            synthetic_per_class,
            synthetic_per_class.div_ceil(4),
            seed,
        ));
    }
    let (root, _) = located.into_result()?.context("no data folder")?;
    eprintln!("seedlings: reading {}", root.display());
    Ok(data::load(&root, &options)?)
}

fn run_sweep(args: SweepArgs) -> Result<ExitCode> {
    let arms = parse_arms(&args)?;
    let optimizer: OptimizerKind = args.optimizer.parse()?;
    let channels = vec![32, 64, 128, 256];
    let cnn_min = CnnConfig::new(1)
        .with_channels(channels.clone())
        .min_image_size();
    check_settings(&args, cnn_min)?;
    let device = device(&args.backend)?;
    let set = load_data(
        args.data.as_deref(),
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
    };
    let info = RunInfo {
        name: run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
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
        backend: args.backend.clone(),
        optimizer: optimizer.describe().to_string(),
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
        started: started.to_rfc3339(),
        seconds: 0.0,
    };
    eprintln!("seedlings: writing to {}", run_dir.display());
    let stop = AtomicBool::new(false);
    let sweep = Sweep {
        settings,
        arms,
        set: &set,
        run_dir: run_dir.clone(),
        info,
        device,
    };
    let result = sweep.run(&stop, &mut |line| eprintln!("{line}"))?;
    for arm in &result.arms {
        println!(
            "{:<22} {:<12} best valid acc {:>6.2}%  final train loss {:.4}  final valid loss {:.4}  decay shrink {:.3e}",
            arm.arm,
            arm.status.to_string(),
            100.0 * arm.best_valid_accuracy,
            arm.final_train_loss,
            arm.final_valid_loss,
            arm.decay_shrink
        );
    }
    println!("report: {}", run_dir.join("report.md").display());
    Ok(if result.interrupted {
        ExitCode::from(130)
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
