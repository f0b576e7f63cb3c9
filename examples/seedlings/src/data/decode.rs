//! Decoding one image file into a square RGB8 array, and many of them in parallel.
//!
//! * Any format the `image` crate is built with here (PNG, JPEG) is read; the format is guessed
//!   from the file's first bytes, not from its name. Grey, grey+alpha, RGB, RGBA, palette and
//!   16-bit images become 8-bit RGB: grey is copied to the three channels, alpha is dropped
//!   (not composited), 16-bit values are scaled to 8 bits with rounding (`v * 255 / 65535`).
//! * The EXIF orientation of JPEGs is applied.
//! * Size: the image is resized so that its **shorter side** is `image_size` (Triangle filter),
//!   then **centre-cropped** to `image_size`×`image_size`. The aspect ratio is kept; images
//!   that already have the target size are not resampled. Tiny images (even 1×1) are upscaled.
//! * Before any pixel is decoded, the header's dimensions are checked against a pixel cap
//!   ([`DEFAULT_MAX_PIXELS`], a decompression-bomb guard), and the decoder's own allocation
//!   limit (512 MiB) stays on.
//!
//! Errors are returned as a human-readable reason string; [`decode_file`] never panics.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use super::parallel::parallel_map;

/// Default cap on `width × height` of an image header (40 megapixels).
pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;

/// Reads and decodes the image at `path` into `image_size * image_size * 3` bytes (HWC RGB).
///
/// # Errors
///
/// A reason string when the file cannot be opened or read, is not a recognised image, is
/// truncated or corrupt, or declares more than `max_pixels` pixels.
pub fn decode_file(path: &Path, image_size: usize, max_pixels: u64) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read file: {e}"))?;
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| format!("cannot read file: {e}"))?;
    decode_reader(reader, image_size, max_pixels)
}

/// Decodes an image held in memory; same rules as [`decode_file`].
///
/// # Errors
///
/// As [`decode_file`], without the file errors.
pub fn decode_bytes(bytes: &[u8], image_size: usize, max_pixels: u64) -> Result<Vec<u8>, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read data: {e}"))?;
    decode_reader(reader, image_size, max_pixels)
}

fn decode_reader<R: std::io::BufRead + std::io::Seek>(
    mut reader: ImageReader<R>,
    image_size: usize,
    max_pixels: u64,
) -> Result<Vec<u8>, String> {
    if image_size == 0 {
        return Err("image size 0 requested".to_string());
    }
    if reader.format().is_none() {
        return Err("not a recognised image (PNG or JPEG) file".to_string());
    }
    reader.limits(Limits::default());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("cannot decode header: {e}"))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(format!(
            "image declares {w}x{h} = {pixels} pixels, over the limit of {max_pixels}"
        ));
    }
    if w == 0 || h == 0 {
        return Err(format!("image declares an empty size {w}x{h}"));
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| format!("cannot decode: {e}"))?;
    if let Some(orientation) = orientation {
        img.apply_orientation(orientation);
    }
    Ok(to_square_rgb(&img, image_size))
}

/// Converts to RGB8, resizes the shorter side to `size` and centre-crops to `size`×`size`.
/// Returns `size * size * 3` bytes, row-major HWC.
pub fn to_square_rgb(img: &DynamicImage, size: usize) -> Vec<u8> {
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    let target = u32::try_from(size).unwrap_or(u32::MAX);
    if w == target && h == target {
        return rgb.into_raw();
    }
    let short = w.min(h).max(1);
    let scale = |side: u32| -> u32 {
        let v = (u64::from(side) * u64::from(target)).div_ceil(u64::from(short));
        u32::try_from(v).unwrap_or(u32::MAX).max(target)
    };
    let (nw, nh) = (scale(w), scale(h));
    let resized = image::imageops::resize(&rgb, nw, nh, FilterType::Triangle);
    let x = (nw - target) / 2;
    let y = (nh - target) / 2;
    image::imageops::crop_imm(&resized, x, y, target, target)
        .to_image()
        .into_raw()
}

/// Decodes `paths` on `threads` worker threads (0 = one per available core).
///
/// Result `i` belongs to `paths[i]`, so the outcome does not depend on thread timing. A panic
/// inside the image decoder is caught and reported as that file's error.
pub fn decode_many(
    paths: &[PathBuf],
    image_size: usize,
    max_pixels: u64,
    threads: usize,
) -> Vec<Result<Vec<u8>, String>> {
    parallel_map(paths.len(), threads, |i| {
        // A decoder bug must cost one file, not the whole load.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decode_file(&paths[i], image_size, max_pixels)
        }))
        .unwrap_or_else(|_| Err("the image decoder panicked on this file".to_string()))
    })
}
