//! Charts of a sweep, as PNG (for the report and quick looks) and SVG (for zooming and papers):
//!
//! - `loss`: training loss (solid) and validation loss (dashed) per arm, all arms on one chart;
//!   log y-axis when the plotted values span more than two decades;
//! - `accuracy`: validation accuracy per arm, in percent;
//! - `weight_norm`: the weight norm per arm; log y-axis when it spans more than one decade (a
//!   narrower log axis would have no labelled tick at all);
//! - `equilibrium`: the angle one step turns the conv weights by, measured (solid) and as the
//!   rotational equilibrium predicts (dashed), per arm and epoch; log y-axis above one decade.
//!   Epochs without a measurement (files from before it) or without a prediction (Adam +
//!   coupled L2) have no point there, and are not counted as skipped; with no measurement at
//!   all the chart says "not measured".
//!
//! Each arm keeps one colour on every chart (arms in order of first appearance in the records).
//! Non-finite values are skipped, not plotted, and a line is broken where they are rather than
//! drawn across; on a log axis values ≤ 0 are skipped the same way. The legend sits beside the
//! plot, never over the curves, and says how many values were skipped.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/DejaVuSans.ttf`), so the PNGs
//! look the same on any machine, with or without system fonts. plotters 0.3.7's own `ab_glyph`
//! text drawing ignores each glyph's left side bearing (`wd0.01` comes out as `wd0. 01`), so the
//! PNGs go through a small wrapper backend (`CrispText`) that lays glyphs out properly; the
//! font registered with plotters still serves its layout estimates for the SVGs.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont, point};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::{FontStyle, register_font};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use super::atomic::write_atomic;
use super::records::EpochRecord;
use super::{ReportError, Result};

/// Width and height of every chart in pixels.
pub const PLOT_SIZE: (u32, u32) = (1100, 640);

/// The chart names (file stems) [`write_plots`] writes, each as `.png` and `.svg`.
pub const PLOT_NAMES: [&str; 4] = ["loss", "accuracy", "weight_norm", "equilibrium"];

const LEGEND_WIDTH: u32 = 260;
const FONT_NAME: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

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

/// Registers the embedded font with plotters, once per process.
fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT_NAME, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded font DejaVuSans.ttf could not be loaded".to_string())
        })
        .clone()
}

/// The embedded font, parsed once, for [`CrispText`].
fn font() -> std::result::Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
        .ok_or_else(|| "the embedded font DejaVuSans.ttf could not be parsed".to_string())
}

/// A backend wrapper that draws text glyph by glyph with correct side bearings and kerning
/// (everything else goes straight to the wrapped backend). Follows plotters' conventions: the
/// text box is `advance width × font size`, placed by the style's anchor, then rotated about
/// the anchor point by the style's transform.
struct CrispText<B> {
    inner: B,
    font: &'static FontRef<'static>,
}

impl<B> CrispText<B> {
    /// `(width, height, ascent)` of `text` at `size` pixels, and each glyph's pen position.
    fn layout(&self, text: &str, size: f64) -> (f32, f32, f32, Vec<(char, f32)>) {
        let scaled = self.font.as_scaled(size as f32);
        let mut pen = 0.0f32;
        let mut prev = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            glyphs.push((c, pen));
            pen += scaled.h_advance(id);
            prev = Some(id);
        }
        (pen, scaled.height(), scaled.ascent(), glyphs)
    }
}

impl<B: DrawingBackend> DrawingBackend for CrispText<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        self.inner.blit_bitmap(pos, (iw, ih), src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> std::result::Result<(u32, u32), DrawingErrorKind<B::ErrorType>> {
        let (w, h, _, _) = self.layout(text, style.size());
        Ok((w.ceil() as u32, h.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> std::result::Result<(), DrawingErrorKind<B::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let (width, height, ascent, glyphs) = self.layout(text, style.size());
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Right => -width,
            HPos::Center => -width / 2.0,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let scaled = self.font.as_scaled(style.size() as f32);
        for (c, pen) in glyphs {
            let mut glyph = scaled.scaled_glyph(c);
            glyph.position = point(pen + dx, ascent + dy);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|x, y, coverage| pixels.push((x, y, coverage)));
            for (x, y, coverage) in pixels {
                let local = (
                    bounds.min.x as i32 + x as i32,
                    bounds.min.y as i32 + y as i32,
                );
                let (tx, ty) = transform.transform(local.0, local.1);
                let (px, py) = (pos.0 + tx, pos.1 + ty);
                if coverage > 0.0 && px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let ink = BackendColor {
                        alpha: color.alpha * f64::from(coverage.min(1.0)),
                        rgb: color.rgb,
                    };
                    self.inner.draw_pixel((px, py), ink)?;
                }
            }
        }
        Ok(())
    }
}

/// The colour `(r, g, b)` of the `index`-th arm (in order of first appearance, see
/// [`arm_order`]), the same on every chart.
pub fn arm_rgb(index: usize) -> (u8, u8, u8) {
    let RGBColor(r, g, b) = arm_color(index);
    (r, g, b)
}

fn arm_color(index: usize) -> RGBColor {
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

/// When the y-axis is logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
enum YScale {
    /// Always linear, with the axis clamped to this range (e.g. 0–100 %).
    Linear { clamp: (f64, f64) },
    /// Logarithmic when the largest positive value over the smallest exceeds this ratio.
    LogAbove(f64),
}

/// One polyline of a chart.
#[derive(Debug, Clone)]
struct Line {
    color: RGBColor,
    dashed: bool,
    /// `(epoch, value)`, in epoch order; may hold non-finite values.
    points: Vec<(f64, f64)>,
}

/// A legend row.
#[derive(Debug, Clone)]
struct LegendEntry {
    label: String,
    color: RGBColor,
    dashed: bool,
}

/// Everything needed to draw one chart on any backend.
#[derive(Debug, Clone)]
struct ChartSpec {
    name: &'static str,
    title: String,
    y_desc: String,
    scale: YScale,
    lines: Vec<Line>,
    legend: Vec<LegendEntry>,
    /// What the chart says when it has nothing to draw.
    empty: &'static str,
}

const NOTHING_YET: &str = "no finite values to plot yet";

impl ChartSpec {
    /// Whether a value can be drawn on an axis that is (`log`) logarithmic.
    fn drawable(v: f64, log: bool) -> bool {
        v.is_finite() && (!log || v > 0.0)
    }

    /// Whether the y-axis is logarithmic for this data.
    fn is_log(&self) -> bool {
        let YScale::LogAbove(ratio) = self.scale else {
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
    fn skipped(&self, log: bool) -> usize {
        self.values().filter(|v| !Self::drawable(*v, log)).count()
    }

    /// The x range (epochs) and y range, or `None` when nothing is drawable.
    fn bounds(&self, log: bool) -> Option<(Range<f64>, Range<f64>)> {
        let pts = self.lines.iter().flat_map(|l| &l.points);
        let drawable: Vec<(f64, f64)> = pts.copied().filter(|p| Self::drawable(p.1, log)).collect();
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
            if let YScale::Linear { clamp } = self.scale {
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

/// Builds the chart specifications ([`PLOT_NAMES`], in order) from the records.
fn chart_specs(records: &[EpochRecord]) -> Vec<ChartSpec> {
    let arms = arm_order(records);
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
                points: series(arm, value),
            })
            .collect()
    };

    let mut loss_lines = per_arm(|r| r.train_loss, false);
    loss_lines.extend(per_arm(|r| r.valid_loss, true));
    let mut loss_legend = arm_legend();
    loss_legend.extend([
        LegendEntry {
            label: "train (solid)".into(),
            color: BLACK,
            dashed: false,
        },
        LegendEntry {
            label: "valid (dashed)".into(),
            color: BLACK,
            dashed: true,
        },
    ]);

    let mut angle_lines = per_arm_measured(|r| r.conv_angle, false);
    angle_lines.extend(per_arm_measured(|r| r.conv_angle_predicted, true));
    let mut angle_legend = arm_legend();
    angle_legend.extend([
        LegendEntry {
            label: "measured (solid)".into(),
            color: BLACK,
            dashed: false,
        },
        LegendEntry {
            label: "equilibrium (dashed)".into(),
            color: BLACK,
            dashed: true,
        },
    ]);

    vec![
        ChartSpec {
            name: "loss",
            title: "Loss per epoch: train solid, valid dashed".into(),
            y_desc: "cross-entropy loss".into(),
            scale: YScale::LogAbove(100.0),
            lines: loss_lines,
            legend: loss_legend,
            empty: NOTHING_YET,
        },
        ChartSpec {
            name: "accuracy",
            title: "Validation accuracy per epoch".into(),
            y_desc: "valid accuracy (%)".into(),
            scale: YScale::Linear {
                clamp: (0.0, 100.0),
            },
            lines: per_arm(|r| r.valid_accuracy * 100.0, false),
            legend: arm_legend(),
            empty: NOTHING_YET,
        },
        ChartSpec {
            name: "weight_norm",
            title: "Weight norm per epoch".into(),
            y_desc: "weight norm (L2)".into(),
            scale: YScale::LogAbove(10.0),
            lines: per_arm(|r| r.weight_norm, false),
            legend: arm_legend(),
            empty: NOTHING_YET,
        },
        ChartSpec {
            name: "equilibrium",
            title: "Angle per step of the conv weights: measured solid, equilibrium dashed".into(),
            y_desc: "angle per step (radians)".into(),
            scale: YScale::LogAbove(10.0),
            lines: angle_lines,
            legend: angle_legend,
            empty: if records.iter().any(|r| r.conv_angle.is_some()) {
                NOTHING_YET
            } else {
                "not measured in this run"
            },
        },
    ]
}

/// Writes the [`PLOT_NAMES`] charts of `records` into `dir`, each as PNG
/// ([`PLOT_SIZE`] pixels) and SVG, atomically. Returns the paths written, PNG before SVG.
///
/// With no drawable value a chart still gets written, saying so, so that links in the report
/// never break.
pub fn write_plots(dir: &Path, records: &[EpochRecord]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for spec in chart_specs(records) {
        let png_path = dir.join(format!("{}.png", spec.name));
        let png = render_png(&spec).map_err(|message| ReportError::Format {
            path: png_path.clone(),
            message,
        })?;
        write_atomic(&png_path, &png).map_err(|source| ReportError::write(&png_path, source))?;
        written.push(png_path);

        let svg_path = dir.join(format!("{}.svg", spec.name));
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

fn render_png(spec: &ChartSpec) -> std::result::Result<Vec<u8>, String> {
    let (w, h) = PLOT_SIZE;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = CrispText {
            inner: BitMapBackend::with_buffer(&mut pixels, PLOT_SIZE),
            font: font()?,
        };
        let root = backend.into_drawing_area();
        draw(&root, spec)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let image = image::RgbImage::from_raw(w, h, pixels).ok_or("chart buffer has the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(png.into_inner())
}

fn render_svg(spec: &ChartSpec) -> std::result::Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        draw(&root, spec)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
) -> std::result::Result<(), String> {
    ensure_font()?;
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (plot, legend) = root.split_horizontally(PLOT_SIZE.0 - LEGEND_WIDTH);
    let log = spec.is_log();
    draw_legend(&legend, spec, spec.skipped(log))?;
    match spec.bounds(log) {
        None => {
            let plot = plot.titled(&spec.title, (FONT_NAME, 22)).map_err(e)?;
            let (w, h) = plot.dim_in_pixel();
            let style = TextStyle::from((FONT_NAME, 20)).pos(
                plotters::style::text_anchor::Pos::new(HPos::Center, VPos::Center),
            );
            plot.draw_text(spec.empty, &style, (w as i32 / 2, h as i32 / 2))
                .map_err(e)?;
            Ok(())
        }
        Some((x, y)) if log => draw_plot(&plot, spec, x, y.log_scale(), true),
        Some((x, y)) => draw_plot(&plot, spec, x, y, false),
    }
}

fn draw_plot<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    x: Range<f64>,
    y: Y,
    log: bool,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&spec.title, (FONT_NAME, 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    let y_desc = if log {
        format!("{} (log scale)", spec.y_desc)
    } else {
        spec.y_desc.clone()
    };
    let epoch_label = |v: &f64| {
        if (v - v.round()).abs() < 1e-9 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    let y_label = |v: &f64| tick_label(*v);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_label_formatter(&epoch_label)
        .y_label_formatter(&y_label)
        .x_labels(12)
        .y_labels(10)
        .label_style((FONT_NAME, 15))
        .axis_desc_style((FONT_NAME, 17))
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(e)?;

    for line in &spec.lines {
        for segment in segments(&line.points, log) {
            let style = ShapeStyle::from(line.color).stroke_width(2);
            if segment.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        segment[0],
                        3,
                        line.color.filled(),
                    )))
                    .map_err(e)?;
            } else if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(segment.iter().copied(), 9, 6, style))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(LineSeries::new(segment, style))
                    .map_err(e)?;
            }
        }
    }
    Ok(())
}

/// The runs of drawable points between non-drawable ones.
fn segments(points: &[(f64, f64)], log: bool) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|p| !ChartSpec::drawable(p.1, log))
        .filter(|s| !s.is_empty())
        .map(<[_]>::to_vec)
        .collect()
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    skipped: usize,
) -> std::result::Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let text =
        TextStyle::from((FONT_NAME, 15))
            .color(&BLACK)
            .pos(plotters::style::text_anchor::Pos::new(
                HPos::Left,
                VPos::Center,
            ));
    let (x0, mut y) = (8, 60);
    for entry in &spec.legend {
        let style = ShapeStyle::from(entry.color).stroke_width(3);
        let (a, b) = ((x0, y), (x0 + 40, y));
        if entry.dashed {
            area.draw(&DashedPathElement::new([a, b], 9, 6, style))
                .map_err(e)?;
        } else {
            area.draw(&PathElement::new([a, b], style)).map_err(e)?;
        }
        area.draw_text(&entry.label, &text, (x0 + 50, y))
            .map_err(e)?;
        y += 26;
    }
    if skipped > 0 {
        let note = TextStyle::from((FONT_NAME, 14)).color(&RGBColor(120, 0, 0));
        let plural = if skipped == 1 { "value" } else { "values" };
        area.draw_text(
            &format!("{skipped} non-finite {plural}"),
            &note,
            (x0, y + 6),
        )
        .map_err(e)?;
        area.draw_text("not plotted", &note, (x0, y + 24))
            .map_err(e)?;
    }
    Ok(())
}

/// A short axis label: plain for ordinary magnitudes, scientific otherwise.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_loads() {
        ensure_font().unwrap();
    }

    #[test]
    fn segments_break_at_non_finite_and_log_skips_non_positive() {
        let pts = [
            (1.0, 1.0),
            (2.0, f64::NAN),
            (3.0, 3.0),
            (4.0, 0.0),
            (5.0, 5.0),
        ];
        assert_eq!(segments(&pts, false).len(), 2);
        assert_eq!(segments(&pts, true).len(), 3);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(2.0), "2");
        assert_eq!(tick_label(1e-4), "1e-4");
        assert_eq!(tick_label(3.0e-7), "3e-7");
        assert_eq!(tick_label(0.0), "0");
    }

    #[test]
    fn log_axis_only_when_values_span_decades() {
        let spec = |values: &[f64]| ChartSpec {
            name: "t",
            title: String::new(),
            y_desc: String::new(),
            scale: YScale::LogAbove(100.0),
            lines: vec![Line {
                color: BLACK,
                dashed: false,
                points: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, *v))
                    .collect(),
            }],
            legend: vec![],
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
