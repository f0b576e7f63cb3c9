//! [`ArmStatus`]: how an arm ended, and its flat form in an arm's JSON object (`"status"`,
//! with `"diverged_at"` for a diverged arm and `"failure"` for a failed one).

use serde::{Deserialize, Serialize};

/// How an arm ended.
///
/// Serialized as the bare lower-case name: `"finished"`, `"diverged"`, `"interrupted"`,
/// `"failed"`. The extra fields travel next to it in `summary.json` (`"diverged_at"`,
/// `"failure"`) — see [`ArmSummary`](super::ArmSummary).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ArmStatus {
    /// Ran all its epochs.
    #[default]
    Finished,
    /// A loss or a weight became non-finite and the arm was stopped.
    Diverged {
        /// The epoch (from 1) in which it happened.
        epoch: usize,
        /// The optimizer step (from 1, counted over the whole run) at which it happened.
        step: usize,
    },
    /// Stopped early by the user (Ctrl-C) or a time limit; the records are partial.
    Interrupted,
    /// Still training: the report was written after one of its epochs.
    Running,
    /// Stopped by an error.
    Failed {
        /// What went wrong, in words.
        reason: String,
    },
}

impl ArmStatus {
    /// The lower-case name written to files: `finished`, `diverged`, `interrupted`, `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Diverged { .. } => "diverged",
            Self::Interrupted => "interrupted",
            Self::Running => "running",
            Self::Failed { .. } => "failed",
        }
    }
}

impl std::fmt::Display for ArmStatus {
    /// `finished`, `diverged at epoch E, step S`, `interrupted`, `failed: REASON`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Diverged { epoch, step } => write!(f, "diverged at epoch {epoch}, step {step}"),
            Self::Failed { reason } => write!(f, "failed: {reason}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Where an arm diverged, as written to `summary.json` under `"diverged_at"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivergedAt {
    /// The epoch (from 1).
    pub epoch: usize,
    /// The optimizer step (from 1).
    pub step: usize,
}

/// The flat form of [`ArmStatus`] inside an arm's JSON object.
#[derive(Serialize, Deserialize)]
struct StatusFields {
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    diverged_at: Option<DivergedAt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

impl From<ArmStatus> for StatusFields {
    fn from(status: ArmStatus) -> Self {
        let name = status.name().to_string();
        match status {
            ArmStatus::Diverged { epoch, step } => Self {
                status: name,
                diverged_at: Some(DivergedAt { epoch, step }),
                failure: None,
            },
            ArmStatus::Failed { reason } => Self {
                status: name,
                diverged_at: None,
                failure: Some(reason),
            },
            _ => Self {
                status: name,
                diverged_at: None,
                failure: None,
            },
        }
    }
}

impl TryFrom<StatusFields> for ArmStatus {
    type Error = String;

    fn try_from(fields: StatusFields) -> Result<Self, Self::Error> {
        match fields.status.as_str() {
            "finished" => Ok(Self::Finished),
            "interrupted" => Ok(Self::Interrupted),
            "running" => Ok(Self::Running),
            "diverged" => {
                let at = fields
                    .diverged_at
                    .ok_or("status \"diverged\" needs a \"diverged_at\" object")?;
                Ok(Self::Diverged {
                    epoch: at.epoch,
                    step: at.step,
                })
            }
            "failed" => Ok(Self::Failed {
                reason: fields.failure.unwrap_or_default(),
            }),
            other => Err(format!(
                "unknown arm status {other:?} (expected finished, diverged, interrupted or failed)"
            )),
        }
    }
}

impl Serialize for ArmStatus {
    /// As the bare name (`"diverged"`); [`ArmSummary`](super::ArmSummary) adds the details next
    /// to it.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ArmStatus {
    /// From the bare name; `"diverged"` alone reads as epoch 0, step 0 and `"failed"` with an
    /// empty reason (the details live next to the status in
    /// [`ArmSummary`](super::ArmSummary)'s JSON).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        let fields = StatusFields {
            status: name,
            diverged_at: Some(DivergedAt { epoch: 0, step: 0 }),
            failure: None,
        };
        Self::try_from(fields).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(flatten)]` glue: writes [`ArmStatus`] as `status` (+ `diverged_at` / `failure`).
pub(super) mod status_fields {
    use super::{ArmStatus, StatusFields};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        status: &ArmStatus,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        StatusFields::from(status.clone()).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ArmStatus, D::Error> {
        ArmStatus::try_from(StatusFields::deserialize(deserializer)?)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{ArmSummary, RunEnd, RunKey};
    use burn_weight_decay::DecayMode;

    #[test]
    fn status_json_round_trip_with_details() {
        for status in [
            ArmStatus::Finished,
            ArmStatus::Interrupted,
            ArmStatus::Diverged {
                epoch: 3,
                step: 417,
            },
            ArmStatus::Failed {
                reason: "out of memory".into(),
            },
        ] {
            let mut s = ArmSummary::from_records(
                RunEnd {
                    name: "a".to_string(),
                    key: RunKey {
                        mode: DecayMode::Coupled,
                        wd: 10.0,
                        seed: None,
                    },
                    status: status.clone(),
                    decay_shrink: 0.0,
                    best_checkpoint: None,
                    final_checkpoint: None,
                },
                &[],
            );
            s.best_valid_accuracy = 0.5;
            let json = serde_json::to_value(&s).unwrap();
            assert_eq!(json["status"], status.name());
            assert!(json["final_train_loss"].is_null(), "NaN is written as null");
            let back: ArmSummary = serde_json::from_value(json).unwrap();
            assert_eq!(back.status, status);
            assert_eq!(back.best_valid_accuracy, 0.5);
            assert!(back.final_train_loss.is_nan(), "null reads back as NaN");
        }
        assert_eq!(
            serde_json::to_string(&ArmStatus::Interrupted).unwrap(),
            "\"interrupted\""
        );
        let d: ArmStatus = serde_json::from_str("\"finished\"").unwrap();
        assert_eq!(d, ArmStatus::Finished);
        assert!(serde_json::from_str::<ArmStatus>("\"exploded\"").is_err());
    }

    #[test]
    fn status_display() {
        assert_eq!(
            ArmStatus::Diverged { epoch: 2, step: 9 }.to_string(),
            "diverged at epoch 2, step 9"
        );
        assert_eq!(
            ArmStatus::Failed {
                reason: "disk full".into()
            }
            .to_string(),
            "failed: disk full"
        );
        assert_eq!(ArmStatus::Finished.to_string(), "finished");
    }
}
