//! The run folder's report files of two fixed one-seed sweeps, byte for byte: `metrics.csv`,
//! `summary.json`, `report.md` and every chart (SVG compared as text, PNG by an FNV-1a hash of
//! its bytes) equal the files stored under `tests/fixtures/*/expected/`, which were rendered by
//! the program before `--seeds` existed. So a one-seed run writes what it always wrote.
//!
//! The fixtures' epoch records are `tests/fixtures/*/metrics.csv` (hand-written); their arm
//! summaries and run settings are below.

use std::path::{Path, PathBuf};

use seedlings::report::{
    ArmStatus, ArmSummary, RunEnd, RunInfo, RunKey, read_metrics_csv, write_run,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One arm of a fixture: its name, how it ended, its decay shrink and equilibrium progress.
struct Arm {
    name: &'static str,
    status: ArmStatus,
    shrink: f64,
    progress: f64,
}

fn info(name: &str, synthetic: bool, epochs: usize, wd: &str, modes: &str) -> RunInfo {
    RunInfo {
        name: name.into(),
        command: format!("seedlings --epochs {epochs} --wd {wd} --modes {modes} --out runs/{name}"),
        data: if synthetic {
            "built-in synthetic images (12 classes)".into()
        } else {
            "/data/plant-seedlings (12 classes)".into()
        },
        synthetic,
        classes: (0..12).map(|i| format!("class-{i}")).collect(),
        train_images: 96,
        valid_images: 60,
        skipped_files: vec![("train/Maize/broken.png".into(), "truncated".into())],
        backend: "flex".into(),
        optimizer: "Adam (β1 0.9, β2 0.99, ε 1e-5, fastai's defaults)".into(),
        block: "fused".into(),
        schedule:
            "one-cycle (fastai): 1.2e-4 → 3.0e-3 over the first 25% of steps, cosine down to 3.0e-8"
                .into(),
        epochs,
        image_size: 32,
        batch_size: 8,
        lr: 3e-3,
        seed: 42,
        decay_rank_le_1: false,
        started: "2025-01-01T00:00:00+00:00".into(),
        seconds: 123.4,
        ..RunInfo::default()
    }
}

/// Renders fixture `name` into a fresh folder with `write_run`.
fn render(name: &str, info: &RunInfo, arms: &[Arm]) -> tempfile::TempDir {
    let records = read_metrics_csv(&fixture(name).join("metrics.csv")).unwrap();
    let summaries: Vec<ArmSummary> = arms
        .iter()
        .map(|arm| {
            let first = records.iter().find(|r| r.arm == arm.name).unwrap();
            let finished = arm.status == ArmStatus::Finished;
            ArmSummary::from_records(
                RunEnd {
                    name: arm.name.to_string(),
                    key: RunKey {
                        mode: first.mode,
                        wd: first.wd,
                        seed: None,
                    },
                    status: arm.status.clone(),
                    decay_shrink: arm.shrink,
                    best_checkpoint: Some(format!("checkpoints/{}/best", arm.name)),
                    final_checkpoint: finished.then(|| format!("checkpoints/{}/last", arm.name)),
                },
                &records,
            )
            .with_equilibrium_progress(arm.progress)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), info, &records, &summaries).unwrap();
    dir
}

/// FNV-1a, 64 bits: a fixed hash of a file's bytes (std's hashers may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

const TEXT_FILES: [&str; 7] = [
    "metrics.csv",
    "summary.json",
    "report.md",
    "loss.svg",
    "accuracy.svg",
    "weight_norm.svg",
    "equilibrium.svg",
];

const PNGS: [&str; 4] = [
    "loss.png",
    "accuracy.png",
    "weight_norm.png",
    "equilibrium.png",
];

/// The text files equal the expected ones (`report.md` after `edit`), and the PNGs hash as
/// `expected/png.fnv1a` lists. With `SEEDLINGS_BLESS=1` the text files and the hashes are first
/// written as the expected ones (for a change of the report made on purpose: review `git diff`).
fn assert_same_files(name: &str, out: &Path, edit: impl Fn(String) -> String) {
    let expected = fixture(name).join("expected");
    let bless = std::env::var_os("SEEDLINGS_BLESS").is_some_and(|v| v == "1");
    for file in TEXT_FILES {
        let got = std::fs::read_to_string(out.join(file)).unwrap();
        let got = if file == "report.md" { edit(got) } else { got };
        if bless {
            std::fs::write(expected.join(file), &got).unwrap();
        }
        let want = std::fs::read_to_string(expected.join(file)).unwrap();
        assert!(
            got == want,
            "{name}/{file} differs from the expected file:\n{got}"
        );
    }
    if bless {
        let lines: Vec<String> = PNGS
            .iter()
            .map(|png| {
                format!(
                    "{png} {:016x}\n",
                    fnv1a(&std::fs::read(out.join(png)).unwrap())
                )
            })
            .collect();
        std::fs::write(expected.join("png.fnv1a"), lines.concat()).unwrap();
    }
    let hashes = std::fs::read_to_string(expected.join("png.fnv1a")).unwrap();
    for png in PNGS {
        let got = format!(
            "{png} {:016x}",
            fnv1a(&std::fs::read(out.join(png)).unwrap())
        );
        assert!(
            hashes.lines().any(|line| line == got),
            "{name}/{png}: `{got}` not in png.fnv1a:\n{hashes}"
        );
    }
}

fn one_seed_arms() -> Vec<Arm> {
    vec![
        Arm {
            name: "decoupled-wd0.01",
            status: ArmStatus::Finished,
            shrink: 0.99875,
            progress: 0.0125,
        },
        Arm {
            name: "decoupled-wd0.1",
            status: ArmStatus::Finished,
            shrink: 0.9875,
            progress: 0.125,
        },
        Arm {
            name: "decoupled-wd10",
            status: ArmStatus::Diverged { epoch: 3, step: 25 },
            shrink: 0.25,
            progress: 1.5,
        },
    ]
}

fn two_mode_arms() -> Vec<Arm> {
    let finished = |name, shrink, progress| Arm {
        name,
        status: ArmStatus::Finished,
        shrink,
        progress,
    };
    vec![
        finished("coupled-wd0.01", 0.99875, 0.0125),
        finished("coupled-wd0.1", 0.9875, 0.125),
        finished("decoupled-wd0.01", 0.99875, 0.0125),
        finished("decoupled-wd0.1", 0.9875, 0.125),
    ]
}

/// `report.md` without the decay-timescale finding (Wang & Aitchison's `τ_epoch` per decoupled
/// arm), which came after seeds: one line under "What the numbers say", asserted present.
fn without_timescale(text: String) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with("- Decay timescale (Wang & Aitchison 2025"))
        .expect("a decoupled arm ran: the timescale finding is there")
        .to_string();
    assert_eq!(text.matches(&line).count(), 1);
    text.replace(&format!("{line}\n"), "")
}

/// One mode, one seed (the default sweep's shape), a diverged arm among them: every file is
/// the one the program wrote before seeds existed, except `report.md`'s timescale finding.
#[test]
fn a_one_seed_sweep_writes_the_same_bytes_as_before_seeds() {
    let info = info("one-seed", true, 3, "0.01,0.1,10", "decoupled");
    let out = render("one_seed", &info, &one_seed_arms());
    assert_same_files("one_seed", out.path(), without_timescale);
}

/// Both modes, one seed: every file is the one written before seeds existed, except that
/// `report.md` gained the "Coupled vs decoupled" section (before "What the numbers say") and the
/// timescale finding; without them, `report.md` is the old one too.
#[test]
fn a_one_seed_sweep_of_both_modes_writes_the_same_bytes_as_before_seeds() {
    let info = info("two-modes", false, 2, "0.01,0.1", "coupled,decoupled");
    let out = render("two_modes", &info, &two_mode_arms());
    assert_same_files("two_modes", out.path(), |text| {
        let start = text
            .find("## Coupled vs decoupled\n\n")
            .expect("both modes ran: the comparison section is there");
        let end = text.find("## What the numbers say\n").unwrap();
        assert!(start < end);
        without_timescale(format!("{}{}", &text[..start], &text[end..]))
    });
}
