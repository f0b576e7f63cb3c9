//! `seedlings evaluate` never passes training images off as held-out ones: given the folder a
//! checkpoint trained on it scores only that split's validation images, and given any other
//! folder it says what it scores.

mod common;

use std::path::Path;

use common::{photo_folders, seedlings, sweep_on_photos};

/// `ROOT/train/<A,B,C>/` with 10 small photos each: a layout whose valid split is drawn.
fn photos(root: &Path) {
    photo_folders(&root.join("train"), &["A", "B", "C"], 10);
}

fn evaluate(cwd: &Path, checkpoint: &Path, data: &Path) -> (serde_json::Value, String) {
    let out = seedlings(
        cwd,
        &[
            "evaluate",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn the_training_folder_is_scored_on_its_held_out_images_only() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let data = cwd.join("photos");
    photos(&data);
    let run = sweep_on_photos(cwd, "8");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let checkpoint = cwd.join("run/checkpoints/decoupled-wd0.1/best");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint.join("meta.json")).unwrap())
            .unwrap();
    // 20 % of each class of 10 is drawn into valid: 2 × 3 = 6 held-out images, 24 trained on.
    assert_eq!(meta["trained_on"]["valid_images"], 6);
    assert_eq!(meta["trained_on"]["train_images"], 24);
    assert_eq!(meta["trained_on"]["split"]["drawn"]["seed"], 42);

    let (json, stderr) = evaluate(cwd, &checkpoint, &data);
    assert_eq!(json["scored"], "held-out", "{stderr}");
    assert_eq!(json["images"], 6);
    assert!(stderr.contains("none of them was trained on"), "{stderr}");
    // The same number the training run reported for this epoch's validation accuracy.
    let accuracy = json["accuracy"].as_f64().unwrap();
    let recorded = meta["valid_accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - recorded).abs() < 1e-9,
        "{accuracy} vs {recorded}"
    );

    // A folder inside it: every image scored, and a warning that they include training images.
    let (json, stderr) = evaluate(cwd, &checkpoint, &data.join("train"));
    assert_eq!(json["scored"], "inside-training-folder");
    assert_eq!(json["images"], 30);
    assert!(stderr.contains("these include training images"), "{stderr}");

    // Another folder of the same classes: every image, said to be another folder.
    let other = cwd.join("other");
    for class in ["A", "B", "C"] {
        std::fs::create_dir_all(other.join(class)).unwrap();
        std::fs::copy(
            data.join("train").join(class).join("0.png"),
            other.join(class).join("0.png"),
        )
        .unwrap();
    }
    let (json, stderr) = evaluate(cwd, &checkpoint, &other);
    assert_eq!(json["scored"], "all-images");
    assert_eq!(json["images"], 3);
    assert!(
        stderr.contains("a folder other than the one the checkpoint trained on"),
        "{stderr}"
    );
}
