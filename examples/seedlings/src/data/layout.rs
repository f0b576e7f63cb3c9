//! Finding the class folders and the image files in them (no decoding here).
//!
//! Two layouts are read:
//!
//! * **split folders**: `ROOT/train/<Species>/*` and, when present, `ROOT/valid/<Species>/*`.
//!   The usual split names are recognised (any case): `train/` or `training/`; `valid/`,
//!   `val/` or `validation/`; `test/` or `testing/`. A test split is never read (it is not
//!   trained on, nor used for the valid split); other folders next to `train/` are not read
//!   either, and each gets a warning.
//! * **class folders** (the Aarhus archive): `ROOT/<Species>/*`.
//!
//! Two shapes are refused rather than guessed at, since either would train on wrong labels:
//! split folders without a train split ([`DataError::NoTrainSplit`]), and "class" folders that
//! hold only sub-folders and not one image of their own ([`DataError::NestedLayout`]: split
//! folders under names not recognised, e.g. `fold1/<Species>/`, or one level too high).
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
//! * Symbolic links are followed, but never into a folder already read and never across
//!   classes. Every folder is identified by its canonical path. A sub-folder (or image) link is
//!   skipped, with one warning that names it, when it points to the class folder itself or a
//!   folder above it (a loop, the data root included), to a folder already read, or to any
//!   other place inside the data root (another class or split, whose images would take this
//!   class's label). Links to places outside the data root are read like real sub-folders.
//!   A link that points nowhere but has an image name stays a candidate, so that decoding
//!   records it as skipped with the reason.
//! * Candidates are sorted: by class, then by path.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::DataError;

/// File extensions (lower case) taken as images.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// How many single wrapper folders are descended into at most.
pub const MAX_WRAPPERS: usize = 3;

/// How many levels of sub-folders inside a class folder are searched at most.
pub const MAX_NESTING: usize = 8;

/// Folder names (any case) taken as the train split.
pub const TRAIN_NAMES: [&str; 2] = ["train", "training"];
/// Folder names (any case) taken as the valid split.
pub const VALID_NAMES: [&str; 3] = ["valid", "val", "validation"];
/// Folder names (any case) taken as a test split: recognised as a split, never read.
pub const TEST_NAMES: [&str; 2] = ["test", "testing"];

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
    let mut walk = Walk::new(root)?;
    let mut dir = root.to_path_buf();
    for _ in 0..=MAX_WRAPPERS {
        let listing = list_dir(&dir)?;
        if let Some(train) = find_named(&listing.dirs, &TRAIN_NAMES) {
            let valid = find_named(&listing.dirs, &VALID_NAMES);
            let mut layout = split_layout(&dir, &train, valid.as_deref(), &mut walk)?;
            for other in &listing.dirs {
                if *other == train || Some(other) == valid.as_ref() {
                    continue;
                }
                let why = if is_named(other, &TEST_NAMES) {
                    "a test split, not trained on"
                } else {
                    "not a split name"
                };
                layout
                    .warnings
                    .push(format!("{} not read: {why}", other.display()));
            }
            return Ok(layout);
        }
        let splits: Vec<&PathBuf> = listing
            .dirs
            .iter()
            .filter(|d| is_named(d, &VALID_NAMES) || is_named(d, &TEST_NAMES))
            .collect();
        if !splits.is_empty() {
            return Err(DataError::NoTrainSplit {
                root: dir.clone(),
                found: splits.iter().map(|d| folder_name(d)).collect(),
            });
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
        return class_folder_layout(&dir, &listing.dirs, listing.files, &mut walk);
    }
    Err(DataError::NoClasses {
        root: root.to_path_buf(),
    })
}

/// What discovery has read so far, by canonical path: no folder is read twice, and no link
/// leads out of a class folder into another part of the data.
struct Walk {
    /// The data root as given, canonical.
    root: PathBuf,
    /// Every folder read so far, canonical.
    visited: HashSet<PathBuf>,
}

impl Walk {
    fn new(root: &Path) -> Result<Self, DataError> {
        let root = fs::canonicalize(root)
            .map_err(|e| DataError::io("cannot open data folder", root, e))?;
        Ok(Walk {
            root,
            visited: HashSet::new(),
        })
    }

    /// Why the folder `dir` (canonical `target`), found inside the class folder whose canonical
    /// path is `class`, must not be read; `None` when it may.
    fn refusal(&self, class: &Path, target: &Path) -> Option<&'static str> {
        if self.root.starts_with(target) {
            Some("a link back to the data root (or a folder above it)")
        } else if class.starts_with(target) {
            Some("a link back to this class folder or one above it (a loop)")
        } else if self.visited.contains(target) {
            Some("a link to a folder already read")
        } else if target.starts_with(&self.root) && !target.starts_with(class) {
            Some(
                "a link to another folder of the data set, whose images would take this class's label",
            )
        } else {
            None
        }
    }
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

fn is_named(dir: &Path, names: &[&str]) -> bool {
    dir.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        names.iter().any(|name| n.eq_ignore_ascii_case(name))
    })
}

fn folder_name(dir: &Path) -> String {
    format!("{}/", class_name(dir))
}

fn class_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn split_layout(
    root: &Path,
    train: &Path,
    valid: Option<&Path>,
    walk: &mut Walk,
) -> Result<Layout, DataError> {
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
    refuse_nested(train, &train_listing.dirs)?;
    layout.train = collect_classes(&train_listing.dirs, &mut layout, "train", walk)?;
    if let (Some(valid), Some(listing)) = (valid, &valid_listing) {
        refuse_nested(valid, &listing.dirs)?;
        layout.valid = collect_classes(&listing.dirs, &mut layout, "valid", walk)?;
    }
    layout.ignored.sort();
    Ok(layout)
}

fn class_folder_layout(
    root: &Path,
    dirs: &[PathBuf],
    files: Vec<PathBuf>,
    walk: &mut Walk,
) -> Result<Layout, DataError> {
    refuse_nested(root, dirs)?;
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
    layout.train = collect_classes(dirs, &mut layout, "", walk)?;
    layout.ignored.sort();
    Ok(layout)
}

/// Refuses `class_dirs` (the class folders found in `parent`) when not one of them holds an
/// image of its own and they all hold sub-folders: one level of folders too many, most likely
/// split folders under names not recognised, whose names would become the classes.
fn refuse_nested(parent: &Path, class_dirs: &[PathBuf]) -> Result<(), DataError> {
    if class_dirs.is_empty() {
        return Ok(());
    }
    let mut inner = BTreeSet::new();
    for dir in class_dirs {
        // An unreadable class folder is warned about when it is read.
        let Ok(listing) = list_dir(dir) else {
            return Ok(());
        };
        if listing.files.iter().any(|f| is_image_name(f)) || listing.dirs.is_empty() {
            return Ok(());
        }
        inner.extend(listing.dirs.iter().map(|d| folder_name(d)));
    }
    Err(DataError::NestedLayout {
        root: parent.to_path_buf(),
        folders: class_dirs.iter().map(|d| folder_name(d)).collect(),
        inner: inner.into_iter().collect(),
    })
}

/// Collects the candidates of every class folder in `dirs`; `split` names the split in
/// warnings.
fn collect_classes(
    dirs: &[PathBuf],
    layout: &mut Layout,
    split: &str,
    walk: &mut Walk,
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
        let canonical = match fs::canonicalize(dir) {
            Ok(canonical) => canonical,
            Err(e) => {
                layout
                    .warnings
                    .push(format!("skipped folder {}: {e}", dir.display()));
                continue;
            }
        };
        if !walk.visited.insert(canonical.clone()) {
            layout.warnings.push(format!(
                "skipped {}: a link to {}, a folder already read",
                dir.display(),
                canonical.display()
            ));
            continue;
        }
        let mut class_walk = ClassWalk {
            class: canonical,
            files: Vec::new(),
            nested: false,
        };
        class_walk.walk(dir, 0, layout, walk);
        if class_walk.nested {
            layout.warnings.push(format!(
                "class \"{name}\"{where_}: images in sub-folders were taken as well"
            ));
        }
        let mut files = class_walk.files;
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

/// The walk through one class folder (canonical path `class`) and its sub-folders.
struct ClassWalk {
    class: PathBuf,
    files: Vec<PathBuf>,
    /// Whether images were taken from a sub-folder.
    nested: bool,
}

impl ClassWalk {
    fn walk(&mut self, dir: &Path, depth: usize, layout: &mut Layout, walk: &mut Walk) {
        let listing = match list_dir(dir) {
            Ok(l) => l,
            Err(e) => {
                layout.warnings.push(format!("skipped folder: {e}"));
                return;
            }
        };
        for file in listing.files {
            if !is_image_name(&file) {
                layout.ignored.push(file);
            } else if let Some(why) = self.linked_file_refusal(&file, walk) {
                layout
                    .warnings
                    .push(format!("skipped {}: {why}", file.display()));
            } else {
                if depth > 0 {
                    self.nested = true;
                }
                self.files.push(file);
            }
        }
        // Real sub-folders first, so that a link to one of them is the one skipped.
        let (links, real): (Vec<PathBuf>, Vec<PathBuf>) =
            listing.dirs.into_iter().partition(|d| is_link(d));
        for sub in real.into_iter().chain(links) {
            if depth + 1 > MAX_NESTING {
                layout.warnings.push(format!(
                    "{} is nested more than {MAX_NESTING} levels deep; not searched",
                    sub.display()
                ));
                continue;
            }
            let target = match fs::canonicalize(&sub) {
                Ok(target) => target,
                Err(e) => {
                    layout
                        .warnings
                        .push(format!("skipped folder {}: {e}", sub.display()));
                    continue;
                }
            };
            if let Some(why) = walk.refusal(&self.class, &target) {
                layout.warnings.push(format!(
                    "skipped {} (→ {}): {why}",
                    sub.display(),
                    target.display()
                ));
                continue;
            }
            walk.visited.insert(target);
            self.walk(&sub, depth + 1, layout, walk);
        }
    }

    /// Why an image file that is a link must not be taken: it points into another part of the
    /// data root (another class or split). Dangling links and links outside the root are
    /// taken (decoding reports a dangling one).
    fn linked_file_refusal(&self, file: &Path, walk: &Walk) -> Option<String> {
        if !is_link(file) {
            return None;
        }
        let target = fs::canonicalize(file).ok()?;
        (target.starts_with(&walk.root) && !target.starts_with(&self.class)).then(|| {
            format!(
                "a link to {}, another folder of the data set, whose image would take this class's label",
                target.display()
            )
        })
    }
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}
