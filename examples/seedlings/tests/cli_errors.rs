//! Bad settings and unusable data end with a clear message naming the value or file and exit
//! code 2, before any training starts — never a panic.

mod common;

use std::path::Path;

use common::seedlings;

fn assert_error(cwd: &Path, args: &[&str], needles: &[&str]) {
    let out = seedlings(cwd, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in {stderr}"
        );
    }
}

#[test]
fn bad_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--wd=-1"], &["-1", "≥ 0"]),
        (&["--wd", "nan"], &["NaN"]),
        (&["--wd", "inf"], &["inf"]),
        (&["--wd", "0.1,abc"], &["`abc` is not a number", "--wd"]),
        (&["--wd", ","], &["--wd is empty"]),
        (&["--lr", "0"], &["--lr 0"]),
        (&["--lr=-0.1"], &["--lr -0.1"]),
        (&["--lr", "NaN"], &["--lr NaN"]),
        (&["--lr", "inf"], &["--lr inf"]),
        (&["--epochs", "0"], &["--epochs"]),
        (&["--batch-size", "0"], &["--batch-size"]),
        (&["--image-size", "8"], &["--image-size 8", "minimum of 32"]),
        (&["--backend", "tpu"], &["tpu", "flex"]),
        (&["--modes", "sideways"], &["sideways"]),
        (&["--optimizer", "rmsprop"], &["rmsprop"]),
        (&["--epochs", "many"], &["many"]),
    ];
    for (args, needles) in cases {
        assert_error(cwd, args, needles);
    }
}

#[test]
fn unusable_data_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let missing = cwd.join("no-such-folder");
    assert_error(
        cwd,
        &["--data", missing.to_str().unwrap()],
        &["no-such-folder"],
    );
    let empty = cwd.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_error(cwd, &["--data", empty.to_str().unwrap()], &["empty"]);
    // Only junk: a text file named .png, a zero-byte image, a README.
    let junk = cwd.join("junk");
    std::fs::create_dir_all(junk.join("Maize")).unwrap();
    std::fs::write(junk.join("Maize/a.png"), b"not an image").unwrap();
    std::fs::write(junk.join("Maize/b.png"), b"").unwrap();
    std::fs::write(junk.join("README.txt"), b"hello").unwrap();
    assert_error(cwd, &["--data", junk.to_str().unwrap()], &["junk"]);
}

#[test]
fn resume_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let run = cwd.join("runs/none");
    std::fs::create_dir_all(&run).unwrap();
    assert_error(
        cwd,
        &["--resume", run.to_str().unwrap()],
        &["holds no resumable sweep", "sweep.json"],
    );
    assert_error(
        cwd,
        &["--resume", run.to_str().unwrap(), "--epochs", "3"],
        &["--epochs", "saved"],
    );
}

#[test]
fn a_bad_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let ck = cwd.join("ck");
    std::fs::create_dir_all(&ck).unwrap();
    assert_error(
        cwd,
        &[
            "evaluate",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            ".",
        ],
        &["no meta.json"],
    );
    std::fs::write(ck.join("meta.json"), "{ nope").unwrap();
    assert_error(
        cwd,
        &[
            "evaluate",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            ".",
        ],
        &["meta.json", "not a checkpoint"],
    );
}

/// `--resume` takes flags equal to the saved settings (they change nothing) and rejects only a
/// different value, naming the saved and the given one.
#[test]
fn resume_accepts_flags_equal_to_the_saved_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let first = seedlings(
        cwd,
        &[
            "--out",
            "run",
            "--epochs",
            "1",
            "--image-size",
            "32",
            "--batch-size",
            "8",
            "--synthetic-per-class",
            "2",
            "--wd",
            "0.1",
        ],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let same = seedlings(
        cwd,
        &[
            "--resume",
            "run",
            "--epochs",
            "1",
            "--wd",
            "0.1",
            "--batch-size",
            "8",
        ],
    );
    assert!(
        same.status.success(),
        "equal flags are accepted: {}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert_error(
        cwd,
        &["--resume", "run", "--epochs", "2", "--wd", "0.1"],
        &["--epochs 2 (saved: 1)", "sweep.json"],
    );
    assert_error(
        cwd,
        &["--resume", "run", "--epochs", "12"],
        &["--epochs 12 (saved: 1)"],
    );
}

/// `--decay-rank-le-1` was `--decay-norm-and-bias`, and `state/sweep.json` held it as
/// `decay_norm_and_bias`: the older flag is still accepted, and a run folder written before the
/// rename resumes with its saved value, compared with the flag under either name.
#[test]
fn a_sweep_json_with_the_older_decay_norm_and_bias_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let help = seedlings(cwd, &["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--decay-rank-le-1") && help.contains("--decay-norm-and-bias"),
        "{help}"
    );
    let first = seedlings(
        cwd,
        &[
            "--out",
            "run",
            "--epochs",
            "1",
            "--image-size",
            "32",
            "--batch-size",
            "8",
            "--synthetic-per-class",
            "2",
            "--wd",
            "0.1",
            "--decay-norm-and-bias",
        ],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let path = cwd.join("run/state/sweep.json");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["args"]["decay_rank_le_1"], true, "{saved}");
    assert!(saved["args"].get("decay_norm_and_bias").is_none());
    // The file as the program wrote it before the rename.
    let write_old = |value: bool| {
        let mut old = saved.clone();
        let args = old["args"].as_object_mut().unwrap();
        args.remove("decay_rank_le_1");
        args.insert("decay_norm_and_bias".into(), value.into());
        std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    };
    write_old(true);
    for flag in ["--decay-rank-le-1", "--decay-norm-and-bias"] {
        let resumed = seedlings(cwd, &["--resume", "run", flag]);
        assert!(
            resumed.status.success(),
            "{flag} equals the saved value: {}",
            String::from_utf8_lossy(&resumed.stderr)
        );
    }
    write_old(false);
    for flag in ["--decay-rank-le-1", "--decay-norm-and-bias"] {
        assert_error(
            cwd,
            &["--resume", "run", flag],
            &["--decay-rank-le-1 true (saved: false)", "sweep.json"],
        );
    }
}

#[test]
fn bad_paths_get_messages_that_tell_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let file = cwd.join("photos.zip");
    std::fs::write(&file, b"zip").unwrap();
    let f = file.to_str().unwrap();
    let missing = cwd.join("nowhere");
    let m = missing.to_str().unwrap();
    let folder = cwd.join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let d = folder.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        // a file where a folder is expected
        (&["--data", f], &["photos.zip", "is a file, not a folder"]),
        (&["--out", f], &["photos.zip", "is a file, not a folder"]),
        (
            &["--resume", f],
            &["photos.zip", "is a file; a folder was expected"],
        ),
        (
            &["evaluate", "--checkpoint", d, "--data", f],
            &["--data", "photos.zip", "is a file; a folder was expected"],
        ),
        // a path that does not exist
        (&["--resume", m], &["--resume", "nowhere", "no such folder"]),
        (
            &["evaluate", "--checkpoint", d, "--data", m],
            &["--data", "nowhere", "no such folder"],
        ),
        (
            &["evaluate", "--checkpoint", m, "--data", d],
            &["--checkpoint", "nowhere", "no such folder"],
        ),
        // a folder where a file is expected
        (
            &["bench", "--torch-python", d, "--steps", "1"],
            &["a-folder", "is a folder; a program (a file) was expected"],
        ),
    ];
    for (args, needles) in cases {
        assert_error(cwd, args, needles);
    }
    // --out on a file left it as it was.
    assert_eq!(std::fs::read(&file).unwrap(), b"zip");
}

#[cfg(unix)]
#[test]
fn an_unreadable_data_folder_says_so_unless_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let locked = cwd.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_ok() {
        // root reads any folder: nothing to refuse here.
        eprintln!("skipped: this user reads a folder of mode 000");
        return;
    }
    assert_error(
        cwd,
        &["--data", locked.to_str().unwrap()],
        &["locked", "Permission denied"],
    );
}

#[test]
fn layouts_that_would_mislabel_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    // Splits under names that are not split names: their names would become two classes.
    for split in ["fold1", "fold2"] {
        for class in ["Maize", "Charlock"] {
            let folder = cwd.join("data").join(split).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            image::RgbImage::new(4, 4)
                .save(folder.join("a.png"))
                .unwrap();
        }
    }
    assert_error(
        cwd,
        &["--data", "data", "--out", "run"],
        &[
            "looks like split folders of class folders",
            "fold1/, fold2/",
        ],
    );
    // Splits without a train split.
    std::fs::rename(cwd.join("data/fold1"), cwd.join("data/validation")).unwrap();
    std::fs::rename(cwd.join("data/fold2"), cwd.join("data/test")).unwrap();
    assert_error(
        cwd,
        &["--data", "data", "--out", "run"],
        &["no train split", "test/, validation/"],
    );
    // A refused run leaves no run folder behind.
    assert!(!cwd.join("run").exists());
}
