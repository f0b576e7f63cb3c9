//! A sweep with three seeds per arm, from the fixed metric file `tests/fixtures/seeds/`
//! (decoupled and coupled × wd 0.01 and 0.1 × seeds 42, 43, 44, 2 epochs each): the report's
//! seed statistics and paired comparisons, the ranking sentences, `summary.json`'s new fields,
//! and the charts' mean lines with their bands. The expected numbers are worked out in the
//! comments from the fixture's values.

mod common;

use common::{fixture_info, fixture_runs};
use seedlings::report::seeds::mean_records;
use seedlings::report::{ArmStatus, findings, render_report, write_plots, write_summary_json};

fn has(sentences: &[String], expected: &str) {
    assert!(
        sentences.iter().any(|s| s == expected),
        "no sentence\n{expected}\nin\n{}",
        sentences.join("\n")
    );
}

#[test]
fn ranking_and_mode_sentences_come_from_paired_comparisons() {
    let (records, runs) = fixture_runs("seeds");
    let s = findings(&fixture_info(vec![42, 43, 44]), &runs, &records);
    assert_eq!(
        s[1],
        "Seeds rule used here: every arm ran with 3 seeds (42, 43 and 44); an arm's numbers below are means over its finished runs, and two arms are a tie or different by a paired comparison over the seeds both finished: different when the 95% interval of the mean per-seed difference (Student's t, n − 1 degrees of freedom) excludes 0, a tie when it includes 0."
    );
    // Decoupled best valid accuracy: wd 0.1 0.80, 0.82, 0.84 (mean 82.0%, sd 2.0 pp, interval
    // ±4.97 pp); wd 0.01 0.81, 0.80, 0.845 (81.8%). Differences wd 0.1 − wd 0.01: −0.01, 0.02,
    // −0.005: mean 0.17 pp, sd 1.61 pp, interval 0.17 ± 3.99 pp: a tie.
    has(
        &s,
        "Decoupled: by mean best valid accuracy over seeds, wd=0.1 ranks first (82.0% ± 2.0 [77.0%, 87.0%]). Paired over seeds: wd=0.01 (81.8%) is a tie with it: difference 0.2 pp, 95% interval [-3.8, 4.2] pp, which includes 0 (3 seeds).",
    );
    // Coupled: wd 0.01 0.82, 0.79, 0.85 (82.0% ± 3.0); wd 0.1 0.785, 0.812, 0.828 (80.8%).
    // Differences 0.035, −0.022, 0.022: mean 1.17 pp, interval −6.25 to 8.59 pp.
    has(
        &s,
        "Coupled: by mean best valid accuracy over seeds, wd=0.01 ranks first (82.0% ± 3.0 [74.5%, 89.5%]). Paired over seeds: wd=0.1 (80.8%) is a tie with it: difference 1.2 pp, 95% interval [-6.3, 8.6] pp, which includes 0 (3 seeds).",
    );
    // At wd 0.1 the unpaired intervals overlap (77.0–87.0% against 75.4–86.2%), but the
    // differences 0.015, 0.008, 0.012 give 1.17 pp, interval 0.29–2.04 pp: different.
    has(
        &s,
        "At wd=0.1, paired over 3 seeds, decoupled's mean best valid accuracy was 82.0% and coupled's 80.8%: different, decoupled ahead by 1.2 percentage points (95% interval [0.3, 2.0] pp, which excludes 0). Mean final train loss 0.420 decoupled vs 1.00 coupled; decay shrink 9.88e-1 vs 9.88e-1.",
    );
    // At wd 0.01: differences −0.01, 0.01, −0.005: −0.17 pp, interval −2.75 to 2.42 pp.
    has(
        &s,
        "At wd=0.01, paired over 3 seeds, decoupled's mean best valid accuracy was 81.8% and coupled's 82.0%: a tie (difference -0.2 pp, 95% interval [-2.8, 2.4] pp, which includes 0). Mean final train loss 0.413 decoupled vs 0.413 coupled; decay shrink 9.99e-1 vs 9.99e-1.",
    );
    // The fit rule reads the means: coupled wd 0.1 ends at 1.00, 2.4× coupled wd 0.01's 0.413.
    has(
        &s,
        "Coupled: the largest decay, wd=0.1, did not fit the training data: final train loss 1.00 (2.4× the 0.413 of the best arm wd=0.01; below the chance threshold 2.24).",
    );
    has(&s, "No arm diverged, failed or was interrupted.");
}

#[test]
fn the_seeds_section_gives_every_arm_its_statistics() {
    let (records, runs) = fixture_runs("seeds");
    let report = render_report(&fixture_info(vec![42, 43, 44]), &runs, &records);
    for line in [
        "4 arms × 3 seeds = 12 runs, up to 2 epochs each.",
        "| seeds | 42, 43, 44 (--seed 42 + k: initial weights, data order and augmentation of each run; the train/valid split from 42 for every run) |",
        "Every arm ran with 3 seeds: 42, 43 and 44 (seed_k = --seed + k).",
        "| decoupled-wd0.1 | 0.1 | decoupled | 3 of 3 | 0.420 ± 0.0200 [0.370, 0.470] | 82.0% ± 2.0 [77.0%, 87.0%] | 82.0% ± 2.0 [77.0%, 87.0%] | 21.0 ± 1.00 [18.5, 23.5] |",
        "| decoupled-wd0.01 | decoupled-wd0.1 | 3 | -0.2 pp [-4.2, 3.8] | tie |",
        "| coupled-wd0.01 | coupled-wd0.1 | 3 | +1.2 pp [-6.3, 8.6] | tie |",
        "the shaded band around a solid line spans the lowest to the highest of those runs (min–max, not a confidence interval)",
        "| decoupled-wd0.1-seed43 | 0.1 | decoupled | finished | 82.0% (2) |",
    ] {
        assert!(report.contains(line), "no {line:?} in\n{report}");
    }
}

#[test]
fn a_run_that_did_not_finish_is_left_out_of_its_arms_statistics() {
    let (records, mut runs) = fixture_runs("seeds");
    // coupled-wd0.1-seed43 diverged: coupled wd 0.1 keeps seeds 42 and 44 (0.785, 0.828).
    assert_eq!(runs[7].arm, "coupled-wd0.1-seed43");
    runs[7].status = ArmStatus::Diverged { epoch: 2, step: 9 };
    let info = fixture_info(vec![42, 43, 44]);
    let report = render_report(&info, &runs, &records);
    assert!(
        report.contains("| coupled-wd0.1 | 0.1 | coupled | 2 of 3 |"),
        "{report}"
    );
    let s = findings(&info, &runs, &records);
    has(
        &s,
        "wd=0.1 coupled seed 43 diverged at epoch 2, step 9 (a loss or weight became non-finite); its numbers come from the 2 epochs it recorded.",
    );
    assert!(
        s.iter().any(|s| s.starts_with("At wd=0.1, paired over 2 seeds, decoupled's mean best valid accuracy was 82.0% and coupled's 80.7%")),
        "{}",
        s.join("\n")
    );
}

#[test]
fn a_report_written_while_runs_are_still_to_start_counts_the_planned_ones() {
    // The fixture's first 6 runs, in run order (seed 42's four arms, then seed 43's decoupled
    // wd 0.01 and wd 0.1, the last still running), of a planned 18: the header counts the
    // planned arms and runs, not the 4 arms seen so far, and an arm's finished runs are out of
    // its 3 seeds.
    let (mut records, mut runs) = fixture_runs("seeds");
    runs.truncate(6);
    assert_eq!(runs[5].arm, "decoupled-wd0.1-seed43");
    runs[5].status = ArmStatus::Running;
    records.retain(|r| runs.iter().any(|run| run.arm == r.arm));
    let mut info = fixture_info(vec![42, 43, 44]);
    info.planned_runs = 18;
    let report = render_report(&info, &runs, &records);
    for line in [
        "6 arms × 3 seeds (6 of 18 runs so far), up to 2 epochs each.",
        "| decoupled-wd0.01 | 0.01 | decoupled | 2 of 3 |",
        "| decoupled-wd0.1 | 0.1 | decoupled | 1 of 3 |",
        "| coupled-wd0.1 | 0.1 | coupled | 1 of 3 |",
    ] {
        assert!(report.contains(line), "no {line:?} in\n{report}");
    }
    // Without the plan (a summary.json of an older version): the arms seen so far.
    info.planned_runs = 0;
    let report = render_report(&info, &runs, &records);
    assert!(
        report.contains("4 arms × 3 seeds (6 of 12 runs so far)"),
        "{report}"
    );
}

#[test]
fn summary_json_lists_each_arms_statistics_and_the_paired_comparisons() {
    let (_, runs) = fixture_runs("seeds");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.json");
    write_summary_json(&path, &fixture_info(vec![42, 43, 44]), &runs).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["run"]["seeds"], serde_json::json!([42, 43, 44]));
    assert_eq!(json["arms"].as_array().unwrap().len(), 12);
    assert_eq!(json["arms"][4]["arm"], "decoupled-wd0.01-seed43");
    assert_eq!(json["arms"][4]["seed"], 43);

    let stats = json["arm_statistics"].as_array().unwrap();
    assert_eq!(stats.len(), 4);
    let d = &stats[1];
    assert_eq!(d["arm"], "decoupled-wd0.1");
    assert_eq!(d["seeds"], serde_json::json!([42, 43, 44]));
    assert_eq!(
        d["runs"],
        serde_json::json!([
            "decoupled-wd0.1-seed42",
            "decoupled-wd0.1-seed43",
            "decoupled-wd0.1-seed44"
        ])
    );
    assert_eq!(d["finished_runs"], 3);
    let acc = &d["best_valid_accuracy"];
    let close = |v: &serde_json::Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-6;
    assert_eq!(acc["n"], 3);
    assert!(
        close(&acc["mean"], 0.82) && close(&acc["sd"], 0.02),
        "{acc}"
    );
    assert!(
        close(&acc["ci95_low"], 0.770317) && close(&acc["ci95_high"], 0.869683),
        "{acc}"
    );
    assert!(close(&d["final_weight_norm"]["mean"], 21.0));

    let pairs = json["paired_comparisons"].as_array().unwrap();
    // 2 within the modes, then 2 wd × 4 metrics across them.
    assert_eq!(pairs.len(), 10);
    assert_eq!(
        (&pairs[0]["a"], &pairs[0]["b"], &pairs[0]["verdict"]),
        (
            &"decoupled-wd0.01".into(),
            &"decoupled-wd0.1".into(),
            &"tie".into()
        )
    );
    let across = pairs
        .iter()
        .find(|p| {
            p["a"] == "decoupled-wd0.1"
                && p["b"] == "coupled-wd0.1"
                && p["metric"] == "best_valid_accuracy"
        })
        .unwrap();
    assert_eq!(across["verdict"], "different");
    assert_eq!(across["seeds"], serde_json::json!([42, 43, 44]));
    assert!(
        close(&across["mean_difference"], 0.011667) && close(&across["sd_difference"], 0.003512)
    );
    assert!(close(&across["ci95_low"], 0.002943) && close(&across["ci95_high"], 0.020391));
}

#[test]
fn charts_draw_each_arms_mean_with_a_min_max_band() {
    let (records, _) = fixture_runs("seeds");
    // The mean curve of decoupled wd 0.1: epoch 2 accuracy (0.80 + 0.82 + 0.84) / 3.
    let means = mean_records(&records);
    assert_eq!(means.len(), 8, "4 arms × 2 epochs");
    assert_eq!(
        (means[3].arm.as_str(), means[3].epoch),
        ("decoupled-wd0.1", 2)
    );
    assert!((means[3].valid_accuracy - 0.82).abs() < 1e-12);
    let dir = tempfile::tempdir().unwrap();
    write_plots(dir.path(), &records, true).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("accuracy.svg")).unwrap();
    assert!(svg.contains("band: min–max over seeds") && svg.contains("lines: mean over seeds"));
    assert!(svg.contains("<polygon"), "the bands are drawn");
    // The legend names arms, not runs.
    assert!(
        svg.contains("\ndecoupled-wd0.1\n") && !svg.contains("seed42"),
        "{svg}"
    );
}
