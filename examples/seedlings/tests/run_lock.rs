//! A run folder is written by one process at a time: a second sweep or `--resume` on a folder
//! in use is refused at once (exit code 2, the folder and the holder named) and touches
//! nothing; after `kill -9` of the holder the folder resumes without any clean-up.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{seedlings, signal, stderr_lines};

const ARGS: &[&str] = &[
    "--epochs",
    "4",
    "--image-size",
    "32",
    "--batch-size",
    "8",
    "--synthetic-per-class",
    "8",
    "--wd",
    "0.1",
    "--seed",
    "5",
];

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path, (bytes, meta.modified().unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_second_process_is_refused_and_kill_9_needs_no_clean_up() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let out = cwd.join("run");
    let o = out.to_str().unwrap();
    let mut args = vec!["--out", o];
    args.extend_from_slice(ARGS);
    let mut first = Command::new(env!("CARGO_BIN_EXE_seedlings"))
        .args(&args)
        .current_dir(cwd)
        .env_remove("SEEDLINGS_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut first);
    // Should an assertion fail while the holder is frozen, it is killed rather than left.
    struct KillOnDrop(u32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = Command::new("sh")
                .args(["-c", &format!("kill -9 {} 2>/dev/null", self.0)])
                .status();
        }
    }
    let _guard = KillOnDrop(first.id());
    // Wait until it trains, then freeze it so that the folder holds still while we look.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no epoch line in {seen:#?}"));
        let hit = line.contains("epoch  1:");
        seen.push(line);
        if hit {
            break;
        }
    }
    // The epoch's report is written just after its line: wait for it, then freeze.
    while !out.join("summary.json").is_file() {
        assert!(Instant::now() < deadline, "no summary.json after epoch 1");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&first, "STOP");
    let before = snapshot(&out);
    assert!(before.keys().any(|p| p.ends_with("state/sweep.json")));

    // The same sweep again, and a resume: both refused, naming the folder and the holder.
    let mut again = vec!["--out", o];
    again.extend_from_slice(ARGS);
    for args in [again, vec!["--resume", o]] {
        let result = seedlings(cwd, &args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "run folder {o} is in use by another seedlings process"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("(process {})", first.id())),
            "{stderr}"
        );
        assert_eq!(snapshot(&out), before, "{args:?} touched the folder");
    }

    // kill -9 of the holder: the OS drops its lock, and --resume finishes the run.
    signal(&first, "KILL");
    first.wait().unwrap();
    let resumed = seedlings(cwd, &["--resume", o]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"finished\""), "{summary}");
    // The report counts the earlier part's time too, and says the run was resumed.
    let run_of =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["run"].clone();
    let earlier = run_of(std::str::from_utf8(&before[&out.join("summary.json")].0).unwrap());
    let now = run_of(&summary);
    assert_eq!(now["resumed"], 1, "{summary}");
    assert!(now["seconds"].as_f64().unwrap() > earlier["seconds"].as_f64().unwrap());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("interrupted and resumed once"), "{report}");
    assert_eq!(
        std::fs::read_to_string(out.join("metrics.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 4
    );
}
