//! The one error type of the data layer.

use std::path::PathBuf;

/// Everything that can stop the data layer from producing a data set.
///
/// Single bad image files are *not* errors: they are recorded as
/// [`Skipped`](super::Skipped) entries and loading goes on. A `DataError` means that nothing
/// usable could be produced, or that a setting or a download was wrong.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A data folder given explicitly (the `--data` flag or `SEEDLINGS_DATA`) does not exist.
    #[error("data folder {path} (from {origin}) does not exist")]
    Missing {
        /// The path that was given.
        path: PathBuf,
        /// Where it came from, e.g. "--data" or "SEEDLINGS_DATA".
        origin: String,
    },
    /// A data folder given explicitly (the `--data` flag or `SEEDLINGS_DATA`) is a file.
    #[error("data folder {path} (from {origin}) is a file, not a folder")]
    FileGiven {
        /// The path that was given.
        path: PathBuf,
        /// Where it came from, e.g. "--data" or "SEEDLINGS_DATA".
        origin: String,
    },
    /// The data root exists but is not a folder.
    #[error("{path} is a file, not a folder")]
    NotAFolder {
        /// The offending path.
        path: PathBuf,
    },
    /// Split folders (`valid/`, `test/`) were found but no train split.
    #[error(
        "{root} holds split folders ({}) but no train split: name the training images' \
         folder train/ or training/",
        found.join(", ")
    )]
    NoTrainSplit {
        /// The folder holding the splits.
        root: PathBuf,
        /// The split folders found, e.g. `["valid/", "test/"]`.
        found: Vec<String>,
    },
    /// The would-be class folders hold only sub-folders and no image of their own: their names
    /// would become the classes, every image labelled by the wrong folder.
    #[error(
        "{root} looks like split folders of class folders, not class folders: each of {} holds \
         only folders ({}) and not one image of its own. Split folders must be named \
         train/ or training/, valid/, val/ or validation/, test/ or testing/; or give --data \
         the folder that holds the class folders",
        folders.join(", "),
        inner.join(", ")
    )]
    NestedLayout {
        /// The folder holding the would-be class folders.
        root: PathBuf,
        /// The would-be class folders, e.g. `["fold1/", "fold2/"]`.
        folders: Vec<String>,
        /// The folders inside them, e.g. `["Maize/", "Black-grass/"]`.
        inner: Vec<String>,
    },
    /// No class folders were found under the data root.
    #[error(
        "no class folders found in {root}: expected ROOT/train/<Species>/*, ROOT/<Species>/* \
         or one wrapper folder holding either"
    )]
    NoClasses {
        /// The folder that was searched.
        root: PathBuf,
    },
    /// Class folders were found but not a single image in them could be used.
    #[error(
        "no usable images in {root}: {skipped} image file(s) could not be used, \
         {ignored} other file(s) ignored"
    )]
    NoImages {
        /// The folder that was searched.
        root: PathBuf,
        /// How many candidate image files failed to decode.
        skipped: usize,
        /// How many files were ignored for their name (not `.png`/`.jpg`/`.jpeg`, or hidden).
        ignored: usize,
    },
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "cannot read folder".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An option was out of range.
    #[error("invalid data option: {0}")]
    InvalidOption(String),
    /// The URL could not be understood (scheme, syntax).
    #[error("cannot use URL {url}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Fetching a URL failed.
    #[error("download of {url} failed: {reason}")]
    Download {
        /// The URL as given.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The downloaded archive could not be read or unpacked.
    #[error("cannot unpack {path}: {reason}")]
    Archive {
        /// The archive file.
        path: PathBuf,
        /// What went wrong (including unsafe entry names).
        reason: String,
    },
    /// Unpacking would overwrite something that already exists.
    #[error("{path} already exists; remove it or download into another folder")]
    AlreadyExists {
        /// The existing path.
        path: PathBuf,
    },
}

impl DataError {
    /// Builds an [`DataError::Io`] for `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        DataError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
