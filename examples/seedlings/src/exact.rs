//! Floats that survive a trip through the JSON state files bit for bit.
//!
//! serde_json writes the shortest text that reads back to the same `f64`, but its default
//! parser is only "best effort" (off by one unit in the last place now and then, e.g.
//! `0.049999999999999996` reads back as `0.05`). A resumed run must continue from exactly the
//! numbers it saved, so the state files store floats as strings that Rust's own parser reads
//! back exactly — the same format as `metrics.csv`.
//!
//! Use with `#[serde(with = "crate::exact::f64")]` and friends.

use serde::{Deserialize, Deserializer, Serializer};

use crate::records::EpochRecord;
use crate::records::csv::{format_f64, metrics_csv_bytes, parse_metrics_csv};

fn parse<E: serde::de::Error>(text: &str) -> Result<::core::primitive::f64, E> {
    text.parse()
        .map_err(|_| E::custom(format!("`{text}` is not a number")))
}

/// An `f64` as an exact string.
pub mod f64 {
    use super::*;

    /// Writes `v` as a string that parses back to it exactly.
    pub fn serialize<S: Serializer>(v: &::core::primitive::f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_f64(*v))
    }

    /// Reads a string written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<::core::primitive::f64, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

/// An `Option<f64>` as an exact string or null.
pub mod option_f64 {
    use super::*;

    /// Writes `v` as a string that parses back to it exactly, or null.
    pub fn serialize<S: Serializer>(
        v: &Option<::core::primitive::f64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&format_f64(*v)),
            None => s.serialize_none(),
        }
    }

    /// Reads what [`serialize`] wrote.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<::core::primitive::f64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| parse(&text))
            .transpose()
    }
}

/// Epoch records as the text of a `metrics.csv` (exact floats, the same parser).
pub mod records {
    use super::*;

    /// Writes the records as CSV text.
    pub fn serialize<S: Serializer>(records: &[EpochRecord], s: S) -> Result<S::Ok, S::Error> {
        let bytes = metrics_csv_bytes(records).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&String::from_utf8_lossy(&bytes))
    }

    /// Reads what [`serialize`] wrote.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EpochRecord>, D::Error> {
        let text = String::deserialize(d)?;
        parse_metrics_csv(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Probe {
        #[serde(with = "super::f64")]
        a: f64,
        #[serde(with = "super::option_f64")]
        b: Option<f64>,
        #[serde(with = "super::option_f64")]
        c: Option<f64>,
    }

    #[test]
    fn floats_that_serde_json_rounds_come_back_exactly() {
        let awkward = 0.049999999999999996_f64;
        // The reason for this module (if serde_json's parser becomes exact, this documents it).
        let plain: f64 = serde_json::from_str(&serde_json::to_string(&awkward).unwrap()).unwrap();
        let probe = Probe {
            a: awkward,
            b: Some(2.0 / 3.0),
            c: None,
        };
        let back: Probe = serde_json::from_str(&serde_json::to_string(&probe).unwrap()).unwrap();
        assert_eq!(
            back.a.to_bits(),
            awkward.to_bits(),
            "plain serde_json gave {plain}"
        );
        assert_eq!(back, probe);
        let inf = Probe {
            a: f64::INFINITY,
            b: Some(f64::NEG_INFINITY),
            c: Some(1e-300),
        };
        let back: Probe = serde_json::from_str(&serde_json::to_string(&inf).unwrap()).unwrap();
        assert_eq!(back, inf);
    }
}
