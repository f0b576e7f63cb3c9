//! The files of a run folder: metrics.csv round trip, summary.json fields, the charts, the whole
//! `write_run`, and atomic writes that fail without damage.

use std::fs;
use std::path::Path;

use burn_weight_decay::DecayMode;
use seedlings::report::atomic::is_temp_name;
use seedlings::report::plots::{PLOT_NAMES, PLOT_SIZE, arm_rgb};
use seedlings::report::{
    ArmStatus, ArmSummary, EpochRecord, METRICS_HEADER, ReportError, RunEnd, RunInfo, RunKey,
    read_metrics_csv, write_atomic, write_metrics_csv, write_plots, write_run, write_summary_json,
};

#[allow(clippy::too_many_arguments)]
fn record(
    arm: &str,
    wd: f64,
    mode: &str,
    epoch: usize,
    train: f64,
    valid: f64,
    acc: f64,
    norm: f64,
) -> EpochRecord {
    EpochRecord {
        arm: arm.into(),
        wd,
        mode: mode.parse().unwrap(),
        epoch,
        lr: 3e-4 * (1.0 - epoch as f64 / 10.0),
        train_loss: train,
        valid_loss: valid,
        valid_accuracy: acc,
        valid_macro_f1: acc * 0.97,
        weight_norm: norm,
        seconds: 1.25 * epoch as f64,
        status: "ok".into(),
        conv_angle: None,
        conv_angle_predicted: None,
        conv_norm: None,
        conv_norm_predicted: None,
    }
}

/// `r` with equilibrium measurements: `angle` measured against `predicted` (`None`: no
/// prediction, as for Adam + coupled L2).
fn measured(mut r: EpochRecord, angle: f64, predicted: Option<f64>) -> EpochRecord {
    r.conv_angle = Some(angle);
    r.conv_angle_predicted = predicted;
    r.conv_norm = Some(r.weight_norm);
    r.conv_norm_predicted = predicted.map(|p| p * 100.0);
    r
}

/// Three arms over 6 epochs: a healthy one, a strongly decayed one whose norm collapses over
/// decades, and one that diverges in epoch 4 (NaN losses, infinite norm, then stops).
fn sweep() -> (RunInfo, Vec<EpochRecord>, Vec<ArmSummary>) {
    let mut records = Vec::new();
    for e in 1..=6 {
        let t = e as f64;
        // The weakly decayed arm turns far less than its equilibrium; the strong one sits at it.
        records.push(measured(
            record(
                "wd0.1-decoupled",
                0.1,
                "decoupled",
                e,
                2.4 / t,
                2.5 / t.sqrt(),
                0.2 + 0.1 * t,
                40.0 - t,
            ),
            1e-4 / t,
            Some(2e-3 / t.sqrt()),
        ));
        records.push(measured(
            record(
                "wd10-decoupled",
                10.0,
                "decoupled",
                e,
                2.45,
                2.46,
                0.12,
                40.0 * 10f64.powi(-(e as i32)),
            ),
            2e-2 / t.sqrt(),
            Some(2.2e-2 / t.sqrt()),
        ));
        if e <= 4 {
            let nan = e == 4;
            let row = record(
                "wd10-coupled",
                10.0,
                "coupled",
                e,
                if nan { f64::NAN } else { 2.0 - 0.1 * t },
                if nan { f64::NAN } else { 2.1 },
                if nan { f64::NAN } else { 0.1 * t },
                if nan { f64::INFINITY } else { 30.0 },
            );
            // Adam + coupled L2: measured, no prediction; the divergence row measured nothing.
            records.push(if nan { row } else { measured(row, 5e-3, None) });
        }
    }
    let arms = vec![
        ArmSummary::from_records(
            RunEnd {
                name: "wd0.1-decoupled".to_string(),
                key: RunKey {
                    mode: DecayMode::Decoupled,
                    wd: 0.1,
                    seed: None,
                },
                status: ArmStatus::Finished,
                decay_shrink: 0.9985,
                best_checkpoint: Some("checkpoints/wd0.1-decoupled/best.mpk".into()),
                final_checkpoint: Some("checkpoints/wd0.1-decoupled/final.mpk".into()),
            },
            &records,
        )
        .with_equilibrium_progress(0.0015),
        ArmSummary::from_records(
            RunEnd {
                name: "wd10-decoupled".to_string(),
                key: RunKey {
                    mode: DecayMode::Decoupled,
                    wd: 10.0,
                    seed: None,
                },
                status: ArmStatus::Finished,
                decay_shrink: 0.0,
                best_checkpoint: Some("checkpoints/wd10-decoupled/best.mpk".into()),
                final_checkpoint: Some("checkpoints/wd10-decoupled/final.mpk".into()),
            },
            &records,
        ),
        ArmSummary::from_records(
            RunEnd {
                name: "wd10-coupled".to_string(),
                key: RunKey {
                    mode: DecayMode::Coupled,
                    wd: 10.0,
                    seed: None,
                },
                status: ArmStatus::Diverged {
                    epoch: 4,
                    step: 317,
                },
                decay_shrink: 2.5e-7,
                best_checkpoint: Some("checkpoints/wd10-coupled/best.mpk".into()),
                final_checkpoint: None,
            },
            &records,
        ),
    ];
    let info = RunInfo {
        name: "files-test".into(),
        command: "seedlings train".into(),
        data: "built-in synthetic images".into(),
        synthetic: true,
        classes: vec!["a".into(), "b".into(), "c".into()],
        train_images: 300,
        valid_images: 60,
        skipped_files: vec![("x/broken.png".into(), "truncated".into())],
        data_warnings: Vec::new(),
        backend: "flex".into(),
        optimizer: "Adam".into(),
        block: "fused".into(),
        schedule: "linear decay".into(),
        epochs: 6,
        image_size: 32,
        batch_size: 16,
        lr: 3e-4,
        seed: 1,
        seeds: Vec::new(),
        planned_runs: 0,
        decay_rank_le_1: true,
        started: "2025-01-01T00:00:00Z".into(),
        seconds: 12.5,
        resumed: 0,
    };
    (info, records, arms)
}

/// Field-by-field equality that treats NaN as equal to NaN.
fn same(a: &EpochRecord, b: &EpochRecord) -> bool {
    let f = |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
    a.arm == b.arm
        && a.mode == b.mode
        && a.epoch == b.epoch
        && f(a.wd, b.wd)
        && f(a.lr, b.lr)
        && f(a.train_loss, b.train_loss)
        && f(a.valid_loss, b.valid_loss)
        && f(a.valid_accuracy, b.valid_accuracy)
        && f(a.valid_macro_f1, b.valid_macro_f1)
        && f(a.weight_norm, b.weight_norm)
        && f(a.seconds, b.seconds)
        && a.status == b.status
        && a.conv_angle.map(f64::to_bits) == b.conv_angle.map(f64::to_bits)
        && a.conv_angle_predicted.map(f64::to_bits) == b.conv_angle_predicted.map(f64::to_bits)
        && a.conv_norm.map(f64::to_bits) == b.conv_norm.map(f64::to_bits)
        && a.conv_norm_predicted.map(f64::to_bits) == b.conv_norm_predicted.map(f64::to_bits)
}

fn temp_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| is_temp_name(n))
        .collect()
}

#[test]
fn metrics_csv_round_trips_bit_for_bit() {
    let (_, mut records, _) = sweep();
    // Awkward values: a comma and a quote in a name, tiny and huge floats, all non-finite kinds.
    records.push(EpochRecord {
        arm: "odd, \"name\"".into(),
        wd: 1e-7,
        mode: DecayMode::Coupled,
        epoch: 1,
        lr: 0.1 + 0.2,
        train_loss: f64::NEG_INFINITY,
        valid_loss: 1e300,
        valid_accuracy: 5e-324,
        valid_macro_f1: -0.0,
        weight_norm: f64::INFINITY,
        seconds: f64::NAN,
        status: "diverged at step 7".into(),
        conv_angle: Some(1e-9 / 3.0),
        conv_angle_predicted: None,
        conv_norm: Some(f64::INFINITY),
        conv_norm_predicted: Some(0.1 + 0.7),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.csv");
    write_metrics_csv(&path, &records).unwrap();

    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().next().unwrap(), METRICS_HEADER.join(","));
    assert_eq!(
        text.lines().next().unwrap(),
        "arm,wd,mode,epoch,lr,train_loss,valid_loss,valid_accuracy,valid_macro_f1,weight_norm,seconds,status,conv_angle,conv_angle_predicted,conv_norm,conv_norm_predicted"
    );
    assert!(text.contains("wd10-coupled,10,coupled,4,"), "{text}");
    assert!(
        text.contains(",NaN,NaN,NaN,"),
        "NaN is written as NaN: {text}"
    );

    let back = read_metrics_csv(&path).unwrap();
    assert_eq!(back.len(), records.len());
    for (a, b) in records.iter().zip(&back) {
        assert!(same(a, b), "{a:?}\n!=\n{b:?}");
    }
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn reading_a_bad_or_missing_csv_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let err = read_metrics_csv(&missing).unwrap_err();
    assert!(matches!(err, ReportError::Read { .. }));
    assert!(err.to_string().contains("nope.csv"), "{err}");

    let bad = dir.path().join("metrics.csv");
    fs::write(&bad, "arm,wd,mode\nx,1,coupled\n").unwrap();
    let err = read_metrics_csv(&bad).unwrap_err().to_string();
    assert!(
        err.contains("metrics.csv") && err.contains("unexpected header"),
        "{err}"
    );

    let (_, records, _) = sweep();
    write_metrics_csv(&bad, &records[..2]).unwrap();
    let mut text = fs::read_to_string(&bad).unwrap();
    text.push_str("wd1-coupled,1,coupled,not-a-number,0,0,0,0,0,0,0\n");
    fs::write(&bad, text).unwrap();
    let err = read_metrics_csv(&bad).unwrap_err().to_string();
    assert!(err.contains("metrics.csv"), "{err}");
}

#[test]
fn summary_json_carries_every_field_a_reader_needs() {
    let (info, _, arms) = sweep();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.json");
    write_summary_json(&path, &info, &arms).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    // Floats are written with their shortest exact representation.
    assert!(
        text.contains(&format!("\"final_train_loss\": {:?}", 2.4f64 / 6.0)),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();

    assert_eq!(json["synthetic"], true);
    assert_eq!(json["run"]["name"], "files-test");
    assert_eq!(json["run"]["classes"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(
        json["run"]["skipped_files"][0],
        serde_json::json!(["x/broken.png", "truncated"])
    );
    assert_eq!(json["run"]["lr"], 3e-4);
    let a = json["arms"].as_array().unwrap();
    assert_eq!(a.len(), 3);

    let healthy = &a[0];
    assert_eq!(healthy["arm"], "wd0.1-decoupled");
    assert_eq!(healthy["wd"], 0.1);
    assert_eq!(healthy["mode"], "decoupled");
    assert_eq!(healthy["status"], "finished");
    assert!(
        healthy.get("diverged_at").is_none(),
        "only a diverged arm has diverged_at"
    );
    // serde_json's default float parser may be 1 ulp off; the text itself is exact (checked below).
    let num = |v: &serde_json::Value, want: f64| {
        let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
        assert!((got - want).abs() <= want.abs() * 1e-15, "{got} != {want}");
    };
    num(&healthy["best_valid_accuracy"], 0.2 + 0.1 * 6.0);
    assert_eq!(healthy["best_epoch"], 6);
    num(&healthy["final_train_loss"], 2.4 / 6.0);
    num(&healthy["final_valid_loss"], 2.5 / 6f64.sqrt());
    num(&healthy["train_valid_gap"], 2.5 / 6f64.sqrt() - 2.4 / 6.0);
    num(&healthy["decay_shrink"], 0.9985);
    num(&healthy["equilibrium_progress"], 0.0015);
    assert_eq!(healthy["final_weight_norm"], 34.0);
    assert_eq!(
        healthy["best_checkpoint"],
        "checkpoints/wd0.1-decoupled/best.mpk"
    );
    assert_eq!(
        healthy["final_checkpoint"],
        "checkpoints/wd0.1-decoupled/final.mpk"
    );
    assert_eq!(healthy["seconds"], 1.25 * 21.0);
    for arm in a {
        for key in ["best_checkpoint", "final_checkpoint"] {
            if let Some(p) = arm[key].as_str() {
                assert!(
                    Path::new(p).is_relative(),
                    "{key} must be relative to the run folder: {p}"
                );
            }
        }
    }

    let wiped = &a[1];
    assert_eq!(wiped["decay_shrink"], 0.0);

    let diverged = &a[2];
    assert_eq!(diverged["status"], "diverged");
    assert_eq!(
        diverged["diverged_at"],
        serde_json::json!({"epoch": 4, "step": 317})
    );
    assert!(
        diverged["final_train_loss"].is_null(),
        "NaN must be written as null"
    );
    assert!(
        diverged["final_weight_norm"].is_null(),
        "inf must be written as null"
    );
    assert!(diverged["train_valid_gap"].is_null());
    num(&diverged["best_valid_accuracy"], 0.1 * 3.0);
    assert_eq!(diverged["best_epoch"], 3);
    assert!(diverged["final_checkpoint"].is_null());
    assert_eq!(diverged["decay_shrink"], 2.5e-7);
    assert!(
        diverged["equilibrium_progress"].is_null(),
        "not given: NaN, written as null"
    );

    // And it reads back into the same summaries (null → NaN).
    let back: Vec<ArmSummary> = serde_json::from_value(json["arms"].clone()).unwrap();
    assert_eq!(
        back[2].status,
        ArmStatus::Diverged {
            epoch: 4,
            step: 317
        }
    );
    assert!(back[2].final_train_loss.is_nan());
    assert_eq!(back[0].equilibrium_progress, 0.0015);
    // A summary written before `equilibrium_progress` existed reads it as NaN.
    let mut old = json["arms"][0].clone();
    old.as_object_mut().unwrap().remove("equilibrium_progress");
    let old: ArmSummary = serde_json::from_value(old).unwrap();
    assert!(old.equilibrium_progress.is_nan());
    assert_eq!(old.decay_shrink, 0.9985);
    assert_eq!(back[0].best_checkpoint, arms[0].best_checkpoint);
    assert_eq!(back[0].status, arms[0].status);
    let info_back: RunInfo = serde_json::from_value(json["run"].clone()).unwrap();
    assert_eq!(info_back, info);
}

/// `summary.json`'s `run.decay_rank_le_1` was written as `decay_norm_and_bias` before the
/// setting's rename: such a summary still reads, with its value.
#[test]
fn a_summary_json_with_the_older_decay_norm_and_bias_reads_back() {
    let (info, _, arms) = sweep();
    assert!(info.decay_rank_le_1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.json");
    write_summary_json(&path, &info, &arms).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["run"]["decay_rank_le_1"], true);
    assert!(json["run"].get("decay_norm_and_bias").is_none());
    for value in [true, false] {
        let mut old = json["run"].clone();
        let run = old.as_object_mut().unwrap();
        run.remove("decay_rank_le_1");
        run.insert("decay_norm_and_bias".into(), value.into());
        let back: RunInfo = serde_json::from_value(old).unwrap();
        assert_eq!(
            back,
            RunInfo {
                decay_rank_le_1: value,
                ..info.clone()
            }
        );
    }
}

#[test]
fn plots_are_written_as_readable_png_and_svg() {
    let (_, records, _) = sweep();
    let dir = tempfile::tempdir().unwrap();
    let written = write_plots(dir.path(), &records, false).unwrap();
    assert_eq!(written.len(), 2 * PLOT_NAMES.len());
    for name in PLOT_NAMES {
        let png = dir.path().join(format!("{name}.png"));
        let svg = dir.path().join(format!("{name}.svg"));
        assert!(written.contains(&png) && written.contains(&svg));

        let img = image::open(&png)
            .unwrap_or_else(|e| panic!("{name}.png does not decode: {e}"))
            .to_rgb8();
        assert_eq!(img.dimensions(), PLOT_SIZE);
        // Not blank: plenty of non-white pixels, and the first arm's colour (tab10 blue) is used.
        let ink = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(
            ink > 5_000,
            "{name}.png looks empty ({ink} non-white pixels)"
        );
        let (r, g, b) = arm_rgb(0);
        assert!(
            img.pixels().any(|p| p.0 == [r, g, b]),
            "{name}.png lacks the first arm's colour"
        );

        let text = fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg"), "{name}.svg");
        for arm in ["wd0.1-decoupled", "wd10-decoupled", "wd10-coupled"] {
            assert!(text.contains(arm), "{name}.svg legend lacks {arm}");
        }
        assert!(text.contains("epoch"), "{name}.svg lacks the x-axis label");
    }
    let loss = fs::read_to_string(dir.path().join("loss.svg")).unwrap();
    assert!(loss.contains("train (solid)") && loss.contains("valid (dashed)"));
    assert!(
        loss.contains("2 non-finite values"),
        "the two NaN losses are counted, not plotted"
    );
    let norm = fs::read_to_string(dir.path().join("weight_norm.svg")).unwrap();
    assert!(
        norm.contains("log scale"),
        "the norm spans 7 decades: log axis"
    );
    assert!(norm.contains("1 non-finite value"));
    let acc = fs::read_to_string(dir.path().join("accuracy.svg")).unwrap();
    assert!(!acc.contains("log scale"));
    // The equilibrium chart: measured and predicted lines, on a log axis (the angles span two
    // decades), and the arm without a prediction and the divergence row's missing measurement
    // are not counted as skipped values.
    let eq = fs::read_to_string(dir.path().join("equilibrium.svg")).unwrap();
    assert!(eq.contains("measured (solid)") && eq.contains("equilibrium (dashed)"));
    assert!(
        eq.contains("log scale"),
        "angles from 1.7e-5 to 2e-2: log axis"
    );
    assert!(
        !eq.contains("non-finite"),
        "absent values are not skipped values"
    );
    assert!(!eq.contains("not measured"));
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn plots_without_any_finite_value_are_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let nan = record(
        "a",
        1.0,
        "coupled",
        1,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
    );
    let written = write_plots(dir.path(), &[nan], false).unwrap();
    assert_eq!(written.len(), 2 * PLOT_NAMES.len());
    let svg = fs::read_to_string(dir.path().join("loss.svg")).unwrap();
    assert!(svg.contains("no finite values to plot yet"));
    let svg = fs::read_to_string(dir.path().join("equilibrium.svg")).unwrap();
    assert!(
        svg.contains("not measured in this run"),
        "a row without measurements"
    );
    let written = write_plots(dir.path(), &[], false).unwrap();
    assert_eq!(written.len(), 2 * PLOT_NAMES.len());
    assert_eq!(image::open(&written[0]).unwrap().width(), PLOT_SIZE.0);
}

#[test]
fn write_run_writes_everything_and_can_be_repeated() {
    let (info, records, arms) = sweep();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("runs").join("files-test");
    let written = write_run(&dir, &info, &records, &arms).unwrap();
    // Again, as after every epoch: files are replaced whole.
    let again = write_run(&dir, &info, &records, &arms).unwrap();
    assert_eq!(written, again);
    assert_eq!(written.all().len(), 3 + 2 * PLOT_NAMES.len());
    for p in written.all() {
        assert!(
            p.is_file() && fs::metadata(p).unwrap().len() > 0,
            "{}",
            p.display()
        );
        assert_eq!(p.parent().unwrap(), dir);
    }
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "accuracy.png",
            "accuracy.svg",
            "equilibrium.png",
            "equilibrium.svg",
            "loss.png",
            "loss.svg",
            "metrics.csv",
            "report.md",
            "summary.json",
            "weight_norm.png",
            "weight_norm.svg"
        ]
    );
    let report = fs::read_to_string(&written.report_md).unwrap();
    assert!(report.contains("SYNTHETIC"));
    assert!(report.contains("](loss.png)"));
    assert_eq!(
        read_metrics_csv(&written.metrics_csv).unwrap().len(),
        records.len()
    );
}

#[test]
fn write_run_errors_name_the_file() {
    let (info, records, arms) = sweep();
    let root = tempfile::tempdir().unwrap();

    // The run folder's parent is a file.
    let blocker = root.path().join("not-a-folder");
    fs::write(&blocker, "x").unwrap();
    let err = write_run(&blocker.join("run"), &info, &records, &arms).unwrap_err();
    assert!(matches!(err, ReportError::Write { .. }));
    assert!(err.to_string().contains("not-a-folder"), "{err}");

    // summary.json cannot be replaced (a non-empty folder is in the way): the error names it,
    // metrics.csv before it was written, and no temporary file is left.
    let dir = root.path().join("run");
    fs::create_dir_all(dir.join("summary.json").join("inside")).unwrap();
    let err = write_run(&dir, &info, &records, &arms).unwrap_err();
    assert!(err.to_string().contains("summary.json"), "{err}");
    assert!(dir.join("metrics.csv").is_file());
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
}

#[test]
fn atomic_write_that_fails_leaves_the_old_file_intact_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();

    // The parent is a file: nothing can be created.
    let file = dir.path().join("plain");
    fs::write(&file, "x").unwrap();
    assert!(write_atomic(&file.join("out.csv"), b"data").is_err());
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");

    // An existing file whose name leaves no room for the temporary file's longer name
    // (".NAME.tmp-PID-N" exceeds the 255-byte limit): the write fails before touching it.
    let long = dir.path().join(format!("{}.csv", "m".repeat(246)));
    fs::write(&long, "old complete contents").unwrap();
    let err = write_atomic(&long, b"new").unwrap_err();
    assert_ne!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
    assert_eq!(fs::read_to_string(&long).unwrap(), "old complete contents");

    // A successful write replaces the file whole.
    let ok = dir.path().join("ok.txt");
    fs::write(&ok, "old").unwrap();
    write_atomic(&ok, b"new").unwrap();
    assert_eq!(fs::read_to_string(&ok).unwrap(), "new");

    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "no temporary file may be left: {names:?}");
    assert!(temp_files(dir.path()).is_empty());
}
