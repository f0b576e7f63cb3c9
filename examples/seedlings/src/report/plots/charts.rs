//! The list of charts, and what each one plots from the epoch records.
//!
//! [`CHARTS`] is the one place a chart is named: [`write_plots`](super::write_plots) writes
//! `STEM.png` and `STEM.svg` for each entry, in order, and `report.md` links the PNGs with the
//! entry's alt text and lists the SVGs. This file also holds the palette: each arm keeps one
//! colour on every chart, arms in order of first appearance in the records.

use std::borrow::Cow;

use burn_weight_decay::DecayMode;
use plotters::prelude::*;

use super::chart::{Chart, Series, YScale};
use super::spec::{Band, ChartSpec, LegendEntry, Line};
use crate::records::EpochRecord;
use crate::report::seeds::{epochs_by_arm, mean_records};

/// The charts, in the order they are written and shown in `report.md`.
pub const CHARTS: [Chart; 4] = [LOSS, ACCURACY, WEIGHT_NORM, EQUILIBRIUM];

/// Training loss (solid) and validation loss (dashed) per arm, all arms on one chart; log
/// y-axis when the plotted values span more than two decades.
pub const LOSS: Chart = Chart {
    stem: "loss",
    title: "Loss per epoch: train solid, valid dashed",
    alt: "Training loss (solid) and validation loss (dashed) per epoch",
    y_desc: "cross-entropy loss",
    scale: YScale::LogAbove(100.0),
    series: Series::Loss,
};

/// Validation accuracy per arm, in percent.
pub const ACCURACY: Chart = Chart {
    stem: "accuracy",
    title: "Validation accuracy per epoch",
    alt: "Validation accuracy per epoch",
    y_desc: "valid accuracy (%)",
    scale: YScale::Linear {
        clamp: (0.0, 100.0),
    },
    series: Series::Accuracy,
};

/// The weight norm per arm; log y-axis when it spans more than one decade (a narrower log
/// axis would have no labelled tick at all).
pub const WEIGHT_NORM: Chart = Chart {
    stem: "weight_norm",
    title: "Weight norm per epoch",
    alt: "Weight norm per epoch",
    y_desc: "weight norm (L2)",
    scale: YScale::LogAbove(10.0),
    series: Series::WeightNorm,
};

/// The angle one step turns the conv weights by, measured (solid) and as the rotational
/// equilibrium predicts (dashed), per arm and epoch; log y-axis above one decade. Epochs
/// without a measurement (files from before it) or without a prediction (Adam + coupled L2)
/// have no point there, and are not counted as skipped; with no measurement at all the chart
/// says "not measured".
pub const EQUILIBRIUM: Chart = Chart {
    stem: "equilibrium",
    title: "Angle per step of the conv weights: measured solid, equilibrium dashed",
    alt: "Angle per step of the conv weights, measured (solid) and as rotational equilibrium \
          predicts (dashed)",
    y_desc: "angle per step (radians)",
    scale: YScale::LogAbove(10.0),
    series: Series::Equilibrium,
};

/// What a chart says when it has nothing to draw yet.
pub(super) const NOTHING_YET: &str = "no finite values to plot yet";

/// Ten distinct colours (Matplotlib's "tab10"), cycled past ten arms.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour `(r, g, b)` of the `index`-th arm (in order of first appearance, see
/// [`arm_order`]), the same on every chart.
pub fn arm_rgb(index: usize) -> (u8, u8, u8) {
    let RGBColor(r, g, b) = arm_color(index);
    (r, g, b)
}

pub(super) fn arm_color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// The arms in `records`, in order of first appearance: the order of colours and legends.
pub fn arm_order(records: &[EpochRecord]) -> Vec<&str> {
    let mut arms: Vec<&str> = Vec::new();
    for r in records {
        if !arms.contains(&r.arm.as_str()) {
            arms.push(&r.arm);
        }
    }
    arms
}

/// What the legend of a seeded chart says about its lines and bands.
const SEEDED_NOTE: [&str; 2] = ["lines: mean over seeds", "band: min–max over seeds"];

/// Per arm (in [`epochs_by_arm`]'s order, the order of the mean curves) and epoch, the lowest
/// and the highest finite `value` of the arm's runs.
fn bands(records: &[EpochRecord], value: fn(&EpochRecord) -> Option<f64>) -> Vec<Band> {
    epochs_by_arm(records)
        .iter()
        .enumerate()
        .map(|(i, arm)| Band {
            color: arm_color(i),
            points: arm
                .epochs
                .iter()
                .filter_map(|(&epoch, rows)| {
                    let values = rows
                        .iter()
                        .filter_map(|r| value(r))
                        .filter(|v| v.is_finite());
                    let (lo, hi) = values
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                            (lo.min(v), hi.max(v))
                        });
                    (lo <= hi).then_some((epoch as f64, lo, hi))
                })
                .collect(),
        })
        .collect()
}

/// What a chart draws for each arm: one line per arm, and with several seeds per arm a band
/// spanning the arm's runs under its solid line.
struct Curves<'a> {
    /// The rows the lines are drawn from, one line per `arm`: the runs' own rows with one seed
    /// per arm (an arm is its one run), each arm's mean curve ([`mean_records`]) with several.
    lines: Cow<'a, [EpochRecord]>,
    /// The rows the bands span (every run's), with several seeds per arm; `None` with one.
    spread: Option<&'a [EpochRecord]>,
}

impl<'a> Curves<'a> {
    /// The curves of `records`, of a sweep with several seeds per arm when `seeded` (which the
    /// caller knows from the run's settings or its summaries; nothing here reads it from a
    /// name).
    fn of(records: &'a [EpochRecord], seeded: bool) -> Self {
        if seeded {
            Self {
                lines: Cow::Owned(mean_records(records)),
                spread: Some(records),
            }
        } else {
            Self {
                lines: Cow::Borrowed(records),
                spread: None,
            }
        }
    }

    /// The bands of `value`: none with one seed per arm.
    fn bands(&self, value: fn(&EpochRecord) -> Option<f64>) -> Vec<Band> {
        self.spread.map_or_else(Vec::new, |all| bands(all, value))
    }

    /// What the legend says about lines and bands: nothing with one seed per arm.
    fn note(&self) -> Vec<&'static str> {
        self.spread.map_or_else(Vec::new, |_| SEEDED_NOTE.to_vec())
    }
}

/// The specification of each of [`CHARTS`], in order, drawn from the records: one path for
/// one seed per arm and several ([`Curves`]); with several seeds each arm's line is its mean
/// curve and its solid series gets a band spanning its runs.
pub(super) fn chart_specs(all_records: &[EpochRecord], seeded: bool) -> Vec<ChartSpec> {
    let curves = Curves::of(all_records, seeded);
    let records: &[EpochRecord] = &curves.lines;
    let band = |value: fn(&EpochRecord) -> Option<f64>| curves.bands(value);
    let arms = arm_order(records);
    // With both modes, coupled arms' lines carry circles: same-colour pairs stay apart.
    let mode_of = |arm: &str| records.iter().find(|r| r.arm == arm).map(|r| r.mode);
    let both_modes = arms.iter().any(|a| mode_of(a) == Some(DecayMode::Coupled))
        && arms
            .iter()
            .any(|a| mode_of(a) == Some(DecayMode::Decoupled));
    let marked = |arm: &str| both_modes && mode_of(arm) == Some(DecayMode::Coupled);
    let series = |arm: &str, value: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = records
            .iter()
            .filter(|r| r.arm == arm)
            .map(|r| (r.epoch as f64, value(r)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    };
    let arm_legend = || -> Vec<LegendEntry> {
        arms.iter()
            .enumerate()
            .map(|(i, arm)| LegendEntry {
                label: (*arm).to_string(),
                color: arm_color(i),
                dashed: false,
                marked: marked(arm),
            })
            .collect()
    };
    // Epochs where `value` is `None` (not measured) are left out rather than plotted as gaps.
    let measured = |arm: &str, value: fn(&EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = records
            .iter()
            .filter(|r| r.arm == arm)
            .filter_map(|r| Some((r.epoch as f64, value(r)?)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    };
    let per_arm_measured = |value: fn(&EpochRecord) -> Option<f64>, dashed: bool| -> Vec<Line> {
        arms.iter()
            .enumerate()
            .map(|(i, arm)| Line {
                color: arm_color(i),
                dashed,
                marked: marked(arm),
                points: measured(arm, value),
            })
            .collect()
    };
    let per_arm = |value: fn(&EpochRecord) -> f64, dashed: bool| -> Vec<Line> {
        arms.iter()
            .enumerate()
            .map(|(i, arm)| Line {
                color: arm_color(i),
                dashed,
                marked: marked(arm),
                points: series(arm, value),
            })
            .collect()
    };

    CHARTS
        .iter()
        .map(|&chart| {
            let (lines, legend, empty, bands) = match chart.series {
                Series::Loss => {
                    let mut lines = per_arm(|r| r.train_loss, false);
                    lines.extend(per_arm(|r| r.valid_loss, true));
                    let mut legend = arm_legend();
                    legend.extend(style_legend("train (solid)", "valid (dashed)"));
                    (lines, legend, NOTHING_YET, band(|r| Some(r.train_loss)))
                }
                Series::Accuracy => (
                    per_arm(|r| r.valid_accuracy * 100.0, false),
                    arm_legend(),
                    NOTHING_YET,
                    band(|r| Some(r.valid_accuracy * 100.0)),
                ),
                Series::WeightNorm => (
                    per_arm(|r| r.weight_norm, false),
                    arm_legend(),
                    NOTHING_YET,
                    band(|r| Some(r.weight_norm)),
                ),
                Series::Equilibrium => {
                    let mut lines = per_arm_measured(|r| r.conv_angle, false);
                    lines.extend(per_arm_measured(|r| r.conv_angle_predicted, true));
                    let mut legend = arm_legend();
                    legend.extend(style_legend("measured (solid)", "equilibrium (dashed)"));
                    let empty = if records.iter().any(|r| r.conv_angle.is_some()) {
                        NOTHING_YET
                    } else {
                        "not measured in this run"
                    };
                    (lines, legend, empty, band(|r| r.conv_angle))
                }
            };
            ChartSpec {
                chart,
                lines,
                bands,
                legend,
                note: curves.note(),
                empty,
            }
        })
        .collect()
}

/// The two black legend rows that say which line style is which.
fn style_legend(solid: &str, dashed: &str) -> [LegendEntry; 2] {
    [
        LegendEntry {
            label: solid.into(),
            color: BLACK,
            dashed: false,
            marked: false,
        },
        LegendEntry {
            label: dashed.into(),
            color: BLACK,
            dashed: true,
            marked: false,
        },
    ]
}
