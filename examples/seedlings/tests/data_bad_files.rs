//! Bad files never panic: each case is skipped (with a reason) or ignored, and loading goes on.

use std::fs;
use std::path::{Path, PathBuf};

use image::{ImageBuffer, Rgb};
use seedlings::data::{DataError, LoadOptions, SeedlingSet, load};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Writes a `w`×`h` PNG of one colour, creating folders.
fn png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let raw = rgb.repeat((w * h) as usize);
    ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, raw)
        .expect("buffer")
        .save(path)
        .expect("save");
}

fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, vec![90; (w * h * 3) as usize])
        .expect("buffer")
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

fn jpeg_bytes(w: u32, h: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let raw: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, raw)
        .expect("buffer")
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode");
    out.into_inner()
}

/// A class-folder data set with two good classes (`A`, `B`, two images each).
fn good_set(root: &Path) {
    for class in ["A", "B"] {
        for i in 0..2 {
            png(
                &root.join(class).join(format!("{i}.png")),
                4,
                4,
                [10, 20, 30],
            );
        }
    }
}

fn opts() -> LoadOptions {
    LoadOptions {
        image_size: 4,
        threads: 2,
        ..LoadOptions::default()
    }
}

fn load_ok(root: &Path) -> SeedlingSet {
    load(root, &opts()).expect("loads despite the bad file")
}

/// Asserts that exactly `path` was skipped, with a reason containing `needle`.
fn assert_skipped(set: &SeedlingSet, path: &Path, needle: &str) {
    assert_eq!(set.skipped.len(), 1, "{:?}", set.skipped);
    assert_eq!(set.skipped[0].path, path);
    assert!(
        set.skipped[0].reason.to_lowercase().contains(needle),
        "reason {:?} lacks {needle:?}",
        set.skipped[0].reason
    );
    assert_eq!(
        set.train.len() + set.valid.len(),
        4,
        "the good images all load"
    );
}

#[test]
fn zero_byte_file_is_skipped() {
    let dir = tmp();
    good_set(dir.path());
    let bad = dir.path().join("A/empty.png");
    fs::write(&bad, b"").expect("write");
    assert_skipped(&load_ok(dir.path()), &bad, "not a recognised image");
}

#[test]
fn truncated_png_is_skipped() {
    let dir = tmp();
    good_set(dir.path());
    let bad = dir.path().join("A/truncated.png");
    let bytes = png_bytes(16, 16);
    fs::write(&bad, &bytes[..bytes.len() / 2]).expect("write");
    assert_skipped(&load_ok(dir.path()), &bad, "decode");
}

#[test]
fn truncated_jpeg_never_panics() {
    let dir = tmp();
    good_set(dir.path());
    let bytes = jpeg_bytes(32, 32);
    // Cut inside the header, and inside the entropy-coded data.
    let header_cut = dir.path().join("A/cut-header.jpg");
    fs::write(&header_cut, &bytes[..20]).expect("write");
    let data_cut = dir.path().join("B/cut-data.jpg");
    fs::write(&data_cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let set = load_ok(dir.path());
    // A JPEG cut in its header cannot be decoded at all.
    assert!(
        set.skipped.iter().any(|s| s.path == header_cut),
        "{:?}",
        set.skipped
    );
    // A JPEG cut in its data may be skipped or decoded partially (the decoder may pad the
    // missing rows); either way it is accounted for exactly once.
    let loaded = set.train.len() + set.valid.len();
    assert_eq!(loaded + set.skipped.len(), 6);
}

#[test]
fn text_file_named_png_is_skipped() {
    let dir = tmp();
    good_set(dir.path());
    let bad = dir.path().join("B/notes.png");
    fs::write(&bad, "this is not an image\n").expect("write");
    assert_skipped(&load_ok(dir.path()), &bad, "not a recognised image");
}

#[test]
fn other_extensions_and_hidden_files_are_ignored() {
    let dir = tmp();
    good_set(dir.path());
    let ignored = [
        dir.path().join("A/.DS_Store"),
        dir.path().join("A/README.txt"),
        dir.path().join("B/labels.csv"),
        dir.path().join("B/._0.png"),
        dir.path().join("B/no_extension"),
        dir.path().join("README.md"),
    ];
    for path in &ignored {
        fs::write(path, b"junk").expect("write");
    }
    let set = load_ok(dir.path());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    let mut expected = ignored.to_vec();
    expected.sort();
    assert_eq!(set.ignored, expected);
    assert_eq!(set.class_names, ["A", "B"]);
}

#[test]
fn upper_case_extensions_are_images() {
    let dir = tmp();
    good_set(dir.path());
    png(&dir.path().join("A/SHOUT.PNG"), 4, 4, [1, 2, 3]);
    fs::write(dir.path().join("B/photo.JPEG"), jpeg_bytes(8, 8)).expect("write");
    let set = load_ok(dir.path());
    assert!(set.skipped.is_empty());
    assert_eq!(set.train.len() + set.valid.len(), 6);
}

/// A PNG whose header claims 100000×100000 pixels, followed by almost no data.
fn lying_png() -> Vec<u8> {
    let mut bytes = png_bytes(1, 1);
    // IHDR data starts at byte 16: width, height (big endian); fix the chunk CRC after.
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in &bytes[12..29] {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    };
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn huge_declared_dimensions_are_rejected() {
    let dir = tmp();
    good_set(dir.path());
    let bad = dir.path().join("A/bomb.png");
    fs::write(&bad, lying_png()).expect("write");
    let set = load_ok(dir.path());
    assert_skipped(&set, &bad, "100000x100000");
    assert!(
        set.skipped[0].reason.contains("limit"),
        "{}",
        set.skipped[0].reason
    );
}

#[test]
fn one_pixel_image_is_upscaled() {
    let dir = tmp();
    good_set(dir.path());
    png(&dir.path().join("A/tiny.png"), 1, 1, [200, 100, 50]);
    let set = load_ok(dir.path());
    assert!(set.skipped.is_empty());
    let store = [&set.train, &set.valid]
        .into_iter()
        .find(|s| (0..s.len()).any(|i| s.path(i).is_some_and(|p| p.ends_with("tiny.png"))))
        .expect("tiny image loaded");
    let i = (0..store.len())
        .find(|&i| store.path(i).is_some_and(|p| p.ends_with("tiny.png")))
        .expect("index");
    assert_eq!(
        store.image(i).expect("pixels"),
        &[200u8, 100, 50].repeat(16)[..]
    );
}

#[test]
fn empty_class_folder_is_dropped_with_warning() {
    let dir = tmp();
    good_set(dir.path());
    fs::create_dir_all(dir.path().join("Empty")).expect("mkdir");
    let set = load_ok(dir.path());
    assert_eq!(set.class_names, ["A", "B"]);
    assert!(
        set.warnings
            .iter()
            .any(|w| w.contains("\"Empty\"") && w.contains("no image files")),
        "{:?}",
        set.warnings
    );
    assert!(
        set.warnings.iter().any(|w| w.contains("\"Empty\" dropped")),
        "{:?}",
        set.warnings
    );
}

#[test]
fn class_whose_files_all_fail_is_dropped() {
    let dir = tmp();
    good_set(dir.path());
    let bad = dir.path().join("C/broken.png");
    fs::create_dir_all(bad.parent().expect("parent")).expect("mkdir");
    fs::write(&bad, b"nope").expect("write");
    let set = load_ok(dir.path());
    assert_eq!(set.class_names, ["A", "B"]);
    assert_eq!(set.skipped.len(), 1);
    assert!(
        set.train
            .labels()
            .iter()
            .chain(set.valid.labels())
            .all(|&l| l < 2)
    );
}

#[test]
fn empty_valid_folder_of_a_class_keeps_the_class() {
    let dir = tmp();
    for class in ["A", "B"] {
        png(
            &dir.path().join("train").join(class).join("0.png"),
            4,
            4,
            [1, 1, 1],
        );
    }
    png(&dir.path().join("valid/A/0.png"), 4, 4, [1, 1, 1]);
    fs::create_dir_all(dir.path().join("valid/B")).expect("mkdir");
    let set = load_ok(dir.path());
    assert_eq!(set.class_names, ["A", "B"]);
    assert_eq!(set.train.len(), 2);
    assert_eq!(set.valid.len(), 1);
    assert!(
        set.warnings
            .iter()
            .any(|w| w.contains("\"B\"") && w.contains("no usable valid")),
        "{:?}",
        set.warnings
    );
}

#[cfg(unix)]
#[test]
fn dangling_symlink_is_skipped() {
    let dir = tmp();
    good_set(dir.path());
    let link = dir.path().join("A/gone.png");
    std::os::unix::fs::symlink(dir.path().join("does-not-exist.png"), &link).expect("symlink");
    assert_skipped(&load_ok(dir.path()), &link, "cannot read");
}

#[cfg(unix)]
#[test]
fn working_symlink_is_followed() {
    let dir = tmp();
    good_set(dir.path());
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let target = elsewhere.path().join("real.png");
    png(&target, 4, 4, [5, 5, 5]);
    std::os::unix::fs::symlink(&target, dir.path().join("A/link.png")).expect("symlink");
    let set = load_ok(dir.path());
    assert!(set.skipped.is_empty());
    assert_eq!(set.train.len() + set.valid.len(), 5);
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_skipped_unless_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    good_set(dir.path());
    let locked = dir.path().join("B/locked.png");
    png(&locked, 4, 4, [9, 9, 9]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
    // root reads it anyway; anyone else gets "permission denied", recorded as skipped.
    let readable = fs::File::open(&locked).is_ok();
    let set = load_ok(dir.path());
    if readable {
        assert!(set.skipped.is_empty());
        assert_eq!(set.train.len() + set.valid.len(), 5);
    } else {
        assert_skipped(&set, &locked, "cannot read");
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).expect("chmod back");
}

#[test]
fn read_error_is_a_reason_not_a_panic() {
    // The error path every unreadable file takes: opening fails.
    let dir = tmp();
    let err =
        seedlings::data::decode_file(&dir.path().join("absent.png"), 4, 100).expect_err("absent");
    assert!(err.starts_with("cannot read file"), "{err}");
    // A folder is not a file either.
    let err = seedlings::data::decode_file(dir.path(), 4, 100).expect_err("folder");
    assert!(err.starts_with("cannot read"), "{err}");
}

#[test]
fn names_with_spaces_and_non_ascii_characters_work() {
    let dir = tmp();
    let paths: Vec<PathBuf> = vec![
        dir.path().join("Common Chickweed/img 1 (copy).png"),
        dir.path().join("Common Chickweed/ölbaum-ñ-日本.png"),
        dir.path().join("Fétt Hén/a b.png"),
        dir.path().join("Fétt Hén/é.png"),
    ];
    for p in &paths {
        png(p, 4, 4, [3, 2, 1]);
    }
    let set = load_ok(dir.path());
    assert!(set.skipped.is_empty());
    assert_eq!(set.class_names, ["Common Chickweed", "Fétt Hén"]);
    assert_eq!(set.train.len() + set.valid.len(), 4);
}

#[test]
fn nothing_usable_is_an_error_naming_the_folder() {
    let dir = tmp();
    let root = dir.path().join("my photos");
    fs::create_dir_all(root.join("A")).expect("mkdir");
    fs::write(root.join("A/bad.png"), b"x").expect("write");
    fs::write(root.join("A/notes.txt"), b"x").expect("write");
    let err = load(&root, &opts()).expect_err("nothing usable");
    assert!(
        matches!(
            err,
            DataError::NoImages {
                skipped: 1,
                ignored: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("my photos"), "{err}");
}
