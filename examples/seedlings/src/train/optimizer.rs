//! The hyper-parameters of [`OptimizerKind`] (the inner optimizer of every arm, a setting
//! defined in [`crate::settings`]), set in one place ([`OptimizerKind::config`], an
//! [`InnerConfig`]) that both builds the optimizer and describes it for the report.

use burn::optim::ModuleOptimizer;
use burn_weight_decay::{AdamDecayConfig, ConfigError, DecayConfig, DecayMonitor, SgdDecayConfig};

use crate::settings::OptimizerKind;

impl OptimizerKind {
    /// The configuration every arm's optimizer of this kind is built from, before its decay: the
    /// one place its hyper-parameters are set (Adam's β1, β2 and ε as fastai's defaults, SGD's
    /// momentum); [`InnerConfig::describe`] shows them.
    pub fn config(&self) -> InnerConfig {
        match self {
            Self::Adam => InnerConfig::Adam(
                AdamDecayConfig::new()
                    .with_beta_1(0.9)
                    .with_beta_2(0.99)
                    .with_epsilon(1e-5),
            ),
            Self::Sgd => InnerConfig::Sgd(SgdDecayConfig::new().with_momentum(0.9)),
        }
    }

    /// The optimizer in words, for reports: [`config`](Self::config)'s
    /// [`describe`](InnerConfig::describe).
    ///
    /// ```
    /// use seedlings::train::OptimizerKind;
    /// assert_eq!(
    ///     OptimizerKind::Adam.describe(),
    ///     "Adam (β1 0.9, β2 0.99, ε 1e-5, fastai's defaults)"
    /// );
    /// assert_eq!(OptimizerKind::Sgd.describe(), "SGD (momentum 0.9, dampening 0)");
    /// ```
    pub fn describe(&self) -> String {
        self.config().describe()
    }
}

/// An inner optimizer's configuration without its decay, as [`OptimizerKind::config`] sets it.
#[derive(Debug, Clone)]
pub enum InnerConfig {
    /// Adam: β1, β2 and ε are the ones used.
    Adam(AdamDecayConfig),
    /// SGD: momentum and dampening are the ones used.
    Sgd(SgdDecayConfig),
}

impl InnerConfig {
    /// The optimizer in words, for reports, written from the values the optimizer is built with:
    /// Adam's `beta_1`, `beta_2` and `epsilon`, SGD's `momentum` and `dampening`.
    ///
    /// ```
    /// use burn_weight_decay::AdamDecayConfig;
    /// use seedlings::train::InnerConfig;
    /// let adam = AdamDecayConfig::new().with_beta_1(0.8).with_beta_2(0.95).with_epsilon(1e-7);
    /// assert_eq!(
    ///     InnerConfig::Adam(adam).describe(),
    ///     "Adam (β1 0.8, β2 0.95, ε 1e-7, fastai's defaults)"
    /// );
    /// ```
    pub fn describe(&self) -> String {
        match self {
            Self::Adam(config) => format!(
                "Adam (β1 {}, β2 {}, ε {:e}, fastai's defaults)",
                config.beta_1, config.beta_2, config.epsilon
            ),
            Self::Sgd(config) => format!(
                "SGD (momentum {}, dampening {})",
                config.momentum, config.dampening
            ),
        }
    }

    /// This optimizer with `decay`, reporting to `monitor`; or the setting that makes it
    /// impossible.
    pub fn build(
        &self,
        decay: DecayConfig,
        monitor: DecayMonitor,
    ) -> Result<ModuleOptimizer, ConfigError> {
        Ok(match self {
            Self::Adam(config) => config
                .clone()
                .with_decay(decay)
                .try_build()?
                .with_monitor(monitor)
                .into(),
            Self::Sgd(config) => config
                .clone()
                .with_decay(decay)
                .try_build()?
                .with_monitor(monitor)
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's optimizer line as it was written by hand before it was derived: reports of
    /// today's runs do not change.
    #[test]
    fn todays_descriptions_are_unchanged() {
        assert_eq!(
            OptimizerKind::Adam.describe(),
            "Adam (β1 0.9, β2 0.99, ε 1e-5, fastai's defaults)"
        );
        assert_eq!(
            OptimizerKind::Sgd.describe(),
            "SGD (momentum 0.9, dampening 0)"
        );
    }

    /// Each hyper-parameter changed alone changes the description, to the new value.
    #[test]
    fn the_description_follows_every_hyper_parameter() {
        let InnerConfig::Adam(adam) = OptimizerKind::Adam.config() else {
            panic!("Adam's config is Adam's");
        };
        let InnerConfig::Sgd(sgd) = OptimizerKind::Sgd.config() else {
            panic!("SGD's config is SGD's");
        };
        let changed = [
            (
                InnerConfig::Adam(adam.clone().with_beta_1(0.85)),
                "β1 0.85,",
            ),
            (
                InnerConfig::Adam(adam.clone().with_beta_2(0.999)),
                "β2 0.999,",
            ),
            (InnerConfig::Adam(adam.with_epsilon(1e-8)), "ε 1e-8,"),
            (
                InnerConfig::Sgd(sgd.clone().with_momentum(0.5)),
                "momentum 0.5,",
            ),
            (InnerConfig::Sgd(sgd.with_dampening(0.1)), "dampening 0.1)"),
        ];
        let today = [
            OptimizerKind::Adam.describe(),
            OptimizerKind::Sgd.describe(),
        ];
        for (config, needle) in changed {
            let text = config.describe();
            assert!(!today.contains(&text), "{config:?} still reads {text}");
            assert!(text.contains(needle), "`{needle}` not in {text}");
        }
    }
}
