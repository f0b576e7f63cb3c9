//! Crash-safe file writes: a reader sees the old file or the new one, never half of one.
//!
//! [`write_atomic`] writes to a temporary file in the destination's folder, flushes it to disk,
//! then renames it over the destination. A rename within one file system is atomic on POSIX
//! and on Windows (NTFS), so a `kill -9` or power cut during the write leaves at worst a stray
//! `.NAME.tmp-PID-N` file next to an intact destination.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts temporary files within this process, so that concurrent writers never share one.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces the file at `path` with `bytes`, atomically.
///
/// The data goes to a temporary file in the same folder (named `.FILENAME.tmp-PID-N`, unique per
/// process and call), is flushed with `fsync`, and is then renamed onto `path`; the folder is
/// synced too where the platform allows it. On any error the temporary file is removed and an
/// existing file at `path` is left as it was. The folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(temp_name(file_name));

    let result = write_and_sync(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(&dir);
    Ok(())
}

/// [`write_atomic`] for text.
pub fn write_atomic_str(path: &Path, text: &str) -> io::Result<()> {
    write_atomic(path, text.as_bytes())
}

/// Whether `name` looks like one of [`write_atomic`]'s temporary files (a leftover of a killed
/// process, safe to delete).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

fn temp_name(file_name: &std::ffi::OsStr) -> std::ffi::OsString {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(file_name);
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    name
}

fn write_and_sync(temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename itself durable. Only possible (and only needed) on Unix; failures are
/// ignored because the data is already safe and the rename already visible.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic_str(&path, "second").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(names(dir.path()), ["a.txt"]);
    }

    #[test]
    fn temp_names_are_unique_and_recognisable() {
        let a = temp_name("x.csv".as_ref()).into_string().unwrap();
        let b = temp_name("x.csv".as_ref()).into_string().unwrap();
        assert_ne!(a, b);
        assert!(is_temp_name(&a), "{a}");
        assert!(a.contains(&std::process::id().to_string()));
        assert!(!is_temp_name("x.csv"));
    }

    #[test]
    fn failed_rename_keeps_the_old_file_and_removes_the_temp() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file onto a non-empty folder fails, after the temp file was written.
        let target = dir.path().join("busy");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), "keep").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        assert_eq!(names(dir.path()), ["busy"]);
        assert_eq!(fs::read_to_string(target.join("inside")).unwrap(), "keep");
    }

    #[test]
    fn path_without_file_name_is_an_error() {
        assert!(write_atomic(Path::new("/"), b"x").is_err());
    }
}
