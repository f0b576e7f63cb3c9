//! The format of `metrics.csv`: one row per arm and epoch, the raw numbers behind the report
//! and the plots, as bytes (reading and writing the file is the report's `csv.rs`; the resume
//! state of [`exact`](crate::exact) embeds the same bytes).
//!
//! Floats are written so that they read back bit for bit: Rust's shortest round-trip
//! formatting (`{}`, or `{:e}` for magnitudes below 1e-5 or from 1e16 on, to keep the file
//! short), and `NaN`, `inf`, `-inf` for non-finite values (pandas and Rust both parse those).
//! The equilibrium columns (`conv_angle` …) are empty where nothing was measured; a file
//! written before they existed (its header is the first [`LEGACY_COLUMNS`] columns) still reads,
//! with those values absent.

use super::EpochRecord;

/// The columns of `metrics.csv`, in order.
pub const METRICS_HEADER: [&str; 16] = [
    "arm",
    "wd",
    "mode",
    "epoch",
    "lr",
    "train_loss",
    "valid_loss",
    "valid_accuracy",
    "valid_macro_f1",
    "weight_norm",
    "seconds",
    "status",
    "conv_angle",
    "conv_angle_predicted",
    "conv_norm",
    "conv_norm_predicted",
];

/// How many of [`METRICS_HEADER`]'s columns a `metrics.csv` from before the equilibrium columns
/// has: such a file reads with `conv_angle` … absent.
pub const LEGACY_COLUMNS: usize = 12;

/// Formats `v` so that `v.to_string().parse::<f64>()` gives `v` back exactly (NaN as `NaN`).
pub fn format_f64(v: f64) -> String {
    let a = v.abs();
    if v.is_finite() && a != 0.0 && !(1e-5..1e16).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// [`format_f64`], or an empty cell for `None` (not measured).
fn format_option(v: Option<f64>) -> String {
    v.map(format_f64).unwrap_or_default()
}

/// The bytes of `metrics.csv` for `records`, header first, rows in the given order.
pub fn metrics_csv_bytes(records: &[EpochRecord]) -> std::result::Result<Vec<u8>, String> {
    let mut out = ::csv::Writer::from_writer(Vec::new());
    let rows = std::iter::once(METRICS_HEADER.map(String::from)).chain(records.iter().map(|r| {
        [
            r.arm.clone(),
            format_f64(r.wd),
            r.mode.name().to_string(),
            r.epoch.to_string(),
            format_f64(r.lr),
            format_f64(r.train_loss),
            format_f64(r.valid_loss),
            format_f64(r.valid_accuracy),
            format_f64(r.valid_macro_f1),
            format_f64(r.weight_norm),
            format_f64(r.seconds),
            r.status.clone(),
            format_option(r.conv_angle),
            format_option(r.conv_angle_predicted),
            format_option(r.conv_norm),
            format_option(r.conv_norm_predicted),
        ]
    }));
    for row in rows {
        out.write_record(&row).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// Parses the bytes of a `metrics.csv`; the error says what and where.
pub fn parse_metrics_csv(bytes: &[u8]) -> std::result::Result<Vec<EpochRecord>, String> {
    let mut reader = ::csv::Reader::from_reader(bytes);
    let header = reader.headers().map_err(|e| format!("bad header: {e}"))?;
    let legacy = &METRICS_HEADER[..LEGACY_COLUMNS];
    if header.iter().ne(METRICS_HEADER) && header.iter().ne(legacy.iter().copied()) {
        return Err(format!(
            "unexpected header {:?}, expected {:?}",
            header.iter().collect::<Vec<_>>().join(","),
            METRICS_HEADER.join(",")
        ));
    }
    reader
        .deserialize()
        .map(|row| row.map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_exactly() {
        for v in [
            0.1 + 0.2,
            1e-7,
            123456.789,
            1e300,
            -2.5e-310,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let s = format_f64(v);
            let back: f64 = s.parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v} → {s}");
        }
        assert!(format_f64(f64::NAN).parse::<f64>().unwrap().is_nan());
        assert_eq!(format_f64(0.01), "0.01");
        assert_eq!(format_f64(10.0), "10");
        assert_eq!(format_f64(1e-7), "1e-7");
    }

    #[test]
    fn a_file_without_the_equilibrium_columns_reads_with_them_absent() {
        let old = "arm,wd,mode,epoch,lr,train_loss,valid_loss,valid_accuracy,valid_macro_f1,weight_norm,seconds,status\n\
                   a,0.1,decoupled,1,0.001,2,2.1,0.5,0.4,30,1.5,ok\n";
        let rows = parse_metrics_csv(old.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].weight_norm, 30.0);
        assert_eq!(rows[0].conv_angle, None);
        assert_eq!(rows[0].conv_norm_predicted, None);
        // Written again, it gains the columns, empty.
        let text = String::from_utf8(metrics_csv_bytes(&rows).unwrap()).unwrap();
        assert!(text.lines().nth(1).unwrap().ends_with(",ok,,,,"), "{text}");
        assert_eq!(parse_metrics_csv(text.as_bytes()).unwrap(), rows);
    }

    #[test]
    fn wrong_header_is_rejected() {
        let err = parse_metrics_csv(b"arm,wd\nx,1\n").unwrap_err();
        assert!(err.contains("unexpected header"), "{err}");
    }
}
