//! What reading the data warned about reaches report.md's Data section (and summary.json),
//! not only stderr: a reader of the report sees a link that was skipped.
#![cfg(unix)]

mod common;

use common::{photo_folders, sweep_on_photos};

#[test]
fn the_loaders_warnings_are_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    photo_folders(&cwd.join("photos/train"), &["A", "B"], 5);
    std::os::unix::fs::symlink("..", cwd.join("photos/train/A/loop")).unwrap();
    let run = sweep_on_photos(cwd, "4");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("photos/train/A/loop"), "{stderr}");
    let report = std::fs::read_to_string(cwd.join("run/report.md")).unwrap();
    let data = &report[report.find("## Data").expect("a Data section")..];
    let data = &data[..data[3..].find("\n## ").map_or(data.len(), |i| i + 3)];
    assert!(
        data.contains("- Warnings from reading the data (1):"),
        "{data}"
    );
    assert!(data.contains("photos/train/A/loop"), "{data}");
    assert!(data.contains("(a loop)"), "{data}");
    let summary = std::fs::read_to_string(cwd.join("run/summary.json")).unwrap();
    assert!(summary.contains("\"data_warnings\""), "{summary}");
}
