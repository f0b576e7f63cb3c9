//! The "Coupled vs decoupled" section of report.md, from fixed metric files under
//! `tests/fixtures/`: with one seed (`two_modes`, `comparison_tie`: the threshold rules), with
//! three seeds (`seeds`: the paired comparison), and absent when one mode ran (`one_seed`).

mod common;

use common::{fixture_info, fixture_runs};
use seedlings::report::findings::comparison_section;
use seedlings::report::render_report;

/// A table: its wd and its rows as `[metric, coupled, decoupled, difference, verdict]`.
type Table = (f64, Vec<[String; 5]>);

/// The section's caption, tables and sentences, of fixture `name`.
fn section(name: &str, seeds: Vec<u64>) -> (String, Vec<Table>, Vec<String>) {
    let (_, runs) = fixture_runs(name);
    let s = comparison_section(&fixture_info(seeds), &runs).expect("both modes ran");
    let tables = s
        .tables
        .iter()
        .map(|t| {
            let rows = t
                .rows
                .iter()
                .map(|r| {
                    [
                        r.metric.label().to_string(),
                        r.coupled.clone(),
                        r.decoupled.clone(),
                        r.difference.clone(),
                        r.verdict.clone(),
                    ]
                })
                .collect();
            (t.wd, rows)
        })
        .collect();
    let sentences = s.tables.iter().flat_map(|t| t.sentences.clone()).collect();
    (s.caption, tables, sentences)
}

fn row(cells: [&str; 5]) -> [String; 5] {
    cells.map(String::from)
}

#[test]
fn one_seed_both_modes_by_the_threshold_rules() {
    let (caption, tables, sentences) = section("two_modes", Vec::new());
    assert!(caption.starts_with("λ is the same number in both columns (fastai's wd; biases and batch-norm parameters are not decayed). **Adam + L2** is coupled decay: λ·w is added to the gradient before Adam, so Adam divides it by √v"), "{caption}");
    assert!(caption.contains("**AdamW** is decoupled decay: after Adam's step every decayed weight shrinks by w ← w − lr_t·λ·w, whatever its gradient"), "{caption}");
    assert!(caption.contains("accuracies at most 1.7 pp apart (one of the 60 validation images), and train losses at most 10% or weight norms at most 10% apart (larger ÷ smaller − 1), are a *tie*"), "{caption}");
    // coupled-wd0.01: loss 1.1, acc 65%, norm 26.25; decoupled-wd0.01: 0.9, 70%, 31.
    // coupled-wd0.1: 1.6, 50%, 8.25; decoupled-wd0.1: 0.95, 70.5%, 27.75.
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].0, 0.01);
    assert_eq!(
        tables[0].1,
        [
            row(["final train loss", "1.10", "0.900", "-0.200", "different"]),
            row([
                "best valid accuracy",
                "65.0%",
                "70.0%",
                "+5.0 pp",
                "different"
            ]),
            row([
                "final valid accuracy",
                "65.0%",
                "70.0%",
                "+5.0 pp",
                "different"
            ]),
            row(["final weight norm", "26.2", "31.0", "+4.75", "different"]),
        ]
    );
    assert_eq!(tables[1].0, 0.1);
    assert_eq!(
        tables[1].1[3],
        row(["final weight norm", "8.25", "27.8", "+19.5", "different"])
    );
    assert_eq!(
        sentences,
        [
            "At wd=0.01, Adam + L2 shrinks the weights more: its final weight norm 26.2 is 0.85× AdamW's 31.0 (more than the 10% this report treats as a tie).",
            "AdamW fits the training set better: its final train loss is 0.900, Adam + L2's 1.10 (1.2× as high; more than the 10% this report treats as a tie).",
            "Best valid accuracy differs: AdamW is ahead by 5.0 pp, 70.0% against 65.0% (more than the 1.7 pp (one of the 60 validation images) this report treats as a tie).",
            "Final valid accuracy differs: AdamW is ahead by 5.0 pp, 70.0% against 65.0% (more than the 1.7 pp (one of the 60 validation images) this report treats as a tie).",
            "At wd=0.1, Adam + L2 shrinks the weights more: its final weight norm 8.25 is 0.3× AdamW's 27.8 (more than the 10% this report treats as a tie).",
            "AdamW fits the training set better: its final train loss is 0.950, Adam + L2's 1.60 (1.7× as high; more than the 10% this report treats as a tie).",
            "Best valid accuracy differs: AdamW is ahead by 20.5 pp, 70.5% against 50.0% (more than the 1.7 pp (one of the 60 validation images) this report treats as a tie).",
            "Final valid accuracy differs: AdamW is ahead by 20.5 pp, 70.5% against 50.0% (more than the 1.7 pp (one of the 60 validation images) this report treats as a tie).",
        ]
    );
}

#[test]
fn one_seed_ties_within_the_thresholds() {
    // Losses 0.5 and 0.54 (8% apart), norms 10 and 10.5 (5%), accuracies 80.0% and 80.5%.
    let (_, tables, sentences) = section("comparison_tie", Vec::new());
    assert!(tables[0].1.iter().all(|r| r[4] == "tie"), "{tables:?}");
    assert_eq!(
        sentences,
        [
            "At wd=0.1, Adam + L2 and AdamW end with about the same weight norm, 10.0 and 10.5 (within the 10% this report treats as a tie).",
            "Adam + L2 and AdamW fit the training set about equally: final train loss 0.500 and 0.540 (within the 10% this report treats as a tie).",
            "Best valid accuracy does not differ: Adam + L2 80.0%, AdamW 80.5%, 0.5 pp apart (within the 1.7 pp (one of the 60 validation images) this report treats as a tie).",
            "Final valid accuracy does not differ: Adam + L2 80.0%, AdamW 80.5%, 0.5 pp apart (within the 1.7 pp (one of the 60 validation images) this report treats as a tie).",
        ]
    );
}

#[test]
fn three_seeds_by_the_paired_comparison() {
    let (caption, tables, sentences) = section("seeds", vec![42, 43, 44]);
    assert!(
        caption.contains("the verdict is *different* when that interval excludes 0, else *tie*"),
        "{caption}"
    );
    // At wd 0.01 every per-seed difference straddles 0: ties. At wd 0.1: best valid accuracy
    // decoupled 0.80, 0.82, 0.84 against coupled 0.785, 0.812, 0.828 (differences 0.015, 0.008,
    // 0.012: mean 1.17 pp, 95% interval 0.29–2.04 pp); train loss 0.40, 0.42, 0.44 against
    // 0.9, 1.0, 1.1 (differences −0.5, −0.58, −0.66: interval −0.779 to −0.381); weight norm
    // 20, 21, 22 against 5, 5.5, 6 (differences 15, 15.5, 16: interval 14.3–16.7).
    assert_eq!(tables.len(), 2);
    assert!(tables[0].1.iter().all(|r| r[4] == "tie"), "{tables:?}");
    assert_eq!(
        tables[1].1,
        [
            row([
                "final train loss",
                "1.00 ± 0.100 [0.752, 1.25]",
                "0.420 ± 0.0200 [0.370, 0.470]",
                "-0.580 [-0.779, -0.381]",
                "different"
            ]),
            row([
                "best valid accuracy",
                "80.8% ± 2.2 [75.4%, 86.2%]",
                "82.0% ± 2.0 [77.0%, 87.0%]",
                "+1.2 pp [0.3, 2.0]",
                "different"
            ]),
            row([
                "final valid accuracy",
                "80.8% ± 2.2 [75.4%, 86.2%]",
                "82.0% ± 2.0 [77.0%, 87.0%]",
                "+1.2 pp [0.3, 2.0]",
                "different"
            ]),
            row([
                "final weight norm",
                "5.50 ± 0.500 [4.26, 6.74]",
                "21.0 ± 1.00 [18.5, 23.5]",
                "+15.5 [14.3, 16.7]",
                "different"
            ]),
        ]
    );
    assert_eq!(
        sentences[4..],
        [
            "At wd=0.1, Adam + L2 shrinks the weights more: its mean final weight norm 5.50 is 0.26× AdamW's 21.0 (paired over 3 seeds: AdamW − Adam + L2 = +15.5, 95% interval [14.3, 16.7], which excludes 0).",
            "AdamW fits the training set better: its mean final train loss is 0.420, Adam + L2's 1.00 (2.4× as high; paired over 3 seeds: AdamW − Adam + L2 = -0.580, 95% interval [-0.779, -0.381], which excludes 0).",
            "Mean best valid accuracy differs: AdamW is ahead by 1.2 pp, 82.0% against 80.8% (paired over 3 seeds: AdamW − Adam + L2 = +1.2 pp, 95% interval [0.3, 2.0] pp, which excludes 0).",
            "Mean final valid accuracy differs: AdamW is ahead by 1.2 pp, 82.0% against 80.8% (paired over 3 seeds: AdamW − Adam + L2 = +1.2 pp, 95% interval [0.3, 2.0] pp, which excludes 0).",
        ]
    );
    // At wd 0.01: norms 23, 25.5, 26.5 against 24, 25, 26 (differences 1, −0.5, −0.5).
    assert!(
        sentences[0].starts_with("At wd=0.01, Adam + L2 and AdamW end with about the same mean weight norm, 25.0 and 25.0 (paired over 3 seeds: AdamW − Adam + L2 = 0, 95% interval [-2.15, 2.15], which includes 0)."),
        "{}",
        sentences[0]
    );
}

#[test]
fn the_section_is_in_the_report_with_both_modes_and_absent_with_one() {
    let (records, runs) = fixture_runs("seeds");
    let report = render_report(&fixture_info(vec![42, 43, 44]), &runs, &records);
    let at = |needle: &str| {
        report
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{report}"))
    };
    assert!(at("## Results") < at("## Seeds"));
    assert!(at("## Seeds") < at("## Coupled vs decoupled"));
    assert!(at("## Coupled vs decoupled") < at("### wd = 0.01"));
    assert!(at("### wd = 0.1\n") < at("## What the numbers say"));
    assert!(
        report.contains(
            "| | Adam + L2 (coupled) | AdamW (decoupled) | AdamW − Adam + L2 | verdict |\n"
        )
    );
    assert!(report.contains("| final weight norm | 5.50 ± 0.500 [4.26, 6.74] | 21.0 ± 1.00 [18.5, 23.5] | +15.5 [14.3, 16.7] | different |\n"));

    let (records, runs) = fixture_runs("one_seed");
    let info = fixture_info(Vec::new());
    assert!(comparison_section(&info, &runs).is_none());
    let report = render_report(&info, &runs, &records);
    assert!(!report.contains("Coupled vs decoupled"), "{report}");
    assert!(!report.contains("## Seeds"), "{report}");
}
