//! Charts of a sweep, as PNG (for the report and quick looks) and SVG (for zooming and papers).
//!
//! The charts are [`CHARTS`]; that list names their files and their images in `report.md`.
//! Each arm keeps one colour on every chart (arms in order of first appearance in the records).
//! Non-finite values are skipped, not plotted, and a line is broken where they are rather than
//! drawn across; on a log axis values ≤ 0 are skipped the same way. The legend sits beside the
//! plot, never over the curves, and says how many values were skipped.
//!
//! With several seeds per arm (the report says so, see [`write_plots`]) each arm is one
//! line, its mean over the runs that completed the epoch ([`mean_records`](super::seeds::mean_records)),
//! and its solid series is shaded from the lowest to the highest run (min–max); the legend says
//! so. With one seed nothing of this is drawn and the charts are what they were.
//!
//! - `charts.rs`: the list of charts, the palette, and what each chart plots from the records;
//! - `spec.rs`: one chart's lines and legend, and the axis ranges and scale they call for;
//! - `draw.rs`: drawing a chart with plotters and encoding it as PNG and SVG;
//! - `text.rs`: the embedded font, and the wrapper backend that draws PNG text correctly.

mod chart;
mod charts;
mod draw;
mod spec;
mod text;

use std::path::{Path, PathBuf};

pub use chart::Chart;
pub use charts::{ACCURACY, CHARTS, EQUILIBRIUM, LOSS, WEIGHT_NORM, arm_order, arm_rgb};

use super::{ReportError, Result};
use crate::records::EpochRecord;
use crate::run::atomic::write_atomic;
use charts::chart_specs;
use draw::{render_png, render_svg};

/// Width and height of every chart in pixels.
pub const PLOT_SIZE: (u32, u32) = (1100, 640);

/// The chart names (file stems) [`write_plots`] writes, each as `.png` and `.svg`: the stems of
/// [`CHARTS`], in order.
pub const PLOT_NAMES: [&str; CHARTS.len()] = {
    let mut names = [""; CHARTS.len()];
    let mut i = 0;
    while i < CHARTS.len() {
        names[i] = CHARTS[i].stem;
        i += 1;
    }
    names
};

/// Writes the [`CHARTS`] of `records` into `dir`, each as PNG ([`PLOT_SIZE`] pixels) and SVG,
/// atomically. Returns the paths written, PNG before SVG.
///
/// `seeded` says whether the records are those of a sweep with several seeds per arm (each
/// arm drawn as its mean with a min–max band) or one; the report decides it once
/// ([`ReportPlan::seeded`](super::seeds::ReportPlan::seeded)), so that the charts never
/// disagree with the page that shows them (e.g. while only the first seed's runs have rows).
///
/// With no drawable value a chart still gets written, saying so, so that links in the report
/// never break.
pub fn write_plots(dir: &Path, records: &[EpochRecord], seeded: bool) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for spec in chart_specs(records, seeded) {
        let png_path = dir.join(spec.chart.png());
        let png = render_png(&spec).map_err(|message| ReportError::Format {
            path: png_path.clone(),
            message,
        })?;
        write_atomic(&png_path, &png).map_err(|source| ReportError::write(&png_path, source))?;
        written.push(png_path);

        let svg_path = dir.join(spec.chart.svg());
        let svg = render_svg(&spec).map_err(|message| ReportError::Format {
            path: svg_path.clone(),
            message,
        })?;
        write_atomic(&svg_path, svg.as_bytes())
            .map_err(|source| ReportError::write(&svg_path, source))?;
        written.push(svg_path);
    }
    Ok(written)
}
