//! The real binary under Ctrl-C, SIGTERM and `kill -9`: a signal saves a resumable state and
//! exits with 130; `--resume` then finishes with the same metrics.csv as an uninterrupted run;
//! a `kill -9` at any moment leaves only complete, parseable files, and the run resumes from
//! its last saved state.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use burn::tensor::Device;
use burn_weight_decay::DecayMode;
use seedlings::checkpoint;
use seedlings::data::synthetic::SPECIES;
use seedlings::model::CnnConfig;
use seedlings::report::atomic::is_temp_name;
use seedlings::report::read_metrics_csv;
use seedlings::settings::SweepSettings;
use seedlings::train::{ArmSpec, OptimizerKind, TrainSettings};

use common::{metrics_without_seconds, signal, stderr_lines};

const ARGS: &[&str] = &[
    "--epochs",
    "3",
    "--image-size",
    "32",
    "--batch-size",
    "8",
    "--synthetic-per-class",
    "8",
    "--wd",
    "0.1,10",
    "--seed",
    "3",
];

fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seedlings"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SEEDLINGS_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn start(cwd: &Path, out: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut args = vec!["--out", out.to_str().unwrap()];
    args.extend_from_slice(ARGS);
    let mut child = command(cwd, &args).spawn().unwrap();
    let rx = stderr_lines(&mut child);
    (child, rx)
}

/// Waits for a stderr line containing `needle`, returning every line seen.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return seen;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no line with `{needle}` in {seen:#?}");
}

fn drain(rx: &mpsc::Receiver<String>) -> String {
    rx.iter().collect::<Vec<_>>().join("\n")
}

fn resume(cwd: &Path, out: &Path) {
    let result = command(cwd, &["--resume", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every file in the run folder is complete: it parses as what its name says.
fn assert_every_file_parses(out: &Path) {
    let device = Device::default();
    // The binary trains the real network (no flag changes its shape) on the synthetic species.
    let cnn = CnnConfig::new(SPECIES.len());
    let settings = TrainSettings {
        sweep: SweepSettings {
            epochs: 3,
            batch_size: 8,
            lr: 3e-3,
            optimizer: OptimizerKind::Adam,
            seed: 3,
            decay_rank_le_1: false,
            block: burn_fused_conv::BlockKernel::Fused,
            ..SweepSettings::default()
        },
        loader_workers: 2,
        channels: cnn.channels.clone(),
    };
    let arm = ArmSpec {
        wd: 0.1,
        mode: DecayMode::Decoupled,
    };
    for path in files(out) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_temp_name(&name) {
            continue; // a leftover of the killed write, never read
        }
        let what = path.display().to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => {
                read_metrics_csv(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            Some("json") => {
                let text = std::fs::read_to_string(&path).unwrap();
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            Some("png") => {
                image::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            Some("svg") => {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.trim_end().ends_with("</svg>"), "{what} is cut short");
            }
            Some("md") => {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.starts_with('#'), "{what}");
            }
            Some("bpk") if name.starts_with("optimizer") => {
                settings
                    .optimizer(&arm)
                    .unwrap()
                    .load(&path)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            Some("bpk") => {
                checkpoint::load_model(&path, cnn.init(&device))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            // The run folder's lock (seedlings::run::lock): an empty file.
            Some("lock") if name == "run.lock" => {
                assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "{what}");
            }
            _ => panic!("unexpected file {what}"),
        }
    }
}

#[test]
fn signals_save_state_and_kill_9_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();

    // The reference: the same sweep, uninterrupted.
    let whole = cwd.join("whole");
    let started = Instant::now();
    let (mut child, rx) = start(cwd, &whole);
    let status = child.wait().unwrap();
    let log = drain(&rx);
    assert!(status.success(), "{log}");
    let duration = started.elapsed();
    let reference = metrics_without_seconds(&whole);
    assert_eq!(reference.lines().count(), 1 + 2 * 3, "{reference}");

    // Ctrl-C and SIGTERM: state saved, exit 130, a hint how to resume; then the same metrics.
    for (signal_name, after) in [("INT", "epoch  1:"), ("TERM", "epoch  2:")] {
        let out = cwd.join(format!("sig{signal_name}"));
        let (mut child, rx) = start(cwd, &out);
        wait_for(&rx, after);
        signal(&child, signal_name);
        let status = child.wait().unwrap();
        let log = drain(&rx);
        assert_eq!(status.code(), Some(130), "SIG{signal_name}: {log}");
        assert!(log.contains("--resume"), "{log}");
        assert_every_file_parses(&out);
        let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
        assert!(summary.contains("\"interrupted\""), "{summary}");
        resume(cwd, &out);
        assert_eq!(
            metrics_without_seconds(&out),
            reference,
            "after SIG{signal_name}"
        );
    }

    // kill -9 at several moments: every file complete; resuming gives the same metrics.
    for (i, fraction) in [0.15, 0.35, 0.55, 0.75, 0.9].into_iter().enumerate() {
        let out = cwd.join(format!("kill{i}"));
        let (mut child, rx) = start(cwd, &out);
        std::thread::sleep(duration.mul_f64(fraction));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(rx);
        assert_every_file_parses(&out);
        if out.join("state/sweep.json").is_file() {
            resume(cwd, &out);
            assert_eq!(
                metrics_without_seconds(&out),
                reference,
                "after kill -9 at {fraction}"
            );
        }
    }
}
