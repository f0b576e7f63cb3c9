//! Drawing a [`ChartSpec`] with plotters, and encoding it as PNG and SVG: the plot area with
//! its mesh and lines (broken where values cannot be drawn), and the legend beside it.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::PLOT_SIZE;
use super::spec::ChartSpec;
use super::text::{CrispText, FONT_NAME, ensure_font, font};
use crate::report::format::tick_label;

/// Width of the legend, right of the plot, in pixels.
const LEGEND_WIDTH: u32 = 260;

pub(super) fn render_png(spec: &ChartSpec) -> std::result::Result<Vec<u8>, String> {
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

pub(super) fn render_svg(spec: &ChartSpec) -> std::result::Result<String, String> {
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
            let plot = plot.titled(spec.chart.title, (FONT_NAME, 22)).map_err(e)?;
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
        .caption(spec.chart.title, (FONT_NAME, 22))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    let y_desc = if log {
        format!("{} (log scale)", spec.chart.y_desc)
    } else {
        spec.chart.y_desc.to_string()
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

    for band in &spec.bands {
        for segment in band_segments(&band.points, log) {
            let fill = band.color.mix(0.18).filled();
            if let [(x, lo, hi)] = segment[..] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(x, lo), (x, hi)],
                        band.color.mix(0.4).stroke_width(6),
                    )))
                    .map_err(e)?;
            } else {
                let outline: Vec<(f64, f64)> = segment
                    .iter()
                    .map(|&(x, _, hi)| (x, hi))
                    .chain(segment.iter().rev().map(|&(x, lo, _)| (x, lo)))
                    .collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(outline, fill)))
                    .map_err(e)?;
            }
        }
    }
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
                    .draw_series(LineSeries::new(segment.iter().copied(), style))
                    .map_err(e)?;
            }
            if line.marked && segment.len() > 1 {
                chart
                    .draw_series(
                        segment
                            .iter()
                            .map(|&p| Circle::new(p, 4, line.color.stroke_width(2))),
                    )
                    .map_err(e)?;
            }
        }
    }
    Ok(())
}

/// The runs of band points whose both edges are drawable.
fn band_segments(points: &[(f64, f64, f64)], log: bool) -> Vec<Vec<(f64, f64, f64)>> {
    points
        .split(|p| !(ChartSpec::drawable(p.1, log) && ChartSpec::drawable(p.2, log)))
        .filter(|s| !s.is_empty())
        .map(<[_]>::to_vec)
        .collect()
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
        if entry.marked {
            area.draw(&Circle::new((x0 + 20, y), 4, entry.color.stroke_width(2)))
                .map_err(e)?;
        }
        area.draw_text(&entry.label, &text, (x0 + 50, y))
            .map_err(e)?;
        y += 26;
    }
    for line in &spec.note {
        area.draw_text(line, &text, (x0, y)).map_err(e)?;
        y += 22;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
