//! The block's 3×3 products as Winograd F(2×2, 3×3) (Lavin & Gray, 2016): each 2×2 tile of
//! outputs from a 4×4 tile of the padded input with 16 multiplies per input and output channel
//! instead of 36, so 2.25× fewer multiply-adds than [`super::conv`]'s direct products.
//!
//! ```text
//! V_ξ[t][c]  = (Bᵀ d_t B)_ξ          d_t: the 4×4 input tile of output tile t, channel c
//! U_ξ[c][j]  = (G g_{c,j} Gᵀ)_ξ      g_{c,j}: the 3×3 kernel from input channel c to output j
//! M_ξ        = V_ξ · U_ξ             16 products, K = C_in (the crate's register tiles)
//! Y_t[·][j]  = Aᵀ M_{·,t,j} A        the tile's 2×2 outputs
//!
//! Bᵀ = [1  0 −1  0]    G = [1    0    0 ]    Aᵀ = [1  1  1  0]
//!      [0  1  1  0]        [½    ½    ½ ]         [0  1 −1 −1]
//!      [0 −1  1  0]        [½   −½    ½ ]
//!      [0  1  0 −1]        [0    0    1 ]
//! ```
//!
//! The tiles are taken a few tile rows at a time ([`chunk_tile_rows`]), so each group's `V` and
//! `M` stay in cache between the transforms and the products. The output is [`super::conv`]'s:
//! GEMM-row layout, zeros in the scratch columns, and a group's image rows are handed to a
//! [`SegmentsDone`] as soon as they are final (the batch statistics read them in cache).
//!
//! Every output is the same sums in the same order whatever the grouping, the thread count or
//! the instruction set, so the results are deterministic; they differ from the direct products'
//! in the last bits (the transforms round differently), by a relative error of a few 1e-7 of
//! the outputs' scale (`winograd_stays_within_float_error_of_the_direct_products`).
//!
//! ```
//! use burn_fused_conv::kernel::{conv, geometry::Geometry, strided::{View4, pad}, winograd};
//! let g = Geometry { n: 1, cin: 16, cout: 8, h: 4, w: 4 };
//! let x: Vec<f32> = (0..16 * 16).map(|i| (i % 7) as f32 - 3.0).collect();
//! let w: Vec<f32> = (0..8 * 16 * 9).map(|i| (i % 5) as f32 * 0.25 - 0.5).collect();
//! let xp = pad(&View4::nchw(&x, [1, 16, 4, 4]), &g);
//! let b = conv::repack_forward(&w, 16, 8);
//! let direct = conv::conv_pixels(&xp, 16, &b, 8, &g);
//! let fast = winograd::conv_pixels(&xp, 16, &winograd::Weights::new(&b, 16, 8), &g, None);
//! assert!(direct.iter().zip(&fast).all(|(d, f)| (d - f).abs() < 1e-4));
//! ```

use rayon::prelude::*;

use super::geometry::Geometry;
use super::simd::multiversion;
use super::tile::{Packed, SegmentsDone, small_product};

/// Input channels below which the direct product is used: with a short `K` the transforms cost
/// more than the multiply-adds they save (the first block's 3 channels).
pub const MIN_CHANNELS: usize = 16;

/// Whether a product of `c` input channels over the maps of `g` runs as Winograd: even sides
/// (whole 2×2 tiles) and at least [`MIN_CHANNELS`] input channels.
pub fn applies(c: usize, g: &Geometry) -> bool {
    c >= MIN_CHANNELS && g.h >= 2 && g.w >= 2 && g.h.is_multiple_of(2) && g.w.is_multiple_of(2)
}

/// The transformed weights `U_ξ` (`C_in × n` each), packed for the products.
#[derive(Debug, Clone)]
pub struct Weights {
    u: Vec<Packed>,
    c: usize,
    n: usize,
}

impl Weights {
    /// From the direct product's right operand `b` (`[9·c][n]`, as from
    /// [`super::conv::repack_forward`] or [`super::conv::repack_transposed`]): `U = G g Gᵀ`.
    pub fn new(b: &[f32], c: usize, n: usize) -> Self {
        assert_eq!(b.len(), 9 * c * n, "right operand of the wrong size");
        let plane = plane(c * n);
        let mut u = vec![0.0f32; 16 * plane];
        for ci in 0..c {
            transform_kernels(b, c, n, ci, &mut u);
        }
        Self {
            u: u.chunks_exact(plane)
                .map(|u| Packed::new(&u[..c * n], c, n))
                .collect(),
            c,
            n,
        }
    }
}

multiversion! {
    /// `U_ξ[ci][j]` for every `j`: `u` is `[16][c][n]`, `b` the direct product's `[9·c][n]`.
    fn transform_kernels(b: &[f32], c: usize, n: usize, ci: usize, u: &mut [f32]) {
        let g: [&[f32]; 9] = std::array::from_fn(|q| &b[(q * c + ci) * n..][..n]);
        let mut planes = u.chunks_exact_mut(plane(c * n)).map(|p| &mut p[ci * n..(ci + 1) * n]);
        let o: [&mut [f32]; 16] = std::array::from_fn(|_| planes.next().expect("16 planes"));
        for j in 0..n {
            // t = G g (4 × 3, down each column kw), then U = t Gᵀ (4 × 4, along each row i).
            let mut t = [[0.0f32; 3]; 4];
            for kw in 0..3 {
                let (g0, g1, g2) = (g[kw][j], g[3 + kw][j], g[6 + kw][j]);
                t[0][kw] = g0;
                t[1][kw] = 0.5 * (g0 + g1 + g2);
                t[2][kw] = 0.5 * (g0 - g1 + g2);
                t[3][kw] = g2;
            }
            for i in 0..4 {
                let [t0, t1, t2] = t[i];
                o[i * 4][j] = t0;
                o[i * 4 + 1][j] = 0.5 * (t0 + t1 + t2);
                o[i * 4 + 2][j] = 0.5 * (t0 - t1 + t2);
                o[i * 4 + 3][j] = t2;
            }
        }
    }
}

/// Floats from one of the 16 planes (`ξ`) of `U`, `V` or `M` to the next: `len` and a cache
/// line, so that the 16 planes a transform reads or writes at once do not fall in the same cache
/// sets (plane lengths are often multiples of 4 KiB).
fn plane(len: usize) -> usize {
    len + 16
}

/// Floats of `V` and `M` a group of tiles may take (about 512 KB: L2).
const GROUP_FLOATS: usize = 131_072;

/// Tile rows (`W/2` tiles each) per group: `V` and `M` of the group within [`GROUP_FLOATS`]
/// (at least 16 tiles' worth), and enough groups for four per thread.
fn chunk_tile_rows(c: usize, n: usize, g: &Geometry) -> usize {
    let tiles = (GROUP_FLOATS / (16 * (c + n))).max(16);
    let per_row = g.w / 2;
    let tile_rows = g.n * g.h / 2;
    let balanced = tile_rows.div_ceil(4 * rayon::current_num_threads()).max(1);
    (tiles / per_row).clamp(1, balanced)
}

/// A raw pointer that the groups share, each writing its own image rows.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: every group writes its own rows of the output (see `conv_pixels`).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The output from float `at`.
    fn at(&self, at: usize) -> *mut f32 {
        // SAFETY: the caller stays inside the output's capacity (see `conv_pixels`).
        unsafe { self.0.add(at) }
    }
}

/// The 3×3 convolution of the padded buffer `xp` (`c` channels, [`super::strided::pad`]'s
/// layout) by `weights`, as [`super::conv::conv_pixels`] gives it (GEMM-row layout, zeros in
/// the scratch columns), calling `done` on each group of image rows once it is final.
/// [`applies`] must hold.
pub fn conv_pixels(
    xp: &[f32],
    c: usize,
    weights: &Weights,
    g: &Geometry,
    done: Option<SegmentsDone<'_>>,
) -> Vec<f32> {
    let n = weights.n;
    assert_eq!(weights.c, c, "weights for {} input channels", weights.c);
    assert!(
        applies(c, g),
        "Winograd F(2×2, 3×3) needs even sides and {MIN_CHANNELS}+ channels"
    );
    assert_eq!(xp.len(), g.padded_len(c), "padded buffer of the wrong size");
    let (wp2, tw) = (g.wp2(), g.w / 2);
    let segment = wp2 * n;
    let len = g.n * g.h * segment;
    let tile_rows = g.n * g.h / 2;
    if len == 0 {
        return Vec::new();
    }
    let per_chunk = chunk_tile_rows(c, n, g);
    let mut y = Vec::<f32>::with_capacity(len);
    let out = Out(y.as_mut_ptr());
    let in_row = wp2 * c;
    (0..tile_rows.div_ceil(per_chunk))
        .into_par_iter()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(v, mm): &mut (Vec<f32>, Vec<f32>), chunk| {
                let (tr0, tr1) = (chunk * per_chunk, tile_rows.min((chunk + 1) * per_chunk));
                let m = (tr1 - tr0) * tw;
                let (vs, ms) = (plane(m * c), plane(m * n));
                v.resize(16 * vs, 0.0);
                mm.resize(16 * ms, 0.0);
                for tr in tr0..tr1 {
                    let (image, i) = (tr / (g.h / 2), tr % (g.h / 2));
                    let row0 = (image * (g.h + 2) + 2 * i) * in_row;
                    input_row(
                        &xp[row0..row0 + 4 * in_row],
                        in_row,
                        c,
                        tw,
                        v,
                        m,
                        (tr - tr0) * tw,
                    );
                }
                for (xi, u) in weights.u.iter().enumerate() {
                    let (a, o) = (&v[xi * vs..][..m * c], &mut mm[xi * ms..][..m * n]);
                    small_product(a, c, m, u, o);
                }
                // SAFETY: the group's image rows 2·tr0..2·tr1 lie inside `y`'s capacity, and no
                // other group writes them; every float of them is written below (the tiles
                // cover the W real pixels, the scratch columns are zeroed) before `done` reads.
                let rows = unsafe {
                    std::slice::from_raw_parts_mut(
                        out.at(2 * tr0 * segment),
                        2 * (tr1 - tr0) * segment,
                    )
                };
                for (r, pair) in rows.chunks_exact_mut(2 * segment).enumerate() {
                    let (top, bottom) = pair.split_at_mut(segment);
                    output_row(mm, m, n, r * tw, tw, top, bottom);
                    for row in [top, bottom] {
                        row[g.w * n..].fill(0.0);
                    }
                }
                if let Some(done) = done {
                    done((2 * tr0, 2 * tr1), rows);
                }
            },
        );
    // SAFETY: the groups cover tile rows 0..N·H/2, so image rows 0..N·H, each written whole.
    unsafe { y.set_len(len) };
    y
}

multiversion! {
    /// `V` of one tile row: `d` holds the four padded input rows it reads (`row` floats apart,
    /// `c` channels per pixel), its `tw` tiles become tiles `t0..t0 + tw` of `v`
    /// (`[16][m][c]`).
    fn input_row(d: &[f32], row: usize, c: usize, tw: usize, v: &mut [f32], m: usize, t0: usize) {
        for j in 0..tw {
            let at = 2 * j * c;
            let x: [&[f32]; 16] =
                std::array::from_fn(|q| &d[(q / 4) * row + at + (q % 4) * c..][..c]);
            let t = t0 + j;
            let mut planes = v.chunks_exact_mut(plane(m * c)).map(|p| &mut p[t * c..(t + 1) * c]);
            let o: [&mut [f32]; 16] = std::array::from_fn(|_| planes.next().expect("16 planes"));
            for ch in 0..c {
                // e = Bᵀ d (down each column s), then V = e B (along each row r).
                let mut e = [[0.0f32; 4]; 4];
                for s in 0..4 {
                    let (d0, d1, d2, d3) = (x[s][ch], x[4 + s][ch], x[8 + s][ch], x[12 + s][ch]);
                    e[s] = [d0 - d2, d1 + d2, d2 - d1, d1 - d3];
                }
                for r in 0..4 {
                    o[r * 4][ch] = e[0][r] - e[2][r];
                    o[r * 4 + 1][ch] = e[1][r] + e[2][r];
                    o[r * 4 + 2][ch] = e[2][r] - e[1][r];
                    o[r * 4 + 3][ch] = e[1][r] - e[3][r];
                }
            }
        }
    }
}

multiversion! {
    /// One tile row's outputs from `mm` (`[16][m][n]`, its tiles from `t0`): pixels `0..2·tw`
    /// of the image rows `top` and `bottom` (`n` floats per pixel).
    fn output_row(mm: &[f32], m: usize, n: usize, t0: usize, tw: usize, top: &mut [f32], bottom: &mut [f32]) {
        for j in 0..tw {
            let t = t0 + j;
            let q: [&[f32]; 16] = std::array::from_fn(|xi| &mm[xi * plane(m * n) + t * n..][..n]);
            let (y0, y1) = (&mut top[2 * j * n..(2 * j + 2) * n], &mut bottom[2 * j * n..(2 * j + 2) * n]);
            let (y00, y01) = y0.split_at_mut(n);
            let (y10, y11) = y1.split_at_mut(n);
            for ch in 0..n {
                // p = M A (along each row r), then Y = Aᵀ p (down the columns).
                let mut p = [[0.0f32; 2]; 4];
                for r in 0..4 {
                    let (m0, m1, m2, m3) = (q[r * 4][ch], q[r * 4 + 1][ch], q[r * 4 + 2][ch], q[r * 4 + 3][ch]);
                    p[r] = [m0 + m1 + m2, m1 - m2 - m3];
                }
                y00[ch] = p[0][0] + p[1][0] + p[2][0];
                y01[ch] = p[0][1] + p[1][1] + p[2][1];
                y10[ch] = p[1][0] - p[2][0] - p[3][0];
                y11[ch] = p[1][1] - p[2][1] - p[3][1];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::conv;
    use crate::kernel::strided::{View4, pad};

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 1013) as f32 - 506.0) / 311.0)
            .collect()
    }

    /// The product by definition, in f64, in [`conv::conv_pixels`]' layout.
    fn reference(xp: &[f32], c: usize, b: &[f32], n: usize, g: &Geometry) -> Vec<f64> {
        let mut y = vec![0.0f64; g.rows() * n];
        for image in 0..g.n {
            for h in 0..g.h {
                for w in 0..g.w {
                    let out = &mut y[((image * g.h + h) * g.wp2() + w) * n..][..n];
                    for kh in 0..3 {
                        for kw in 0..3 {
                            let at = ((image * (g.h + 2) + h + kh) * g.wp2() + w + kw) * c;
                            for ci in 0..c {
                                let x = xp[at + ci] as f64;
                                let row = &b[((kh * 3 + kw) * c + ci) * n..][..n];
                                for (o, wv) in out.iter_mut().zip(row) {
                                    *o += x * *wv as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        y
    }

    /// Forward and input-gradient products of every block shape the seedlings CNN has at 32,
    /// 64 and 96 px (batch 1 and an odd batch), against the definition in f64: Winograd's
    /// largest error, as a share of the outputs' largest magnitude, stays under 1e-5 and within
    /// a few times the direct product's. Prints both (`--nocapture`).
    #[test]
    fn winograd_stays_within_float_error_of_the_direct_products() {
        for (n, cin, cout, side) in [
            (1, 32, 64, 16),
            (3, 32, 64, 32),
            (2, 64, 128, 8),
            (5, 64, 128, 24),
            (3, 128, 256, 4),
            (1, 128, 256, 12),
            (2, 17, 5, 6),
        ] {
            let g = Geometry {
                n,
                cin,
                cout,
                h: side,
                w: side,
            };
            let x = values(n * cin * side * side, 1);
            let w: Vec<f32> = values(cout * cin * 9, 2)
                .iter()
                .map(|v| v / (9.0 * cin as f32).sqrt())
                .collect();
            for (b, c, out) in [
                (conv::repack_forward(&w, cin, cout), cin, cout),
                (conv::repack_transposed(&w, cin, cout), cout, cin),
            ] {
                if !applies(c, &g) {
                    continue;
                }
                let gp = Geometry {
                    cin: c,
                    cout: out,
                    ..g
                };
                let input = if c == cin {
                    x.clone()
                } else {
                    values(n * c * side * side, 3)
                };
                let xp = pad(&View4::nchw(&input, [n, c, side, side]), &gp);
                let exact = reference(&xp, c, &b, out, &gp);
                let scale = exact.iter().map(|x| x.abs()).fold(0.0f64, f64::max);
                let error = |y: &[f32]| {
                    y.iter()
                        .zip(&exact)
                        .map(|(y, e)| (*y as f64 - e).abs())
                        .fold(0.0f64, f64::max)
                        / scale
                };
                let direct = conv::conv_pixels(&xp, c, &b, out, &gp);
                let fast = conv_pixels(&xp, c, &Weights::new(&b, c, out), &gp, None);
                assert_eq!(fast.len(), direct.len());
                let (ed, ew) = (error(&direct), error(&fast));
                eprintln!(
                    "{:?}: direct {ed:.1e}, Winograd {ew:.1e}",
                    (n, c, out, side)
                );
                assert!(
                    ew < 1e-5 && ew <= 8.0 * ed.max(1e-7),
                    "{:?}: {ew:e} against {ed:e}",
                    (n, c, out, side)
                );
                // The scratch columns are zeros, as the direct product leaves them.
                for (i, f) in fast.iter().enumerate() {
                    if (i / out) % gp.wp2() >= side {
                        assert_eq!(*f, 0.0);
                    }
                }
            }
        }
    }

    /// The groups hand every image row to `done` once, final, and the grouping does not change
    /// a bit of the output.
    #[test]
    fn every_image_row_is_handed_over_once_and_final() {
        use std::sync::Mutex;
        let g = Geometry {
            n: 3,
            cin: 16,
            cout: 24,
            h: 10,
            w: 6,
        };
        let xp = pad(&View4::nchw(&values(3 * 16 * 60, 4), [3, 16, 10, 6]), &g);
        let b = conv::repack_forward(&values(24 * 16 * 9, 5), 16, 24);
        let weights = Weights::new(&b, 16, 24);
        let seen = Mutex::new(vec![Vec::new(); g.n * g.h]);
        let segment = g.wp2() * 24;
        let done = |(first, end): (usize, usize), rows: &[f32]| {
            assert_eq!(rows.len(), (end - first) * segment);
            let mut seen = seen.lock().unwrap();
            for s in first..end {
                assert!(seen[s].is_empty(), "row {s} twice");
                seen[s] = rows[(s - first) * segment..][..segment].to_vec();
            }
        };
        let y = conv_pixels(&xp, 16, &weights, &g, Some(&done));
        let seen = seen.into_inner().unwrap().concat();
        assert_eq!(seen, y);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| conv_pixels(&xp, 16, &weights, &g, None));
        assert_eq!(one_thread, y);
    }

    #[test]
    fn applies_to_even_sides_and_enough_channels() {
        let g = |h, w| Geometry {
            n: 1,
            cin: 32,
            cout: 8,
            h,
            w,
        };
        assert!(applies(32, &g(8, 4)));
        assert!(!applies(32, &g(7, 4)));
        assert!(!applies(3, &g(8, 8)));
        assert!(!applies(32, &g(0, 0)));
    }
}
