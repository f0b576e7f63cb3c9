//! How the report writes numbers and text: percentages, ratios, step counts, durations and
//! axis ticks, and the escaping that keeps run names, paths and reasons from turning into
//! Markdown (emphasis, links, broken table cells).
//!
//! Every function here is pure and total: non-finite values come out as `—`, `NaN` or `inf`
//! rather than panicking, so a report of a diverged run still renders.

use super::stats::Estimate;

/// A fraction as a percentage with one decimal, `—` when not finite.
pub(super) fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "—".into()
    }
}

/// Percentage points, one decimal, or two below 0.1.
pub(super) fn pp(v: f64) -> String {
    if v.abs() < 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// About three significant digits; scientific outside [1e-3, 1e4); `NaN`/`inf` as such.
pub(super) fn num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.2e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

/// `v` with a leading `+` when positive (`text` is `v` formatted).
fn signed(v: f64, text: String) -> String {
    if v > 0.0 { format!("+{text}") } else { text }
}

/// A mean over seeds with its spread and 95 % interval: `72.5% ± 1.0 [70.0%, 75.0%]` for an
/// accuracy (the sd in percentage points), `0.412 ± 0.0100 [0.387, 0.437]` otherwise;
/// `72.5% (1 run)` for one value, `—` for none.
pub(super) fn estimate(e: Option<Estimate>, accuracy: bool) -> String {
    let value = |v: f64| if accuracy { pct(v) } else { num(v) };
    let Some(e) = e else {
        return "—".into();
    };
    match (e.sd, e.interval()) {
        (Some(sd), Some((low, high))) => {
            let sd = if accuracy { pp(sd * 100.0) } else { num(sd) };
            format!("{} ± {sd} [{}, {}]", value(e.mean), value(low), value(high))
        }
        _ => format!("{} ({} run{})", value(e.mean), e.n, plural(e.n)),
    }
}

/// A mean difference with its 95 % interval: `+2.5 pp [-1.2, 6.2]` for accuracies (in
/// percentage points), `-0.187 [-0.210, -0.164]` otherwise; without the interval for one pair,
/// `—` for none.
pub(super) fn difference(e: Option<Estimate>, accuracy: bool) -> String {
    let Some(e) = e else {
        return "—".into();
    };
    let (scale, unit) = if accuracy { (100.0, " pp") } else { (1.0, "") };
    let value = |v: f64| if accuracy { pp(v * scale) } else { num(v) };
    let mean = signed(e.mean, value(e.mean));
    match e.interval() {
        Some((low, high)) => format!("{mean}{unit} [{}, {}]", value(low), value(high)),
        None => format!("{mean}{unit}"),
    }
}

/// A 95 % interval: `[-1.2, 6.2] pp` for accuracies (fractions shown in percentage points),
/// `[-0.210, -0.164]` otherwise.
pub(super) fn interval(low: f64, high: f64, accuracy: bool) -> String {
    if accuracy {
        format!("[{}, {}] pp", pp(low * 100.0), pp(high * 100.0))
    } else {
        format!("[{}, {}]", num(low), num(high))
    }
}

/// Equilibrium progress: [`ratio`], `—` when unknown.
pub(super) fn progress(v: f64) -> String {
    if v.is_finite() {
        ratio(v)
    } else {
        "—".into()
    }
}

/// An angle in radians, `1.23e-3` (small angles span decades, so always scientific).
pub(super) fn angle_rad(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2e}")
    } else {
        format!("{v}")
    }
}

/// A ratio with two significant digits (`0.031`, `0.52`, `1.9`, `18`, `250`).
pub(super) fn ratio(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a == 0.0 {
        "0".into()
    } else if a >= 10.0 {
        format!("{}", round_sig(v, 2))
    } else {
        let decimals = (1 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// A step count rounded to two significant digits, thousands grouped: `33 000`.
pub(super) fn steps(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return format!("{v}");
    }
    let digits = round_sig(v, 2).round().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn round_sig(v: f64, digits: i32) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// The decay shrink in scientific notation (exact 0 and 1 written plainly).
pub(super) fn shrink(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v == 0.0 || v == 1.0 || !v.is_finite() {
        format!("{v}")
    } else {
        format!("{v:.2e}")
    }
}

/// A run's wall-clock time: `12.3 s`, `1 min 15 s`, `2 h 02 min`.
pub(super) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "an unknown time".into();
    }
    let s = seconds.round() as u64;
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

/// A chart's axis label: plain for ordinary magnitudes, scientific otherwise.
pub(super) fn tick_label(v: f64) -> String {
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

/// `"s"` unless `n` is 1.
pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A mode's name at the start of a sentence (`(no mode)` for an empty one).
pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => "(no mode)".into(),
    }
}

/// `—` for blank text.
pub(super) fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "—".into()
    } else {
        s.to_string()
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Text on one line, with Markdown's emphasis and link characters neutralised.
pub(super) fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\n' | '\r' => out.push(' '),
            '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Text for a table cell: one line, `|` escaped.
pub(super) fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "\\|")
}

/// An inline code span that survives backticks in `s`.
pub(super) fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.is_empty() {
        return String::new();
    }
    let mut fence = "`".to_string();
    while s.contains(&fence) {
        fence.push('`');
    }
    if s.contains('`') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_honest() {
        assert_eq!(num(0.41), "0.410");
        assert_eq!(num(2.4123), "2.41");
        assert_eq!(num(123.44), "123");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(num(2.5e-5), "2.50e-5");
        assert_eq!(pct(0.8421), "84.2%");
        assert_eq!(pct(f64::NAN), "—");
        assert_eq!(shrink(0.0), "0");
        assert_eq!(shrink(0.004537), "4.54e-3");
        assert_eq!(duration(75.2), "1 min 15 s");
        assert_eq!(duration(7322.0), "2 h 02 min");
        assert_eq!(steps(33_333.3), "33 000");
        assert_eq!(steps(3_333_333.0), "3 300 000");
        assert_eq!(steps(333.3), "330");
        assert_eq!(steps(3.3), "3");
        assert_eq!(ratio(0.0312), "0.031");
        assert_eq!(ratio(0.52), "0.52");
        assert_eq!(ratio(0.008), "0.008");
        assert_eq!(ratio(0.1), "0.1");
        assert_eq!(ratio(2.0), "2");
        assert_eq!(ratio(1.94), "1.9");
        assert_eq!(ratio(18.2), "18");
        assert_eq!(ratio(254.0), "250");
        assert_eq!(progress(f64::NAN), "—");
    }

    #[test]
    fn estimates_and_differences() {
        let e = Estimate::of(&[0.80, 0.82, 0.84]);
        assert_eq!(estimate(e, true), "82.0% ± 2.0 [77.0%, 87.0%]");
        assert_eq!(estimate(e, false), "0.820 ± 0.0200 [0.770, 0.870]");
        assert_eq!(estimate(Estimate::of(&[0.5]), true), "50.0% (1 run)");
        assert_eq!(estimate(None, true), "—");
        let d = Estimate::of(&[0.015, 0.008, 0.012]);
        assert_eq!(difference(d, true), "+1.2 pp [0.3, 2.0]");
        assert_eq!(difference(Estimate::of(&[-0.25]), false), "-0.250");
        assert_eq!(interval(-0.012, 0.062, true), "[-1.2, 6.2] pp");
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
    fn markdown_special_characters_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(code("run `x`"), "`` run `x` ``");
        assert_eq!(code("seedlings --wd 0.1"), "`seedlings --wd 0.1`");
        assert_eq!(inline("*bold* [x]"), "\\*bold\\* \\[x\\]");
    }
}
