//! The decay timescale of each decoupled arm (Wang & Aitchison, ICML 2025): `τ_epoch =
//! B/(η·λ·N)` at the peak learning rate, next to the run's length, and where it falls against
//! the paper's guidance (about one epoch to the run's length). The formula and the band are the
//! crate's (`burn_weight_decay::convert::timescale_epochs`, `timescale_guidance`).

use burn_weight_decay::DecayMode;
use burn_weight_decay::convert::{TimescaleGuidance, timescale_epochs, timescale_guidance};

use crate::report::format::{num, ratio};
use crate::report::records::{ArmSummary, RunInfo};

/// One sentence: the rule, then each decoupled arm's `τ_epoch`, its ratio to the run's epochs and
/// its place against the guidance; `None` without a decoupled arm with `wd > 0` (coupled L2 under
/// Adam has no such timescale) or without the run's sizes.
pub fn timescale_sentence(info: &RunInfo, arms: &[ArmSummary]) -> Option<String> {
    let mut parts = Vec::new();
    if info.epochs == 0 {
        return None;
    }
    for a in arms.iter().filter(|a| a.key.mode == DecayMode::Decoupled) {
        let Ok(tau) = timescale_epochs(a.key.wd, info.lr, info.batch_size, info.train_images)
        else {
            continue;
        };
        let band = timescale_guidance(tau, info.epochs);
        let place = match band {
            TimescaleGuidance::WithinTheBand => "within the band",
            _ => band.describe(),
        };
        parts.push(format!(
            "wd={} {} epochs ({}× the run, {place})",
            a.key.wd,
            num(tau),
            ratio(tau / info.epochs as f64)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "Decay timescale (Wang & Aitchison 2025: decoupled decay makes the weights an average of recent updates over τ_epoch = B/(η·λ·N) epochs, here at the peak η = {}, B = {}, N = {}; their guidance is a τ_epoch between about 1 epoch and the run's length, {} epochs; the schedule's lower learning rates make the real average longer): {}.",
        info.lr,
        info.batch_size,
        info.train_images,
        info.epochs,
        parts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::records::{ArmStatus, RunKey};

    fn arm(mode: &str, wd: f64) -> ArmSummary {
        ArmSummary {
            arm: format!("{mode}-wd{wd}"),
            key: RunKey {
                mode: mode.parse().unwrap(),
                wd,
                seed: None,
            },
            status: ArmStatus::Finished,
            best_valid_accuracy: 0.9,
            best_epoch: 1,
            best_valid_macro_f1: 0.9,
            final_train_loss: 0.1,
            final_valid_loss: 0.2,
            final_valid_accuracy: 0.9,
            train_valid_gap: 0.1,
            decay_shrink: 1.0,
            equilibrium_progress: 0.1,
            final_weight_norm: 1.0,
            best_checkpoint: None,
            final_checkpoint: None,
            seconds: 1.0,
        }
    }

    /// The default recipe on the real photos: peak lr 3e-3, batch 32, 2363 photos, 32 epochs.
    /// τ_epoch = 32/(3e-3·λ·2363): 451, 45.1 and 0.451 epochs; coupled arms have none.
    #[test]
    fn the_study_arms_timescales() {
        let info = RunInfo {
            lr: 3e-3,
            batch_size: 32,
            train_images: 2363,
            epochs: 32,
            ..RunInfo::default()
        };
        let arms: Vec<ArmSummary> = ["coupled", "decoupled"]
            .iter()
            .flat_map(|m| [0.01, 0.1, 10.0].map(|wd| arm(m, wd)))
            .collect();
        let sentence = timescale_sentence(&info, &arms).unwrap();
        assert!(
            sentence.ends_with(
                "wd=0.01 451 epochs (14× the run, longer than the run), \
                 wd=0.1 45.1 epochs (1.4× the run, longer than the run), \
                 wd=10 0.451 epochs (0.014× the run, shorter than an epoch)."
            ),
            "{sentence}"
        );
        assert!(
            sentence.contains("η = 0.003, B = 32, N = 2363"),
            "{sentence}"
        );
        assert!(
            sentence.contains("the run's length, 32 epochs"),
            "{sentence}"
        );
        // λ = 0.2 puts τ at 22.6 epochs, inside the band.
        let inside = timescale_sentence(&info, &[arm("decoupled", 0.2)]).unwrap();
        assert!(inside.ends_with("wd=0.2 22.6 epochs (0.71× the run, within the band)."));
        // Only coupled arms, or no decay: no sentence.
        assert_eq!(timescale_sentence(&info, &arms[..3]), None);
        assert_eq!(timescale_sentence(&info, &[arm("decoupled", 0.0)]), None);
    }
}
