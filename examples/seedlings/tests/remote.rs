//! Arms on other machines, on loopback: two `seedlings serve` processes, a sweep whose
//! `--devices` lists both, and the same metrics as a local run; a server killed mid-run fails
//! only the arm it was training, which `--resume` then finishes elsewhere. The test's servers
//! are shut down when it ends, pass or fail.
#![cfg(all(unix, feature = "remote"))]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{signal, stderr_lines};
use seedlings::report::read_metrics_csv;

const ARGS: &[&str] = &[
    "--epochs",
    "3",
    "--image-size",
    "32",
    "--batch-size",
    "8",
    "--synthetic-per-class",
    "6",
    "--wd",
    "0.1,10",
    "--seed",
    "5",
    // A remote device runs Burn's stock layers (the fused op is flex-local): the local run uses
    // them too, so that both run the same operations in the same order.
    "--block",
    "stock",
];

/// A `seedlings serve` on 127.0.0.1, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_seedlings"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server printed its address");
        let address = line
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .unwrap_or_else(|| panic!("no ws:// address in `{line}`"))
            .to_string();
        Server { child, address }
    }

    /// SIGTERM, as a user stopping it would, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        signal(&self.child, "TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sweep(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seedlings"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SEEDLINGS_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn run(cwd: &Path, out: &str, devices: &str) -> Output {
    let mut args = vec!["--out", out, "--devices", devices];
    args.extend_from_slice(ARGS);
    sweep(cwd, &args).output().unwrap()
}

/// Every metric of two run folders within `tolerance` (relative, absolute below 1), row by row;
/// returns the largest difference.
fn compare_metrics(a: &Path, b: &Path, tolerance: f64) -> f64 {
    let a = read_metrics_csv(&a.join("metrics.csv")).unwrap();
    let b = read_metrics_csv(&b.join("metrics.csv")).unwrap();
    assert_eq!(a.len(), b.len(), "rows");
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.arm, x.epoch), (&y.arm, y.epoch));
        for (name, u, v) in [
            ("train_loss", x.train_loss, y.train_loss),
            ("valid_loss", x.valid_loss, y.valid_loss),
            ("valid_accuracy", x.valid_accuracy, y.valid_accuracy),
            ("weight_norm", x.weight_norm, y.weight_norm),
        ] {
            let diff = (u - v).abs() / u.abs().max(1.0);
            worst = worst.max(diff);
            assert!(
                diff <= tolerance,
                "{} epoch {} {name}: {u} vs {v}",
                x.arm,
                x.epoch
            );
        }
    }
    worst
}

#[test]
fn arms_on_two_servers_match_a_local_run_and_a_lost_server_fails_only_its_arm() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let a = Server::start();
    let b = Server::start();
    assert_ne!(a.address, b.address);

    let local = run(cwd, "local", "flex");
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );

    let started = Instant::now();
    let remote = run(cwd, "remote", &format!("{},{}", a.address, b.address));
    let log = String::from_utf8_lossy(&remote.stderr);
    assert!(remote.status.success(), "{log}");
    println!("two remote arms: {:.1} s", started.elapsed().as_secs_f64());
    // The remote servers run flex too: the same operations in the same order.
    let worst = compare_metrics(&cwd.join("local"), &cwd.join("remote"), 1e-4);
    println!("remote vs local: largest relative difference {worst:.1e}");

    // A server killed while both arms train: its arm fails, the other finishes.
    let mut args = vec![
        "--out".to_string(),
        "lost".to_string(),
        "--devices".to_string(),
        format!("{},{}", a.address, b.address),
    ];
    args.extend(ARGS.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = sweep(cwd, &args).spawn().unwrap();
    let rx = stderr_lines(&mut child);
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("epoch  1:")) {
        assert!(Instant::now() < deadline, "no epoch finished: {lines:?}");
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the sweep hung after its server died: {lines:?}");
        }
        while let Ok(line) = rx.try_recv() {
            lines.push(line);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        lines.push(line);
    }
    let log = lines.join("\n");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("--resume"), "{log}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("lost/summary.json")).unwrap())
            .unwrap();
    let statuses: Vec<String> = summary["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arm| arm["status"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, ["failed", "finished"], "{summary:#}");
    let report = std::fs::read_to_string(cwd.join("lost/report.md")).unwrap();
    assert!(report.contains("failed"), "{report}");

    // The failed arm resumes on another device and ends where the local run ended.
    let resumed = sweep(cwd, &["--resume", "lost", "--devices", "flex"])
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    compare_metrics(&cwd.join("local"), &cwd.join("lost"), 1e-4);

    // The surviving server shuts down cleanly on SIGTERM.
    let status = a.stop();
    assert!(
        status.success() || status.code().is_none(),
        "server exit {status:?}"
    );
}
