//! Choosing the data folder: `--data DIR`, then `SEEDLINGS_DATA`, then
//! `datasets/plant-seedlings/` under the current directory.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use super::DataError;

/// Environment variable naming the data folder.
pub const DATA_ENV: &str = "SEEDLINGS_DATA";

/// Default data folder, relative to the current directory (the repository root; git-ignored).
pub const DEFAULT_DATA_DIR: &str = "datasets/plant-seedlings";

/// Which rule chose the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The `--data DIR` command-line flag.
    Flag,
    /// The `SEEDLINGS_DATA` environment variable.
    Env,
    /// The default folder [`DEFAULT_DATA_DIR`].
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => write!(f, "--data"),
            Origin::Env => write!(f, "{DATA_ENV}"),
            Origin::Default => write!(f, "default folder {DEFAULT_DATA_DIR}"),
        }
    }
}

/// The outcome of [`locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A folder was chosen.
    Found {
        /// The folder (as given; not canonicalised).
        root: PathBuf,
        /// Which rule chose it.
        origin: Origin,
    },
    /// No flag, no variable, and the default folder does not exist: use synthetic data.
    NotFound {
        /// The default folder that was looked at.
        default_dir: PathBuf,
    },
    /// A folder given explicitly (flag or variable) does not exist or is a file: an error,
    /// never a silent fallback.
    Invalid {
        /// The path given.
        path: PathBuf,
        /// Where it came from ([`Origin::Flag`] or [`Origin::Env`]).
        origin: Origin,
        /// True when the path exists but is a file; false when nothing is there.
        is_file: bool,
    },
}

impl Located {
    /// `Ok(Some((root, origin)))` when found, `Ok(None)` when the caller should fall back to
    /// synthetic data, and an error for an explicit path that does not exist.
    ///
    /// # Errors
    ///
    /// [`DataError::Missing`] or [`DataError::FileGiven`] for [`Located::Invalid`].
    pub fn into_result(self) -> Result<Option<(PathBuf, Origin)>, DataError> {
        match self {
            Located::Found { root, origin } => Ok(Some((root, origin))),
            Located::NotFound { .. } => Ok(None),
            Located::Invalid {
                path,
                origin,
                is_file: false,
            } => Err(DataError::Missing {
                path,
                origin: origin.to_string(),
            }),
            Located::Invalid {
                path,
                origin,
                is_file: true,
            } => Err(DataError::FileGiven {
                path,
                origin: origin.to_string(),
            }),
        }
    }

    /// One line for the user: which folder and why, or why none.
    pub fn describe(&self) -> String {
        match self {
            Located::Found { root, origin } => {
                format!("data folder {} (from {origin})", root.display())
            }
            Located::NotFound { default_dir } => format!(
                "no data folder: no --data flag, {DATA_ENV} unset, {} absent",
                default_dir.display()
            ),
            Located::Invalid {
                path,
                origin,
                is_file,
            } => {
                let what = if *is_file {
                    "is a file, not a folder"
                } else {
                    "does not exist"
                };
                format!("data folder {} (from {origin}) {what}", path.display())
            }
        }
    }
}

/// Chooses the data folder: the `flag` when given, else `SEEDLINGS_DATA` when set and not
/// empty, else [`DEFAULT_DATA_DIR`] under the current directory when it is a folder.
pub fn locate(flag: Option<&Path>) -> Located {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    locate_with(flag, std::env::var_os(DATA_ENV), &cwd)
}

/// [`locate`] with the environment value and the current directory passed in (for tests).
pub fn locate_with(flag: Option<&Path>, env_value: Option<OsString>, cwd: &Path) -> Located {
    let explicit = match (flag, env_value) {
        (Some(path), _) => Some((path.to_path_buf(), Origin::Flag)),
        (None, Some(value)) if !value.is_empty() => Some((PathBuf::from(value), Origin::Env)),
        _ => None,
    };
    if let Some((path, origin)) = explicit {
        return if path.is_dir() {
            Located::Found { root: path, origin }
        } else {
            let is_file = path.exists();
            Located::Invalid {
                path,
                origin,
                is_file,
            }
        };
    }
    let default_dir = cwd.join(DEFAULT_DATA_DIR);
    if default_dir.is_dir() {
        Located::Found {
            root: default_dir,
            origin: Origin::Default,
        }
    } else {
        Located::NotFound { default_dir }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir_all(&a).expect("mkdir");
        std::fs::create_dir_all(&b).expect("mkdir");
        std::fs::create_dir_all(dir.path().join(DEFAULT_DATA_DIR)).expect("mkdir");
        let env = Some(b.clone().into_os_string());
        assert_eq!(
            locate_with(Some(&a), env.clone(), dir.path()),
            Located::Found {
                root: a.clone(),
                origin: Origin::Flag
            }
        );
        assert_eq!(
            locate_with(None, env, dir.path()),
            Located::Found {
                root: b,
                origin: Origin::Env
            }
        );
        assert_eq!(
            locate_with(None, Some(OsString::new()), dir.path()),
            Located::Found {
                root: dir.path().join(DEFAULT_DATA_DIR),
                origin: Origin::Default
            }
        );
    }

    #[test]
    fn nothing_found_means_synthetic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let located = locate_with(None, None, dir.path());
        assert!(matches!(located, Located::NotFound { .. }));
        assert_eq!(located.into_result().expect("not an error"), None);
    }

    #[test]
    fn explicit_missing_path_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(DEFAULT_DATA_DIR)).expect("mkdir");
        let missing = dir.path().join("nope");
        let by_flag = locate_with(Some(&missing), None, dir.path());
        assert!(matches!(
            by_flag,
            Located::Invalid {
                origin: Origin::Flag,
                ..
            }
        ));
        assert!(by_flag.into_result().is_err());
        let by_env = locate_with(None, Some(missing.into_os_string()), dir.path());
        assert!(matches!(
            by_env,
            Located::Invalid {
                origin: Origin::Env,
                ..
            }
        ));
        let err = by_env.into_result().expect_err("missing env path");
        assert!(err.to_string().contains("SEEDLINGS_DATA"), "{err}");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn explicit_file_is_called_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("photos.zip");
        std::fs::write(&file, b"zip").expect("write");
        let located = locate_with(Some(&file), None, dir.path());
        assert!(located.describe().contains("is a file, not a folder"));
        let err = located.into_result().expect_err("a file");
        assert_eq!(
            err.to_string(),
            format!(
                "data folder {} (from --data) is a file, not a folder",
                file.display()
            )
        );
    }
}
