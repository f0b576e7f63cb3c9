//! Serde helpers for an `f64` that may be non-finite: written as `null` when NaN or infinite
//! (JSON has no such numbers), and `null` reads back as NaN.
//!
//! Use with `#[serde(with = "nullable_f64")]`.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes a finite `value` as a number and anything else as `null`.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        serializer.serialize_none()
    }
}

/// Reads a number, or `null` as NaN.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}
