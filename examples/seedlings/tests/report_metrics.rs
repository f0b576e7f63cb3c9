//! Classification metrics through the public API, against numbers worked out by hand.

use seedlings::report::ConfusionMatrix;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Twelve validation images of three species:
///
/// ```text
/// true \ predicted   0 Maize  1 Charlock  2 Cleavers   support
/// 0 Maize                  4           1           0         5
/// 1 Charlock               2           2           0         4
/// 2 Cleavers               0           0           3         3
/// predicted                6           3           3        12
/// ```
/// accuracy  = (4 + 2 + 3) / 12 = 0.75
/// Maize:    P = 4/6 = 2/3, R = 4/5,  F1 = 2·(2/3)(4/5) / (2/3 + 4/5) = (16/15)/(22/15) = 8/11
/// Charlock: P = 2/3,       R = 2/4,  F1 = 2·(2/3)(1/2) / (2/3 + 1/2) = (2/3)/(7/6)   = 4/7
/// Cleavers: P = 3/3,       R = 3/3,  F1 = 1
/// macro-F1  = (8/11 + 4/7 + 1) / 3 = (56 + 44 + 77) / 77 / 3 = 177/231 = 59/77 ≈ 0.76623
#[test]
fn seedling_example_matches_hand_computation() {
    let mut pairs = Vec::new();
    pairs.extend([(0, 0); 4]);
    pairs.push((0, 1));
    pairs.extend([(1, 0); 2]);
    pairs.extend([(1, 1); 2]);
    pairs.extend([(2, 2); 3]);
    let m = ConfusionMatrix::from_pairs(3, pairs).unwrap();

    assert_eq!(m.total(), 12);
    assert_eq!(m.correct(), 9);
    assert!(close(m.accuracy(), 0.75));
    let pc = m.per_class();
    assert!(
        close(pc[0].precision, 2.0 / 3.0)
            && close(pc[0].recall, 0.8)
            && close(pc[0].f1, 8.0 / 11.0)
    );
    assert!(
        close(pc[1].precision, 2.0 / 3.0) && close(pc[1].recall, 0.5) && close(pc[1].f1, 4.0 / 7.0)
    );
    assert!(close(pc[2].precision, 1.0) && close(pc[2].recall, 1.0) && close(pc[2].f1, 1.0));
    assert_eq!(pc.iter().map(|c| c.support).collect::<Vec<_>>(), [5, 4, 3]);
    assert!(close(m.macro_f1(), 59.0 / 77.0));

    let names: Vec<String> = ["Maize", "Charlock", "Cleavers"].map(String::from).to_vec();
    let text = m.render(&names);
    let expected = "\
true \\ predicted   0   1   2
0 Maize            4   1   0
1 Charlock         2   2   0
2 Cleavers         0   0   3
";
    assert_eq!(text, expected);
    let table = m.render_per_class(&names);
    assert!(
        table.contains("Charlock     0.667  0.500  0.571       4"),
        "{table}"
    );
    assert!(table.contains("macro-F1 0.7662"), "{table}");
}

/// Six classes, only 0–2 appear. sklearn's `f1_score(average="macro", zero_division=0)` without
/// `labels=` averages over {0, 1, 2}: (1 + 0 + 2/3) / 3 = 5/9. Class 1 is true once and never
/// predicted (F1 = 0, counted); classes 3–5 never occur (left out, not counted as 0, which
/// would give 5/18).
#[test]
fn macro_f1_leaves_out_classes_that_never_occur() {
    let m = ConfusionMatrix::from_pairs(6, [(0, 0), (0, 0), (1, 2), (2, 2)]).unwrap();
    // class 0: P = 1, R = 1 → 1. class 2: P = 1/2, R = 1 → 2/3. class 1: 0.
    assert!(close(m.macro_f1(), 5.0 / 9.0));
    let occurring: Vec<bool> = m.per_class().iter().map(|c| c.occurs()).collect();
    assert_eq!(occurring, [true, true, true, false, false, false]);
    assert!(close(m.accuracy(), 0.75));
}

#[test]
fn labels_out_of_range_are_errors_not_panics() {
    let err = ConfusionMatrix::from_pairs(2, [(0, 0), (2, 1)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "class 2 out of range: the matrix has 2 classes"
    );
}
