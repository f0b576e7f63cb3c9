//! Layout detection (split folders, class folders, wrapper folder), class lists, file order,
//! and the seeded stratified split.

use std::fs;
use std::path::Path;

use image::{ImageBuffer, Rgb};
use seedlings::data::{
    DataError, DataSource, LayoutKind, LoadOptions, detect_layout, load, stratified_split,
};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn png(path: &Path, value: u8) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    ImageBuffer::<Rgb<u8>, _>::from_raw(2, 2, vec![value; 12])
        .expect("buffer")
        .save(path)
        .expect("save");
}

/// `count` images in each of `classes` under `dir`, pixel value = image number.
fn class_folders(dir: &Path, classes: &[&str], count: usize) {
    for class in classes {
        for i in 0..count {
            png(&dir.join(class).join(format!("{i:03}.png")), i as u8);
        }
    }
}

fn opts() -> LoadOptions {
    LoadOptions {
        image_size: 2,
        threads: 2,
        ..LoadOptions::default()
    }
}

#[test]
fn detects_train_valid_layout() {
    let dir = tmp();
    class_folders(&dir.path().join("train"), &["Maize", "Black-grass"], 3);
    class_folders(&dir.path().join("valid"), &["Maize", "Black-grass"], 1);
    fs::create_dir_all(dir.path().join("test/unlabelled")).expect("mkdir");
    png(&dir.path().join("test/unlabelled/x.png"), 0);
    let layout = detect_layout(dir.path()).expect("layout");
    assert_eq!(layout.kind, LayoutKind::TrainValid);
    assert_eq!(layout.root, dir.path());
    assert_eq!(layout.class_names, ["Black-grass", "Maize"]);
    assert_eq!(layout.train.len(), 6);
    assert_eq!(layout.valid.len(), 2);
    let set = load(dir.path(), &opts()).expect("load");
    assert_eq!((set.train.len(), set.valid.len()), (6, 2));
    assert_eq!(set.train.labels(), [0, 0, 0, 1, 1, 1]);
    assert_eq!(set.valid.labels(), [0, 1]);
    assert!(matches!(&set.source, DataSource::Real { root, .. } if root == dir.path()));
    assert!(!set.is_synthetic());
}

#[test]
fn accepts_validation_as_valid_folder_name() {
    let dir = tmp();
    class_folders(&dir.path().join("train"), &["A"], 2);
    class_folders(&dir.path().join("validation"), &["A"], 1);
    assert_eq!(
        detect_layout(dir.path()).expect("layout").kind,
        LayoutKind::TrainValid
    );
}

#[test]
fn detects_class_folder_layout() {
    let dir = tmp();
    class_folders(dir.path(), &["Sugar beet", "Charlock", "Cleavers"], 5);
    let layout = detect_layout(dir.path()).expect("layout");
    assert_eq!(layout.kind, LayoutKind::ClassFolders);
    assert_eq!(layout.class_names, ["Charlock", "Cleavers", "Sugar beet"]);
    assert_eq!(layout.train.len(), 15);
    assert!(layout.valid.is_empty());
    let set = load(dir.path(), &opts()).expect("load");
    // 20 % of 5 = 1 valid image per class.
    assert_eq!(set.valid.class_counts(3), [1, 1, 1]);
    assert_eq!(set.train.class_counts(3), [4, 4, 4]);
}

#[test]
fn detects_wrapper_folder_like_the_aarhus_zip() {
    let dir = tmp();
    let inner = dir.path().join("nonsegmentedv2");
    class_folders(&inner, &["Maize", "Fat Hen"], 2);
    fs::write(dir.path().join(".hidden-note"), b"x").expect("write");
    fs::create_dir_all(dir.path().join("__MACOSX/nonsegmentedv2")).expect("mkdir");
    let layout = detect_layout(dir.path()).expect("layout");
    assert_eq!(layout.kind, LayoutKind::ClassFolders);
    assert_eq!(layout.root, inner);
    assert_eq!(layout.class_names, ["Fat Hen", "Maize"]);
    // Two wrappers deep, holding a train/ folder.
    let dir = tmp();
    class_folders(
        &dir.path().join("outer/plant-seedlings/train"),
        &["A", "B"],
        1,
    );
    let layout = detect_layout(dir.path()).expect("layout");
    assert_eq!(layout.kind, LayoutKind::TrainOnly);
    assert_eq!(layout.root, dir.path().join("outer/plant-seedlings"));
}

#[test]
fn class_in_one_split_only_is_kept_with_a_warning() {
    let dir = tmp();
    class_folders(&dir.path().join("train"), &["A", "B"], 2);
    class_folders(&dir.path().join("valid"), &["A", "C"], 1);
    let layout = detect_layout(dir.path()).expect("layout");
    assert_eq!(layout.class_names, ["A", "B", "C"]);
    assert!(
        layout
            .warnings
            .iter()
            .any(|w| w.contains("\"B\"") && w.contains("no valid/")),
        "{:?}",
        layout.warnings
    );
    assert!(
        layout
            .warnings
            .iter()
            .any(|w| w.contains("\"C\"") && w.contains("no train/")),
        "{:?}",
        layout.warnings
    );
    let set = load(dir.path(), &opts()).expect("load");
    assert_eq!(set.class_names, ["A", "B", "C"]);
    assert_eq!(set.valid.labels(), [0, 2]);
    assert_eq!(set.train.labels(), [0, 0, 1, 1]);
}

#[test]
fn nested_subfolders_are_taken_with_a_warning() {
    let dir = tmp();
    class_folders(dir.path(), &["A", "B"], 1);
    png(&dir.path().join("A/day2/x.png"), 1);
    png(&dir.path().join("A/day2/deeper/y.png"), 2);
    let layout = detect_layout(dir.path()).expect("layout");
    let a: Vec<_> = layout
        .train
        .iter()
        .filter(|c| c.class == 0)
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        a,
        [
            dir.path().join("A/000.png"),
            dir.path().join("A/day2/deeper/y.png"),
            dir.path().join("A/day2/x.png")
        ]
    );
    assert!(
        layout
            .warnings
            .iter()
            .any(|w| w.contains("\"A\"") && w.contains("sub-folders")),
        "{:?}",
        layout.warnings
    );
    assert!(!layout.warnings.iter().any(|w| w.contains("\"B\"")));
}

#[test]
fn candidates_are_sorted_whatever_the_creation_order() {
    let dir = tmp();
    for name in ["z.png", "a.png", "m.png", "B.png", "10.png", "9.png"] {
        png(&dir.path().join("K").join(name), 0);
    }
    png(&dir.path().join("J/x.png"), 0);
    let layout = detect_layout(dir.path()).expect("layout");
    let names: Vec<String> = layout
        .train
        .iter()
        .map(|c| {
            c.path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "x.png", "10.png", "9.png", "B.png", "a.png", "m.png", "z.png"
        ]
    );
}

#[test]
fn errors_for_missing_file_or_classless_roots() {
    let dir = tmp();
    let missing = detect_layout(&dir.path().join("absent")).expect_err("absent");
    assert!(matches!(missing, DataError::Io { .. }), "{missing:?}");
    let file = dir.path().join("file.png");
    png(&file, 0);
    assert!(matches!(
        detect_layout(&file),
        Err(DataError::NotAFolder { .. })
    ));
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    let err = detect_layout(&empty).expect_err("no classes");
    assert!(matches!(err, DataError::NoClasses { .. }));
    assert!(err.to_string().contains("empty"), "{err}");
    // Images straight in the root are not a class layout.
    let flat = dir.path().join("flat");
    png(&flat.join("a.png"), 0);
    assert!(matches!(
        detect_layout(&flat),
        Err(DataError::NoClasses { .. })
    ));
}

#[test]
fn bad_options_are_errors() {
    let dir = tmp();
    class_folders(dir.path(), &["A"], 1);
    for options in [
        LoadOptions {
            image_size: 0,
            ..opts()
        },
        LoadOptions {
            valid_fraction: 1.0,
            ..opts()
        },
        LoadOptions {
            valid_fraction: -0.1,
            ..opts()
        },
        LoadOptions {
            valid_fraction: f64::NAN,
            ..opts()
        },
    ] {
        assert!(
            matches!(load(dir.path(), &options), Err(DataError::InvalidOption(_))),
            "{options:?}"
        );
    }
}

#[test]
fn stratified_split_proportions() {
    // Class sizes 100, 10, 5, 2, 1.
    let mut labels = Vec::new();
    for (class, n) in [100usize, 10, 5, 2, 1].into_iter().enumerate() {
        labels.extend(std::iter::repeat_n(class, n));
    }
    let (train, valid) = stratified_split(&labels, 0.2, 42);
    let count = |idx: &[usize], class: usize| idx.iter().filter(|&&i| labels[i] == class).count();
    let valid_counts: Vec<usize> = (0..5).map(|c| count(&valid, c)).collect();
    let train_counts: Vec<usize> = (0..5).map(|c| count(&train, c)).collect();
    // round(0.2 n), but a class always keeps one training image.
    assert_eq!(valid_counts, [20, 2, 1, 0, 0]);
    assert_eq!(train_counts, [80, 8, 4, 2, 1]);
    // A partition, sorted.
    let mut all: Vec<usize> = train.iter().chain(&valid).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
    assert!(train.windows(2).all(|w| w[0] < w[1]) && valid.windows(2).all(|w| w[0] < w[1]));
    // At 50 %, the 2-image class gives one away and the 1-image class none.
    let (_, valid) = stratified_split(&labels, 0.5, 42);
    assert_eq!(
        (0..5).map(|c| count(&valid, c)).collect::<Vec<_>>(),
        [50, 5, 3, 1, 0]
    );
}

#[test]
fn stratified_split_is_deterministic_in_the_seed() {
    let labels: Vec<usize> = (0..300).map(|i| i % 3).collect();
    let a = stratified_split(&labels, 0.2, 7);
    assert_eq!(a, stratified_split(&labels, 0.2, 7));
    assert_ne!(a.1, stratified_split(&labels, 0.2, 8).1);
}

#[test]
fn loading_is_deterministic_across_thread_counts() {
    let dir = tmp();
    class_folders(dir.path(), &["A", "B", "C"], 12);
    let one = load(
        dir.path(),
        &LoadOptions {
            threads: 1,
            split_seed: 3,
            ..opts()
        },
    )
    .expect("load");
    let many = load(
        dir.path(),
        &LoadOptions {
            threads: 4,
            split_seed: 3,
            ..opts()
        },
    )
    .expect("load");
    assert_eq!(one.train, many.train);
    assert_eq!(one.valid, many.valid);
    let other_seed = load(
        dir.path(),
        &LoadOptions {
            split_seed: 4,
            ..opts()
        },
    )
    .expect("load");
    assert_ne!(one.valid, other_seed.valid);
    // round(0.2 * 12) = 2 valid images per class.
    assert_eq!(one.valid.class_counts(3), [2, 2, 2]);
}
