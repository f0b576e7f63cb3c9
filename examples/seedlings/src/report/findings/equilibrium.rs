//! Rotational equilibrium (Kosson et al. 2024): per arm, how far towards it the run got
//! ([`EQUILIBRIUM_REACHED`]) and whether the conv weights' measured angle per step and norm
//! matched the prediction ([`PREDICTION_AGREES_WITHIN`]); per mode, whether the arms short of it
//! turned by the same angle ([`SAME_ANGLE_WITHIN`]).

use burn_weight_decay::DecayMode;

use super::{EQUILIBRIUM_REACHED, PREDICTION_AGREES_WITHIN, SAME_ANGLE_WITHIN, in_mode, modes};
use crate::records::{ArmSummary, EpochRecord, RunInfo};
use crate::report::format::{and_list, angle_rad, capitalise, ratio, steps};
use crate::report::plots::EQUILIBRIUM;

/// The rule, then one sentence per arm: how far towards rotational equilibrium it got
/// ([`EQUILIBRIUM_REACHED`]) and whether its measured angles matched the prediction
/// ([`PREDICTION_AGREES_WITHIN`]).
pub fn equilibrium_sentences(
    info: &RunInfo,
    arms: &[ArmSummary],
    records: &[EpochRecord],
) -> Vec<String> {
    let mut out = vec![format!(
        "Equilibrium rule used here (Kosson et al. 2024, rotational equilibrium; chart: {chart}): decay balances a weight's growth after about 1/(η·λ) steps, so an arm reached equilibrium when Σ_t s_t·λ over its steps, the steps run ÷ the steps needed, is at least {EQUILIBRIUM_REACHED}; for an arm that reached it, the prediction (for AdamW an angle of √(2·η·λ·(1−β1)/(1+β1)) per step and a norm of √(η·C/(2·λ)) over C weights) held in an epoch when the conv weights' measured value is within a factor {PREDICTION_AGREES_WITHIN} of it.",
        chart = EQUILIBRIUM.png()
    )];
    let adam = info.optimizer.to_ascii_lowercase().contains("adam");
    for a in arms {
        out.push(equilibrium_sentence(info, a, records, adam));
    }
    for mode in modes(arms) {
        let known: Vec<&ArmSummary> = in_mode(arms, mode)
            .into_iter()
            .filter(|a| {
                a.equilibrium_progress.is_finite()
                    && a.key.wd > 0.0
                    && a.key.mode != DecayMode::None
            })
            .collect();
        if known.len() < 2 {
            continue;
        }
        let list = |reached: bool| -> Vec<String> {
            known
                .iter()
                .filter(|a| (a.equilibrium_progress >= EQUILIBRIUM_REACHED) == reached)
                .map(|a| format!("wd={}", a.key.wd))
                .collect()
        };
        let (yes, no) = (list(true), list(false));
        let m = capitalise(mode.name());
        let mut sentence = match (yes.is_empty(), no.is_empty()) {
            (true, _) => format!(
                "{m}, by the equilibrium rule: no arm reached equilibrium ({}).",
                and_list(&no)
            ),
            (_, true) => format!(
                "{m}, by the equilibrium rule: every arm reached equilibrium ({}).",
                and_list(&yes)
            ),
            _ => format!(
                "{m}, by the equilibrium rule: {} reached equilibrium, {} did not.",
                and_list(&yes),
                and_list(&no)
            ),
        };
        if let Some(angles) = same_angle_sentence(&known, records) {
            sentence.push(' ');
            sentence.push_str(&angles);
        }
        out.push(sentence);
    }
    out
}

/// For arms of one mode: each one's mean measured conv angle per step over the epochs measured
/// in all of them, and whether those short of equilibrium turned by the same angle (within
/// [`SAME_ANGLE_WITHIN`]), i.e. had the same effective learning rate whatever their decay.
fn same_angle_sentence(arms: &[&ArmSummary], records: &[EpochRecord]) -> Option<String> {
    let angle = |arm: &str, epoch: usize| {
        records
            .iter()
            .find(|r| r.arm == arm && r.epoch == epoch && r.is_ok())
            .and_then(|r| r.conv_angle)
            .filter(|v| v.is_finite())
    };
    let epochs: Vec<usize> = records
        .iter()
        .filter(|r| r.arm == arms[0].arm)
        .map(|r| r.epoch)
        .filter(|&e| arms.iter().all(|a| angle(&a.arm, e).is_some()))
        .collect();
    if epochs.is_empty() {
        return None;
    }
    let mean = |a: &ArmSummary| {
        epochs.iter().filter_map(|&e| angle(&a.arm, e)).sum::<f64>() / epochs.len() as f64
    };
    let means: Vec<String> = arms
        .iter()
        .map(|a| format!("wd={} {}", a.key.wd, angle_rad(mean(a))))
        .collect();
    let over = if epochs.len() == 1 {
        format!("epoch {}", epochs[0])
    } else {
        format!("the {} epochs measured in every arm", epochs.len())
    };
    let listed = format!("mean over {over}: {} rad", means.join(", "));
    let short: Vec<&&ArmSummary> = arms
        .iter()
        .filter(|a| a.equilibrium_progress < EQUILIBRIUM_REACHED)
        .collect();
    if short.len() < 2 {
        return Some(format!("Angle per step of the conv weights ({listed})."));
    }
    let values: Vec<f64> = short.iter().map(|a| mean(a)).collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    let apart = hi / lo - 1.0;
    let names: Vec<String> = short.iter().map(|a| format!("wd={}", a.key.wd)).collect();
    Some(if apart <= SAME_ANGLE_WITHIN {
        format!(
            "{}, short of equilibrium, turned their conv weights by the same angle per step to within {:.0}% ({listed}): their decay had not changed their effective learning rate.",
            and_list(&names),
            100.0 * apart
        )
    } else {
        format!(
            "{}, short of equilibrium, turned their conv weights by angles per step {:.0}% apart ({listed}).",
            and_list(&names),
            100.0 * apart
        )
    })
}

fn equilibrium_sentence(
    info: &RunInfo,
    a: &ArmSummary,
    records: &[EpochRecord],
    adam: bool,
) -> String {
    let who = format!("wd={} {}", a.key.wd, a.key.mode);
    if a.key.mode == DecayMode::None || a.key.wd == 0.0 {
        return format!("{who}: no decay, so there is no equilibrium to reach.");
    }
    let needed = if info.lr.is_finite() && info.lr > 0.0 {
        format!(
            " (1/(η·λ) ≈ {} steps at the peak rate η = {})",
            steps(1.0 / (info.lr * a.key.wd)),
            info.lr
        )
    } else {
        String::new()
    };
    let p = a.equilibrium_progress;
    let reached = p.is_finite() && p >= EQUILIBRIUM_REACHED;
    let mut clauses = vec![if !p.is_finite() {
        format!(
            "how many of the steps equilibrium needs were run is not known ({})",
            a.status
        )
    } else if reached {
        format!(
            "{}× the steps equilibrium needs were run{needed}, so its weights reached equilibrium, where decay sets their norm and how far each step turns them",
            ratio(p)
        )
    } else {
        format!(
            "{} of the steps equilibrium needs were run{needed}, so its weights never reached equilibrium: decay had not yet set their norm",
            ratio(p)
        )
    }];
    let mut own: Vec<&EpochRecord> = records
        .iter()
        .filter(|r| r.arm == a.arm && r.is_ok() && r.conv_angle.is_some_and(f64::is_finite))
        .collect();
    own.sort_by_key(|r| r.epoch);
    if own.is_empty() {
        clauses.push("the angle per step was not measured in this run".into());
        return format!("{who}: {}.", clauses.join("; "));
    }
    let norms: Vec<f64> = own
        .iter()
        .filter_map(|r| {
            let (n, p) = (r.conv_norm?, r.conv_norm_predicted?);
            (n.is_finite() && p.is_finite() && p > 0.0).then(|| n / p)
        })
        .collect();
    if let Some(spread) = Spread::of(&norms) {
        let side = if spread.all_within() {
            "at it".to_string()
        } else if spread.hi < 1.0 / PREDICTION_AGREES_WITHIN {
            "below it, still growing towards it".to_string()
        } else if spread.lo > PREDICTION_AGREES_WITHIN {
            "above it, still shrinking towards it".to_string()
        } else {
            format!(
                "within a factor {PREDICTION_AGREES_WITHIN} of it in {} of {}",
                spread.within, spread.n
            )
        };
        clauses.push(format!(
            "the conv weights' norm was {}: {side}",
            spread.describe("the predicted equilibrium norm")
        ));
    }
    let angles: Vec<f64> = own.iter().filter_map(|r| r.angle_ratio()).collect();
    let Some(spread) = Spread::of(&angles) else {
        let first = own.first().and_then(|r| r.conv_angle).unwrap_or(f64::NAN);
        let last = own.last().and_then(|r| r.conv_angle).unwrap_or(f64::NAN);
        let span = format!(
            "measured angle per step {} → {} rad",
            angle_rad(first),
            angle_rad(last)
        );
        clauses.push(if a.key.mode == DecayMode::Coupled && adam {
            format!(
                "the paper gives no equilibrium for Adam + L2 (coupled decay is divided by Adam's √v), so there is no predicted angle to compare ({span})"
            )
        } else {
            format!("no predicted angle was recorded to compare ({span})")
        });
        return format!("{who}: {}.", clauses.join("; "));
    };
    clauses.push(if reached {
        let verdict = if spread.all_within() {
            "so the prediction held".to_string()
        } else if spread.within == 0 {
            format!(
                "outside a factor {PREDICTION_AGREES_WITHIN} in every one, so the prediction did not hold here"
            )
        } else {
            format!(
                "within a factor {PREDICTION_AGREES_WITHIN} in {} of {}",
                spread.within, spread.n
            )
        };
        format!(
            "its measured angle per step was {}, {verdict}",
            spread.describe("the predicted one")
        )
    } else {
        format!(
            "its measured angle per step was {}, which is no test of the prediction for weights not at equilibrium",
            spread.describe("the equilibrium value")
        )
    });
    format!("{who}: {}.", clauses.join("; "))
}

/// Per-epoch ratios measured ÷ predicted: their range, median, and how many lie within
/// [`PREDICTION_AGREES_WITHIN`].
struct Spread {
    lo: f64,
    hi: f64,
    median: f64,
    n: usize,
    within: usize,
}

impl Spread {
    fn of(ratios: &[f64]) -> Option<Self> {
        if ratios.is_empty() {
            return None;
        }
        let mut sorted = ratios.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if !n.is_multiple_of(2) {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let f = PREDICTION_AGREES_WITHIN;
        Some(Self {
            lo: sorted[0],
            hi: sorted[n - 1],
            median,
            n,
            within: sorted.iter().filter(|r| (1.0 / f..=f).contains(*r)).count(),
        })
    }

    fn all_within(&self) -> bool {
        self.within == self.n
    }

    /// `0.3× WHAT in its one measured epoch`, `0.1× WHAT in all its 8 measured epochs`,
    /// `0.25–2× WHAT over its 8 measured epochs (median 1.1)`.
    fn describe(&self, what: &str) -> String {
        if self.n == 1 {
            format!("{}× {what} in its one measured epoch", ratio(self.lo))
        } else if ratio(self.lo) == ratio(self.hi) {
            format!(
                "{}× {what} in all its {} measured epochs",
                ratio(self.lo),
                self.n
            )
        } else {
            format!(
                "{}–{}× {what} over its {} measured epochs (median {})",
                ratio(self.lo),
                ratio(self.hi),
                self.n,
                ratio(self.median)
            )
        }
    }
}
