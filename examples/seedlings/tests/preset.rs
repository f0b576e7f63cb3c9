//! `--preset study` and `--seeds` through the real binary, on the built-in synthetic images at
//! the smallest settings: the study's two modes at one wd with two seeds (the preset's 18 runs
//! are listed by the binary's unit tests, `cli::preset`; 18 tiny runs here took 19 s on this
//! shared 2-core machine, so the same code runs 4 of them) into one report with the seed
//! statistics and the coupled-vs-decoupled section, `--resume` of the preset run with its saved
//! (resolved) settings, an interrupted run folder from before `--seeds` resumed, and bad seed
//! settings.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TINY, metrics_without_seconds, seedlings};

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_tiny_study_writes_one_report_with_seeds_and_the_mode_comparison_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let mut args = vec![
        "--preset", "study", "--wd", "0.1", "--seeds", "2", "--out", "study",
    ];
    args.extend(TINY);
    ok(&seedlings(cwd, &args));
    let run = cwd.join("study");

    // What is saved is the resolved settings: the preset's, and the flags given with it.
    let saved = json(&run.join("state/sweep.json"));
    let a = &saved["args"];
    assert_eq!(
        (
            &a["preset"],
            &a["modes"],
            &a["wd"],
            &a["seeds"],
            &a["epochs"]
        ),
        (
            &"study".into(),
            &"coupled,decoupled".into(),
            &"0.1".into(),
            &2.into(),
            &1.into()
        )
    );
    let summary = json(&run.join("summary.json"));
    let arms: Vec<&str> = summary["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["arm"].as_str().unwrap())
        .collect();
    let names = [
        "coupled-wd0.1-seed42",
        "decoupled-wd0.1-seed42",
        "coupled-wd0.1-seed43",
        "decoupled-wd0.1-seed43",
    ];
    assert_eq!(arms, names);
    for name in names {
        assert!(
            run.join("checkpoints")
                .join(name)
                .join("last/meta.json")
                .is_file(),
            "{name}"
        );
    }
    assert_eq!(summary["run"]["seeds"], serde_json::json!([42, 43]));
    let stats = summary["arm_statistics"].as_array().unwrap();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0]["arm"], "coupled-wd0.1");
    assert_eq!(stats[0]["seeds"], serde_json::json!([42, 43]));
    assert_eq!(stats[0]["finished_runs"], 2);
    assert!(stats[0]["final_train_loss"]["ci95_low"].is_number());
    // Decoupled − coupled at wd 0.1 on each of the four metrics (one arm per mode: no pair
    // within a mode).
    assert_eq!(summary["paired_comparisons"].as_array().unwrap().len(), 4);

    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    for needle in [
        "2 arms × 2 seeds = 4 runs",
        "## Seeds",
        "| coupled-wd0.1 | 0.1 | coupled | 2 of 2 |",
        "## Coupled vs decoupled",
        "**Adam + L2** is coupled decay",
        "### wd = 0.1",
        "| final weight norm |",
        "At wd=0.1, paired over 2 seeds",
        "lines: mean over seeds",
    ] {
        let text = if needle.starts_with("lines") {
            std::fs::read_to_string(run.join("accuracy.svg")).unwrap()
        } else {
            report.clone()
        };
        assert!(text.contains(needle), "no {needle:?} in\n{report}");
    }

    // Resumed with the preset (or nothing): the saved, resolved settings; finished runs stay.
    ok(&seedlings(
        cwd,
        &["--resume", "study", "--preset", "study", "--epochs", "1"],
    ));
    assert_eq!(json(&run.join("summary.json"))["arms"], summary["arms"]);
    let out = seedlings(cwd, &["--resume", "study", "--seeds", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--seeds 3 (saved: 2)"), "{stderr}");
}

/// The lines of a spawned run's stderr until one contains `needle`.
#[cfg(unix)]
fn wait_for(rx: &std::sync::mpsc::Receiver<String>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no line with `{needle}`");
}

/// A run folder written before `--seeds` (its `state/sweep.json` has no `seeds` or `preset`),
/// interrupted by Ctrl-C in its first arm, resumes with one seed per arm under the old names and
/// ends with the metrics of an uninterrupted run.
#[cfg(unix)]
#[test]
fn an_interrupted_run_folder_from_before_seeds_resumes_with_one_seed() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let args = |out: &'static str| {
        let mut args = vec![
            "--wd",
            "0.1,10",
            "--epochs",
            "2",
            "--synthetic-per-class",
            "8",
            "--out",
            out,
        ];
        args.extend(&TINY[2..6]);
        args
    };
    ok(&seedlings(cwd, &args("whole")));

    let mut child = Command::new(env!("CARGO_BIN_EXE_seedlings"))
        .args(args("old"))
        .current_dir(cwd)
        .env_remove("SEEDLINGS_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = common::stderr_lines(&mut child);
    wait_for(&rx, "epoch  1:");
    common::signal(&child, "INT");
    assert_eq!(child.wait().unwrap().code(), Some(130));

    let path = cwd.join("old/state/sweep.json");
    let mut saved = json(&path);
    let fields = saved["args"].as_object_mut().unwrap();
    assert!(fields.remove("seeds").is_some() && fields.remove("preset").is_some());
    std::fs::write(&path, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
    ok(&seedlings(cwd, &["--resume", "old"]));
    assert_eq!(
        metrics_without_seconds(&cwd.join("old")),
        metrics_without_seconds(&cwd.join("whole"))
    );
    let summary = json(&cwd.join("old/summary.json"));
    assert_eq!(summary["arms"][0]["arm"], "decoupled-wd0.1");
    assert!(summary["arms"][0].get("seed").is_none());
    assert!(summary.get("arm_statistics").is_none());
}

#[test]
fn bad_seed_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (vec!["--seeds", "0"], "--seeds must be at least 1"),
        (vec!["--seeds", "two"], "two"),
        (vec!["--preset", "huge"], "huge"),
        (
            vec!["--seed", "18446744073709551615", "--seeds", "2"],
            "--seed 18446744073709551615 with --seeds 2",
        ),
    ] {
        let out = seedlings(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
