//! `seedlings bench`: times training steps (data loading and optimizer included) for each
//! conv-block kernel and decay mode, optionally next to PyTorch, and prints a table or JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use burn_fused_conv::BlockKernel;
use burn_fused_conv::isa::Isa;
use burn_weight_decay::DecayMode;
use clap::Args;
use seedlings::bench::{BenchFigures, EpochContext};
use seedlings::data;
use seedlings::devices::device;
use seedlings::model::CnnConfig;
use seedlings::settings::SweepSettings;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

use super::data::load_data;
use super::flags::{self, typed};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Data folder, found as for the sweep (synthetic images when there is none).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Sides of the square input images, comma-separated: each size is benchmarked in turn
    /// (PyTorch and the per-block timing too).
    #[arg(long, default_value = "32,64", value_parser = typed(flags::image_sizes))]
    image_size: List<usize>,
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
    /// Conv-block kernels to compare, comma-separated: stock, fused, winograd (the fused op
    /// with Winograd F(2×2, 3×3) products).
    #[arg(long, default_value = "stock,fused,winograd", value_parser = typed(flags::block_kernels))]
    block: List<BlockKernel>,
    /// Skip the per-block forward/backward timing.
    #[arg(long)]
    no_block_timing: bool,
    /// Also time PyTorch on the same network, batch and optimizer with this Python (one that
    /// can import torch), and print ours ÷ PyTorch's best (bench/torch_reference.py). When
    /// `BURN_FUSED_CONV_MAX_ISA` caps the fused kernels (say `avx2` on an AVX-512 host), PyTorch
    /// is capped the same way (`ATEN_CPU_CAPABILITY`, `ONEDNN_MAX_CPU_ISA`).
    #[arg(long, value_name = "PYTHON")]
    torch_python: Option<String>,
    /// Rounds at each size: every configuration, then PyTorch, this many times in turn, so that
    /// both sides meet the machine's slow and fast spells alike. Figures are each
    /// configuration's median round; the ratio to PyTorch is given per round and as the median
    /// of the rounds' ratios.
    #[arg(long, default_value_t = 1, value_parser = typed(|s| flags::at_least_one("rounds", s.parse()?)))]
    rounds: usize,
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
    Isa::cap_from_env().map_err(anyhow::Error::msg)?;
    if let Some(python) = &args.torch_python {
        super::paths::program("--torch-python", python)?;
    }
    let mut sections = Vec::new();
    for &size in &args.image_size {
        let section = bench_size(&args, size)?;
        if !args.json {
            print!("{}", section.render(&args));
        }
        sections.push(section);
    }
    if args.json {
        let sizes: Vec<_> = sections.iter().map(Section::json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "backend": args.backend, "batch_size": args.batch_size, "workers": args.workers,
                "steps": args.steps, "warmup": args.warmup, "image_sizes": sizes,
            }))?
        );
    } else if sections.len() > 1 {
        println!("summary: images/s at the median step, each size (and ÷ PyTorch's best layout)");
        for section in &sections {
            println!("{}", section.summary_line());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the bench measured at one image size.
struct Section {
    image_size: usize,
    batch_size: usize,
    decode_seconds: f64,
    /// Each configuration's figures from its median round.
    rows: Vec<(BlockKernel, ArmSpec, BenchFigures)>,
    /// Per round: each configuration's images/s at the median step (in `rows`' order) and
    /// PyTorch's best layout's images/s.
    rounds: Vec<(Vec<f64>, Option<f64>)>,
    /// PyTorch's figures from its median round.
    torch: Option<serde_json::Value>,
    block_timing: Option<burn_fused_conv::bench::BlockTimingTable>,
}

/// Every configuration at `size`: the training steps, then PyTorch, then the per-block timing.
fn bench_size(args: &BenchArgs, size: usize) -> Result<Section> {
    let (optimizer, blocks, modes) = (args.optimizer, &args.block, &args.modes);
    let channels = CnnConfig::new(1).channels;
    let device = device(&args.backend)?.autodiff();
    let decode_started = std::time::Instant::now();
    let (set, _) = load_data(args.data.as_deref(), false, size, args.seed, 120)?;
    let decode_seconds = decode_started.elapsed().as_secs_f64();
    eprintln!(
        "seedlings: {} (decoded once, in {decode_seconds:.1}s)",
        set.summary()
    );
    let normalization = data::Normalization::from_store(&set.train);
    let context = EpochContext {
        valid: &set.valid,
        class_names: &set.class_names,
        synthetic: set.is_synthetic(),
    };
    let mut runs: Vec<Vec<(BlockKernel, ArmSpec, BenchFigures)>> = Vec::new();
    let mut torch_runs: Vec<Option<serde_json::Value>> = Vec::new();
    for _ in 0..args.rounds {
        let mut rows = Vec::new();
        for &block in blocks {
            for &mode in modes {
                let settings = TrainSettings {
                    sweep: SweepSettings {
                        epochs: 1,
                        batch_size: args.batch_size,
                        lr: 1e-3,
                        optimizer,
                        seed: args.seed,
                        decay_rank_le_1: false,
                        block,
                        ..SweepSettings::default()
                    },
                    loader_workers: args.workers,
                    channels: channels.clone(),
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
                    Some(&context),
                )?;
                rows.push((block, arm, figures));
            }
        }
        runs.push(rows);
        torch_runs.push(
            args.torch_python
                .as_deref()
                .map(|python| torch_reference(python, args, size, &channels, set.num_classes()))
                .transpose()?
                .flatten(),
        );
    }
    let batch = args.batch_size;
    let rounds: Vec<(Vec<f64>, Option<f64>)> = runs
        .iter()
        .zip(&torch_runs)
        .map(|(rows, torch)| {
            let ours = rows
                .iter()
                .map(|(_, _, f)| f.median_images_per_second(batch))
                .collect();
            (
                ours,
                torch.as_ref().and_then(|t| torch_best(t).map(|b| b.1)),
            )
        })
        .collect();
    // Each configuration's median round, and PyTorch's.
    let rows = (0..runs[0].len())
        .map(|i| {
            let round = median_index(&rounds.iter().map(|r| r.0[i]).collect::<Vec<_>>());
            runs[round][i].clone()
        })
        .collect();
    let torch_best_of: Vec<f64> = rounds.iter().map(|r| r.1.unwrap_or(0.0)).collect();
    let torch = torch_runs.swap_remove(median_index(&torch_best_of));
    let block_timing = (!args.no_block_timing)
        .then(|| burn_fused_conv::bench::time_network(&channels, args.batch_size, size, blocks, 5));
    Ok(Section {
        image_size: size,
        batch_size: args.batch_size,
        decode_seconds,
        rows,
        rounds,
        torch,
        block_timing,
    })
}

impl Section {
    fn find(&self, block: BlockKernel, mode: DecayMode) -> Option<&BenchFigures> {
        self.rows
            .iter()
            .find(|(b, arm, _)| *b == block && arm.mode == mode)
            .map(|(_, _, f)| f)
    }

    /// PyTorch's fastest layout and its images/s (its median round).
    fn torch_best(&self) -> Option<(String, f64)> {
        torch_best(self.torch.as_ref()?)
    }

    /// Configuration `i`'s ratio to PyTorch's best layout in each round (rounds where PyTorch
    /// ran), and their median.
    fn round_ratios(&self, i: usize) -> Option<(Vec<f64>, f64)> {
        let ratios: Vec<f64> = self
            .rounds
            .iter()
            .filter_map(|(ours, torch)| Some(ours[i] / (*torch)?))
            .collect();
        let median = *ratios.get(median_index(&ratios))?;
        Some((ratios, median))
    }

    fn json(&self) -> serde_json::Value {
        let runs: Vec<_> = self
            .rows
            .iter()
            .map(|(block, arm, f)| {
                serde_json::json!({
                    "block": block.name(), "mode": arm.mode.name(), "wd": arm.wd, "figures": f,
                    "fused_updates": f.fused_updates, "param_updates": f.param_updates,
                    "data_wait_share": f.data_wait_share(),
                    "optimizer_share": f.optimizer_share(),
                    "forward_backward_share": f.forward_backward_share(),
                    "epoch_non_training_share": f.epoch.as_ref().map(|e| e.non_training_share()),
                    "median_images_per_second": f.median_images_per_second(self.batch_size),
                    "torch_ratio": self.torch_best().map(|(_, best)| f.median_images_per_second(self.batch_size) / best),
                })
            })
            .collect();
        let rounds: Vec<_> = self
            .rounds
            .iter()
            .map(
                |(ours, torch)| serde_json::json!({"images_per_second": ours, "torch_best": torch}),
            )
            .collect();
        serde_json::json!({
            "image_size": self.image_size, "decode_seconds": self.decode_seconds, "runs": runs,
            "rounds": rounds, "block_timing": self.block_timing, "torch": self.torch,
        })
    }

    /// One line per configuration: images/s and the ratio to PyTorch's best layout.
    fn summary_line(&self) -> String {
        let best = self.torch_best();
        let cells: Vec<String> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, (block, arm, f))| {
                let median = f.median_images_per_second(self.batch_size);
                let ratio = match self.round_ratios(i) {
                    Some((ratios, median_ratio)) if ratios.len() > 1 => format!(
                        " (rounds {}: median {median_ratio:.2}×)",
                        ratios
                            .iter()
                            .map(|r| format!("{r:.2}×"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => best
                        .as_ref()
                        .map(|(_, b)| format!(" ({:.2}×)", median / b))
                        .unwrap_or_default(),
                };
                format!("{} {} {median:.0}{ratio}", block.name(), arm.mode.name())
            })
            .collect();
        let torch = best
            .map(|(layout, b)| format!("; PyTorch {layout} {b:.0}"))
            .unwrap_or_default();
        format!("  {} px: {}{torch}", self.image_size, cells.join(", "))
    }

    /// The section as text.
    fn render(&self, args: &BenchArgs) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let size = self.image_size;
        let _ = writeln!(
            out,
            "backend {}, {size}×{size} images, batch {}, {} loader threads, {} timed steps after {} warm-up",
            args.backend, args.batch_size, args.workers, args.steps, args.warmup
        );
        let _ = writeln!(
            out,
            "{:<8} {:<10} {:>10} {:>11} {:>15} {:>11}",
            "block", "mode", "images/s", "data wait", "fwd+backward", "optimizer"
        );
        let verdict = |share: f64| {
            if share <= 0.05 { "met" } else { "MISSED" }
        };
        for (block, arm, f) in &self.rows {
            let _ = writeln!(
                out,
                "{:<8} {:<10} {:>10.1} {:>10.1}% {:>14.1}% {:>10.1}%   (targets < 5%: data {}, optimizer {})",
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
        for (block, arm, f) in &self.rows {
            if let Some(e) = &f.epoch {
                let _ = writeln!(
                    out,
                    "{} blocks, {}: an epoch is {} steps × {:.1} ms + evaluation {:.0} ms + checkpoints {:.0} ms + probes {:.0} ms = {:.2} s; {:.1}% is not training steps",
                    block.name(),
                    arm.mode.name(),
                    e.steps_per_epoch,
                    1e3 * e.step_seconds,
                    1e3 * e.evaluate_seconds,
                    1e3 * e.checkpoint_seconds,
                    1e3 * e.probe_seconds,
                    e.epoch_seconds(),
                    100.0 * e.non_training_share()
                );
            }
        }
        for &block in &args.block {
            if let Some(base) = self.find(block, DecayMode::None) {
                for (_, arm, f) in self
                    .rows
                    .iter()
                    .filter(|(b, arm, _)| *b == block && arm.mode != DecayMode::None)
                {
                    let _ = writeln!(
                        out,
                        "{} blocks: {} decay costs {:+.1}% optimizer time and {:+.1}% step time over no decay",
                        block.name(),
                        arm.mode.name(),
                        100.0 * (f.optimizer_seconds / base.optimizer_seconds - 1.0),
                        100.0 * (base.images_per_second / f.images_per_second - 1.0)
                    );
                }
            }
        }
        for (block, arm, f) in &self.rows {
            let _ = writeln!(
                out,
                "{} blocks, {}: {} of {} parameter updates by the fused optimizer kernel",
                block.name(),
                arm.mode.name(),
                f.fused_updates,
                f.param_updates
            );
        }
        for &mode in &args.modes {
            let Some(stock) = self.find(BlockKernel::Stock, mode) else {
                continue;
            };
            for kernel in args.block.iter().filter(|k| k.is_fused()) {
                if let Some(fused) = self.find(*kernel, mode) {
                    let _ = writeln!(
                        out,
                        "{}: {} blocks train at {:.2}× the stock blocks' images/s",
                        mode.name(),
                        kernel.name(),
                        fused.images_per_second / stock.images_per_second
                    );
                }
            }
        }
        if let (Some(torch), Some(best)) = (&self.torch, self.torch_best()) {
            let _ = writeln!(
                out,
                "PyTorch {} ({} threads, {} kernels), same network, batch and AdamW: {}",
                torch["torch"].as_str().unwrap_or("?"),
                torch["threads"],
                torch["cpu_capability"].as_str().unwrap_or("?"),
                torch["images_per_second"]
            );
            for (block, arm, f) in &self.rows {
                let median = f.median_images_per_second(self.batch_size);
                let _ = writeln!(
                    out,
                    "{} blocks, {}: {:.2}× PyTorch's best ({}, {:.1} images/s), median steps on both sides ({median:.1} images/s here)",
                    block.name(),
                    arm.mode.name(),
                    median / best.1,
                    best.0,
                    best.1
                );
            }
        }
        if self.rounds.len() > 1 {
            let list = |v: Vec<String>| v.join(" / ");
            for (i, (block, arm, _)) in self.rows.iter().enumerate() {
                let ours = self
                    .rounds
                    .iter()
                    .map(|r| format!("{:.0}", r.0[i]))
                    .collect();
                let _ = write!(
                    out,
                    "{} blocks, {}: images/s by round {}",
                    block.name(),
                    arm.mode.name(),
                    list(ours)
                );
                if let Some((ratios, median)) = self.round_ratios(i) {
                    let ratios = ratios.iter().map(|r| format!("{r:.2}×")).collect();
                    let _ = write!(
                        out,
                        ", ÷ PyTorch's best {} (median {median:.2}×)",
                        list(ratios)
                    );
                }
                out.push('\n');
            }
            let torch: Vec<String> = self
                .rounds
                .iter()
                .filter_map(|r| r.1.map(|b| format!("{b:.0}")))
                .collect();
            if !torch.is_empty() {
                let _ = writeln!(
                    out,
                    "PyTorch's best layout, images/s by round: {}",
                    list(torch)
                );
            }
        }
        if let Some(timing) = &self.block_timing {
            out += &timing.render();
        }
        out
    }
}

/// PyTorch's fastest layout and its images/s, from `bench/torch_reference.py`'s JSON.
fn torch_best(torch: &serde_json::Value) -> Option<(String, f64)> {
    torch["images_per_second"]
        .as_object()?
        .iter()
        .filter_map(|(layout, v)| Some((layout.clone(), v.as_f64()?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The index of the median of `values` (the upper one of an even count).
fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len() / 2).copied().unwrap_or(0)
}

/// The environment that caps PyTorch's kernels (ATen's and oneDNN's) at `isa` when the fused
/// kernels run capped below what the processor has (`BURN_FUSED_CONV_MAX_ISA`), so that both
/// sides run the same instruction set; nothing when they run uncapped.
fn torch_isa_cap(isa: Isa) -> Vec<(&'static str, &'static str)> {
    if isa == Isa::detected() {
        return Vec::new();
    }
    let (aten, onednn) = match isa {
        Isa::Avx512 => ("avx512", "AVX512_CORE"),
        Isa::Avx2 => ("avx2", "AVX2"),
        Isa::Plain => ("default", "SSE41"),
    };
    vec![
        ("ATEN_CPU_CAPABILITY", aten),
        ("ONEDNN_MAX_CPU_ISA", onednn),
    ]
}

/// Runs `bench/torch_reference.py` with `python` on the bench's network (`channels`, `classes`),
/// batch, `image_size` and step counts: its JSON, or `None` (with its message) when torch is not
/// importable there.
fn torch_reference(
    python: &str,
    args: &BenchArgs,
    image_size: usize,
    channels: &[usize],
    classes: usize,
) -> Result<Option<serde_json::Value>> {
    let channels: Vec<String> = channels.iter().map(usize::to_string).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/torch_reference.py");
    let mut command = std::process::Command::new(python);
    for (name, value) in torch_isa_cap(Isa::active()) {
        command.env(name, value);
    }
    let output = command
        .arg(&script)
        .args(["--json", "--batch-size", &args.batch_size.to_string()])
        .args(["--image-size", &image_size.to_string()])
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

#[cfg(test)]
mod tests {
    use super::median_index;

    #[test]
    fn the_median_round_is_the_middle_value_or_the_upper_of_two() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), 2);
        assert_eq!(median_index(&[5.0]), 0);
        assert_eq!(median_index(&[1.0, 4.0]), 1);
        assert_eq!(median_index(&[2.0, 9.0, 1.0, 7.0]), 3);
    }
}
