//! One process at a time in a run folder: an OS advisory lock, held for as long as the process
//! that writes the folder lives.
//!
//! The lock is the standard library's [`File::try_lock`] (an exclusive `flock(2)` on Unix,
//! `LockFileEx` on Windows) on the file `state/run.lock` inside the run folder. The operating
//! system drops it with the process, however the process ends (`kill -9` included), so a
//! stale lock never needs cleaning up by hand; the file itself stays and is only a place to
//! hang the lock on (its content is never read).
//!
//! A second process that asks for the lock is refused at once ([`RunLock::acquire`] never
//! waits) with an error naming the folder and, on Linux, the process holding it (from
//! `/proc/locks`). Acquiring writes nothing to a folder that already holds a lock file.
//! Reading a finished folder (`seedlings evaluate`, the report's files) takes no lock.
//!
//! ```
//! use seedlings::run::RunLock;
//!
//! let dir = tempfile::tempdir()?;
//! let run = dir.path().join("run");
//! let held = RunLock::acquire(&run)?;
//! let refused = RunLock::acquire(&run).unwrap_err();
//! assert!(refused.to_string().contains("is in use by another seedlings process"));
//! drop(held);
//! RunLock::acquire(&run)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file, relative to the run folder.
pub const LOCK_FILE: &str = "state/run.lock";

/// Why a run folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "run folder {dir} is in use by another seedlings process{}; wait for it to end, or stop \
         it (Ctrl-C saves its state) and then resume",
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default()
    )]
    Busy {
        /// The run folder.
        dir: PathBuf,
        /// The holder's process id, where the OS tells it.
        holder: Option<u32>,
    },
    /// The run folder path is a file.
    #[error("run folder {dir} is a file, not a folder")]
    NotAFolder {
        /// The path given as run folder.
        dir: PathBuf,
    },
    /// The folder or its lock file could not be created or opened.
    #[error("cannot lock run folder {dir}: {source}")]
    Io {
        /// The run folder.
        dir: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
}

/// The lock on one run folder, held until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    dir: PathBuf,
    /// The outermost folder [`RunLock::acquire`] created (the run folder or a parent of it).
    created: Option<PathBuf>,
    _file: File,
}

impl RunLock {
    /// Locks the run folder `dir`, creating it (and `state/`) when missing.
    ///
    /// # Errors
    ///
    /// [`LockError::Busy`] when another process holds it, [`LockError::NotAFolder`] when `dir`
    /// is a file, [`LockError::Io`] when the folder or the lock file cannot be made.
    pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
        let io_error = |source| LockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(LockError::NotAFolder {
                dir: dir.to_path_buf(),
            });
        }
        let created = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        let path = dir.join(LOCK_FILE);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        // No truncation: the refused process leaves the file as it found it.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock {
                dir: dir.to_path_buf(),
                created,
                _file: file,
            }),
            Err(TryLockError::WouldBlock) => Err(LockError::Busy {
                dir: dir.to_path_buf(),
                holder: holder_of(&path),
            }),
            Err(TryLockError::Error(source)) => Err(io_error(source)),
        }
    }

    /// The locked run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Unlocks, and removes the run folder again (with the parents [`RunLock::acquire`]
    /// made for it) when this lock created it and nothing but the lock file was written since:
    /// a run that failed before it started leaves no folder behind.
    pub fn release_unused(self) {
        let (dir, created) = (self.dir.clone(), self.created.clone());
        drop(self);
        let Some(created) = created else {
            return;
        };
        let lock = dir.join(LOCK_FILE);
        let Some(state) = lock.parent() else {
            return;
        };
        let holds_only = |folder: &Path, keep: &Path| {
            fs::read_dir(folder)
                .is_ok_and(|entries| entries.flatten().all(|entry| entry.path() == keep))
        };
        if !(holds_only(state, &lock) && holds_only(&dir, state)) {
            return;
        }
        let _ = fs::remove_file(&lock);
        let _ = fs::remove_dir(state);
        // The run folder, then each parent made for it; `remove_dir` keeps a non-empty one.
        for folder in dir.ancestors() {
            if fs::remove_dir(folder).is_err() || folder == created {
                break;
            }
        }
    }
}

/// The process holding a `flock` on `path`, read from `/proc/locks` (Linux); `None` elsewhere
/// or when it cannot be told.
fn holder_of(path: &Path) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path).ok()?;
        let locks = fs::read_to_string("/proc/locks").ok()?;
        holder_in_proc_locks(&locks, meta.dev(), meta.ino())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// The pid of the `FLOCK` line of `/proc/locks` (text `locks`) on the file with device `dev`
/// and inode `ino`. Lines read `1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`, the device
/// as hexadecimal `major:minor`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn holder_in_proc_locks(locks: &str, dev: u64, ino: u64) -> Option<u32> {
    // glibc's encoding of dev_t (gnu_dev_major / gnu_dev_minor).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let kind = fields.iter().position(|f| *f == "FLOCK")?;
        // After FLOCK: ADVISORY, WRITE, pid, dev:inode.
        let (pid, file) = (fields.get(kind + 3)?, fields.get(kind + 4)?);
        file.eq_ignore_ascii_case(&wanted)
            .then(|| pid.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_line_gives_the_pid_of_that_file_only() {
        // dev 0xfd01 = major 0xfd, minor 0x01.
        let locks = "1: POSIX  ADVISORY  WRITE 11 fd:01:77 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 99 fd:01:1235 0 EOF\n";
        assert_eq!(holder_in_proc_locks(locks, 0xfd01, 1234), Some(4242));
        assert_eq!(holder_in_proc_locks(locks, 0xfd01, 77), None);
        assert_eq!(holder_in_proc_locks(locks, 0xfd02, 1234), None);
    }

    #[test]
    fn a_second_lock_is_refused_and_names_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let held = RunLock::acquire(&run).unwrap();
        let err = RunLock::acquire(&run).unwrap_err();
        let LockError::Busy { dir: busy, holder } = &err else {
            panic!("{err}");
        };
        assert_eq!(busy, &run);
        if cfg!(target_os = "linux") {
            assert_eq!(*holder, Some(std::process::id()), "{err}");
            assert!(
                err.to_string()
                    .contains(&format!("(process {})", std::process::id()))
            );
        }
        assert!(err.to_string().contains(&run.display().to_string()));
        drop(held);
        let again = RunLock::acquire(&run).unwrap();
        assert_eq!(again.dir(), run);
    }

    #[test]
    fn an_unused_new_folder_is_removed_and_a_used_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("runs/fresh");
        RunLock::acquire(&fresh).unwrap().release_unused();
        assert!(!dir.path().join("runs").exists());
        fs::create_dir(dir.path().join("runs")).unwrap();
        RunLock::acquire(&fresh).unwrap().release_unused();
        assert!(dir.path().join("runs").is_dir() && !fresh.exists());
        let used = dir.path().join("used");
        let lock = RunLock::acquire(&used).unwrap();
        fs::write(used.join("metrics.csv"), "x").unwrap();
        lock.release_unused();
        assert!(used.join("metrics.csv").is_file());
        let existing = dir.path().join("existing");
        fs::create_dir(&existing).unwrap();
        RunLock::acquire(&existing).unwrap().release_unused();
        assert!(existing.is_dir());
    }

    #[test]
    fn a_file_is_not_a_run_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run");
        fs::write(&file, "x").unwrap();
        let err = RunLock::acquire(&file).unwrap_err();
        assert!(matches!(err, LockError::NotAFolder { .. }), "{err}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "x");
    }
}
