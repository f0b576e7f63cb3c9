//! The block's 3×3 products as Winograd F(2×2, 3×3) (Lavin & Gray, 2016): each 2×2 tile of
//! outputs from a 4×4 tile of the padded input with 16 multiplies per input and output channel
//! instead of 36, so 2.25× fewer multiply-adds than [`super::conv`]'s direct products. The
//! forward and the input gradient are [`conv_pixels`] (the latter with the flipped, transposed
//! weight); the weight gradient is its transpose, F(3×3, 2×2) ([`weight_grad`]).
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
//! The tiles are taken a few tile rows at a time (`chunk_tile_rows`), so each group's `V` and
//! `M` stay in cache between the transforms and the products. The output is [`super::conv`]'s:
//! GEMM-row layout, zeros in the scratch columns, and a group's image rows are handed to a
//! [`SegmentsDone`] as soon as they are final (the batch statistics read them in cache).
//!
//! Every output is the same sums in the same order whatever the grouping, the thread count or
//! the instruction set, so the results are deterministic; they differ from the direct products'
//! in the last bits (the transforms round differently), by a relative error of a few 1e-7 of
//! the outputs' scale, as close to the exact values as the direct products are (the tests
//! `winograd_stays_within_float_error_of_the_direct_products` and
//! `winograd_weight_gradient_stays_within_float_error`).
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

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::geometry::Geometry;
use super::simd::multiversion;
use super::tile::{Packed, SegmentsDone, Shared, small_grad_product, small_product, sum_chunks};

/// Input channels below which the direct product is used: with a short `K` the transforms cost
/// more than the multiply-adds they save (the first block's 3 channels).
pub const MIN_CHANNELS: usize = 16;

/// Tiles (2×2 outputs, over the whole batch) below which the direct product is used: the
/// weights' transform (`16·C_in·C_out` values per call) then costs more than the products save
/// (block 4 of the seedlings CNN at 32 px and batch 7 has 28 tiles, and ran 1.5× slower).
pub const MIN_TILES: usize = 64;

/// Whether the maps of `g` split into whole 2×2 tiles (even sides): what the kernels here need.
pub fn supports(g: &Geometry) -> bool {
    g.h >= 2 && g.w >= 2 && g.h.is_multiple_of(2) && g.w.is_multiple_of(2)
}

/// Whether a product of `c` input channels over the maps of `g` is worth running as Winograd
/// ([`super::conv::Products::Winograd`] asks): [`supports`], at least [`MIN_CHANNELS`] input
/// channels and [`MIN_TILES`] tiles.
pub fn applies(c: usize, g: &Geometry) -> bool {
    supports(g) && c >= MIN_CHANNELS && g.n * g.h * g.w / 4 >= MIN_TILES
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
        // `[c][16][n]`: each input channel's 16 rows together, written by one task; then the
        // 16 products' operands packed at once.
        let len = 16 * c * n;
        let mut u = Vec::<f32>::with_capacity(len);
        if len > 0 {
            u.spare_capacity_mut()[..len]
                .par_chunks_mut(16 * n)
                .enumerate()
                .for_each(|(ci, rows)| transform_kernels(b, c, n, ci, rows));
        }
        // SAFETY: `transform_kernels` wrote every float of every input channel's 16 rows.
        unsafe { u.set_len(len) };
        let u = &u;
        Self {
            u: (0..16)
                .into_par_iter()
                .map(|xi| Packed::from_rows(c, n, |ci| &u[(ci * 16 + xi) * n..][..n]))
                .collect(),
            c,
            n,
        }
    }
}

multiversion! {
    /// `U_ξ[ci][j]` for every `ξ` and `j`: `rows` is input channel `ci`'s `[16][n]`, `b` the
    /// direct product's `[9·c][n]`.
    fn transform_kernels(b: &[f32], c: usize, n: usize, ci: usize, rows: &mut [MaybeUninit<f32>]) {
        let g = |q: usize| &b[(q * c + ci) * n..][..n];
        let (g0, g1, g2, g3, g4, g5, g6, g7, g8) = (g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7), g(8));
        let rows = &mut rows[..16 * n];
        for j in 0..n {
            // t = G g (4 × 3, down each column kw), then U = t Gᵀ (4 × 4, along each row i).
            let col = |a: f32, m: f32, z: f32| [a, 0.5 * (a + m + z), 0.5 * (a - m + z), z];
            let (c0, c1, c2) = (col(g0[j], g3[j], g6[j]), col(g1[j], g4[j], g7[j]), col(g2[j], g5[j], g8[j]));
            for i in 0..4 {
                let (t0, t1, t2) = (c0[i], c1[i], c2[i]);
                rows[(i * 4) * n + j].write(t0);
                rows[(i * 4 + 1) * n + j].write(0.5 * (t0 + t1 + t2));
                rows[(i * 4 + 2) * n + j].write(0.5 * (t0 - t1 + t2));
                rows[(i * 4 + 3) * n + j].write(t2);
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

/// The 3×3 convolution of the padded buffer `xp` (`c` channels, [`super::strided::pad`]'s
/// layout) by `weights`, as [`super::conv::conv_pixels`] gives it (GEMM-row layout, zeros in
/// the scratch columns), calling `done` on each group of image rows once it is final.
/// [`supports`] must hold.
pub fn conv_pixels(
    xp: &[f32],
    c: usize,
    weights: &Weights,
    g: &Geometry,
    done: Option<SegmentsDone<'_>>,
) -> Vec<f32> {
    let n = weights.n;
    assert_eq!(weights.c, c, "weights for {} input channels", weights.c);
    assert!(supports(g), "Winograd F(2×2, 3×3) needs even sides");
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
    let out = Shared(y.as_mut_ptr());
    (0..tile_rows.div_ceil(per_chunk))
        .into_par_iter()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(v, mm): &mut (Vec<f32>, Vec<f32>), chunk| {
                let (tr0, tr1) = (chunk * per_chunk, tile_rows.min((chunk + 1) * per_chunk));
                let (m, vs) = input_tiles(xp, c, g, (tr0, tr1), v);
                let ms = plane(m * n);
                mm.resize(16 * ms, 0.0);
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

/// Reduction chunks of [`weight_grad`]: the tiles split into this many runs, each summed by
/// one task and the runs' sums added in order. Fixed by the shape (never by the thread count),
/// so the bits are too: a power of two up to 8, runs of at least 32 tiles, their partial sums
/// within 8 MiB.
fn grad_chunks(c: usize, n: usize, g: &Geometry) -> usize {
    let tile_rows = g.n * g.h / 2;
    let tiles = tile_rows * (g.w / 2);
    let by_memory = (2_097_152 / (16 * plane(c * n))).max(1);
    let chunks = (tiles / 32)
        .clamp(1, 8)
        .min(by_memory)
        .min(tile_rows)
        .max(1);
    1 << chunks.ilog2()
}

/// Tile rows per group of [`weight_grad`]: each group reads and writes all 16 sums `Ŵ_ξ`
/// (`16·c·n` floats), so when they outgrow L2 (256 KiB) a chunk is one group (its `V` and `D`
/// then stream from L3 once, `Ŵ_ξ` staying in L2 for each ξ); else as for the forward.
fn grad_group_tile_rows(c: usize, n: usize, g: &Geometry, chunk_rows: usize) -> usize {
    if 16 * plane(c * n) > 65_536 {
        chunk_rows.max(1)
    } else {
        chunk_tile_rows(c, n, g)
    }
}

/// The weight gradient `[C_out, C_in, 3, 3]` from the padded input `xp` and the padded conv
/// output gradient `dyp` ([`super::conv::weight_grad`]'s operands), as Winograd F(3×3, 2×2):
///
/// ```text
/// D_ξ[t][j] = (A dy_{t,j} Aᵀ)_ξ        dy_{t,j}: tile t's 2×2 gradient, output channel j
/// Ŵ_ξ       = Σ_t V_ξ[t]ᵀ D_ξ[t]       16 reductions over the tiles (the crate's register tiles)
/// dw_{j,c}  = Gᵀ Ŵ_{·,c,j} G            A = (Aᵀ)ᵀ, G, V as for the forward product
/// ```
///
/// (the transpose of the forward's `y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A`). [`supports`] must hold.
pub fn weight_grad(xp: &[f32], dyp: &[f32], g: &Geometry) -> Vec<f32> {
    let (c, n) = (g.cin, g.cout);
    assert!(supports(g), "Winograd F(3×3, 2×2) needs even sides");
    assert_eq!(xp.len(), g.padded_len(c), "padded input of the wrong size");
    assert_eq!(
        dyp.len(),
        g.padded_len(n),
        "padded gradient of the wrong size"
    );
    if n == 0 || g.n == 0 {
        return vec![0.0; 9 * c * n];
    }
    let (wp2, tw) = (g.wp2(), g.w / 2);
    let tile_rows = g.n * g.h / 2;
    let chunks = grad_chunks(c, n, g);
    let per_group = grad_group_tile_rows(c, n, g, tile_rows.div_ceil(chunks));
    let pu = plane(c * n);
    let dy_row = wp2 * n;
    let mut partials = Vec::<f32>::with_capacity(chunks * 16 * pu);
    let out = Shared(partials.as_mut_ptr());
    (0..chunks).into_par_iter().for_each(|r| {
        let (tr0, tr1) = (r * tile_rows / chunks, (r + 1) * tile_rows / chunks);
        // SAFETY: chunk r's 16 planes lie inside the capacity and only this task writes them;
        // its first group writes every plane's c·n sums (chunks ≤ tile rows: no chunk is
        // empty), and the planes' padding is never read.
        let part = unsafe { std::slice::from_raw_parts_mut(out.at(r * 16 * pu), 16 * pu) };
        let (mut v, mut dd) = (Vec::new(), Vec::new());
        let mut t = tr0;
        while t < tr1 {
            let te = tr1.min(t + per_group);
            let (m, vs) = input_tiles(xp, c, g, (t, te), &mut v);
            let ds = plane(m * n);
            dd.resize(16 * ds, 0.0);
            for tr in t..te {
                let (image, i) = (tr / (g.h / 2), tr % (g.h / 2));
                let dy0 = ((image * (g.h + 2) + 2 * i + 1) * wp2 + 1) * n;
                grad_row(
                    &dyp[dy0..dy0 + dy_row + tw * 2 * n],
                    dy_row,
                    n,
                    tw,
                    &mut dd,
                    m,
                    (tr - t) * tw,
                );
            }
            for xi in 0..16 {
                let (a, d) = (&v[xi * vs..][..m * c], &dd[xi * ds..][..m * n]);
                small_grad_product(a, c, c, d, n, m, &mut part[xi * pu..][..c * n], t > tr0);
            }
            t = te;
        }
    });
    // SAFETY: every chunk wrote its planes' sums (above).
    unsafe { partials.set_len(chunks * 16 * pu) };
    let sum = sum_chunks(partials, 16 * pu);
    // Output channels in blocks, one task each (its rows of dw are contiguous).
    let per_task = n.div_ceil(4 * rayon::current_num_threads()).max(1);
    let mut dw = Vec::<f32>::with_capacity(9 * c * n);
    dw.spare_capacity_mut()[..9 * c * n]
        .par_chunks_mut(per_task * 9 * c)
        .enumerate()
        .for_each(|(task, rows)| {
            let j0 = task * per_task;
            for ci in 0..c {
                inverse_kernels(&sum, c, n, ci, (j0, n.min(j0 + per_task)), rows);
            }
        });
    // SAFETY: the tasks cover every output channel, each writing its 9·c floats.
    unsafe { dw.set_len(9 * c * n) };
    dw
}

/// `V` of tile rows `tr0..tr1` (global over the batch: `n·H/2 + i`) of the padded input `xp`
/// (`c` channels) into `v`, resized to its 16 planes: the tiles (`m`) and the planes' pitch.
fn input_tiles(
    xp: &[f32],
    c: usize,
    g: &Geometry,
    (tr0, tr1): (usize, usize),
    v: &mut Vec<f32>,
) -> (usize, usize) {
    let (tw, in_row) = (g.w / 2, g.wp2() * c);
    let m = (tr1 - tr0) * tw;
    let vs = plane(m * c);
    v.resize(16 * vs, 0.0);
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
    (m, vs)
}

multiversion! {
    /// `D` of one tile row: `dy` holds its two rows of output gradient (`row` floats apart, `n`
    /// channels per pixel, from the row's first real pixel), its `tw` tiles become tiles
    /// `t0..t0 + tw` of `dd` (`[16][m][n]`). One row of `D` at a time (8 streams: the loop
    /// vectorizes).
    fn grad_row(dy: &[f32], row: usize, n: usize, tw: usize, dd: &mut [f32], m: usize, t0: usize) {
        let pd = plane(m * n);
        for j in 0..tw {
            let at = 2 * j * n;
            let t = t0 + j;
            let (u00, u01) = (&dy[at..][..n], &dy[at + n..][..n]);
            let (u10, u11) = (&dy[row + at..][..n], &dy[row + at + n..][..n]);
            for r in 0..4 {
                // D[r][·] = (A e)[r], e_a = (dy_a Aᵀ): rows 0 and 1 of e combined as A's row r.
                let at_r = |s: usize| r * 4 + s;
                let [o0, o1, o2, o3] = four_planes(dd, pd, [at_r(0), at_r(1), at_r(2), at_r(3)], t * n, n);
                for ch in 0..n {
                    let (a, b) = match r {
                        0 => (u00[ch], u01[ch]),
                        1 => (u00[ch] + u10[ch], u01[ch] + u11[ch]),
                        2 => (u00[ch] - u10[ch], u01[ch] - u11[ch]),
                        _ => (-u10[ch], -u11[ch]),
                    };
                    o0[ch] = a;
                    o1[ch] = a + b;
                    o2[ch] = a - b;
                    o3[ch] = -b;
                }
            }
        }
    }
}

multiversion! {
    /// `dw[j][ci][·][·] = Gᵀ Ŵ_{·,ci,j} G` for `j` in `j0..j1`: `w` is `[16][c][n]` (planes
    /// [`plane`]`(c·n)` apart), `dw` the weight's `[n][c][3][3]` from output channel `j0`.
    fn inverse_kernels(w: &[f32], c: usize, n: usize, ci: usize, js: (usize, usize), dw: &mut [MaybeUninit<f32>]) {
        let (j0, j1) = js;
        let q: [&[f32]; 16] = std::array::from_fn(|xi| &w[xi * plane(c * n) + ci * n..][..n]);
        for j in j0..j1 {
            // p = Ŵ G (along each row r), then dw = Gᵀ p (down the columns).
            let mut p = [[0.0f32; 3]; 4];
            for r in 0..4 {
                let (w0, w1, w2, w3) = (q[r * 4][j], q[r * 4 + 1][j], q[r * 4 + 2][j], q[r * 4 + 3][j]);
                p[r] = [w0 + 0.5 * (w1 + w2), 0.5 * (w1 - w2), 0.5 * (w1 + w2) + w3];
            }
            let out = &mut dw[((j - j0) * c + ci) * 9..][..9];
            for kw in 0..3 {
                let (p0, p1, p2, p3) = (p[0][kw], p[1][kw], p[2][kw], p[3][kw]);
                out[kw].write(p0 + 0.5 * (p1 + p2));
                out[3 + kw].write(0.5 * (p1 - p2));
                out[6 + kw].write(0.5 * (p1 + p2) + p3);
            }
        }
    }
}

multiversion! {
    /// `V` of one tile row: `d` holds the four padded input rows it reads (`row` floats apart,
    /// `c` channels per pixel), its `tw` tiles become tiles `t0..t0 + tw` of `v`
    /// (`[16][m][c]`). One row of `V` at a time (12 streams: the loop vectorizes).
    fn input_row(d: &[f32], row: usize, c: usize, tw: usize, v: &mut [f32], m: usize, t0: usize) {
        let pv = plane(m * c);
        for j in 0..tw {
            let at = 2 * j * c;
            let t = t0 + j;
            let x = |r: usize, s: usize| &d[r * row + at + s * c..][..c];
            // V[r][·] = (e B)[r] with e = Bᵀ d: row r of Bᵀ takes input rows (a, b), e = d_a ∓ d_b.
            for (r, (ra, rb, plus)) in [(0, 2, false), (1, 2, true), (2, 1, false), (1, 3, false)]
                .into_iter()
                .enumerate()
            {
                let (a0, a1, a2, a3) = (x(ra, 0), x(ra, 1), x(ra, 2), x(ra, 3));
                let (b0, b1, b2, b3) = (x(rb, 0), x(rb, 1), x(rb, 2), x(rb, 3));
                let [o0, o1, o2, o3] = four_planes(v, pv, [r * 4, r * 4 + 1, r * 4 + 2, r * 4 + 3], t * c, c);
                if plus {
                    for ch in 0..c {
                        let (e0, e1, e2, e3) = (a0[ch] + b0[ch], a1[ch] + b1[ch], a2[ch] + b2[ch], a3[ch] + b3[ch]);
                        o0[ch] = e0 - e2;
                        o1[ch] = e1 + e2;
                        o2[ch] = e2 - e1;
                        o3[ch] = e1 - e3;
                    }
                } else {
                    for ch in 0..c {
                        let (e0, e1, e2, e3) = (a0[ch] - b0[ch], a1[ch] - b1[ch], a2[ch] - b2[ch], a3[ch] - b3[ch]);
                        o0[ch] = e0 - e2;
                        o1[ch] = e1 + e2;
                        o2[ch] = e2 - e1;
                        o3[ch] = e1 - e3;
                    }
                }
            }
        }
    }
}

/// Four `len`-float slices at `at` within planes `xi` of `buf` (planes `pitch` apart, `xi`
/// increasing), mutable at once.
#[inline(always)]
fn four_planes(
    buf: &mut [f32],
    pitch: usize,
    xi: [usize; 4],
    at: usize,
    len: usize,
) -> [&mut [f32]; 4] {
    let (p0, rest) = buf[xi[0] * pitch..].split_at_mut((xi[1] - xi[0]) * pitch);
    let (p1, rest) = rest.split_at_mut((xi[2] - xi[1]) * pitch);
    let (p2, p3) = rest.split_at_mut((xi[3] - xi[2]) * pitch);
    [
        &mut p0[at..][..len],
        &mut p1[at..][..len],
        &mut p2[at..][..len],
        &mut p3[at..][..len],
    ]
}

multiversion! {
    /// One tile row's outputs from `mm` (`[16][m][n]`, its tiles from `t0`): pixels `0..2·tw`
    /// of the image rows `top` and `bottom` (`n` floats per pixel). One output row at a time
    /// (12 streams in, 2 out: the loop vectorizes).
    fn output_row(mm: &[f32], m: usize, n: usize, t0: usize, tw: usize, top: &mut [f32], bottom: &mut [f32]) {
        let pm = plane(m * n);
        for j in 0..tw {
            let t = t0 + j;
            let q = |xi: usize| &mm[xi * pm + t * n..][..n];
            for (y, row) in [&mut *top, &mut *bottom].into_iter().zip([0usize, 1]) {
                let (y0, y1) = y[2 * j * n..(2 * j + 2) * n].split_at_mut(n);
                let (y0, y1) = (&mut y0[..n], &mut y1[..n]);
                // Y[row][·] = Aᵀ[row] p, p = M A: output row 0 adds M rows 0, 1, 2; row 1 takes
                // M rows 1 − 2 − 3.
                let (r0, r1, r2) = if row == 0 { (0, 1, 2) } else { (1, 2, 3) };
                let m0 = [q(r0 * 4), q(r0 * 4 + 1), q(r0 * 4 + 2), q(r0 * 4 + 3)];
                let m1 = [q(r1 * 4), q(r1 * 4 + 1), q(r1 * 4 + 2), q(r1 * 4 + 3)];
                let m2 = [q(r2 * 4), q(r2 * 4 + 1), q(r2 * 4 + 2), q(r2 * 4 + 3)];
                let [a0, a1, a2, a3] = m0;
                let [b0, b1, b2, b3] = m1;
                let [c0, c1, c2, c3] = m2;
                if row == 0 {
                    for ch in 0..n {
                        let (p0, p1, p2) = (a0[ch] + a1[ch] + a2[ch], b0[ch] + b1[ch] + b2[ch], c0[ch] + c1[ch] + c2[ch]);
                        let (s0, s1, s2) = (a1[ch] - a2[ch] - a3[ch], b1[ch] - b2[ch] - b3[ch], c1[ch] - c2[ch] - c3[ch]);
                        y0[ch] = p0 + p1 + p2;
                        y1[ch] = s0 + s1 + s2;
                    }
                } else {
                    for ch in 0..n {
                        let (p0, p1, p2) = (a0[ch] + a1[ch] + a2[ch], b0[ch] + b1[ch] + b2[ch], c0[ch] + c1[ch] + c2[ch]);
                        let (s0, s1, s2) = (a1[ch] - a2[ch] - a3[ch], b1[ch] - b2[ch] - b3[ch], c1[ch] - c2[ch] - c3[ch]);
                        y0[ch] = p0 - p1 - p2;
                        y1[ch] = s0 - s1 - s2;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::conv;
    use crate::kernel::strided::{View4, pad};

    /// Square maps of `side` pixels.
    fn square(n: usize, cin: usize, cout: usize, side: usize) -> Geometry {
        Geometry {
            n,
            cin,
            cout,
            h: side,
            w: side,
        }
    }

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
            let g = square(n, cin, cout, side);
            let x = values(n * cin * side * side, 1);
            let w: Vec<f32> = values(cout * cin * 9, 2)
                .iter()
                .map(|v| v / (9.0 * cin as f32).sqrt())
                .collect();
            for (b, c, out) in [
                (conv::repack_forward(&w, cin, cout), cin, cout),
                (conv::repack_transposed(&w, cin, cout), cout, cin),
            ] {
                if !supports(&g) {
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

    /// The weight gradient against the definition in f64, beside the direct product's.
    #[test]
    fn winograd_weight_gradient_stays_within_float_error() {
        for (n, cin, cout, side) in [
            (1, 16, 8, 2),
            (3, 32, 64, 16),
            (2, 64, 128, 8),
            (7, 128, 40, 4),
            (2, 20, 13, 6),
        ] {
            let g = square(n, cin, cout, side);
            let xp = pad(
                &View4::nchw(&values(n * cin * side * side, 7), [n, cin, side, side]),
                &g,
            );
            let dyp = pad(
                &View4::nchw(&values(n * cout * side * side, 8), [n, cout, side, side]),
                &Geometry { cin: cout, ..g },
            );
            let mut exact = vec![0.0f64; 9 * cin * cout];
            for image in 0..n {
                for h in 0..side {
                    for w in 0..side {
                        let dy =
                            &dyp[((image * (side + 2) + h + 1) * g.wp2() + w + 1) * cout..][..cout];
                        for kh in 0..3 {
                            for kw in 0..3 {
                                let x = &xp
                                    [((image * (side + 2) + h + kh) * g.wp2() + w + kw) * cin..]
                                    [..cin];
                                for (co, d) in dy.iter().enumerate() {
                                    for (ci, xv) in x.iter().enumerate() {
                                        exact[((co * cin + ci) * 3 + kh) * 3 + kw] +=
                                            *d as f64 * *xv as f64;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let scale = exact.iter().map(|x| x.abs()).fold(0.0f64, f64::max);
            let error = |dw: &[f32]| {
                dw.iter()
                    .zip(&exact)
                    .map(|(a, e)| (*a as f64 - e).abs())
                    .fold(0.0f64, f64::max)
                    / scale
            };
            let (ed, ew) = (
                error(&conv::weight_grad(&xp, &dyp, &g)),
                error(&weight_grad(&xp, &dyp, &g)),
            );
            eprintln!(
                "weight grad {:?}: direct {ed:.1e}, Winograd {ew:.1e}",
                (n, cin, cout, side)
            );
            assert!(
                ew < 1e-5 && ew <= 8.0 * ed.max(1e-7),
                "{:?}: {ew:e} against {ed:e}",
                (n, cin, cout, side)
            );
            let one_thread = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| weight_grad(&xp, &dyp, &g));
            assert_eq!(
                one_thread,
                weight_grad(&xp, &dyp, &g),
                "threads change the bits"
            );
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
    fn applies_to_even_sides_enough_channels_and_tiles() {
        let g = |n, h, w| Geometry {
            n,
            cin: 32,
            cout: 8,
            h,
            w,
        };
        assert!(applies(32, &g(8, 8, 4)));
        assert!(!applies(32, &g(8, 7, 4)));
        assert!(!applies(3, &g(8, 8, 8)));
        assert!(!applies(32, &g(1, 0, 0)));
        // Block 4 of the seedlings CNN at 32 px: batch 32 has 128 tiles, batch 7 has 28.
        assert!(applies(128, &g(32, 4, 4)));
        assert!(!applies(128, &g(7, 4, 4)));
        assert!(supports(&g(7, 4, 4)));
    }
}
