//! Reading Burn's `[N, C, H, W]` tensors in whatever memory order they come (NCHW, the
//! channels-last views this crate hands out, broadcasts), and building the padded buffer the
//! products read.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::geometry::Geometry;
use super::simd::multiversion;

/// A `[N, C, H, W]` float tensor as memory: `value(n, c, h, w) = data[offset + Σ index·stride]`.
#[derive(Debug, Clone, Copy)]
pub struct View4<'a> {
    pub data: &'a [f32],
    pub dims: [usize; 4],
    pub strides: [isize; 4],
    pub offset: usize,
}

/// A 4-D map read where it is: value `(n, c, h, w)` at
/// `n·image_pitch + h·row_pitch + w·pixel_pitch + c·channel_pitch` (all non-negative).
/// Channels-last memory has `channel_pitch` 1 and `pixel_pitch` `C`; an NCHW tensor has
/// `pixel_pitch` 1 and `channel_pitch` `H·W`.
#[derive(Debug, Clone, Copy)]
pub struct PixelRows<'a> {
    pub data: &'a [f32],
    pub image_pitch: usize,
    pub row_pitch: usize,
    /// Floats from one pixel to the next in a row.
    pub pixel_pitch: usize,
    /// Floats from one channel to the next of a pixel.
    pub channel_pitch: usize,
}

impl<'a> PixelRows<'a> {
    /// `[N, H, W, C]` stored contiguously.
    pub fn contiguous(data: &'a [f32], [h, w, c]: [usize; 3]) -> Self {
        Self {
            data,
            image_pitch: h * w * c,
            row_pitch: w * c,
            pixel_pitch: c,
            channel_pitch: 1,
        }
    }

    /// Whether a pixel's channels are adjacent (channels-last).
    pub fn channels_adjacent(&self) -> bool {
        self.channel_pitch == 1
    }
}

impl<'a> View4<'a> {
    /// `[N, C, H, W]` stored contiguously in that order (NCHW).
    pub fn nchw(data: &'a [f32], [n, c, h, w]: [usize; 4]) -> Self {
        Self {
            data,
            dims: [n, c, h, w],
            strides: [(c * h * w) as isize, (h * w) as isize, w as isize, 1],
            offset: 0,
        }
    }

    /// `[N, C, H, W]` stored channels-last, `[N, H, W, C]` contiguously (NHWC).
    pub fn nhwc(data: &'a [f32], [n, c, h, w]: [usize; 4]) -> Self {
        Self {
            data,
            dims: [n, c, h, w],
            strides: [(h * w * c) as isize, 1, (w * c) as isize, c as isize],
            offset: 0,
        }
    }
}

impl View4<'_> {
    /// The view's memory as [`PixelRows`], without a copy, when every stride is positive or
    /// its dimension has one entry (channels-last as this crate's ops return it, scratch
    /// columns or not; NCHW as Burn's own ops return it). `None` otherwise (a broadcast or
    /// flipped view).
    pub fn pixel_rows(&self) -> Option<PixelRows<'_>> {
        let pitch = |d: usize| -> Option<usize> {
            match (self.dims[d], self.strides[d]) {
                (1, _) => Some(0),
                (_, s) if s > 0 => Some(s as usize),
                _ => None,
            }
        };
        Some(PixelRows {
            data: &self.data[self.offset..],
            image_pitch: pitch(0)?,
            channel_pitch: if self.dims[1] == 1 { 1 } else { pitch(1)? },
            row_pitch: pitch(2)?,
            pixel_pitch: pitch(3)?,
        })
    }

    #[inline]
    fn at(&self, n: usize, c: usize, h: usize, w: usize) -> usize {
        (self.offset as isize
            + n as isize * self.strides[0]
            + c as isize * self.strides[1]
            + h as isize * self.strides[2]
            + w as isize * self.strides[3]) as usize
    }

    /// Whether the channels of a pixel are adjacent in memory (channels-last).
    fn channels_adjacent(&self) -> bool {
        self.strides[1] == 1 || self.dims[1] == 1
    }

    /// Row `h` of image `n` into `out` (`W` pixels of `C` values, uninitialised): pixel by pixel
    /// where the channels are adjacent, else channel by channel, each channel's row read at its
    /// stride and written `C` floats apart (an NCHW tensor, a broadcast one).
    #[inline(always)]
    fn row_into(&self, n: usize, h: usize, out: &mut [MaybeUninit<f32>]) {
        let [_, c, _, w] = self.dims;
        if self.channels_adjacent() {
            for (ww, px) in out[..w * c].chunks_exact_mut(c.max(1)).enumerate() {
                self.pixel_into(n, h, ww, px);
            }
            return;
        }
        let [sn, sc, sh, sw] = self.strides;
        let row = self.offset as isize + n as isize * sn + h as isize * sh;
        if sw == 1 {
            // Each channel's row is contiguous (an NCHW batch): one slice per channel, written
            // into every pixel's slot without index arithmetic.
            for ch in 0..c {
                let start = (row + ch as isize * sc) as usize;
                let pixels = out[..w * c].chunks_exact_mut(c);
                for (px, &v) in pixels.zip(&self.data[start..start + w]) {
                    px[ch].write(v);
                }
            }
            return;
        }
        for ch in 0..c {
            let plane = row + ch as isize * sc;
            let dst = &mut out[ch..];
            for ww in 0..w {
                dst[ww * c].write(self.data[(plane + ww as isize * sw) as usize]);
            }
        }
    }

    /// The `C` values of pixel `(n, h, w)` into `out` (uninitialised memory): 8 floats at a time
    /// where the channels are adjacent, so that no call to `memcpy` is made per pixel.
    #[inline(always)]
    fn pixel_into(&self, n: usize, h: usize, w: usize, out: &mut [MaybeUninit<f32>]) {
        if self.channels_adjacent() {
            let start = self.at(n, 0, h, w);
            let src = &self.data[start..start + out.len()];
            let mut dst = out.chunks_exact_mut(8);
            let mut from = src.chunks_exact(8);
            for (d, s) in (&mut dst).zip(&mut from) {
                let s: &[f32; 8] = s.try_into().expect("8 floats");
                for (d, &s) in d.iter_mut().zip(s) {
                    d.write(s);
                }
            }
            for (d, &s) in dst.into_remainder().iter_mut().zip(from.remainder()) {
                d.write(s);
            }
        } else {
            for (c, o) in out.iter_mut().enumerate() {
                o.write(self.data[self.at(n, c, h, w)]);
            }
        }
    }

    /// A channels-last copy `[N, H, W, C]`, a row at a time: pixel by pixel where the channels
    /// are adjacent, else one channel after another (an NCHW tensor, a broadcast one).
    pub fn to_nhwc(&self) -> Vec<f32> {
        let [n, c, h, w] = self.dims;
        let len = n * h * w * c;
        let mut out = Vec::with_capacity(len);
        if len > 0 {
            out.spare_capacity_mut()[..len]
                .par_chunks_mut(h * w * c)
                .enumerate()
                .for_each(|(ni, image)| {
                    for (hh, row) in image.chunks_exact_mut(w * c).enumerate() {
                        self.row_into(ni, hh, row);
                    }
                });
        }
        // SAFETY: every pixel of every image was written.
        unsafe { out.set_len(len) };
        out
    }
}

/// `x` padded by one zero pixel on every side, channels-last: `xp[n][h][w][c] =
/// x[n][c][h − 1][w − 1]` for `h < H + 2`, `w < W + 2`, zero outside the image. Every float is
/// written once (no zeroing pass first).
pub fn pad(x: &View4<'_>, g: &Geometry) -> Vec<f32> {
    let c = x.dims[1];
    let len = g.padded_len(c);
    let mut xp = Vec::<f32>::with_capacity(len);
    if len > 0 {
        xp.spare_capacity_mut()[..len]
            .par_chunks_mut(g.padded_pixels_per_image() * c)
            .enumerate()
            .for_each(|(ni, image)| pad_image(x, g, ni, image));
    }
    // SAFETY: `pad_image` wrote every float of each image.
    unsafe { xp.set_len(len) };
    xp
}

multiversion! {
    /// Image `ni` of [`pad`]: a zero row, then each image row between two zero pixels, then a
    /// zero row.
    fn pad_image(x: &View4<'_>, g: &Geometry, ni: usize, image: &mut [MaybeUninit<f32>]) {
        let c = x.dims[1];
        let (h, w, wp2) = (g.h, g.w, g.wp2());
        let zero = |part: &mut [MaybeUninit<f32>]| {
            for v in part {
                v.write(0.0);
            }
        };
        zero(&mut image[..(wp2 + 1) * c]);
        for hh in 0..h {
            let row = &mut image[((hh + 1) * wp2 + 1) * c..((hh + 2) * wp2 + 1) * c];
            x.row_into(ni, hh, &mut row[..w * c]);
            // The right border of this row and the left one of the next.
            zero(&mut row[w * c..]);
        }
        zero(&mut image[((h + 1) * wp2 + 1) * c..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_of_a_nchw_tensor() {
        // x[0][c][h][w] = 100c + 10h + w, 2 channels, 2×3.
        let (c, h, w) = (2, 2, 3);
        let data: Vec<f32> = (0..c * h * w)
            .map(|i| (100 * (i / (h * w)) + 10 * ((i / w) % h) + i % w) as f32)
            .collect();
        let view = View4::nchw(&data, [1, c, h, w]);
        let g = Geometry {
            n: 1,
            cin: c,
            cout: 1,
            h,
            w,
        };
        let xp = pad(&view, &g);
        assert_eq!(xp.len(), 4 * 5 * 2);
        let at = |hh: usize, ww: usize, ci: usize| xp[(hh * 5 + ww) * 2 + ci];
        for hh in 0..4 {
            for ww in 0..5 {
                for ci in 0..2 {
                    let want = if (1..=2).contains(&hh) && (1..=3).contains(&ww) {
                        (100 * ci + 10 * (hh - 1) + ww - 1) as f32
                    } else {
                        0.0
                    };
                    assert_eq!(at(hh, ww, ci), want, "({hh}, {ww}, {ci})");
                }
            }
        }
        // A channels-last copy reads the same values, every one of them.
        let nhwc = view.to_nhwc();
        for hh in 0..h {
            for ww in 0..w {
                for ci in 0..c {
                    let want = (100 * ci + 10 * hh + ww) as f32;
                    assert_eq!(nhwc[(hh * w + ww) * c + ci], want, "({hh}, {ww}, {ci})");
                }
            }
        }
        // A broadcast (every stride 0) copies its one value everywhere.
        let one = [7.0f32];
        let broadcast = View4 {
            data: &one,
            dims: [2, 3, 2, 2],
            strides: [0; 4],
            offset: 0,
        };
        assert_eq!(broadcast.to_nhwc(), vec![7.0; 24]);
        // NCHW is read in place too, each value at its pitches: the copy's values.
        let rows = view.pixel_rows().expect("positive strides");
        assert_eq!((rows.pixel_pitch, rows.channel_pitch), (1, h * w));
        for hh in 0..h {
            for ww in 0..w {
                for ci in 0..c {
                    let at = hh * rows.row_pitch + ww * rows.pixel_pitch + ci * rows.channel_pitch;
                    assert_eq!(rows.data[at], nhwc[(hh * w + ww) * c + ci]);
                }
            }
        }
        // A broadcast is not: it is copied.
        assert!(broadcast.pixel_rows().is_none());
    }

    /// A channels-last view with a scratch column after each row (the layout the ops return)
    /// is read in place, and its rows hold what a channels-last copy holds.
    #[test]
    fn channels_last_rows_are_read_in_place() {
        let (n, c, h, w, row_len) = (2, 3, 2, 2, 3);
        let data: Vec<f32> = (0..n * h * row_len * c).map(|i| i as f32).collect();
        let view = View4 {
            data: &data,
            dims: [n, c, h, w],
            strides: [
                (h * row_len * c) as isize,
                1,
                (row_len * c) as isize,
                c as isize,
            ],
            offset: 0,
        };
        let rows = view.pixel_rows().expect("channels-last");
        assert_eq!(
            (rows.image_pitch, rows.row_pitch),
            (h * row_len * c, row_len * c)
        );
        let copy = view.to_nhwc();
        for ni in 0..n {
            for hh in 0..h {
                let at = ni * rows.image_pitch + hh * rows.row_pitch;
                let want = &copy[((ni * h + hh) * w) * c..][..w * c];
                assert_eq!(&rows.data[at..at + w * c], want, "image {ni}, row {hh}");
            }
        }
    }
}
