//! Classification metrics from a confusion matrix: accuracy, per-class precision/recall/F1 and
//! macro-F1. Pure functions, no I/O.
//!
//! Conventions (those of scikit-learn with `zero_division=0`):
//! - precision = TP / (TP + FP), 0 when the class was never predicted;
//! - recall = TP / (TP + FN), 0 when the class has no true samples;
//! - F1 = 2·P·R / (P + R), 0 when P + R = 0;
//! - macro-F1 = the unweighted mean of F1 over the classes that occur, as a true label or as a
//!   prediction. A class with neither is left out of the mean: there is nothing to be right or
//!   wrong about. This equals `sklearn.metrics.f1_score(y, p, average="macro",
//!   zero_division=0)` called without `labels=`, which also uses only the labels present in `y`
//!   or `p`.
//!
//! With no samples at all, accuracy and macro-F1 are NaN (not 0): nothing was measured.

/// A label or prediction outside `0..n_classes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("class {class} out of range: the matrix has {n_classes} classes")]
pub struct ClassOutOfRange {
    /// The offending class index.
    pub class: usize,
    /// The matrix's number of classes.
    pub n_classes: usize,
}

/// Counts of (true class, predicted class) pairs: rows are the true class, columns the
/// predicted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    n: usize,
    counts: Vec<u64>,
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassMetrics {
    /// TP / (TP + FP), 0 if the class was never predicted.
    pub precision: f64,
    /// TP / (TP + FN), 0 if the class has no true samples.
    pub recall: f64,
    /// Harmonic mean of precision and recall, 0 if both are 0.
    pub f1: f64,
    /// Number of samples whose true class this is (TP + FN).
    pub support: u64,
    /// Number of samples predicted as this class (TP + FP).
    pub predicted: u64,
}

impl ClassMetrics {
    /// Whether the class occurs at all (as a true label or a prediction); only those count in
    /// [`ConfusionMatrix::macro_f1`].
    pub fn occurs(&self) -> bool {
        self.support > 0 || self.predicted > 0
    }
}

impl ConfusionMatrix {
    /// An empty matrix for `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        Self {
            n: n_classes,
            counts: vec![0; n_classes * n_classes],
        }
    }

    /// A matrix from `(true label, prediction)` pairs.
    pub fn from_pairs(
        n_classes: usize,
        pairs: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<Self, ClassOutOfRange> {
        let mut m = Self::new(n_classes);
        for (label, prediction) in pairs {
            m.add(label, prediction)?;
        }
        Ok(m)
    }

    /// Counts one sample of true class `label` predicted as `prediction`.
    pub fn add(&mut self, label: usize, prediction: usize) -> Result<(), ClassOutOfRange> {
        for class in [label, prediction] {
            if class >= self.n {
                return Err(ClassOutOfRange {
                    class,
                    n_classes: self.n,
                });
            }
        }
        self.counts[label * self.n + prediction] += 1;
        Ok(())
    }

    /// Adds the counts of `other`, which must have the same number of classes (e.g. to combine
    /// batches).
    ///
    /// # Panics
    /// If the numbers of classes differ.
    pub fn merge(&mut self, other: &Self) {
        assert_eq!(
            self.n, other.n,
            "merging confusion matrices of different sizes"
        );
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.n
    }

    /// How many samples of true class `label` were predicted as `prediction`.
    ///
    /// # Panics
    /// If either index is out of range.
    pub fn get(&self, label: usize, prediction: usize) -> u64 {
        assert!(label < self.n && prediction < self.n, "class out of range");
        self.counts[label * self.n + prediction]
    }

    /// The total number of samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The number of correct predictions (the diagonal).
    pub fn correct(&self) -> u64 {
        (0..self.n).map(|i| self.get(i, i)).sum()
    }

    /// Fraction of samples predicted correctly; NaN with no samples.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            f64::NAN
        } else {
            self.correct() as f64 / total as f64
        }
    }

    /// Precision, recall, F1 and support of every class, in class order (see the module docs
    /// for the zero-division conventions).
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        (0..self.n)
            .map(|c| {
                let tp = self.get(c, c);
                let support: u64 = (0..self.n).map(|p| self.get(c, p)).sum();
                let predicted: u64 = (0..self.n).map(|t| self.get(t, c)).sum();
                let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                    predicted,
                }
            })
            .collect()
    }

    /// Mean F1 over the classes that occur as a true label or a prediction; NaN with no
    /// samples. See the module docs for why absent classes are left out.
    pub fn macro_f1(&self) -> f64 {
        let (sum, count) = self
            .per_class()
            .iter()
            .filter(|m| m.occurs())
            .fold((0.0, 0usize), |(s, n), m| (s + m.f1, n + 1));
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    }

    /// The matrix as aligned text: one row per true class, labelled `index name`, and one
    /// column per predicted class, headed by its index. Missing names show as `class N`.
    pub fn render(&self, class_names: &[String]) -> String {
        let names: Vec<String> = (0..self.n)
            .map(|i| format!("{i} {}", class_name(class_names, i)))
            .collect();
        let corner = "true \\ predicted";
        let label_width = names
            .iter()
            .map(|n| n.chars().count())
            .chain([corner.len()])
            .max()
            .unwrap_or(0);
        let cell_width = self
            .counts
            .iter()
            .map(|c| c.to_string().len())
            .chain((0..self.n).map(|i| i.to_string().len()))
            .max()
            .unwrap_or(1)
            .max(3);
        let mut out = format!("{corner:<label_width$}");
        for p in 0..self.n {
            out.push_str(&format!(" {p:>cell_width$}"));
        }
        out.push('\n');
        for (t, name) in names.iter().enumerate() {
            out.push_str(&format!("{name:<label_width$}"));
            for p in 0..self.n {
                out.push_str(&format!(" {:>cell_width$}", self.get(t, p)));
            }
            out.push('\n');
        }
        out
    }

    /// Per-class precision, recall, F1 and support as aligned text, then accuracy and macro-F1.
    pub fn render_per_class(&self, class_names: &[String]) -> String {
        let names: Vec<String> = (0..self.n).map(|i| class_name(class_names, i)).collect();
        let w = names
            .iter()
            .map(|n| n.chars().count())
            .chain(["class".len()])
            .max()
            .unwrap_or(5);
        let mut out = format!("{:<w$} precision recall     f1 support\n", "class");
        for (name, m) in names.iter().zip(self.per_class()) {
            out.push_str(&format!(
                "{name:<w$} {:>9.3} {:>6.3} {:>6.3} {:>7}\n",
                m.precision, m.recall, m.f1, m.support
            ));
        }
        out.push_str(&format!(
            "accuracy {:.4} of {} samples, macro-F1 {:.4}\n",
            self.accuracy(),
            self.total(),
            self.macro_f1()
        ));
        out
    }
}

fn class_name(names: &[String], i: usize) -> String {
    names
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("class {i}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Worked by hand. Ten samples, three classes:
    ///
    /// ```text
    ///            predicted 0  1  2   support
    /// true 0               2  1  0   3
    /// true 1               0  3  1   4
    /// true 2               2  0  1   3
    /// predicted            4  4  2
    /// ```
    /// accuracy = (2 + 3 + 1) / 10 = 0.6
    /// class 0: P = 2/4 = 0.5,  R = 2/3, F1 = 2·0.5·(2/3) / (0.5 + 2/3) = (2/3)/(7/6) = 4/7
    /// class 1: P = 3/4,        R = 3/4, F1 = 3/4
    /// class 2: P = 1/2,        R = 1/3, F1 = 2·(1/6) / (5/6) = 2/5
    /// macro-F1 = (4/7 + 3/4 + 2/5) / 3 = ((80 + 105 + 56) / 140) / 3 = 241/420 ≈ 0.5738
    fn example() -> ConfusionMatrix {
        let pairs = [
            (0, 0),
            (0, 0),
            (0, 1),
            (1, 1),
            (1, 1),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 0),
            (2, 2),
        ];
        ConfusionMatrix::from_pairs(3, pairs).unwrap()
    }

    #[test]
    fn three_class_example_matches_hand_computation() {
        let m = example();
        assert_eq!(m.get(2, 0), 2);
        assert_eq!(m.total(), 10);
        assert!(close(m.accuracy(), 0.6));
        let pc = m.per_class();
        assert!(
            close(pc[0].precision, 0.5)
                && close(pc[0].recall, 2.0 / 3.0)
                && close(pc[0].f1, 4.0 / 7.0)
        );
        assert!(close(pc[1].precision, 0.75) && close(pc[1].recall, 0.75) && close(pc[1].f1, 0.75));
        assert!(
            close(pc[2].precision, 0.5) && close(pc[2].recall, 1.0 / 3.0) && close(pc[2].f1, 0.4)
        );
        assert_eq!([pc[0].support, pc[1].support, pc[2].support], [3, 4, 3]);
        assert_eq!(
            [pc[0].predicted, pc[1].predicted, pc[2].predicted],
            [4, 4, 2]
        );
        assert!(close(m.macro_f1(), 241.0 / 420.0));
    }

    /// Four classes: class 2 is true twice but never predicted (P = R = F1 = 0, counted in the
    /// mean); class 3 never occurs (left out of the mean).
    /// class 0: TP 2, FP 1 (a class-2 sample), FN 0 → P = 2/3, R = 1, F1 = 0.8
    /// class 1: TP 1, FP 1 (the other class-2 sample), FN 0 → P = 1/2, R = 1, F1 = 2/3
    /// macro-F1 = (0.8 + 2/3 + 0) / 3 = 22/45; with class 3 it would be 22/60.
    #[test]
    fn absent_class_is_left_out_and_never_predicted_class_counts_as_zero() {
        let m = ConfusionMatrix::from_pairs(4, [(0, 0), (0, 0), (1, 1), (2, 0), (2, 1)]).unwrap();
        let pc = m.per_class();
        assert_eq!(pc[2].f1, 0.0);
        assert!(pc[2].occurs());
        assert!(!pc[3].occurs());
        assert!(close(pc[0].f1, 0.8));
        assert!(close(pc[1].f1, 2.0 / 3.0));
        assert!(close(m.macro_f1(), 22.0 / 45.0));
        assert!(close(m.accuracy(), 0.6));
    }

    #[test]
    fn empty_matrix_is_nan_and_out_of_range_is_an_error() {
        let m = ConfusionMatrix::new(3);
        assert!(m.accuracy().is_nan());
        assert!(m.macro_f1().is_nan());
        let err = ConfusionMatrix::from_pairs(3, [(0, 3)]).unwrap_err();
        assert_eq!(
            err,
            ClassOutOfRange {
                class: 3,
                n_classes: 3
            }
        );
    }

    #[test]
    fn perfect_predictions_score_one() {
        let m = ConfusionMatrix::from_pairs(2, [(0, 0), (1, 1), (1, 1)]).unwrap();
        assert_eq!(m.accuracy(), 1.0);
        assert_eq!(m.macro_f1(), 1.0);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = ConfusionMatrix::from_pairs(3, [(0, 0), (1, 2)]).unwrap();
        let b = ConfusionMatrix::from_pairs(3, [(1, 2)]).unwrap();
        a.merge(&b);
        assert_eq!(a.get(1, 2), 2);
        assert_eq!(a.total(), 3);
    }

    #[test]
    fn render_shows_names_and_counts() {
        let names = ["Charlock".to_string(), "Maize".to_string()];
        let text = example().render(&names);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("true \\ predicted"));
        assert!(lines[1].starts_with("0 Charlock"));
        assert!(lines[2].starts_with("1 Maize"));
        assert!(lines[3].starts_with("2 class 2"));
        let row2: Vec<&str> = lines[3].split_whitespace().rev().take(3).collect();
        assert_eq!(row2, ["1", "0", "2"]);
        let table = example().render_per_class(&names);
        assert!(table.contains("macro-F1 0.5738"), "{table}");
        assert!(table.contains("accuracy 0.6000 of 10 samples"), "{table}");
    }
}
