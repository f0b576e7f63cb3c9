//! [`OptimizerKind`]: which inner optimizer every arm uses (`--optimizer adam|sgd`), as a
//! setting; its hyper-parameters (`OptimizerKind::config`) are training's, in
//! `src/train/optimizer.rs`.

use burn_weight_decay::ConfigError;
use serde::{Deserialize, Serialize};

/// The inner optimizer of every arm (`--optimizer adam|sgd`); its hyper-parameters are those of
/// `OptimizerKind::config` (in `src/train/optimizer.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam with fastai's defaults.
    Adam,
    /// SGD with momentum.
    Sgd,
}

impl std::str::FromStr for OptimizerKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "adam" => Ok(Self::Adam),
            "sgd" => Ok(Self::Sgd),
            _ => Err(ConfigError::UnknownName {
                what: "optimizer",
                value: s.to_string(),
                expected: "adam or sgd",
            }),
        }
    }
}

impl OptimizerKind {
    /// The name `--optimizer` takes and `state/sweep.json` saves: `adam` or `sgd`.
    ///
    /// ```
    /// use seedlings::train::OptimizerKind;
    /// assert_eq!(OptimizerKind::Sgd.name().parse::<OptimizerKind>().unwrap(), OptimizerKind::Sgd);
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Self::Adam => "adam",
            Self::Sgd => "sgd",
        }
    }
}
