//! Discovery never walks in circles and never guesses a layout wrong: links into folders
//! already read or into other classes are skipped with one warning each, the usual split
//! names are splits, and folders that only hold folders are refused rather than taken as
//! classes.

mod common;

use std::path::{Path, PathBuf};

use common::class_folders;
use seedlings::data::{DataError, LayoutKind, LoadOptions, detect_layout, load};

fn opts() -> LoadOptions {
    LoadOptions {
        image_size: 2,
        threads: 2,
        valid_fraction: 0.0,
        ..LoadOptions::default()
    }
}

/// The candidates of class `name`, as paths relative to `root`.
fn files_of(layout: &seedlings::data::Layout, name: &str, root: &Path) -> Vec<PathBuf> {
    let class = layout
        .class_names
        .iter()
        .position(|c| c == name)
        .expect("class");
    layout
        .train
        .iter()
        .filter(|c| c.class == class)
        .map(|c| c.path.strip_prefix(root).expect("under root").to_path_buf())
        .collect()
}

fn warnings_with(layout: &seedlings::data::Layout, needle: &str) -> usize {
    layout
        .warnings
        .iter()
        .filter(|w| w.contains(needle))
        .count()
}

#[cfg(unix)]
mod links {
    use std::os::unix::fs::symlink;

    use super::*;

    /// `train/<A,B,C>/` with 2, 3 and 4 images.
    fn three_classes(root: &Path) {
        class_folders(&root.join("train"), &["A"], 2);
        class_folders(&root.join("train"), &["B"], 3);
        class_folders(&root.join("train"), &["C"], 4);
    }

    fn assert_counts(root: &Path, counts: [usize; 3]) -> seedlings::data::Layout {
        let layout = detect_layout(root).expect("layout");
        assert_eq!(layout.class_names, ["A", "B", "C"]);
        for (name, count) in ["A", "B", "C"].iter().zip(counts) {
            assert_eq!(
                files_of(&layout, name, root).len(),
                count,
                "class {name}: {:?}",
                layout.warnings
            );
        }
        let set = load(root, &opts()).expect("load");
        assert_eq!(set.train.class_counts(3), counts);
        layout
    }

    #[test]
    fn a_loop_is_skipped_with_one_warning() {
        let dir = tempfile::tempdir().unwrap();
        three_classes(dir.path());
        // train/A/loop → train/ : the walk would read every class again under A's label.
        symlink("..", dir.path().join("train/A/loop")).unwrap();
        let layout = assert_counts(dir.path(), [2, 3, 4]);
        assert_eq!(
            warnings_with(&layout, "train/A/loop"),
            1,
            "{:?}",
            layout.warnings
        );
        assert_eq!(warnings_with(&layout, "sub-folders were taken"), 0);
        // A link to the class folder itself.
        symlink(".", dir.path().join("train/B/self")).unwrap();
        let layout = assert_counts(dir.path(), [2, 3, 4]);
        assert_eq!(
            warnings_with(&layout, "train/B/self"),
            1,
            "{:?}",
            layout.warnings
        );
        assert_eq!(
            warnings_with(&layout, "(a loop)"),
            2,
            "{:?}",
            layout.warnings
        );
    }

    #[test]
    fn a_link_to_the_data_root_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        three_classes(dir.path());
        symlink(dir.path(), dir.path().join("train/C/root")).unwrap();
        let layout = assert_counts(dir.path(), [2, 3, 4]);
        assert_eq!(
            warnings_with(&layout, "link back to the data root"),
            1,
            "{:?}",
            layout.warnings
        );
    }

    #[test]
    fn a_link_to_a_sibling_class_takes_none_of_its_images() {
        let dir = tempfile::tempdir().unwrap();
        three_classes(dir.path());
        symlink("../B", dir.path().join("train/A/also-b")).unwrap();
        // A file link into another class, too.
        symlink("../C/000.png", dir.path().join("train/A/c.png")).unwrap();
        let layout = assert_counts(dir.path(), [2, 3, 4]);
        assert_eq!(
            warnings_with(&layout, "train/A/also-b"),
            1,
            "{:?}",
            layout.warnings
        );
        assert_eq!(
            warnings_with(&layout, "train/A/c.png"),
            1,
            "{:?}",
            layout.warnings
        );
        assert_eq!(
            files_of(&layout, "A", dir.path()),
            [
                PathBuf::from("train/A/000.png"),
                PathBuf::from("train/A/001.png")
            ]
        );
        // B's images stay B's.
        assert!(
            files_of(&layout, "B", dir.path())
                .iter()
                .all(|p| p.starts_with("train/B"))
        );
    }

    #[test]
    fn a_linked_sub_folder_from_outside_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        three_classes(dir.path());
        let elsewhere = tempfile::tempdir().unwrap();
        class_folders(elsewhere.path(), &["batch1"], 5);
        symlink(
            elsewhere.path().join("batch1"),
            dir.path().join("train/B/batch1"),
        )
        .unwrap();
        // A real sub-folder counts as well, and a second link to it is read once only.
        class_folders(&dir.path().join("train/C"), &["day2"], 1);
        symlink("day2", dir.path().join("train/C/day2-again")).unwrap();
        let layout = assert_counts(dir.path(), [2, 8, 5]);
        assert!(
            files_of(&layout, "B", dir.path())
                .iter()
                .filter(|p| p.starts_with("train/B/batch1"))
                .count()
                == 5
        );
        assert_eq!(
            warnings_with(&layout, "train/C/day2-again"),
            1,
            "{:?}",
            layout.warnings
        );
        assert_eq!(warnings_with(&layout, "already read"), 1);
        assert_eq!(warnings_with(&layout, "sub-folders were taken"), 2);
    }
}

#[test]
fn usual_split_names_are_splits() {
    // Keras's training/ + validation/, with a test/ split never read.
    let dir = tempfile::tempdir().unwrap();
    class_folders(&dir.path().join("training"), &["A", "B"], 3);
    class_folders(&dir.path().join("validation"), &["A", "B"], 1);
    class_folders(&dir.path().join("test"), &["A", "B"], 2);
    let layout = detect_layout(dir.path()).expect("layout");
    assert_eq!(layout.kind, LayoutKind::TrainValid);
    assert_eq!(layout.class_names, ["A", "B"]);
    assert_eq!((layout.train.len(), layout.valid.len()), (6, 2));
    assert!(
        layout
            .train
            .iter()
            .chain(&layout.valid)
            .all(|c| !c.path.starts_with(dir.path().join("test")))
    );
    assert_eq!(warnings_with(&layout, "a test split, not trained on"), 1);
    // train/ + val/, and TRAIN/ in capitals with a testing/ split: no valid split given.
    for (train, other, kind) in [
        ("train", "val", LayoutKind::TrainValid),
        ("TRAIN", "testing", LayoutKind::TrainOnly),
    ] {
        let dir = tempfile::tempdir().unwrap();
        class_folders(&dir.path().join(train), &["A", "B"], 2);
        class_folders(&dir.path().join(other), &["A", "B"], 1);
        let layout = detect_layout(dir.path()).expect("layout");
        assert_eq!(layout.kind, kind, "{train} + {other}");
        assert_eq!(layout.class_names, ["A", "B"]);
        assert_eq!(layout.train.len(), 4, "{train} + {other}");
    }
}

#[test]
fn splits_without_train_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    class_folders(&dir.path().join("validation"), &["A", "B"], 1);
    class_folders(&dir.path().join("test"), &["A", "B"], 1);
    let err = detect_layout(dir.path()).expect_err("no train split");
    assert!(matches!(err, DataError::NoTrainSplit { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("test/, validation/"), "{text}");
    assert!(text.contains("no train split"), "{text}");
}

#[test]
fn folders_of_folders_are_refused_not_taken_as_classes() {
    // Splits under names that are not split names: fold1/<Species>/, fold2/<Species>/.
    let dir = tempfile::tempdir().unwrap();
    class_folders(&dir.path().join("fold1"), &["Maize", "Charlock"], 2);
    class_folders(&dir.path().join("fold2"), &["Maize", "Charlock"], 2);
    let err = detect_layout(dir.path()).expect_err("nested");
    let DataError::NestedLayout { folders, inner, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(folders, &["fold1/", "fold2/"]);
    assert_eq!(inner, &["Charlock/", "Maize/"]);
    let text = err.to_string();
    assert!(
        text.contains("looks like split folders of class folders"),
        "{text}"
    );
    // The same one level down, inside a train/ split.
    let dir = tempfile::tempdir().unwrap();
    class_folders(&dir.path().join("train/plants"), &["Maize", "Charlock"], 2);
    class_folders(&dir.path().join("train/weeds"), &["Cleavers"], 2);
    let err = detect_layout(dir.path()).expect_err("nested in train/");
    assert!(matches!(err, DataError::NestedLayout { .. }), "{err:?}");
    // One class with only sub-folders among classes with images is fine (Maize/batch1/).
    let dir = tempfile::tempdir().unwrap();
    class_folders(dir.path(), &["Charlock"], 2);
    class_folders(&dir.path().join("Maize"), &["batch1", "batch2"], 2);
    let layout = detect_layout(dir.path()).expect("real sub-folders");
    assert_eq!(layout.class_names, ["Charlock", "Maize"]);
    assert_eq!(files_of(&layout, "Maize", dir.path()).len(), 4);
}
