//! Reading Burn's `[N, C, H, W]` tensors in whatever memory order they come (NCHW, the
//! channels-last views this crate hands out, broadcasts), and building the row-im2col buffer.

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

impl View4<'_> {
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

    /// The `C` values of pixel `(n, h, w)` into `out`.
    #[inline]
    fn pixel(&self, n: usize, h: usize, w: usize, out: &mut [f32]) {
        if self.channels_adjacent() {
            let start = self.at(n, 0, h, w);
            out.copy_from_slice(&self.data[start..start + out.len()]);
        } else {
            for (c, o) in out.iter_mut().enumerate() {
                *o = self.data[self.at(n, c, h, w)];
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

    /// A channels-last copy `[N, H, W, C]`.
    pub fn to_nhwc(&self) -> Vec<f32> {
        let [n, c, h, w] = self.dims;
        let mut out = vec![0.0; n * h * w * c];
        if c == 0 || h * w == 0 {
            return out;
        }
        out.par_chunks_mut(h * w * c)
            .enumerate()
            .for_each(|(ni, image)| {
                for (p, px) in image.chunks_mut(c).enumerate() {
                    self.pixel(ni, p / w, p % w, px);
                }
            });
        out
    }
}

/// The row-im2col buffer of `x` (see [`super::geometry`]): `xh[n][h][w'][kh][ci] =
/// x[n][ci][h + kh − 1][w' − 1]`, zero outside the image, plus two zero rows at the end. Every
/// float is written once (no zeroing pass first).
pub fn row_im2col(x: &View4<'_>, g: &Geometry) -> Vec<f32> {
    let c = x.dims[1];
    let len = g.xh_len(c);
    let body = g.rows() * 3 * c;
    let mut xh = Vec::<f32>::with_capacity(len);
    let spare = &mut xh.spare_capacity_mut()[..len];
    for v in &mut spare[body..] {
        v.write(0.0);
    }
    if body > 0 {
        spare[..body]
            .par_chunks_mut(g.rows_per_image() * 3 * c)
            .enumerate()
            .for_each(|(ni, image)| im2col_image(x, g, ni, image));
    }
    // SAFETY: the tail was zeroed above and `im2col_image` wrote every float of each image.
    unsafe { xh.set_len(len) };
    xh
}

multiversion! {
    /// Image `ni` of [`row_im2col`]: each GEMM row's three `kh` parts, copied or zero.
    fn im2col_image(x: &View4<'_>, g: &Geometry, ni: usize, image: &mut [MaybeUninit<f32>]) {
        let c = x.dims[1];
        let (h, w, wp2) = (g.h, g.w, g.wp2());
        for hh in 0..h {
            for wq in 0..wp2 {
                let r = hh * wp2 + wq;
                let dst = &mut image[r * 3 * c..(r + 1) * 3 * c];
                for (kh, part) in dst.chunks_exact_mut(c.max(1)).enumerate().take(3) {
                    let a = hh + kh;
                    if (1..=w).contains(&wq) && (1..=h).contains(&a) {
                        x.pixel_into(ni, a - 1, wq - 1, part);
                    } else {
                        for v in part {
                            v.write(0.0);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_im2col_of_a_nchw_tensor() {
        // x[0][c][h][w] = 100c + 10h + w, 2 channels, 2×3.
        let (c, h, w) = (2, 2, 3);
        let data: Vec<f32> = (0..c * h * w)
            .map(|i| (100 * (i / (h * w)) + 10 * ((i / w) % h) + i % w) as f32)
            .collect();
        let view = View4 {
            data: &data,
            dims: [1, c, h, w],
            strides: [(c * h * w) as isize, (h * w) as isize, w as isize, 1],
            offset: 0,
        };
        let g = Geometry {
            n: 1,
            cin: c,
            cout: 1,
            h,
            w,
        };
        let xh = row_im2col(&view, &g);
        assert_eq!(xh.len(), (2 * 5 + 2) * 6);
        let at = |hh: usize, wq: usize, kh: usize, ci: usize| xh[(hh * 5 + wq) * 6 + kh * 2 + ci];
        // Row h = 0, w' = 1 (pixel w = 0): kh = 0 is above the image, kh = 1 is row 0, kh = 2 row 1.
        assert_eq!(at(0, 1, 0, 0), 0.0);
        assert_eq!(at(0, 1, 1, 0), 0.0 + 0.0);
        assert_eq!(at(0, 1, 1, 1), 100.0);
        assert_eq!(at(0, 1, 2, 1), 110.0);
        assert_eq!(at(1, 3, 1, 0), 12.0);
        assert_eq!(at(1, 3, 2, 0), 0.0);
        // The scratch columns w' = 0 and w' = 4 stay zero.
        assert!((0..6).all(|k| xh[k] == 0.0 && xh[4 * 6 + k] == 0.0));
        // A channels-last copy reads the same values.
        assert_eq!(view.to_nhwc()[..4], [0.0, 100.0, 1.0, 101.0]);
    }
}
