//! Decoding: colour-type conversions (actual pixel values), resizing and cropping, limits.

use std::path::{Path, PathBuf};

use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};
use seedlings::data::decode::{decode_many, to_square_rgb};
use seedlings::data::{DEFAULT_MAX_PIXELS, decode_bytes, decode_file};

fn decode(path: &Path, size: usize) -> Vec<u8> {
    decode_file(path, size, DEFAULT_MAX_PIXELS).expect("decodes")
}

/// A minimal PNG writer for what `image` cannot encode (palette images, lying headers).
mod png {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
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
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }

    /// zlib stream of stored (uncompressed) deflate blocks.
    fn zlib_stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(65535).collect()
        };
        for (i, block) in blocks.iter().enumerate() {
            out.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(block);
        }
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        out.extend_from_slice(&((b << 16) | a).to_be_bytes());
        out
    }

    /// A PNG file: `colour_type` 3 = palette (with `palette` RGB triples), 8-bit depth;
    /// `rows` are the unfiltered scanlines.
    pub fn encode(
        width: u32,
        height: u32,
        colour_type: u8,
        palette: &[[u8; 3]],
        rows: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, colour_type, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        if !palette.is_empty() {
            let plte: Vec<u8> = palette.iter().flatten().copied().collect();
            chunk(&mut out, b"PLTE", &plte);
        }
        let mut raw = Vec::new();
        for row in rows {
            raw.push(0); // filter type None
            raw.extend_from_slice(row);
        }
        chunk(&mut out, b"IDAT", &zlib_stored(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn rgb_at(pixels: &[u8], size: usize, x: usize, y: usize) -> [u8; 3] {
    let o = (y * size + x) * 3;
    [pixels[o], pixels[o + 1], pixels[o + 2]]
}

#[test]
fn rgb8_png_at_target_size_is_exact() {
    let dir = tmp();
    let path = dir.path().join("a.png");
    let raw: Vec<u8> = (0..4 * 4 * 3).map(|i| (i * 5) as u8).collect();
    ImageBuffer::<Rgb<u8>, _>::from_raw(4, 4, raw.clone())
        .expect("buffer")
        .save(&path)
        .expect("save");
    assert_eq!(decode(&path, 4), raw);
}

#[test]
fn grey_png_is_copied_to_three_channels() {
    let dir = tmp();
    let path = dir.path().join("grey.png");
    ImageBuffer::<Luma<u8>, _>::from_raw(2, 2, vec![0, 50, 200, 255])
        .expect("buffer")
        .save(&path)
        .expect("save");
    assert_eq!(
        decode(&path, 2),
        vec![0, 0, 0, 50, 50, 50, 200, 200, 200, 255, 255, 255]
    );
}

#[test]
fn grey_alpha_png_drops_alpha() {
    let dir = tmp();
    let path = dir.path().join("la2.png");
    ImageBuffer::<LumaA<u8>, _>::from_raw(2, 2, vec![10, 0, 240, 128, 7, 255, 99, 1])
        .expect("buffer")
        .save(&path)
        .expect("save");
    assert_eq!(
        decode(&path, 2),
        vec![10, 10, 10, 240, 240, 240, 7, 7, 7, 99, 99, 99]
    );
}

#[test]
fn rgba_png_drops_alpha() {
    let dir = tmp();
    let path = dir.path().join("rgba.png");
    let raw = vec![255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 1, 2, 3, 4];
    ImageBuffer::<Rgba<u8>, _>::from_raw(2, 2, raw)
        .expect("buffer")
        .save(&path)
        .expect("save");
    assert_eq!(
        decode(&path, 2),
        vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3]
    );
}

#[test]
fn sixteen_bit_rgb_png_is_scaled_to_eight_bits() {
    let dir = tmp();
    let path = dir.path().join("rgb16.png");
    // 257 * v maps exactly to v; 65535 → 255; 0 → 0; 128 rounds to 0, 129 to 1 (nearest).
    let raw: Vec<u16> = vec![
        0,
        65535,
        257 * 100,
        257 * 17,
        128,
        129,
        65535,
        0,
        257,
        257 * 254,
        40000,
        1,
    ];
    ImageBuffer::<Rgb<u16>, _>::from_raw(2, 2, raw)
        .expect("buffer")
        .save(&path)
        .expect("save");
    let expected_last = (40000.0f64 * 255.0 / 65535.0).round() as u8;
    assert_eq!(
        decode(&path, 2),
        vec![0, 255, 100, 17, 0, 1, 255, 0, 1, 254, expected_last, 0]
    );
}

#[test]
fn sixteen_bit_grey_png_is_scaled_and_copied() {
    let dir = tmp();
    let path = dir.path().join("grey16.png");
    ImageBuffer::<Luma<u16>, _>::from_raw(2, 2, vec![0, 65535, 257 * 42, 257 * 200])
        .expect("buffer")
        .save(&path)
        .expect("save");
    assert_eq!(
        decode(&path, 2),
        vec![0, 0, 0, 255, 255, 255, 42, 42, 42, 200, 200, 200]
    );
}

#[test]
fn palette_png_is_expanded_to_rgb() {
    let palette = [[10, 20, 30], [200, 100, 50], [0, 255, 0]];
    let bytes = png::encode(2, 2, 3, &palette, &[vec![0, 1], vec![2, 1]]);
    let dir = tmp();
    let path = dir.path().join("palette.png");
    std::fs::write(&path, &bytes).expect("write");
    assert_eq!(
        decode(&path, 2),
        vec![10, 20, 30, 200, 100, 50, 0, 255, 0, 200, 100, 50]
    );
    assert_eq!(
        decode_bytes(&bytes, 2, DEFAULT_MAX_PIXELS).expect("decodes"),
        decode(&path, 2)
    );
}

#[test]
fn jpeg_decodes_close_to_its_colour() {
    let dir = tmp();
    let path = dir.path().join("solid.jpg");
    let raw: Vec<u8> = [40u8, 160, 90].repeat(16 * 16);
    ImageBuffer::<Rgb<u8>, _>::from_raw(16, 16, raw)
        .expect("buffer")
        .save(&path)
        .expect("save");
    let pixels = decode(&path, 8);
    assert_eq!(pixels.len(), 8 * 8 * 3);
    for px in pixels.chunks_exact(3) {
        for (got, want) in px.iter().zip([40u8, 160, 90]) {
            assert!(got.abs_diff(want) <= 4, "{px:?}");
        }
    }
}

#[test]
fn format_comes_from_content_not_name() {
    let dir = tmp();
    let path = dir.path().join("really-a-png.jpg");
    ImageBuffer::<Rgb<u8>, _>::from_raw(1, 1, vec![1, 2, 3])
        .expect("buffer")
        .save_with_format(&path, image::ImageFormat::Png)
        .expect("save");
    assert_eq!(decode(&path, 1), vec![1, 2, 3]);
}

#[test]
fn shorter_side_is_resized_then_centre_cropped() {
    // 8 wide, 4 high: columns 0-1 red, 2-5 green, 6-7 blue. Target 4: the shorter side is
    // already 4, so the centre crop keeps columns 2..6, all green.
    let mut img = ImageBuffer::<Rgb<u8>, Vec<u8>>::new(8, 4);
    for (x, _, p) in img.enumerate_pixels_mut() {
        *p = match x {
            0 | 1 => Rgb([255, 0, 0]),
            6 | 7 => Rgb([0, 0, 255]),
            _ => Rgb([0, 255, 0]),
        };
    }
    let out = to_square_rgb(&image::DynamicImage::ImageRgb8(img.clone()), 4);
    assert_eq!(out, [0u8, 255, 0].repeat(16));
    // Portrait: the same picture turned (4 wide, 8 high) keeps the middle rows.
    let turned = image::imageops::rotate90(&img);
    let out = to_square_rgb(&image::DynamicImage::ImageRgb8(turned), 4);
    assert_eq!(out, [0u8, 255, 0].repeat(16));
    // Downscale 8x4 → 2: the shorter side becomes 2, width 4, crop the middle 2 columns.
    let out = to_square_rgb(&image::DynamicImage::ImageRgb8(img), 2);
    assert_eq!(out.len(), 2 * 2 * 3);
    for y in 0..2 {
        for x in 0..2 {
            let [r, g, b] = rgb_at(&out, 2, x, y);
            assert!(
                g > r && g > b,
                "centre should stay mostly green: {:?}",
                [r, g, b]
            );
        }
    }
}

#[test]
fn solid_image_stays_solid_when_resized() {
    let img =
        ImageBuffer::<Rgb<u8>, _>::from_raw(10, 6, [7u8, 77, 177].repeat(60)).expect("buffer");
    for size in [1, 3, 6, 20] {
        let out = to_square_rgb(&image::DynamicImage::ImageRgb8(img.clone()), size);
        assert_eq!(out, [7u8, 77, 177].repeat(size * size), "size {size}");
    }
}

#[test]
fn pixel_cap_rejects_before_decoding() {
    let dir = tmp();
    let path = dir.path().join("big.png");
    ImageBuffer::<Rgb<u8>, _>::from_raw(20, 20, vec![0; 1200])
        .expect("buffer")
        .save(&path)
        .expect("save");
    let err = decode_file(&path, 4, 399).expect_err("over the cap");
    assert!(err.contains("20x20") && err.contains("limit"), "{err}");
    assert!(decode_file(&path, 4, 400).is_ok());
}

#[test]
fn decode_many_keeps_input_order() {
    let dir = tmp();
    let mut paths: Vec<PathBuf> = Vec::new();
    for i in 0..20u8 {
        let path = dir.path().join(format!("{i}.png"));
        ImageBuffer::<Rgb<u8>, _>::from_raw(1, 1, vec![i, i, i])
            .expect("buffer")
            .save(&path)
            .expect("save");
        paths.push(path);
    }
    paths.push(dir.path().join("missing.png"));
    let out = decode_many(&paths, 1, DEFAULT_MAX_PIXELS, 4);
    for (i, r) in out.iter().take(20).enumerate() {
        assert_eq!(r.as_deref(), Ok(&[i as u8; 3][..]));
    }
    assert!(out[20].is_err());
}
