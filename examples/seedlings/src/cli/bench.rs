//! `seedlings bench`: times training steps (data loading and optimizer included) for each
//! conv-block kernel and decay mode, optionally next to PyTorch, and prints a table or JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use burn_fused_conv::BlockKernel;
use burn_weight_decay::DecayMode;
use clap::Args;
use seedlings::data;
use seedlings::devices::device;
use seedlings::model::CnnConfig;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

use super::data::load_data;
use super::flags::{self, typed};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Data folder, found as for the sweep (synthetic images when there is none).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Side of the square input images.
    #[arg(long, default_value_t = 64, value_parser = typed(|s| flags::image_size(s.parse()?)))]
    image_size: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32, value_parser = typed(|s| flags::at_least_one("batch-size", s.parse()?)))]
    batch_size: usize,
    /// Timed steps per configuration.
    #[arg(long, default_value_t = 40, value_parser = typed(|s| flags::at_least_one("steps", s.parse()?)))]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Weight decay of the benchmarked optimizer.
    #[arg(long, default_value_t = 0.1, value_parser = typed(bench_wd))]
    wd: f64,
    /// Decay modes to compare, comma-separated (none shows the optimizer without decay).
    #[arg(long, default_value = "none,decoupled,coupled", value_parser = typed(flags::decay_modes))]
    modes: List<DecayMode>,
    /// Inner optimizer: adam or sgd.
    #[arg(long, default_value = "adam", value_parser = typed(flags::optimizer))]
    optimizer: OptimizerKind,
    /// Conv-block kernels to compare, comma-separated: stock, fused.
    #[arg(long, default_value = "stock,fused", value_parser = typed(flags::block_kernels))]
    block: List<BlockKernel>,
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
    // Checked when its device opens, not by clap (see `--backend` of the sweep).
    #[arg(long, default_value = "flex")]
    backend: String,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// A comma-separated flag's values, parsed whole by its value parser. Spelled `List`, not `Vec`,
/// on purpose: clap's derive reads a field spelled `Vec<T>` as many values (a repeated flag
/// appending, where it is an error today; `value_delimiter` would not skip blank items); as
/// `List<T>` it is one value, so both stay as they were when the list was parsed after clap.
type List<T> = Vec<T>;

/// `--wd` of the bench: one finite weight decay ≥ 0.
fn bench_wd(text: &str) -> Result<f64> {
    let wd: f64 = text.parse()?;
    if !(wd.is_finite() && wd >= 0.0) {
        bail!("--wd {wd} must be finite and ≥ 0");
    }
    Ok(wd)
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let (optimizer, blocks, modes) = (args.optimizer, &args.block, &args.modes);
    if let Some(python) = &args.torch_python {
        super::paths::program("--torch-python", python)?;
    }
    let channels = CnnConfig::new(1).channels;
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
    for &block in blocks {
        for &mode in modes {
            let settings = TrainSettings {
                epochs: 1,
                batch_size: args.batch_size,
                lr: 1e-3,
                optimizer,
                seed: args.seed,
                decay_rank_le_1: false,
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
        .map(|python| torch_reference(python, &args, &channels, set.num_classes()))
        .transpose()?
        .flatten();
    let block_timing = (!args.no_block_timing).then(|| {
        burn_fused_conv::bench::time_network(&channels, args.batch_size, args.image_size, blocks, 5)
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
    for &block in blocks {
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
    for &mode in modes {
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

/// Runs `bench/torch_reference.py` with `python` on the bench's network (`channels`, `classes`),
/// batch, image size and step counts: its JSON, or `None` (with its message) when torch is not
/// importable there.
fn torch_reference(
    python: &str,
    args: &BenchArgs,
    channels: &[usize],
    classes: usize,
) -> Result<Option<serde_json::Value>> {
    let channels: Vec<String> = channels.iter().map(usize::to_string).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/torch_reference.py");
    let output = std::process::Command::new(python)
        .arg(&script)
        .args(["--json", "--batch-size", &args.batch_size.to_string()])
        .args(["--image-size", &args.image_size.to_string()])
        .args(["--steps", &args.steps.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--channels", &channels.join(",")])
        .args(["--classes", &classes.to_string()])
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
