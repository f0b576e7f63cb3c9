//! Downloading and unpacking a zip from `file://` and from a local HTTP server.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use image::{ImageBuffer, Rgb};
use seedlings::data::{DataError, LayoutKind, LoadOptions, detect_layout, download, load};

fn png_bytes(value: u8) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    ImageBuffer::<Rgb<u8>, _>::from_raw(3, 3, vec![value; 27])
        .expect("buffer")
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// A zip shaped like the Aarhus archive: `nonsegmentedv2/<Species>/<n>.png`.
fn aarhus_like_zip(path: &Path) {
    let file = fs::File::create(path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    zip.add_directory("nonsegmentedv2/", options).expect("dir");
    for (class, species) in ["Black-grass", "Common Chickweed", "Maize"]
        .iter()
        .enumerate()
    {
        zip.add_directory(format!("nonsegmentedv2/{species}/"), options)
            .expect("dir");
        for i in 0..5u8 {
            zip.start_file(format!("nonsegmentedv2/{species}/{i}.png"), options)
                .expect("entry");
            zip.write_all(&png_bytes(class as u8 * 50 + i))
                .expect("write entry");
        }
    }
    // Not data: a macOS resource fork and a symbolic link; neither is unpacked.
    zip.start_file("__MACOSX/nonsegmentedv2/._0.png", options)
        .expect("entry");
    zip.write_all(b"resource fork").expect("write entry");
    zip.add_symlink("nonsegmentedv2/Maize/link.png", "/etc/passwd", options)
        .expect("symlink");
    zip.finish().expect("finish zip");
}

fn file_url(path: &Path) -> String {
    let s = path.to_str().expect("utf-8 temp path");
    format!("file://{}", s.replace('%', "%25").replace(' ', "%20"))
}

fn check_unpacked(dest: &Path, root: &Path) {
    assert_eq!(root, dest.join("nonsegmentedv2"));
    let layout = detect_layout(dest).expect("layout");
    assert_eq!(layout.kind, LayoutKind::ClassFolders);
    assert_eq!(layout.root, root);
    let set = load(
        dest,
        &LoadOptions {
            image_size: 3,
            ..LoadOptions::default()
        },
    )
    .expect("load");
    assert_eq!(
        set.class_names,
        ["Black-grass", "Common Chickweed", "Maize"]
    );
    assert_eq!(set.train.len() + set.valid.len(), 15);
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert!(!dest.join("__MACOSX").exists());
    assert!(fs::symlink_metadata(root.join("Maize/link.png")).is_err());
    assert_eq!(set.valid.class_counts(3), [1, 1, 1]);
    // No temporary files are left behind.
    let leftovers: Vec<PathBuf> = fs::read_dir(dest)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".seedlings"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn downloads_from_a_file_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("my archive.zip");
    aarhus_like_zip(&zip_path);
    let dest = dir.path().join("datasets/plant-seedlings");
    let root = download(&file_url(&zip_path), &dest).expect("download");
    check_unpacked(&dest, &root);
    // A second download into the same place refuses to overwrite.
    let err = download(&file_url(&zip_path), &dest).expect_err("exists");
    assert!(matches!(err, DataError::AlreadyExists { .. }), "{err:?}");
    check_unpacked(&dest, &root);
}

/// Serves `body` with `status` to one HTTP request on 127.0.0.1; returns the URL.
fn serve_once(status: &'static str, body: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).expect("read request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(&body).expect("write body");
        stream.flush().expect("flush");
        String::from_utf8_lossy(&request).into_owned()
    });
    (
        format!("http://127.0.0.1:{port}/data/NonsegmentedV2.zip"),
        handle,
    )
}

#[test]
fn downloads_from_a_local_http_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("a.zip");
    aarhus_like_zip(&zip_path);
    let (url, server) = serve_once("200 OK", fs::read(&zip_path).expect("read zip"));
    let dest = dir.path().join("dest");
    let root = download(&url, &dest).expect("download");
    let request = server.join().expect("server thread");
    assert!(
        request.starts_with("GET /data/NonsegmentedV2.zip HTTP/1.1"),
        "{request}"
    );
    check_unpacked(&dest, &root);
}

#[test]
fn http_error_status_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, server) = serve_once("404 Not Found", b"no such file".to_vec());
    let err = download(&url, dir.path()).expect_err("404");
    server.join().expect("server thread");
    assert!(matches!(err, DataError::Download { .. }), "{err:?}");
    assert!(err.to_string().contains("404"), "{err}");
    assert_eq!(
        fs::read_dir(dir.path()).expect("list").count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn zip_entries_climbing_out_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("evil.zip");
    {
        let mut zip = zip::ZipWriter::new(fs::File::create(&zip_path).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("data/A/ok.png", options).expect("entry");
        zip.write_all(&png_bytes(1)).expect("write");
        zip.start_file("data/../../evil.png", options)
            .expect("entry");
        zip.write_all(&png_bytes(2)).expect("write");
        zip.finish().expect("finish");
    }
    let dest = dir.path().join("inner/dest");
    let err = download(&file_url(&zip_path), &dest).expect_err("unsafe");
    assert!(matches!(err, DataError::Archive { .. }), "{err:?}");
    assert!(err.to_string().contains("unsafe entry"), "{err}");
    assert!(!dir.path().join("evil.png").exists() && !dir.path().join("inner/evil.png").exists());
    assert_eq!(
        fs::read_dir(&dest).expect("list").count(),
        0,
        "nothing unpacked"
    );
}

#[test]
fn not_a_zip_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("fake.zip");
    fs::write(&fake, b"<html>login page</html>").expect("write");
    let err = download(&file_url(&fake), &dir.path().join("dest")).expect_err("not a zip");
    assert!(matches!(err, DataError::Archive { .. }), "{err:?}");
}

#[test]
fn bad_urls_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in [
        "ftp://example.org/a.zip",
        "file://relative.zip",
        "just-a-path.zip",
    ] {
        assert!(
            matches!(download(url, dir.path()), Err(DataError::BadUrl { .. })),
            "{url}"
        );
    }
    let missing = file_url(&dir.path().join("missing.zip"));
    assert!(matches!(
        download(&missing, &dir.path().join("d")),
        Err(DataError::Download { .. })
    ));
}
