//! Statistics over seeds: the mean, the sample standard deviation, Student's t quantile, the
//! 95 % confidence interval of a mean, and the paired comparison of two arms run with the same
//! seeds.
//!
//! For `n` values `x_1 … x_n`:
//!
//! - mean `x̄ = Σ x_i / n`;
//! - sample standard deviation `s = √(Σ (x_i − x̄)² / (n − 1))`, for `n ≥ 2`;
//! - 95 % confidence interval of the mean `x̄ ± t·s/√n`, with `t = t(0.975, n − 1)` the quantile
//!   of Student's t distribution with `n − 1` degrees of freedom (two-sided, 2.5 % in each tail);
//! - paired comparison of arms `a` and `b` over the seeds both ran: the per-seed differences
//!   `d_i = a_i − b_i` and their interval `d̄ ± t·s_d/√n`; the arms are *different* when that
//!   interval excludes 0, else a *tie*. Pairing removes what a seed does to both arms alike (its
//!   initial weights, its data order), so it can separate arms whose own intervals overlap.
//!
//! `t(0.975, df)` comes from [`T_975`], a table for `df` 1 to 30 (the values of standard t
//! tables, e.g. NIST/SEMATECH e-Handbook of Statistical Methods §1.3.6.7.2, to 4 decimals;
//! checked against a numerical inversion of the t distribution's CDF), and beyond 30 from the
//! Cornish–Fisher expansion in the normal quantile `z = 1.959964` (Abramowitz & Stegun 26.7.5,
//! four terms), within 1e-6 of the exact quantile for `df ≥ 31`.
//!
//! ```
//! use seedlings::report::stats::{Estimate, t_975};
//!
//! let e = Estimate::of(&[0.80, 0.82, 0.84]).unwrap();
//! assert!((e.mean - 0.82).abs() < 1e-12);
//! assert!((e.sd.unwrap() - 0.02).abs() < 1e-12);
//! assert_eq!(t_975(2), Some(4.3027));
//! // 4.3027 · 0.02 / √3
//! assert!((e.half_width.unwrap() - 0.0497).abs() < 5e-5);
//! ```

/// The confidence level of every interval here: 95 %, two-sided.
pub const CONFIDENCE: f64 = 0.95;

/// `t(0.975, df)` for `df` = 1 … 30: `T_975[df − 1]`.
pub const T_975: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
    2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
    2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/// The standard normal quantile at 0.975.
const Z_975: f64 = 1.959_963_984_540_054;

/// `t(0.975, df)`, the two-sided 95 % quantile of Student's t with `df` degrees of freedom;
/// `None` for `df = 0`. From [`T_975`] up to 30, then the Cornish–Fisher expansion
/// `t ≈ z + g1/df + g2/df² + g3/df³ + g4/df⁴` (Abramowitz & Stegun 26.7.5).
pub fn t_975(df: usize) -> Option<f64> {
    match df {
        0 => None,
        1..=30 => Some(T_975[df - 1]),
        _ => Some(cornish_fisher(df as f64)),
    }
}

/// The Cornish–Fisher expansion of `t(0.975, v)`: `z + g1/v + g2/v² + g3/v³ + g4/v⁴`, with the
/// `g_k` polynomials in `z` of Abramowitz & Stegun 26.7.5.
fn cornish_fisher(v: f64) -> f64 {
    let z = Z_975;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    let g4 = (79.0 * z.powi(9) + 776.0 * z.powi(7) + 1482.0 * z.powi(5)
        - 1920.0 * z.powi(3)
        - 945.0 * z)
        / 92160.0;
    z + g1 / v + g2 / v.powi(2) + g3 / v.powi(3) + g4 / v.powi(4)
}

/// The mean of `values`; `None` when there are none.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The sample standard deviation `√(Σ (x − x̄)² / (n − 1))`; `None` below two values.
pub fn sample_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let squares: f64 = values.iter().map(|x| (x - m).powi(2)).sum();
    Some((squares / (values.len() - 1) as f64).sqrt())
}

/// The mean of some values, with their spread and the 95 % confidence interval of the mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// How many values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (`None` for one value).
    pub sd: Option<f64>,
    /// `t(0.975, n − 1)·sd/√n`, half the width of the 95 % interval (`None` for one value).
    pub half_width: Option<f64>,
}

impl Estimate {
    /// The estimate of `values` (meant to be finite); `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mean = mean(values)?;
        let n = values.len();
        let sd = sample_sd(values);
        let half_width = sd
            .zip(t_975(n - 1))
            .map(|(sd, t)| t * sd / (n as f64).sqrt());
        Some(Self {
            n,
            mean,
            sd,
            half_width,
        })
    }

    /// The 95 % confidence interval `(low, high)` of the mean; `None` for one value.
    pub fn interval(&self) -> Option<(f64, f64)> {
        self.half_width.map(|h| (self.mean - h, self.mean + h))
    }
}

/// What a paired comparison concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The 95 % interval of the mean difference includes 0.
    Tie,
    /// The 95 % interval of the mean difference excludes 0.
    Different,
    /// Fewer than two pairs: no interval, no verdict.
    Undecided,
}

impl Verdict {
    /// `tie`, `different` or `undecided`: the word the report and `summary.json` use.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Tie => "tie",
            Self::Different => "different",
            Self::Undecided => "undecided",
        }
    }
}

/// Two arms compared seed by seed: the estimate of the differences `a − b` and the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// The per-seed differences `a_i − b_i`: their mean, spread and 95 % interval.
    pub difference: Estimate,
    /// [`Different`](Verdict::Different) when the interval excludes 0, [`Tie`](Verdict::Tie)
    /// when it includes it, [`Undecided`](Verdict::Undecided) with a single pair.
    pub verdict: Verdict,
}

/// The paired comparison of `(a_i, b_i)` pairs, one per seed both arms ran (values meant to
/// be finite); `None` without any pair.
pub fn paired(pairs: &[(f64, f64)]) -> Option<Paired> {
    let differences: Vec<f64> = pairs.iter().map(|(a, b)| a - b).collect();
    let difference = Estimate::of(&differences)?;
    let verdict = match difference.interval() {
        None => Verdict::Undecided,
        Some((low, high)) if low > 0.0 || high < 0.0 => Verdict::Different,
        Some(_) => Verdict::Tie,
    };
    Some(Paired {
        difference,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn three_values_by_hand() {
        // Σ(x − x̄)² = 0.0004 + 0 + 0.0004, / 2 = 0.0004, √ = 0.02; 4.3027·0.02/√3 = 0.049683.
        let e = Estimate::of(&[0.80, 0.82, 0.84]).unwrap();
        assert_eq!(e.n, 3);
        assert!(close(e.mean, 0.82, 1e-12));
        assert!(close(e.sd.unwrap(), 0.02, 1e-12));
        assert!(close(e.half_width.unwrap(), 0.049683, 1e-6));
        let (low, high) = e.interval().unwrap();
        assert!(close(low, 0.770317, 1e-6) && close(high, 0.869683, 1e-6));
    }

    #[test]
    fn one_value_has_a_mean_and_no_interval() {
        let e = Estimate::of(&[0.5]).unwrap();
        assert_eq!((e.n, e.mean, e.sd, e.half_width), (1, 0.5, None, None));
        assert_eq!(Estimate::of(&[]), None);
        assert_eq!(sample_sd(&[1.0]), None);
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn t_quantiles_from_the_table_and_beyond() {
        assert_eq!(t_975(0), None);
        assert_eq!(t_975(1), Some(12.7062));
        assert_eq!(t_975(2), Some(4.3027));
        assert_eq!(t_975(30), Some(2.0423));
        // Exact values (numerical inversion of the CDF): 2.039513 at 31, 2.021075 at 40,
        // 1.983972 at 100, 1.962339 at 1000; the normal quantile in the limit.
        assert!(close(t_975(31).unwrap(), 2.039513, 2e-6));
        assert!(close(t_975(40).unwrap(), 2.021075, 2e-6));
        assert!(close(t_975(100).unwrap(), 1.983972, 2e-6));
        assert!(close(t_975(1000).unwrap(), 1.962339, 2e-6));
        // The expansion meets the table where they join: 2.042272 at 30 (the table's 2.0423).
        assert!(close(cornish_fisher(30.0), 2.042272, 2e-6));
        assert!(close(t_975(usize::MAX).unwrap(), Z_975, 1e-12));
    }

    #[test]
    fn paired_is_different_where_the_unpaired_intervals_overlap() {
        // Arm a: 0.80, 0.82, 0.84 (interval 0.7703–0.8697). Arm b, seed by seed a little lower:
        // 0.785, 0.812, 0.828: mean 0.808333, sd 0.021733, interval 0.754344–0.862322. The
        // intervals overlap, but the differences 0.015, 0.008, 0.012 have mean 0.011667, sd
        // 0.003512, and interval 0.011667 ± 4.3027·0.003512/√3 = 0.002943–0.020391: > 0.
        let a = [0.80, 0.82, 0.84];
        let b = [0.785, 0.812, 0.828];
        let (ea, eb) = (Estimate::of(&a).unwrap(), Estimate::of(&b).unwrap());
        let (_, a_high) = ea.interval().unwrap();
        let (b_low, b_high) = eb.interval().unwrap();
        assert!(close(eb.mean, 0.808333, 1e-6) && close(eb.sd.unwrap(), 0.021733, 1e-6));
        assert!(close(b_low, 0.754344, 1e-6) && close(b_high, 0.862322, 1e-6));
        let (a_low, _) = ea.interval().unwrap();
        assert!(
            a_low < b_high && b_low < a_high,
            "the unpaired intervals overlap"
        );

        let pairs: Vec<(f64, f64)> = a.iter().copied().zip(b).collect();
        let p = paired(&pairs).unwrap();
        assert_eq!(p.verdict, Verdict::Different);
        assert!(close(p.difference.mean, 0.011667, 1e-6));
        assert!(close(p.difference.sd.unwrap(), 0.003512, 1e-6));
        let (low, high) = p.difference.interval().unwrap();
        assert!(close(low, 0.002943, 1e-6) && close(high, 0.020391, 1e-6));
    }

    #[test]
    fn paired_tie_and_undecided() {
        // Differences 0.01, −0.01, 0.005: mean 0.001667, the interval spans 0.
        let p = paired(&[(0.81, 0.80), (0.80, 0.81), (0.825, 0.82)]).unwrap();
        assert_eq!(p.verdict, Verdict::Tie);
        let (low, high) = p.difference.interval().unwrap();
        assert!(low < 0.0 && high > 0.0);
        assert_eq!(paired(&[(0.9, 0.1)]).unwrap().verdict, Verdict::Undecided);
        assert!(paired(&[]).is_none());
        assert_eq!(Verdict::Different.name(), "different");
    }
}
