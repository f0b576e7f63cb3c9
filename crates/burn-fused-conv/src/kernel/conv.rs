//! The three convolutions of a block as the register-tiled products of [`super::tile`], on the
//! row-im2col buffers of [`super::strided`]:
//!
//! ```text
//! forward        y[r][co]  = Σ_k xh(r, k) · wr[k][co]          (M = rows, K = 9·C_in, N = C_out)
//! weight grad    dw[k][co] = Σ_r xh(r, k) · dy[r][co]          (M = 9·C_in, K = rows, N = C_out)
//! input grad     dx[r][ci] = Σ_k dyh(r, k) · wt[k][ci]         (M = rows, K = 9·C_out, N = C_in)
//! ```
//!
//! with `xh(r, k) = xh[r·3·C + k]` the overlapping view, `k = kw·3·C + kh·C + c`, and `r` only
//! the rows of real pixels ([`pixel_rows`]): the scratch columns are neither computed nor summed.
//! Each output is one chain of fused multiply-adds in a fixed order, so the same inputs give the
//! same bits whatever the number of threads or the instruction set.

use super::geometry::Geometry;

/// Output channels moved together by the transposes between the weight's `[C_out, C_in, 3, 3]`
/// order and the products' `[k][C_out]` order: 16 rows of the one are read while 16 adjacent
/// floats of the other are written, so both stay in cache.
const CO_BLOCK: usize = 16;

/// `weight[co][ci][kh][kw]` as the forward product's right operand `wr[kw·3·C_in + kh·C_in + ci][co]`.
pub fn repack_forward(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut wr = vec![0.0; 9 * cin * cout];
    for co0 in (0..cout).step_by(CO_BLOCK) {
        let cos = co0..cout.min(co0 + CO_BLOCK);
        for ci in 0..cin {
            for kh in 0..3 {
                for kw in 0..3 {
                    let dst = ((kw * 3 + kh) * cin + ci) * cout;
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
/// `wt[kw·3·C_out + kh·C_out + co][ci] = weight[co][ci][2 − kh][2 − kw]`.
pub fn repack_transposed(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut wt = vec![0.0; 9 * cin * cout];
    for co in 0..cout {
        for kh in 0..3 {
            for kw in 0..3 {
                let dst = ((kw * 3 + kh) * cout + co) * cin;
                for ci in 0..cin {
                    wt[dst + ci] = weight[((co * cin + ci) * 3 + (2 - kh)) * 3 + (2 - kw)];
                }
            }
        }
    }
    wt
}

/// `out[r][j] = Σ_k xh(r, k) · b[k][j]` (register tiles, [`super::tile::rows_product`]).
pub fn conv_rows(xh: &[f32], c: usize, b: &[f32], n: usize, rows: usize) -> Vec<f32> {
    assert!(
        xh.len() >= (rows + 2) * 3 * c,
        "row-im2col buffer too short"
    );
    super::tile::rows_product(xh, 3 * c, 9 * c, b, n, super::tile::Rows::all(rows))
}

/// The conv's GEMM rows of `g`: `N·H` segments of `W` pixels, `W + 2` rows apart (the scratch
/// columns skipped).
pub fn pixel_rows(g: &Geometry) -> super::tile::Rows {
    super::tile::Rows {
        count: g.n * g.h,
        len: g.w,
        pitch: g.wp2(),
    }
}

/// [`conv_rows`] on the pixels of `g` only: zeros in the scratch columns.
pub fn conv_pixels(xh: &[f32], c: usize, b: &[f32], n: usize, g: &Geometry) -> Vec<f32> {
    assert!(
        xh.len() >= (g.rows() + 2) * 3 * c,
        "row-im2col buffer too short"
    );
    super::tile::rows_product(xh, 3 * c, 9 * c, b, n, pixel_rows(g))
}

/// The weight gradient `[C_out, C_in, 3, 3]` from the input's row-im2col buffer and the conv
/// output's gradient in GEMM-row layout (register tiles, [`super::tile::grad_product`]).
pub fn weight_grad(xh: &[f32], dy: &[f32], g: &Geometry) -> Vec<f32> {
    let (cin, cout) = (g.cin, g.cout);
    assert!(xh.len() >= g.xh_len(cin) && dy.len() >= g.rows() * cout);
    let sum = super::tile::grad_product(xh, 3 * cin, 9 * cin, dy, cout, pixel_rows(g));
    let mut dw = vec![0.0; 9 * cin * cout];
    for co0 in (0..cout).step_by(CO_BLOCK) {
        let cos = co0..cout.min(co0 + CO_BLOCK);
        for ci in 0..cin {
            for kh in 0..3 {
                for kw in 0..3 {
                    let src = ((kw * 3 + kh) * cin + ci) * cout;
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
    use crate::kernel::strided::{View4, row_im2col};

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
        let view = View4 {
            data: &x,
            dims: [g.n, g.cin, g.h, g.w],
            strides: [
                (g.cin * g.h * g.w) as isize,
                (g.h * g.w) as isize,
                g.w as isize,
                1,
            ],
            offset: 0,
        };
        let xh = row_im2col(&view, &g);
        let y = conv_rows(
            &xh,
            g.cin,
            &repack_forward(&w, g.cin, g.cout),
            g.cout,
            g.rows(),
        );
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
}
