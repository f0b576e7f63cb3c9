//! fastai's one-cycle learning-rate schedule: cosine warm-up, then cosine annealing.

use serde::{Deserialize, Serialize};

/// fastai's default fraction of the steps spent warming up.
pub const PCT_START: f64 = 0.25;
/// fastai's default `div`: the schedule starts at `lr_max / DIV`.
pub const DIV: f64 = 25.0;
/// fastai's default `div_final`: the schedule ends at `lr_max / DIV_FINAL`.
pub const DIV_FINAL: f64 = 1e5;

/// One-cycle schedule (fastai's `fit_one_cycle`): over the first `pct_start` of the steps the
/// learning rate rises from `lr_max / div` to `lr_max` along a half cosine, then falls to
/// `lr_max / div_final` along another.
///
/// `lr(i) = a + (b − a)·(1 − cos(π·p))/2`, with `p` the position inside the phase and `(a, b)` the
/// phase's start and end. [`OneCycle::new`] takes fastai's defaults, [`PCT_START`], [`DIV`] and
/// [`DIV_FINAL`]; [`OneCycle::describe`] says it in words. (fastai also cycles Adam's β1 between
/// 0.95 and 0.85; this schedule keeps β1 fixed.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OneCycle {
    /// Peak learning rate.
    pub lr_max: f64,
    /// Total number of optimizer steps.
    pub total_steps: usize,
    /// Fraction of the steps spent warming up.
    pub pct_start: f64,
    /// `lr_max / div` is the starting learning rate.
    pub div: f64,
    /// `lr_max / div_final` is the final learning rate.
    pub div_final: f64,
}

impl OneCycle {
    /// fastai's defaults ([`PCT_START`], [`DIV`], [`DIV_FINAL`]) for `lr_max` over `total_steps`
    /// steps.
    pub fn new(lr_max: f64, total_steps: usize) -> Self {
        Self {
            lr_max,
            total_steps,
            pct_start: PCT_START,
            div: DIV,
            div_final: DIV_FINAL,
        }
    }

    /// The schedule in words, for reports, from its own fields: the start `lr_max / div`, the peak
    /// `lr_max` reached after `pct_start` of the steps, the end `lr_max / div_final` (rates with
    /// two significant digits; the number of steps left out).
    ///
    /// ```
    /// use seedlings::schedule::OneCycle;
    /// assert_eq!(
    ///     OneCycle::new(3e-3, 1000).describe(),
    ///     "one-cycle (fastai): 1.2e-4 → 3.0e-3 over the first 25% of steps, cosine down to 3.0e-8"
    /// );
    /// ```
    pub fn describe(&self) -> String {
        // Rounded to 6 decimals so that e.g. 0.3 reads 30, not 30.000000000000004.
        let percent = (self.pct_start * 100.0 * 1e6).round() / 1e6;
        format!(
            "one-cycle (fastai): {:.1e} → {:.1e} over the first {percent}% of steps, cosine down \
             to {:.1e}",
            self.lr_max / self.div,
            self.lr_max,
            self.lr_max / self.div_final
        )
    }

    /// The learning rate of step `step` (0-based); steps past the end keep the final rate.
    pub fn lr(&self, step: usize) -> f64 {
        let pos = if self.total_steps <= 1 {
            0.0
        } else {
            (step as f64 / (self.total_steps - 1) as f64).min(1.0)
        };
        let start = self.lr_max / self.div;
        let end = self.lr_max / self.div_final;
        if pos < self.pct_start {
            cos_between(start, self.lr_max, pos / self.pct_start)
        } else {
            let span = 1.0 - self.pct_start;
            let p = if span > 0.0 {
                (pos - self.pct_start) / span
            } else {
                1.0
            };
            cos_between(self.lr_max, end, p)
        }
    }

    /// The learning rates of every step, in order.
    pub fn all(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.total_steps).map(|step| self.lr(step))
    }
}

/// Half-cosine interpolation from `a` (at `p = 0`) to `b` (at `p = 1`).
fn cos_between(a: f64, b: f64, p: f64) -> f64 {
    // Written from the end point so that p = 1 gives b exactly (cos π = −1).
    b + (a - b) * (1.0 + (std::f64::consts::PI * p).cos()) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
    }

    #[test]
    fn starts_peaks_and_ends_where_fastai_does() {
        // 101 steps: position = step / 100, warm-up ends at step 25.
        let s = OneCycle::new(1e-2, 101);
        assert!(close(s.lr(0), 1e-2 / 25.0));
        assert!(close(s.lr(25), 1e-2));
        assert!(close(s.lr(100), 1e-2 / 1e5));
        assert!(close(s.lr(1000), 1e-2 / 1e5));
    }

    #[test]
    fn midpoints_are_the_cosine_means() {
        let s = OneCycle::new(1.0, 101);
        // Half way through the warm-up (p = 0.5): the mean of 1/25 and 1.
        assert!(close(
            s.lr(12),
            0.04 + 0.96 * (1.0 - (std::f64::consts::PI * 0.48).cos()) / 2.0
        ));
        // Half way through annealing: position 0.625 → p = 0.5 → mean of 1 and 1e-5.
        let mid = s.lr(62); // p = (0.62 − 0.25) / 0.75
        let p = (0.62 - 0.25) / 0.75;
        assert!(close(
            mid,
            1.0 + (1e-5 - 1.0) * (1.0 - (std::f64::consts::PI * p).cos()) / 2.0
        ));
    }

    #[test]
    fn rises_then_falls_monotonically() {
        let s = OneCycle::new(0.003, 400);
        let lrs: Vec<f64> = s.all().collect();
        let peak = lrs.iter().cloned().fold(0.0, f64::max);
        let at = lrs.iter().position(|&x| x == peak).unwrap();
        assert!(lrs[..=at].windows(2).all(|w| w[0] <= w[1]));
        assert!(lrs[at..].windows(2).all(|w| w[0] >= w[1]));
        assert!((at as f64 / 399.0 - 0.25).abs() < 0.01);
    }

    /// The report's schedule line as it was written by hand before it was derived (from the
    /// peak rate alone), so reports of today's runs do not change.
    #[test]
    fn todays_description_is_unchanged() {
        for lr in [3e-3, 1e-2, 0.1, 7.5e-4] {
            let before = format!(
                "one-cycle (fastai): {:.1e} → {:.1e} over the first 25% of steps, cosine down to {:.1e}",
                lr / 25.0,
                lr,
                lr / 1e5
            );
            assert_eq!(OneCycle::new(lr, 360).describe(), before);
        }
    }

    /// Each constant changed alone changes the description, to the new value.
    #[test]
    fn the_description_follows_every_constant() {
        let today = OneCycle::new(1e-2, 100);
        let changed = [
            (OneCycle { div: 10.0, ..today }, "1.0e-3 → 1.0e-2"),
            (
                OneCycle {
                    pct_start: 0.3,
                    ..today
                },
                "first 30% of steps",
            ),
            (
                OneCycle {
                    div_final: 1e4,
                    ..today
                },
                "down to 1.0e-6",
            ),
            (
                OneCycle {
                    lr_max: 5e-3,
                    ..today
                },
                "2.0e-4 → 5.0e-3",
            ),
        ];
        for (schedule, needle) in changed {
            let text = schedule.describe();
            assert_ne!(text, today.describe(), "{schedule:?}");
            assert!(text.contains(needle), "`{needle}` not in {text}");
        }
    }

    #[test]
    fn a_single_step_uses_the_start_rate() {
        assert!(close(OneCycle::new(0.1, 1).lr(0), 0.1 / 25.0));
    }
}
