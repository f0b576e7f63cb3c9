//! [`Chart`]: one chart of the report, its names and what it plots ([`Series`]) on which
//! y-axis scale ([`YScale`]). The list of charts is [`CHARTS`](super::CHARTS); what a chart
//! draws from the records is `charts.rs`, how the values set its axes is `spec.rs`.

/// One chart of the report: the names the files and `report.md` use for it, and how it is
/// drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chart {
    /// The file stem: the chart is written as `STEM.png` and `STEM.svg`.
    pub stem: &'static str,
    /// The title drawn above the plot.
    pub title: &'static str,
    /// The alt text of the chart's image in `report.md`.
    pub alt: &'static str,
    /// What the y-axis shows (the x-axis is always the epoch).
    pub y_desc: &'static str,
    /// When the y-axis is logarithmic.
    pub(super) scale: YScale,
    /// What it plots.
    pub(super) series: Series,
}

impl Chart {
    /// The PNG's file name, `STEM.png`: the file written and the image `report.md` shows.
    pub fn png(&self) -> String {
        format!("{}.png", self.stem)
    }

    /// The SVG's file name, `STEM.svg`: the file written and the link `report.md` gives.
    pub fn svg(&self) -> String {
        format!("{}.svg", self.stem)
    }
}

/// What a chart plots, per arm and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Series {
    /// Train loss (solid) and valid loss (dashed).
    Loss,
    /// Valid accuracy, in percent.
    Accuracy,
    /// The weight norm.
    WeightNorm,
    /// The conv weights' angle per step, measured (solid) and predicted (dashed).
    Equilibrium,
}

/// When the y-axis is logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum YScale {
    /// Always linear, with the axis clamped to this range (e.g. 0–100 %).
    Linear { clamp: (f64, f64) },
    /// Logarithmic when the largest positive value over the smallest exceeds this ratio.
    LogAbove(f64),
}
