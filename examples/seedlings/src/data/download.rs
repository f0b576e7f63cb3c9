//! Fetching the data set archive (`http://`, `https://` or `file://`) and unpacking it safely.
//!
//! Steps of [`download`]: fetch into `DEST/.seedlings-download.zip.part`, rename it to
//! `DEST/.seedlings-download.zip`, unpack into `DEST/.seedlings-unpack.part/`, move the
//! unpacked top-level entries into `DEST` (refusing to overwrite anything), delete the archive
//! and the staging folder, and run [`detect_layout`] on `DEST`. On failure the temporary files
//! are removed and `DEST` is left as it was (apart from being created).
//!
//! Unpacking refuses archives with an entry whose name is absolute or contains a `..`
//! component, checked both on the raw name and with `zip`'s `enclosed_name()`; it skips
//! symbolic-link entries and the `__MACOSX/` folder, and stops past [`MAX_UNPACKED_BYTES`] or
//! [`MAX_ENTRIES`].

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::DataError;
use super::layout::detect_layout;

/// The Aarhus University "Plant Seedlings Dataset", non-segmented images, version 2.
pub const AARHUS_V2_URL: &str =
    "https://vision.eng.au.dk/?download=/data/WeedData/NonsegmentedV2.zip";

/// Most bytes an archive may unpack to (a zip-bomb guard): 16 GiB.
pub const MAX_UNPACKED_BYTES: u64 = 16 << 30;

/// Most entries an archive may hold.
pub const MAX_ENTRIES: usize = 1_000_000;

const PART_NAME: &str = ".seedlings-download.zip.part";
const ZIP_NAME: &str = ".seedlings-download.zip";
const STAGING_NAME: &str = ".seedlings-unpack.part";

/// Downloads the zip archive at `url` into `dest_root`, unpacks it there and returns the data
/// root that [`detect_layout`] finds in it (e.g. `dest_root/nonsegmentedv2`).
///
/// # Errors
///
/// [`DataError::BadUrl`] for an unsupported scheme or a relative `file://` path,
/// [`DataError::Download`] when fetching fails (including HTTP error statuses),
/// [`DataError::Archive`] for an unreadable or unsafe archive, [`DataError::AlreadyExists`]
/// when an unpacked top-level entry exists already in `dest_root`, [`DataError::Io`] for
/// file-system failures, and the errors of [`detect_layout`] on the result.
pub fn download(url: &str, dest_root: &Path) -> Result<PathBuf, DataError> {
    let source = Source::parse(url)?;
    fs::create_dir_all(dest_root)
        .map_err(|e| DataError::io("cannot create folder", dest_root, e))?;
    let part = dest_root.join(PART_NAME);
    let zip_path = dest_root.join(ZIP_NAME);
    let staging = dest_root.join(STAGING_NAME);
    let result = fetch_and_unpack(&source, url, dest_root, &part, &zip_path, &staging);
    // Temporary files go in every case; errors removing them do not hide the real outcome.
    let _ = fs::remove_file(&part);
    let _ = fs::remove_file(&zip_path);
    let _ = fs::remove_dir_all(&staging);
    result?;
    Ok(detect_layout(dest_root)?.root)
}

fn fetch_and_unpack(
    source: &Source,
    url: &str,
    dest_root: &Path,
    part: &Path,
    zip_path: &Path,
    staging: &Path,
) -> Result<(), DataError> {
    fetch(source, url, part)?;
    fs::rename(part, zip_path).map_err(|e| DataError::io("cannot rename", part, e))?;
    if staging.exists() {
        fs::remove_dir_all(staging)
            .map_err(|e| DataError::io("cannot remove old staging folder", staging, e))?;
    }
    unpack(zip_path, staging)?;
    // Move the unpacked top-level entries into place, all or nothing.
    let mut entries = Vec::new();
    for entry in fs::read_dir(staging).map_err(|e| DataError::io("cannot list", staging, e))? {
        let entry = entry.map_err(|e| DataError::io("cannot list", staging, e))?;
        entries.push(entry.file_name());
    }
    entries.sort();
    for name in &entries {
        let target = dest_root.join(name);
        if target.symlink_metadata().is_ok() {
            return Err(DataError::AlreadyExists { path: target });
        }
    }
    for name in &entries {
        let from = staging.join(name);
        fs::rename(&from, dest_root.join(name))
            .map_err(|e| DataError::io("cannot move into place", from, e))?;
    }
    Ok(())
}

/// Where the bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Http,
    File(PathBuf),
}

impl Source {
    fn parse(url: &str) -> Result<Source, DataError> {
        let bad = |reason: &str| DataError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(Source::Http);
        }
        let Some(rest) = lower
            .starts_with("file://")
            .then(|| &url["file://".len()..])
        else {
            return Err(bad("only http://, https:// and file:// URLs are supported"));
        };
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return Err(bad(
                "a file:// URL needs an absolute path (file:///path/to/file.zip)",
            ));
        }
        let decoded = percent_decode(rest).ok_or_else(|| bad("invalid %-escape in the path"))?;
        Ok(Source::File(PathBuf::from(decoded)))
    }
}

/// Decodes `%XX` escapes; `None` on a malformed escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn fetch(source: &Source, url: &str, part: &Path) -> Result<(), DataError> {
    let failed = |reason: String| DataError::Download {
        url: url.to_string(),
        reason,
    };
    let mut reader: Box<dyn Read> = match source {
        Source::File(path) => Box::new(
            File::open(path).map_err(|e| failed(format!("cannot open {}: {e}", path.display())))?,
        ),
        Source::Http => {
            let mut config = ureq::Agent::config_builder()
                .timeout_connect(Some(Duration::from_secs(30)))
                .timeout_recv_response(Some(Duration::from_secs(120)))
                .timeout_per_read(Some(Duration::from_secs(120)));
            if is_loopback(url) {
                // A local server never goes through a proxy.
                config = config.proxy(None);
            }
            let agent: ureq::Agent = config.build().into();
            let response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
            Box::new(response.into_body().into_reader())
        }
    };
    let file = File::create(part).map_err(|e| DataError::io("cannot create", part, e))?;
    let mut writer = BufWriter::new(file);
    io::copy(&mut reader, &mut writer).map_err(|e| failed(e.to_string()))?;
    let file = writer
        .into_inner()
        .map_err(|e| DataError::io("cannot write", part, e.into_error()))?;
    file.sync_all()
        .map_err(|e| DataError::io("cannot write", part, e))?;
    Ok(())
}

fn is_loopback(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    let host = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map_or(host, |h| &h[1..])
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A relative path for the entry name `raw`, or `None` when it is absolute or climbs out with
/// `..` (checked on the raw name, then again by `zip`'s `enclosed_name()`).
fn safe_entry_path(raw: &str, enclosed: Option<PathBuf>) -> Option<PathBuf> {
    let absolute =
        raw.starts_with('/') || raw.starts_with('\\') || raw.as_bytes().get(1) == Some(&b':');
    let climbs = raw.split(['/', '\\']).any(|part| part == "..");
    if absolute || climbs || raw.contains('\0') {
        return None;
    }
    enclosed.filter(|p| !p.as_os_str().is_empty())
}

/// Unpacks the zip at `zip_path` into the (new) folder `dest`.
fn unpack(zip_path: &Path, dest: &Path) -> Result<(), DataError> {
    let archive_err = |reason: String| DataError::Archive {
        path: zip_path.to_path_buf(),
        reason,
    };
    let file = File::open(zip_path).map_err(|e| DataError::io("cannot open", zip_path, e))?;
    let mut archive =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| archive_err(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(archive_err(format!(
            "{} entries, more than the limit of {MAX_ENTRIES}",
            archive.len()
        )));
    }
    fs::create_dir_all(dest).map_err(|e| DataError::io("cannot create folder", dest, e))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| archive_err(e.to_string()))?;
        let raw = entry.name().to_string();
        let Some(relative) = safe_entry_path(&raw, entry.enclosed_name()) else {
            return Err(archive_err(format!(
                "unsafe entry name {raw:?} (absolute or containing ..)"
            )));
        };
        // Links are never created; macOS resource forks are not data.
        if entry.is_symlink() || relative.starts_with("__MACOSX") {
            continue;
        }
        let out = dest.join(&relative);
        if entry.is_dir() {
            fs::create_dir_all(&out).map_err(|e| DataError::io("cannot create folder", &out, e))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| DataError::io("cannot create folder", parent, e))?;
        }
        let mut writer = BufWriter::new(
            File::create(&out).map_err(|e| DataError::io("cannot create", &out, e))?,
        );
        let allowed = MAX_UNPACKED_BYTES - total;
        let copied = io::copy(&mut (&mut entry).take(allowed + 1), &mut writer)
            .map_err(|e| archive_err(format!("entry {raw:?}: {e}")))?;
        writer
            .flush()
            .map_err(|e| DataError::io("cannot write", &out, e))?;
        if copied > allowed {
            return Err(archive_err(format!(
                "unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            )));
        }
        total += copied;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_urls() {
        assert_eq!(
            Source::parse("https://example.org/a.zip").ok(),
            Some(Source::Http)
        );
        assert_eq!(
            Source::parse("HTTP://example.org/a.zip").ok(),
            Some(Source::Http)
        );
        assert_eq!(
            Source::parse("file:///tmp/my%20data/a.zip").ok(),
            Some(Source::File(PathBuf::from("/tmp/my data/a.zip")))
        );
        assert_eq!(
            Source::parse("file://localhost/tmp/a.zip").ok(),
            Some(Source::File(PathBuf::from("/tmp/a.zip")))
        );
        assert!(Source::parse("file://relative/a.zip").is_err());
        assert!(Source::parse("ftp://example.org/a.zip").is_err());
        assert!(Source::parse("/tmp/a.zip").is_err());
        assert!(Source::parse("file:///tmp/%zz").is_err());
    }

    #[test]
    fn recognises_loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:8080/x.zip"));
        assert!(is_loopback("http://localhost/x.zip"));
        assert!(is_loopback("http://[::1]:80/x.zip"));
        assert!(!is_loopback("https://vision.eng.au.dk/?download=/x.zip"));
    }

    #[test]
    fn rejects_unsafe_entry_names() {
        let ok = |raw: &str| safe_entry_path(raw, Some(PathBuf::from(raw)));
        assert_eq!(ok("a/b.png"), Some(PathBuf::from("a/b.png")));
        assert_eq!(ok("../evil.png"), None);
        assert_eq!(ok("a/../../evil.png"), None);
        assert_eq!(ok("a/../b.png"), None);
        assert_eq!(ok("/etc/passwd"), None);
        assert_eq!(ok("C:\\evil.png"), None);
        assert_eq!(safe_entry_path("a.png", None), None);
    }
}
