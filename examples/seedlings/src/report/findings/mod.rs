//! The sentences under "What the numbers say" in `report.md`, and the thresholds of the rules
//! that produce them.
//!
//! Every sentence is computed from the numbers, with the rule that produced it stated next to
//! it; nothing is a canned conclusion. The rules' thresholds are the public constants of this
//! module, all in one place; the rules live in the submodules, one concern each:
//!
//! - `answer.rs`: the report's title and its "Answer", the result in at most five lines;
//! - `ranking.rs`: the best weight decay of each mode, and coupled against decoupled at the same
//!   wd, with [`ABOUT_EQUAL_PP`] as the tie;
//! - `fit.rs`: whether the largest decay still fitted the training data ([`NO_FIT_LOSS_RATIO`],
//!   [`CHANCE_FRACTION`]), arms at chance level on validation ([`CHANCE_VALID_WITHIN`]), and
//!   the train–valid gap;
//! - `equilibrium.rs`: how far each arm got towards rotational equilibrium
//!   ([`EQUILIBRIUM_REACHED`]) and whether its measured angles and norms matched the prediction
//!   ([`PREDICTION_AGREES_WITHIN`], [`SAME_ANGLE_WITHIN`]);
//! - `timescale.rs`: each decoupled arm's decay timescale τ_epoch (Wang & Aitchison 2025) next
//!   to the run's length, against the paper's band of 1 epoch … the run;
//! - `status.rs`: arms that diverged, failed, were interrupted or are still running;
//! - `comparison.rs`: the "Coupled vs decoupled" section of `report.md`, Adam + L2 against
//!   AdamW at each wd run in both modes, with [`SAME_LOSS_WITHIN`] and [`SAME_NORM_WITHIN`]
//!   (and [`ABOUT_EQUAL_PP`] for accuracies) as the one-seed tie.
//!
//! With several seeds per arm ([`seeds`](super::seeds)) the per-arm sentences read each arm's
//! means over its finished runs, and a tie is no longer a threshold: two arms are *different*
//! when the 95 % interval of their paired per-seed differences excludes 0 ([`stats`](super::stats)).

mod answer;
mod comparison;
mod equilibrium;
mod fit;
mod ranking;
mod status;
mod timescale;

use std::borrow::Cow;

use burn_weight_decay::DecayMode;

use super::format::{and_list, num};
use super::seeds::{ArmRuns, ReportPlan, arms_of, mean_records};
use crate::records::{ArmStatus, ArmSummary, EpochRecord, RunInfo};

pub use answer::{answer, title};
pub(crate) use comparison::planned_comparison_section;
pub use comparison::{ComparisonRow, ComparisonSection, WdComparison, comparison_section};
pub use equilibrium::equilibrium_sentences;

/// Two best validation accuracies at most this many percentage points apart are called
/// "about equal", or at most one validation image apart when that is more ([`AccuracyTie`]).
pub const ABOUT_EQUAL_PP: f64 = 1.0;

/// The one-seed tie rule for accuracies: [`ABOUT_EQUAL_PP`], or one validation image when that
/// is more. A gap of one image is the finest the validation set can show (4.17 pp with 24
/// images), so it is never called a difference.
///
/// ```
/// use seedlings::report::findings::AccuracyTie;
///
/// let small = AccuracyTie::for_valid_images(24);
/// assert!(small.holds(100.0 / 24.0) && !small.holds(200.0 / 24.0));
/// assert_eq!(small.words(), "the 4.2 pp (one of the 24 validation images) this report treats as a tie");
/// let large = AccuracyTie::for_valid_images(591);
/// assert!(large.holds(1.0) && !large.holds(1.1));
/// assert_eq!(large.words(), "the 1 pp this report treats as a tie");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccuracyTie {
    /// The widest gap, in percentage points, that is a tie.
    pub pp: f64,
    /// The validation images, when one of them sets the rule (`pp = 100 / images`).
    pub one_image_of: Option<usize>,
}

impl AccuracyTie {
    /// The rule for a validation set of `images` images.
    pub fn for_valid_images(images: usize) -> AccuracyTie {
        let one_image = 100.0 / images.max(1) as f64;
        if images > 0 && one_image > ABOUT_EQUAL_PP {
            AccuracyTie {
                pp: one_image,
                one_image_of: Some(images),
            }
        } else {
            AccuracyTie {
                pp: ABOUT_EQUAL_PP,
                one_image_of: None,
            }
        }
    }

    /// Whether two accuracies `diff_pp` percentage points apart tie. Both numbers are rounded
    /// to the 0.1 pp the report prints, so the verdict agrees with the numbers shown (and
    /// 0.82 − 0.81, which is 1.0000000000000009 pp in floating point, is a tie).
    pub fn holds(&self, diff_pp: f64) -> bool {
        let tenth = |v: f64| (v.abs() * 10.0).round() / 10.0;
        tenth(diff_pp) <= tenth(self.pp)
    }

    /// The rule in words: "the 1 pp this report treats as a tie".
    pub fn words(&self) -> String {
        match self.one_image_of {
            Some(images) => format!(
                "the {} pp (one of the {images} validation images) this report treats as a tie",
                super::format::pp(self.pp)
            ),
            None => format!("the {ABOUT_EQUAL_PP} pp this report treats as a tie"),
        }
    }
}

/// An arm "did not fit" when its final train loss exceeds this multiple of the final train loss
/// of the best arm (highest best valid accuracy) of its mode…
pub const NO_FIT_LOSS_RATIO: f64 = 2.0;

/// …or exceeds this fraction of `ln(number of classes)`, the cross-entropy of guessing uniformly
/// at random.
pub const CHANCE_FRACTION: f64 = 0.9;

/// An arm is at chance level on validation when its final valid loss is within this fraction of
/// `ln(number of classes)`, the cross-entropy of guessing uniformly at random.
pub const CHANCE_VALID_WITHIN: f64 = 0.1;

/// An arm reached rotational equilibrium when its equilibrium progress `Σ_t s_t·λ` over the
/// steps it ran (steps run ÷ the `1/(η·λ)` steps equilibrium needs) is at least this.
pub const EQUILIBRIUM_REACHED: f64 = 1.0;

/// An epoch's measured conv-weight angle per step (or norm) agrees with the equilibrium's
/// prediction when it is within this factor of it, either way. Only an arm that reached
/// equilibrium ([`EQUILIBRIUM_REACHED`]) tests the prediction.
pub const PREDICTION_AGREES_WITHIN: f64 = 2.0;

/// Arms short of equilibrium whose mean measured angles per step are at most this fraction
/// apart (largest ÷ smallest − 1) turned "by the same angle": the same effective learning rate.
pub const SAME_ANGLE_WITHIN: f64 = 0.1;

/// With one seed, coupled and decoupled final train losses at most this fraction apart
/// (larger ÷ smaller − 1) are "about equal" in the coupled-vs-decoupled comparison.
pub const SAME_LOSS_WITHIN: f64 = 0.1;

/// With one seed, coupled and decoupled final weight norms at most this fraction apart
/// (larger ÷ smaller − 1) are "about the same" in the coupled-vs-decoupled comparison.
pub const SAME_NORM_WITHIN: f64 = 0.1;

/// The sentences under "What the numbers say", each derived from the numbers, with the rule
/// used stated in the sentence: one path for one seed per arm and several (`runs` one per arm
/// and seed).
///
/// The per-arm sentences (fit, chance, equilibrium, timescale, the train–valid gap) read each
/// arm's numbers over its runs: with one seed the run's own, with several
/// the means over its finished runs and mean curves. Ranking and coupled against decoupled
/// pick their rule from the number of seeds: with one, the [`AccuracyTie`]; with several, a
/// paired comparison over seeds, whose rule is stated first. The status sentences name each run.
///
/// The report's [`ReportPlan::of`] these runs says whether they have several seeds per arm.
pub fn findings(info: &RunInfo, runs: &[ArmSummary], records: &[EpochRecord]) -> Vec<String> {
    planned_findings(ReportPlan::of(info, runs), info, runs, records)
}

/// [`findings`] under a plan decided by the caller.
pub(crate) fn planned_findings(
    plan: ReportPlan,
    info: &RunInfo,
    runs: &[ArmSummary],
    records: &[EpochRecord],
) -> Vec<String> {
    let mut out = Vec::new();
    if !preamble(info, runs, &mut out) {
        return out;
    }
    let arms = arms_of(runs);
    let seeded = plan.seeded;
    let (per_arm, curves) = arm_numbers(runs, &arms, records, seeded);
    if seeded {
        out.push(seeds_rule(info, &arms));
    }
    let modes = modes(&per_arm);
    let tie = AccuracyTie::for_valid_images(info.valid_images);
    for mode in &modes {
        out.push(ranking::best_in_mode(*mode, &arms, seeded, tie));
    }
    out.extend(fit::fit_sentences(info, &per_arm, &modes));
    out.extend(fit::chance_sentences(info, &per_arm));
    out.extend(equilibrium_sentences(info, &per_arm, &curves));
    out.extend(timescale::timescale_sentence(info, &per_arm));
    out.extend(fit::gap_sentences(info, &per_arm, &modes));
    out.extend(ranking::mode_comparison(&arms, seeded, tie));
    out.extend(status::status_sentences(info, runs, records));
    out
}

/// Each arm's numbers and curves as the per-arm sentences read them: the numbers of
/// [`arm_summaries`], and with one seed per arm (`seeded` false) each arm's own epochs, with
/// several the mean curves ([`mean_records`]).
fn arm_numbers<'a>(
    runs: &'a [ArmSummary],
    arms: &[ArmRuns<'_>],
    records: &'a [EpochRecord],
    seeded: bool,
) -> (Cow<'a, [ArmSummary]>, Cow<'a, [EpochRecord]>) {
    let curves = if seeded {
        Cow::Owned(mean_records(records))
    } else {
        Cow::Borrowed(records)
    };
    (arm_summaries(runs, arms, seeded), curves)
}

/// Each arm's numbers, one summary per arm of `arms` (the groups of `runs`), in their order:
/// the one place the report's parts (the findings, the Answer) take them from. With one seed
/// per arm (`seeded` false) an arm's statistics over its one run are that run: its own numbers
/// (its best epoch, its partial numbers with their caveat). With several, each arm's means over
/// its finished runs ([`ArmRuns::mean_summary`]), however many of its runs there are so far.
pub(super) fn arm_summaries<'a>(
    runs: &'a [ArmSummary],
    arms: &[ArmRuns<'_>],
    seeded: bool,
) -> Cow<'a, [ArmSummary]> {
    if seeded {
        Cow::Owned(arms.iter().map(ArmRuns::mean_summary).collect())
    } else {
        Cow::Borrowed(runs)
    }
}

/// The rule of a report with several seeds per arm: the seeds, and how two arms tie or differ.
fn seeds_rule(info: &RunInfo, arms: &[ArmRuns<'_>]) -> String {
    let seeds: Vec<String> = seed_list(info, arms).iter().map(u64::to_string).collect();
    format!(
        "Seeds rule used here: every arm ran with {} seed{} ({}); an arm's numbers below are means over its finished runs, and two arms are a tie or different by a paired comparison over the seeds both finished: different when the 95% interval of the mean per-seed difference (Student's t, n − 1 degrees of freedom) excludes 0, a tie when it includes 0.",
        seeds.len(),
        super::format::plural(seeds.len()),
        and_list(&seeds)
    )
}

/// Every arm's seeds: those of the run's settings, else those of the runs so far, ascending.
pub(crate) fn seed_list(info: &RunInfo, arms: &[ArmRuns<'_>]) -> Vec<u64> {
    if !info.seeds.is_empty() {
        return info.seeds.clone();
    }
    let mut seeds: Vec<u64> = arms.iter().flat_map(ArmRuns::seeds).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}

/// The sentences every report starts with (no results yet; synthetic images; what one
/// validation image is worth); `false` when there are no results to say more about.
fn preamble(info: &RunInfo, arms: &[ArmSummary], out: &mut Vec<String>) -> bool {
    if arms.is_empty() {
        out.push("There are no arm results yet, so there is nothing to compare.".into());
        return false;
    }
    if info.synthetic {
        out.push(
            "All of this describes the synthetic images; it is no evidence about real seedlings."
                .into(),
        );
    }
    if info.valid_images > 0 {
        out.push(format!(
            "With {} validation images, one image is {} percentage points of accuracy.",
            info.valid_images,
            num(100.0 / info.valid_images as f64)
        ));
    }
    true
}

/// The modes, in order of first appearance.
fn modes(arms: &[ArmSummary]) -> Vec<DecayMode> {
    let mut modes: Vec<DecayMode> = Vec::new();
    for a in arms {
        if !modes.contains(&a.key.mode) {
            modes.push(a.key.mode);
        }
    }
    modes
}

fn in_mode(arms: &[ArmSummary], mode: DecayMode) -> Vec<&ArmSummary> {
    arms.iter().filter(|a| a.key.mode == mode).collect()
}

/// The arm of `mode` with the highest finite best valid accuracy (the first on a tie).
fn best_of<'a>(arms: &[&'a ArmSummary]) -> Option<&'a ArmSummary> {
    arms.iter()
        .filter(|a| a.best_valid_accuracy.is_finite())
        .fold(None, |best: Option<&ArmSummary>, a| match best {
            Some(b) if b.best_valid_accuracy >= a.best_valid_accuracy => Some(b),
            _ => Some(a),
        })
}

/// "; later diverged" and the like, for an arm whose numbers are partial; empty otherwise.
fn caveat(a: &ArmSummary) -> &'static str {
    match a.status {
        ArmStatus::Finished => "",
        ArmStatus::Diverged { .. } => "; later diverged",
        ArmStatus::Interrupted => "; interrupted, partial",
        ArmStatus::Running => "; still running, partial",
        ArmStatus::Failed { .. } => "; failed, partial",
    }
}

/// Whether two numbers are equal up to rounding noise.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// How many epochs `arm` recorded (rows with status `ok`).
pub(super) fn epochs_recorded(records: &[EpochRecord], arm: &str) -> usize {
    records.iter().filter(|r| r.arm == arm && r.is_ok()).count()
}
