//! The three convolutions of a block as the register-tiled products of [`super::tile`], reading
//! a padded channels-last buffer in place ([`super::strided::pad`], `[N][H + 2][W + 2][C]`, zero
//! border): no im2col copy.
//!
//! ```text
//! forward        y[r][co]  = Σ_k xp(r, k) · wr[k][co]          (K = 9·C_in)
//! weight grad    dw[k][co] = Σ_r xp(r, k) · dy[r][co]
//! input grad     dx[r][ci] = Σ_k dyp(r, k) · wt[k][ci]         (K = 9·C_out)
//! xp(r, k) = xp[(n, h + kh, w + kw)][c]  for r = (n, h, w), k = kh·3·C + kw·C + c
//! ```
//!
//! For a fixed `kh` the `3·C` values of `kw` and `c` are adjacent in memory: `K` is read as
//! three pieces, `(W + 2)·C` floats apart ([`padded_left`]). The outputs are in GEMM-row layout
//! (`(n·H + h)·(W + 2) + w`, zeros in the two scratch columns); only real pixels are computed
//! or summed ([`pixel_rows`]). The gradient `dy` is itself padded (written so by the batch-norm
//! backward), which makes it the input gradient's left operand directly. Each output is one
//! chain of fused multiply-adds in a fixed order, so the same inputs give the same bits whatever
//! the number of threads or the instruction set.

use super::geometry::Geometry;
use super::norm_pool;
use super::simd::multiversion;
use super::tile::{
    Left, RowMap, Rows, Span, grad_product, grad_product_computed, rows_product, rows_product_then,
};
use super::winograd;

/// Output channels moved together by the transposes between the weight's `[C_out, C_in, 3, 3]`
/// order and the products' `[k][C_out]` order: 16 rows of the one are read while 16 adjacent
/// floats of the other are written, so both stay in cache.
const CO_BLOCK: usize = 16;

/// `weight[co][ci][kh][kw]` as the forward product's right operand `wr[kh·3·C_in + kw·C_in + ci][co]`.
pub fn repack_forward(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut wr = vec![0.0; 9 * cin * cout];
    for co0 in (0..cout).step_by(CO_BLOCK) {
        let cos = co0..cout.min(co0 + CO_BLOCK);
        for ci in 0..cin {
            for kh in 0..3 {
                for kw in 0..3 {
                    let dst = ((kh * 3 + kw) * cin + ci) * cout;
                    for co in cos.clone() {
                        wr[dst + co] = weight[((co * cin + ci) * 3 + kh) * 3 + kw];
                    }
                }
            }
        }
    }
    wr
}

/// The flipped, transposed weight of the input gradient:
/// `wt[kh·3·C_out + kw·C_out + co][ci] = weight[co][ci][2 − kh][2 − kw]`.
pub fn repack_transposed(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut wt = vec![0.0; 9 * cin * cout];
    for co in 0..cout {
        for kh in 0..3 {
            for kw in 0..3 {
                let dst = ((kh * 3 + kw) * cout + co) * cin;
                for ci in 0..cin {
                    wt[dst + ci] = weight[((co * cin + ci) * 3 + (2 - kh)) * 3 + (2 - kw)];
                }
            }
        }
    }
    wt
}

/// The left operand of a product over the padded buffer `xp` of `c` channels: three pieces of
/// `3·c` floats, one per kernel row, and each output row's window at its top-left pixel.
pub fn padded_left<'a>(
    xp: &'a [f32],
    c: usize,
    pieces: &'a [(usize, usize); 3],
    g: &Geometry,
) -> Left<'a> {
    Left {
        data: xp,
        s: c,
        pieces,
        map: RowMap {
            per_image: g.h,
            image_pitch: g.padded_pixels_per_image(),
            row_pitch: g.wp2(),
            offset: 0,
        },
    }
}

/// The three pieces of [`padded_left`]: `(kh·(W + 2)·c, 3·c)`.
pub fn pieces(c: usize, g: &Geometry) -> [(usize, usize); 3] {
    std::array::from_fn(|kh| (kh * g.wp2() * c, 3 * c))
}

/// The conv's output rows of `g`: `N·H` segments of `W` pixels, `W + 2` rows apart (the scratch
/// columns skipped).
pub fn pixel_rows(g: &Geometry) -> Rows {
    Rows {
        count: g.n * g.h,
        len: g.w,
        pitch: g.wp2(),
    }
}

/// Where a padded buffer's real pixels are: row `(n, h + 1, 1)` for segment `(n, h)`.
pub fn padded_interior(g: &Geometry) -> RowMap {
    RowMap {
        per_image: g.h,
        image_pitch: g.padded_pixels_per_image(),
        row_pitch: g.wp2(),
        offset: g.wp2() + 1,
    }
}

/// The 3×3 convolution of the padded buffer `xp` (`c` channels) by `b` (`[9·c][n]`, as from
/// [`repack_forward`] or [`repack_transposed`]): GEMM-row layout, zeros in the scratch columns.
pub fn conv_pixels(xp: &[f32], c: usize, b: &[f32], n: usize, g: &Geometry) -> Vec<f32> {
    assert_eq!(xp.len(), g.padded_len(c), "padded buffer of the wrong size");
    let pieces = pieces(c, g);
    rows_product(&padded_left(xp, c, &pieces, g), b, n, pixel_rows(g))
}

/// [`conv_pixels`] and the batch mean and biased variance of its output, the bits of
/// [`norm_pool::batch_stats`] of it, gathered from each group of rows as the product finishes
/// it ([`norm_pool::StatsCollector`]) instead of in a pass over the whole output afterwards.
pub fn conv_pixels_stats(
    xp: &[f32],
    c: usize,
    b: &[f32],
    n: usize,
    g: &Geometry,
) -> (Vec<f32>, Vec<f64>, Vec<f64>) {
    assert_eq!(xp.len(), g.padded_len(c), "padded buffer of the wrong size");
    assert_eq!(n, g.cout, "the output has C_out channels");
    if g.samples() == 0 || n == 0 {
        let y = conv_pixels(xp, c, b, n, g);
        let (mean, var) = norm_pool::batch_stats(&y, g);
        return (y, mean, var);
    }
    let pieces = pieces(c, g);
    let left = padded_left(xp, c, &pieces, g);
    let stats = norm_pool::StatsCollector::new(first_sample(xp, c, b, n, g), g);
    let y = rows_product_then(&left, b, n, pixel_rows(g), &|segments, rows| {
        stats.segments_done(segments, rows)
    });
    let (mean, var) = stats.finish(g);
    (y, mean, var)
}

/// How the products run: the direct products of this module, or Winograd ([`winograd`]:
/// F(2×2, 3×3) for the forward and input gradient, F(3×3, 2×2) for the weight gradient) where
/// it applies ([`winograd::applies`]: even sides, at least [`winograd::MIN_CHANNELS`] input
/// channels and [`winograd::MIN_TILES`] tiles), the direct products elsewhere (the first
/// block's weight gradient, its `∂y` computed in the product, stays direct).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Products {
    /// [`conv_pixels`], [`conv_pixels_stats`].
    #[default]
    Direct,
    /// [`winograd::conv_pixels`] where [`winograd::applies`].
    Winograd,
}

impl Products {
    /// Whether a product of `c` input channels over the maps of `g` runs as Winograd.
    pub fn winograd(self, c: usize, g: &Geometry) -> bool {
        self == Products::Winograd && winograd::applies(c, g)
    }
}

/// [`conv_pixels`] run as `products` says.
pub fn conv_pixels_by(
    xp: &[f32],
    c: usize,
    b: &[f32],
    n: usize,
    g: &Geometry,
    products: Products,
) -> Vec<f32> {
    if products.winograd(c, g) {
        winograd::conv_pixels(xp, c, &winograd::Weights::new(b, c, n), g, None)
    } else {
        conv_pixels(xp, c, b, n, g)
    }
}

/// [`conv_pixels_stats`] run as `products` says. With Winograd the statistics are gathered from
/// each group of image rows as it is final, in the same order as [`norm_pool::batch_stats`]
/// sums, around the direct product's first sample (`first_sample`): equal to
/// `batch_stats` of the Winograd output within f64 rounding, as that differs from the direct
/// output's first sample in the last bits.
pub fn conv_pixels_stats_by(
    xp: &[f32],
    c: usize,
    b: &[f32],
    n: usize,
    g: &Geometry,
    products: Products,
) -> (Vec<f32>, Vec<f64>, Vec<f64>) {
    if !products.winograd(c, g) || n == 0 {
        return conv_pixels_stats(xp, c, b, n, g);
    }
    assert_eq!(n, g.cout, "the output has C_out channels");
    let stats = norm_pool::StatsCollector::new(first_sample(xp, c, b, n, g), g);
    let done = |segments: Span, rows: &[f32]| stats.segments_done(segments, rows);
    let y = winograd::conv_pixels(xp, c, &winograd::Weights::new(b, c, n), g, Some(&done));
    let (mean, var) = stats.finish(g);
    (y, mean, var)
}

multiversion! {
    /// The conv output's first sample (`n` channels), the statistics' pivot: each output the
    /// same chain of fused multiply-adds over `k` in order, from 0, as the register tiles
    /// compute it, so the direct product's bits, without packing `b`.
    fn first_sample(xp: &[f32], c: usize, b: &[f32], n: usize, g: &Geometry) -> Vec<f32> {
        let mut first = vec![0.0f32; n];
        for kh in 0..3 {
            for (k, &x) in xp[kh * g.wp2() * c..][..3 * c].iter().enumerate() {
                for (f, &w) in first.iter_mut().zip(&b[(kh * 3 * c + k) * n..][..n]) {
                    *f = x.mul_add(w, *f);
                }
            }
        }
        first
    }
}

/// The weight gradient `[C_out, C_in, 3, 3]` (contiguous) from the padded input `xp` and the
/// conv output's gradient `dyp`, padded too.
pub fn weight_grad(xp: &[f32], dyp: &[f32], g: &Geometry) -> Vec<f32> {
    let (cin, cout) = (g.cin, g.cout);
    assert_eq!(
        xp.len(),
        g.padded_len(cin),
        "padded input of the wrong size"
    );
    assert_eq!(
        dyp.len(),
        g.padded_len(cout),
        "padded gradient of the wrong size"
    );
    let pieces = pieces(cin, g);
    let left = padded_left(xp, cin, &pieces, g);
    let sum = grad_product(&left, dyp, padded_interior(g), cout, pixel_rows(g));
    weight_order(&sum, g)
}

/// [`weight_grad`] run as `products` says: Winograd F(3×3, 2×2) ([`winograd::weight_grad`])
/// where it applies to the input's channels, direct elsewhere.
pub fn weight_grad_by(xp: &[f32], dyp: &[f32], g: &Geometry, products: Products) -> Vec<f32> {
    if products.winograd(g.cin, g) {
        winograd::weight_grad(xp, dyp, g)
    } else {
        weight_grad(xp, dyp, g)
    }
}

/// [`weight_grad`] with `∂y` computed where the product uses it, an image row at a time:
/// `fill(n·H + h, (co0, co1), out)` writes row `h` of image `n`, its `W` samples `C_out`
/// floats apart, channels `co0..co1`. The same bits as [`weight_grad`] over the padded buffer
/// of those values, without storing it (for a block whose input needs no gradient).
pub fn weight_grad_computed(
    xp: &[f32],
    fill: &(dyn Fn(usize, Span, &mut [f32]) + Sync),
    g: &Geometry,
) -> Vec<f32> {
    assert_eq!(
        xp.len(),
        g.padded_len(g.cin),
        "padded input of the wrong size"
    );
    let pieces = pieces(g.cin, g);
    let left = padded_left(xp, g.cin, &pieces, g);
    let sum = grad_product_computed(&left, fill, g.cout, pixel_rows(g));
    weight_order(&sum, g)
}

/// The products' `[k][C_out]` weight gradient in the weight's `[C_out, C_in, 3, 3]` order.
fn weight_order(sum: &[f32], g: &Geometry) -> Vec<f32> {
    let (cin, cout) = (g.cin, g.cout);
    let mut dw = vec![0.0; 9 * cin * cout];
    for co0 in (0..cout).step_by(CO_BLOCK) {
        let cos = co0..cout.min(co0 + CO_BLOCK);
        for ci in 0..cin {
            for kh in 0..3 {
                for kw in 0..3 {
                    let src = ((kh * 3 + kw) * cin + ci) * cout;
                    for co in cos.clone() {
                        dw[((co * cin + ci) * 3 + kh) * 3 + kw] = sum[src + co];
                    }
                }
            }
        }
    }
    dw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::strided::{View4, pad};

    /// A direct 3×3 "same" convolution, NCHW, as the definition.
    fn direct(x: &[f32], w: &[f32], g: &Geometry) -> Vec<f32> {
        let mut y = vec![0.0; g.n * g.cout * g.h * g.w];
        for n in 0..g.n {
            for co in 0..g.cout {
                for h in 0..g.h {
                    for ww in 0..g.w {
                        let mut s = 0.0;
                        for ci in 0..g.cin {
                            for kh in 0..3 {
                                for kw in 0..3 {
                                    let (a, b) = (h + kh, ww + kw);
                                    if (1..=g.h).contains(&a) && (1..=g.w).contains(&b) {
                                        s += x[((n * g.cin + ci) * g.h + a - 1) * g.w + b - 1]
                                            * w[((co * g.cin + ci) * 3 + kh) * 3 + kw];
                                    }
                                }
                            }
                        }
                        y[((n * g.cout + co) * g.h + h) * g.w + ww] = s;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn forward_product_equals_the_direct_convolution() {
        let g = Geometry {
            n: 2,
            cin: 3,
            cout: 5,
            h: 5,
            w: 4,
        };
        let x: Vec<f32> = (0..g.n * g.cin * g.h * g.w)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let w: Vec<f32> = (0..g.cout * g.cin * 9)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) / 9.0)
            .collect();
        let view = View4::nchw(&x, [g.n, g.cin, g.h, g.w]);
        let xp = pad(&view, &g);
        let y = conv_pixels(&xp, g.cin, &repack_forward(&w, g.cin, g.cout), g.cout, &g);
        let expected = direct(&x, &w, &g);
        for n in 0..g.n {
            for h in 0..g.h {
                for ww in 0..g.w {
                    for co in 0..g.cout {
                        let got = y[((n * g.h + h) * g.wp2() + ww) * g.cout + co];
                        let want = expected[((n * g.cout + co) * g.h + h) * g.w + ww];
                        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
                    }
                }
            }
        }
    }

    /// The first sample is the register tiles' first output, bit for bit.
    #[test]
    fn the_first_sample_is_the_products() {
        for (n, cin, cout, h, w) in [(2, 3, 5, 5, 4), (1, 128, 256, 4, 4), (3, 16, 40, 8, 8)] {
            let g = Geometry { n, cin, cout, h, w };
            let x: Vec<f32> = (0..n * cin * h * w)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
                .collect();
            let wt: Vec<f32> = (0..cout * cin * 9)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 9.0)
                .collect();
            let xp = pad(&View4::nchw(&x, [n, cin, h, w]), &g);
            let b = repack_forward(&wt, cin, cout);
            let tiles = conv_pixels(&xp, cin, &b, cout, &g);
            let plain = first_sample(&xp, cin, &b, cout, &g);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&plain),
                bits(&tiles[..cout]),
                "{:?}",
                (n, cin, cout, h, w)
            );
        }
    }

    /// The statistics gathered while the product runs are those of a pass over its finished
    /// output, bit for bit, and the output is the same: with maps of every size (segments that
    /// share a register tile, segments split over tiles), batch 1, odd channels.
    #[test]
    fn statistics_gathered_in_the_product_equal_a_pass_over_the_output() {
        for (n, cin, cout, h, w) in [
            (2, 3, 5, 5, 4),
            (1, 3, 32, 32, 32),
            (3, 16, 40, 8, 8),
            (4, 7, 13, 4, 4),
            (2, 3, 32, 66, 70),
        ] {
            let g = Geometry { n, cin, cout, h, w };
            let x: Vec<f32> = (0..n * cin * h * w)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0 + 3.0)
                .collect();
            let wt: Vec<f32> = (0..cout * cin * 9)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 9.0)
                .collect();
            let view = View4::nchw(&x, [n, cin, h, w]);
            let xp = pad(&view, &g);
            let wr = repack_forward(&wt, cin, cout);
            let y = conv_pixels(&xp, cin, &wr, cout, &g);
            let (mean, var) = norm_pool::batch_stats(&y, &g);
            let (y2, mean2, var2) = conv_pixels_stats(&xp, cin, &wr, cout, &g);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(y2, y, "{:?}", (n, cin, cout, h, w));
            assert_eq!(bits(&mean2), bits(&mean), "mean {:?}", (n, cin, cout, h, w));
            assert_eq!(bits(&var2), bits(&var), "var {:?}", (n, cin, cout, h, w));
        }
    }
}
