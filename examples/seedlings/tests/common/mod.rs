//! Helpers shared by the integration tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::mpsc;

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
