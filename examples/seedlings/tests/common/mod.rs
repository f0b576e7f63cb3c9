//! Helpers shared by the integration tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::mpsc;

/// The smallest training settings the binary tests run with, on the built-in synthetic images.
#[allow(dead_code)]
pub const TINY: [&str; 8] = [
    "--epochs",
    "1",
    "--image-size",
    "32",
    "--batch-size",
    "8",
    "--synthetic-per-class",
    "2",
];

/// Runs the `seedlings` binary with `args` in `cwd`, with `SEEDLINGS_DATA` unset (so the
/// built-in synthetic images are used unless `--data` is given).
#[allow(dead_code)]
pub fn seedlings(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seedlings"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SEEDLINGS_DATA")
        .output()
        .expect("the seedlings binary runs")
}

/// A run folder's metrics.csv without its `seconds` column (wall time differs between runs).
#[allow(dead_code)]
pub fn metrics_without_seconds(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let seconds = text
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "seconds")
        .unwrap();
    text.lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(',').collect();
            fields.remove(seconds);
            fields.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines a spawned child writes to its piped stderr, as they come, read on a thread.
#[allow(dead_code)]
pub fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Sends signal `name` (`INT`, `TERM`, `KILL`) with the shell's built-in `kill`: no procps
/// needed on a fresh machine.
#[allow(dead_code)]
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{name} {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The epoch records of `tests/fixtures/NAME/metrics.csv`, and one summary per run in order of
/// first appearance: finished, its seed read from a `-seedN` name (none without), decay shrink
/// `1 − λ/8` and equilibrium progress `1.25·λ`, no checkpoints.
#[allow(dead_code)]
pub fn fixture_runs(
    name: &str,
) -> (
    Vec<seedlings::report::EpochRecord>,
    Vec<seedlings::report::ArmSummary>,
) {
    use seedlings::report::{ArmStatus, ArmSummary, RunEnd, RunKey, read_metrics_csv};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("metrics.csv");
    let records = read_metrics_csv(&path).unwrap();
    let mut names: Vec<&str> = Vec::new();
    for r in &records {
        if !names.contains(&r.arm.as_str()) {
            names.push(&r.arm);
        }
    }
    let runs = names
        .iter()
        .map(|name| {
            let first = records.iter().find(|r| r.arm == *name).unwrap();
            let seed = name
                .rsplit_once("-seed")
                .map(|(_, seed)| seed.parse::<u64>().unwrap());
            ArmSummary::from_records(
                RunEnd {
                    name: name.to_string(),
                    key: RunKey {
                        mode: first.mode,
                        wd: first.wd,
                        seed: None,
                    },
                    status: ArmStatus::Finished,
                    decay_shrink: 1.0 - first.wd / 8.0,
                    best_checkpoint: None,
                    final_checkpoint: None,
                },
                &records,
            )
            .with_equilibrium_progress(1.25 * first.wd)
            .with_seed(seed)
        })
        .collect();
    (records, runs)
}

/// The settings of the fixtures' runs: 12 classes, 60 validation images, Adam, `seeds` (empty:
/// one seed).
#[allow(dead_code)]
pub fn fixture_info(seeds: Vec<u64>) -> seedlings::report::RunInfo {
    seedlings::report::RunInfo {
        name: "fixture".into(),
        command: "seedlings --preset study".into(),
        data: "/data/plant-seedlings (12 classes)".into(),
        synthetic: false,
        classes: (0..12).map(|i| format!("class-{i}")).collect(),
        train_images: 96,
        valid_images: 60,
        backend: "flex".into(),
        optimizer: "Adam (β1 0.9, β2 0.99, ε 1e-5, fastai's defaults)".into(),
        block: "fused".into(),
        epochs: 2,
        image_size: 32,
        batch_size: 8,
        lr: 3e-3,
        seed: 42,
        seeds,
        ..seedlings::report::RunInfo::default()
    }
}

/// One short decoupled arm (wd 0.1, 1 epoch at 32 px, batch `batch_size`) on the photos in
/// `cwd/photos`, written to `cwd/run`: a sweep through the binary on real files.
#[allow(dead_code)]
pub fn sweep_on_photos(cwd: &Path, batch_size: &str) -> Output {
    seedlings(
        cwd,
        &[
            "--data",
            "photos",
            "--out",
            "run",
            "--epochs",
            "1",
            "--image-size",
            "32",
            "--batch-size",
            batch_size,
            "--wd",
            "0.1",
        ],
    )
}

/// A 2×2 PNG of one grey `value` at `path` (folders made): a tiny image for layout tests.
#[allow(dead_code)]
pub fn png(path: &Path, value: u8) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    image::RgbImage::from_raw(2, 2, vec![value; 12])
        .expect("buffer")
        .save(path)
        .expect("save");
}

/// `count` images in each of `classes` under `dir`, pixel value = image number.
#[allow(dead_code)]
pub fn class_folders(dir: &Path, classes: &[&str], count: usize) {
    for class in classes {
        for i in 0..count {
            png(&dir.join(class).join(format!("{i:03}.png")), i as u8);
        }
    }
}

/// `count` distinct 32×32 photos-to-be of each of `classes` in `dir/<class>/` (patterns that
/// differ by class and image), for a sweep through the binary on real files.
#[allow(dead_code)]
pub fn photo_folders(dir: &Path, classes: &[&str], count: u8) {
    for (c, class) in classes.iter().enumerate() {
        let folder = dir.join(class);
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..count {
            let image = image::RgbImage::from_fn(32, 32, |x, y| {
                let v = (x as u8).wrapping_mul(7 + c as u8) ^ (y as u8).wrapping_mul(3 + i);
                image::Rgb([v, v.wrapping_add(80 * c as u8), 255 - v])
            });
            image.save(folder.join(format!("{i}.png"))).unwrap();
        }
    }
}
