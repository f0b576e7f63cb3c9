//! What one chart draws, independent of the backend: its lines and legend, and the axis ranges
//! and scale (linear or logarithmic) that follow from the values.

use std::ops::Range;

use plotters::style::RGBColor;

use super::chart::{Chart, YScale};

/// One polyline of a chart.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub(super) color: RGBColor,
    pub(super) dashed: bool,
    /// A hollow circle at every point: the coupled arms of a sweep of both modes, so that a
    /// coupled and a decoupled line drawn on top of each other stay apart.
    pub(super) marked: bool,
    /// `(epoch, value)`, in epoch order; may hold non-finite values.
    pub(super) points: Vec<(f64, f64)>,
}

/// A shaded band of a chart: per epoch the lowest and the highest value of an arm's runs.
#[derive(Debug, Clone)]
pub(super) struct Band {
    pub(super) color: RGBColor,
    /// `(epoch, low, high)`, in epoch order.
    pub(super) points: Vec<(f64, f64, f64)>,
}

/// A legend row.
#[derive(Debug, Clone)]
pub(super) struct LegendEntry {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) dashed: bool,
    /// Its sample line carries the hollow circle of [`Line::marked`].
    pub(super) marked: bool,
}

/// Everything needed to draw one chart on any backend.
#[derive(Debug, Clone)]
pub(super) struct ChartSpec {
    /// Which chart: its title, axis and scale rule.
    pub(super) chart: Chart,
    pub(super) lines: Vec<Line>,
    /// Shaded bands, drawn under the lines (with several seeds per arm; else none).
    pub(super) bands: Vec<Band>,
    pub(super) legend: Vec<LegendEntry>,
    /// Lines of text under the legend saying what the lines and bands are (none with one seed).
    pub(super) note: Vec<&'static str>,
    /// What the chart says when it has nothing to draw.
    pub(super) empty: &'static str,
}

impl ChartSpec {
    /// Whether a value can be drawn on an axis that is (`log`) logarithmic.
    pub(super) fn drawable(v: f64, log: bool) -> bool {
        v.is_finite() && (!log || v > 0.0)
    }

    /// Whether the y-axis is logarithmic for this data.
    pub(super) fn is_log(&self) -> bool {
        let YScale::LogAbove(ratio) = self.chart.scale else {
            return false;
        };
        let positive = self.values().filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = positive.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        hi > 0.0 && hi / lo > ratio
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1))
    }

    /// How many values will not be drawn.
    pub(super) fn skipped(&self, log: bool) -> usize {
        self.values().filter(|v| !Self::drawable(*v, log)).count()
    }

    /// The x range (epochs) and y range, or `None` when nothing is drawable.
    pub(super) fn bounds(&self, log: bool) -> Option<(Range<f64>, Range<f64>)> {
        let pts = self.lines.iter().flat_map(|l| l.points.iter().copied());
        let band_edges = self
            .bands
            .iter()
            .flat_map(|b| b.points.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]));
        let drawable: Vec<(f64, f64)> = pts
            .chain(band_edges)
            .filter(|p| Self::drawable(p.1, log))
            .collect();
        if drawable.is_empty() {
            return None;
        }
        let (mut x0, mut x1) = min_max(drawable.iter().map(|p| p.0));
        if x1 - x0 < 1.0 {
            x0 -= 0.5;
            x1 += 0.5;
        }
        let (lo, hi) = min_max(drawable.iter().map(|p| p.1));
        let y = if log {
            // Whole decades, so that the axis has labelled ticks at both ends.
            let lo = 10f64.powf(lo.log10().floor());
            let mut hi = 10f64.powf(hi.log10().ceil());
            if hi <= lo {
                hi = lo * 10.0;
            }
            lo..hi
        } else {
            let span = hi - lo;
            let pad = if span > 0.0 {
                span * 0.05
            } else {
                lo.abs().max(1.0) * 0.1
            };
            let (mut lo, mut hi) = (lo - pad, hi + pad);
            if let YScale::Linear { clamp } = self.chart.scale {
                lo = lo.max(clamp.0);
                hi = hi.min(clamp.1);
                if hi <= lo {
                    (lo, hi) = clamp;
                }
            }
            lo..hi
        };
        Some((x0..x1, y))
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

#[cfg(test)]
mod tests {
    use plotters::style::BLACK;

    use super::super::chart::Series;
    use super::super::charts::NOTHING_YET;
    use super::*;

    #[test]
    fn log_axis_only_when_values_span_decades() {
        let spec = |values: &[f64]| ChartSpec {
            chart: Chart {
                stem: "t",
                title: "",
                alt: "",
                y_desc: "",
                scale: YScale::LogAbove(100.0),
                series: Series::Loss,
            },
            lines: vec![Line {
                color: BLACK,
                dashed: false,
                marked: false,
                points: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, *v))
                    .collect(),
            }],
            bands: vec![],
            legend: vec![],
            note: vec![],
            empty: NOTHING_YET,
        };
        assert!(!spec(&[2.5, 0.1]).is_log());
        assert!(spec(&[2.5, 0.001, f64::NAN]).is_log());
        let s = spec(&[2.5, 0.001]);
        let (_, y) = s.bounds(true).unwrap();
        assert!(
            (y.start / 0.001 - 1.0).abs() < 1e-9 && (y.end / 10.0 - 1.0).abs() < 1e-9,
            "{y:?}"
        );
        assert!(spec(&[f64::NAN]).bounds(false).is_none());
    }
}
