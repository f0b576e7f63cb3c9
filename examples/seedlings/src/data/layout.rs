//! Finding the class folders and the image files in them (no decoding here).
//!
//! Two layouts are read:
//!
//! * **split folders**: `ROOT/train/<Species>/*` and, when present, `ROOT/valid/<Species>/*`
//!   (`val/` and `validation/` are accepted for `valid/`). Other folders next to `train/`
//!   (e.g. Kaggle's unlabelled `test/`) are not read.
//! * **class folders** (the Aarhus archive): `ROOT/<Species>/*`.
//!
//! When `ROOT` holds neither but exactly one folder (and no image files), that folder is taken
//! as a wrapper and searched instead, up to [`MAX_WRAPPERS`] levels deep: the Aarhus zip unpacks
//! to `nonsegmentedv2/<Species>/`.
//!
//! Rules, all independent of the file system's listing order:
//!
//! * Class names are the class-folder names, sorted by their bytes. With split folders the
//!   class list is the union of the `train/` and `valid/` class folders; a class present in
//!   only one of them gets a warning.
//! * A file is an image candidate when its extension is `png`, `jpg` or `jpeg` (any case).
//!   Every other file, and every hidden file (name starting with `.`, e.g. `.DS_Store`,
//!   `._x.png`), is *ignored*: listed in [`Layout::ignored`], never decoded, never an error.
//!   Hidden folders and `__MACOSX/` are not searched at all.
//! * Sub-folders inside a class folder are searched too (up to [`MAX_NESTING`] levels) and their
//!   images belong to that class; each class where this happens gets one warning.
//! * An empty class folder gets a warning; whether the class survives is decided after decoding
//!   (see [`load`](super::load)).
//! * Symbolic links are followed. A link that points nowhere but has an image name stays a
//!   candidate, so that decoding records it as skipped with the reason.
//! * Candidates are sorted: by class, then by path.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::DataError;

/// File extensions (lower case) taken as images.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// How many single wrapper folders are descended into at most.
pub const MAX_WRAPPERS: usize = 3;

/// How many levels of sub-folders inside a class folder are searched at most.
pub const MAX_NESTING: usize = 8;

const TRAIN_NAMES: [&str; 1] = ["train"];
const VALID_NAMES: [&str; 3] = ["valid", "val", "validation"];

/// Which of the supported layouts was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// `ROOT/train/<Species>` and `ROOT/valid/<Species>`: the split is given.
    TrainValid,
    /// `ROOT/train/<Species>` without a valid folder: the valid split is drawn from train.
    TrainOnly,
    /// `ROOT/<Species>`: the valid split is drawn from all images.
    ClassFolders,
}

/// One image file to decode, with the index of its class in [`Layout::class_names`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Path of the file (under the data root).
    pub path: PathBuf,
    /// Index into [`Layout::class_names`].
    pub class: usize,
}

/// What [`detect_layout`] found: classes and candidate files, not yet decoded.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The folder that holds `train/` or the class folders (wrapper folders already entered).
    pub root: PathBuf,
    /// The layout found.
    pub kind: LayoutKind,
    /// Class names, sorted.
    pub class_names: Vec<String>,
    /// Candidates from `train/` (or from all class folders for [`LayoutKind::ClassFolders`]).
    pub train: Vec<Candidate>,
    /// Candidates from `valid/`; empty unless the layout is [`LayoutKind::TrainValid`].
    pub valid: Vec<Candidate>,
    /// Files that were not considered (other extensions, hidden files), sorted.
    pub ignored: Vec<PathBuf>,
    /// Things worth telling the user (class in one split only, empty or nested class folders).
    pub warnings: Vec<String>,
}

impl Layout {
    /// A short human description, e.g. `"train/ + valid/ folders"`.
    pub fn describe(&self) -> String {
        match self.kind {
            LayoutKind::TrainValid => "train/ + valid/ folders".to_string(),
            LayoutKind::TrainOnly => "train/ folder (valid split drawn from it)".to_string(),
            LayoutKind::ClassFolders => "class folders (valid split drawn from them)".to_string(),
        }
    }
}

/// Returns true when `path` has an image extension (`png`, `jpg`, `jpeg`, any case) and is not
/// hidden.
pub fn is_image_name(path: &Path) -> bool {
    if is_hidden(path) {
        return false;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.') || n == "__MACOSX")
}

/// Finds the layout under `root`. See the module documentation for the rules.
///
/// # Errors
///
/// [`DataError::Io`] when `root` (or a split folder) cannot be listed,
/// [`DataError::NotAFolder`] when it is a file, and [`DataError::NoClasses`] when no class
/// folder is found. An unreadable class folder only adds a warning.
pub fn detect_layout(root: &Path) -> Result<Layout, DataError> {
    let meta = fs::metadata(root).map_err(|e| DataError::io("cannot open data folder", root, e))?;
    if !meta.is_dir() {
        return Err(DataError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    let mut dir = root.to_path_buf();
    for _ in 0..=MAX_WRAPPERS {
        let listing = list_dir(&dir)?;
        if let Some(train) = find_named(&listing.dirs, &TRAIN_NAMES) {
            let valid = find_named(&listing.dirs, &VALID_NAMES);
            return split_layout(&dir, &train, valid.as_deref());
        }
        let has_images = listing.files.iter().any(|f| is_image_name(f));
        if listing.dirs.len() == 1 && !has_images {
            let only = &listing.dirs[0];
            if !list_dir(only)?.dirs.is_empty() {
                dir = only.clone();
                continue;
            }
        }
        if listing.dirs.is_empty() {
            break;
        }
        return class_folder_layout(&dir, &listing.dirs, listing.files);
    }
    Err(DataError::NoClasses {
        root: root.to_path_buf(),
    })
}

/// Sorted sub-folders and files of one folder. Hidden files stay in `files` (to be counted as
/// ignored); hidden folders (`.git`, `__MACOSX`) are left out entirely.
struct Listing {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

fn list_dir(dir: &Path) -> Result<Listing, DataError> {
    let read = fs::read_dir(dir).map_err(|e| DataError::io("cannot list folder", dir, e))?;
    let mut paths = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| DataError::io("cannot list folder", dir, e))?;
        paths.push(entry.path());
    }
    paths.sort();
    let mut listing = Listing {
        dirs: Vec::new(),
        files: Vec::new(),
    };
    for path in paths {
        // `metadata` follows links; a dangling link is treated as a file.
        let is_dir = fs::metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            listing.files.push(path);
        } else if !is_hidden(&path) {
            listing.dirs.push(path);
        }
    }
    Ok(listing)
}

fn find_named(dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        dirs.iter()
            .find(|d| {
                d.file_name()
                    .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(name))
            })
            .cloned()
    })
}

fn class_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn split_layout(root: &Path, train: &Path, valid: Option<&Path>) -> Result<Layout, DataError> {
    let train_listing = list_dir(train)?;
    let valid_listing = match valid {
        Some(v) => Some(list_dir(v)?),
        None => None,
    };
    let train_names: BTreeSet<String> = train_listing.dirs.iter().map(|d| class_name(d)).collect();
    let valid_names: BTreeSet<String> = valid_listing
        .as_ref()
        .map(|l| l.dirs.iter().map(|d| class_name(d)).collect())
        .unwrap_or_default();
    let class_names: Vec<String> = train_names.union(&valid_names).cloned().collect();
    if class_names.is_empty() {
        return Err(DataError::NoClasses {
            root: root.to_path_buf(),
        });
    }
    let mut layout = Layout {
        root: root.to_path_buf(),
        kind: if valid.is_some() {
            LayoutKind::TrainValid
        } else {
            LayoutKind::TrainOnly
        },
        class_names,
        train: Vec::new(),
        valid: Vec::new(),
        ignored: train_listing.files.clone(),
        warnings: Vec::new(),
    };
    if let Some(listing) = &valid_listing {
        layout.ignored.extend(listing.files.iter().cloned());
        for name in train_names.symmetric_difference(&valid_names) {
            let (has, lacks) = if train_names.contains(name) {
                ("train", "valid")
            } else {
                ("valid", "train")
            };
            layout.warnings.push(format!(
                "class \"{name}\" has a {has}/ folder but no {lacks}/ folder"
            ));
        }
    }
    layout.train = collect_classes(&train_listing.dirs, &mut layout, "train")?;
    if let Some(listing) = &valid_listing {
        layout.valid = collect_classes(&listing.dirs, &mut layout, "valid")?;
    }
    layout.ignored.sort();
    Ok(layout)
}

fn class_folder_layout(
    root: &Path,
    dirs: &[PathBuf],
    files: Vec<PathBuf>,
) -> Result<Layout, DataError> {
    let mut class_names: Vec<String> = dirs.iter().map(|d| class_name(d)).collect();
    class_names.sort();
    class_names.dedup();
    let mut layout = Layout {
        root: root.to_path_buf(),
        kind: LayoutKind::ClassFolders,
        class_names,
        train: Vec::new(),
        valid: Vec::new(),
        ignored: files,
        warnings: Vec::new(),
    };
    layout.train = collect_classes(dirs, &mut layout, "")?;
    layout.ignored.sort();
    Ok(layout)
}

/// Collects the candidates of every class folder in `dirs`; `split` names the split in
/// warnings.
fn collect_classes(
    dirs: &[PathBuf],
    layout: &mut Layout,
    split: &str,
) -> Result<Vec<Candidate>, DataError> {
    let mut out = Vec::new();
    let where_ = if split.is_empty() {
        String::new()
    } else {
        format!(" in {split}/")
    };
    for dir in dirs {
        let name = class_name(dir);
        let Some(class) = layout.class_names.iter().position(|c| *c == name) else {
            continue;
        };
        let mut files = Vec::new();
        let mut nested = false;
        walk_class(
            dir,
            0,
            &mut files,
            &mut layout.ignored,
            &mut nested,
            &mut layout.warnings,
        )?;
        if nested {
            layout.warnings.push(format!(
                "class \"{name}\"{where_}: images in sub-folders were taken as well"
            ));
        }
        if files.is_empty() {
            layout.warnings.push(format!(
                "class \"{name}\"{where_}: folder holds no image files"
            ));
        }
        files.sort();
        out.extend(files.into_iter().map(|path| Candidate { path, class }));
    }
    Ok(out)
}

fn walk_class(
    dir: &Path,
    depth: usize,
    files: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
    nested: &mut bool,
    warnings: &mut Vec<String>,
) -> Result<(), DataError> {
    let listing = match list_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            warnings.push(format!("skipped folder: {e}"));
            return Ok(());
        }
    };
    for file in listing.files {
        if is_image_name(&file) {
            files.push(file);
        } else {
            ignored.push(file);
        }
    }
    for sub in listing.dirs {
        *nested = true;
        if depth + 1 > MAX_NESTING {
            warnings.push(format!(
                "{} is nested more than {MAX_NESTING} levels deep; not searched",
                sub.display()
            ));
            continue;
        }
        walk_class(&sub, depth + 1, files, ignored, nested, warnings)?;
    }
    Ok(())
}
