//! Helpers shared by the integration tests.

use std::path::Path;

/// A run folder's metrics.csv without its `seconds` column (wall time differs between runs).
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
