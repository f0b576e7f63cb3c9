//! The block's two kinds of product, register-tiled, on the overlapping view `a(r, k) =
//! xh[r·s + k]` of a row-im2col buffer (row stride `s`, row length `K`):
//!
//! ```text
//! rows product   out[r][j] = Σ_{k<K} a(r, k) · b[k][j]        (forward, input gradient)
//! grad product   dw[k][j]  = Σ_{r<rows} a(r, k) · d[r][j]     (weight gradient)
//! ```
//!
//! Only some rows are wanted ([`Rows`]): `count` segments of `len` consecutive rows, `pitch`
//! rows apart. The conv's GEMM rows are `N·H` segments of `W` pixels, `W + 2` apart: the two
//! scratch rows between segments are neither computed nor summed (zeros in the output).
//!
//! A tile keeps `T × 2W` sums in registers (the private `lanes` module: `T` rows and two vectors of `W` output
//! columns): each step loads two vectors of `b` (or `d`), broadcasts `T` values of `a` and issues
//! `2T` fused multiply-adds. The rows product packs `b` into panels of `2W` columns and runs `K`
//! in blocks of `KC` (a panel's block stays in L1 while the row tiles stream past it); the grad
//! product keeps `T` consecutive `k` × `2W` columns in registers while the rows stream past.
//!
//! Every output is one chain of fused multiply-adds in `k` (or `r`) order, whatever the thread
//! count, the tile sizes or the instruction set (AVX-512, AVX2 + FMA or plain Rust); the grad product splits the
//! rows into a number of chunks fixed by the shape (not by the threads) and adds the chunks'
//! sums in order. The same inputs give the same bits on any machine.

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::lanes::{Avx2, Avx512};
use super::lanes::{Lanes, Plain};

/// The instruction set the products run with, detected once per call (the detection is cached
/// by std).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Plain,
}

fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2;
        }
    }
    Isa::Plain
}

impl Isa {
    /// Floats per vector.
    fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::W,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::W,
            Isa::Plain => Plain::W,
        }
    }

    /// Rows of a register tile.
    fn tile(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::TILE,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::TILE,
            Isa::Plain => Plain::TILE,
        }
    }
}

/// A raw pointer that tasks writing disjoint parts of one buffer share.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: every task writes its own rows or columns of the buffer (see the callers).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

/// The rows a product computes: `count` segments of `len` consecutive rows, each starting
/// `pitch ≥ len` rows after the previous one (the first at row 0). Rows between segments are
/// not computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// Segments.
    pub count: usize,
    /// Rows per segment.
    pub len: usize,
    /// Rows from one segment's start to the next one's.
    pub pitch: usize,
}

impl Rows {
    /// `rows` consecutive rows (one segment).
    pub fn all(rows: usize) -> Self {
        Self {
            count: usize::from(rows > 0),
            len: rows,
            pitch: rows,
        }
    }

    /// Rows from the first computed one to the last: `(count − 1)·pitch + len`.
    pub fn span(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            (self.count - 1) * self.pitch + self.len
        }
    }

    /// Rows computed: `count·len`.
    pub fn computed(&self) -> usize {
        self.count * self.len
    }
}

/// `out[r][j] = Σ_{k<K} xh[r·s + k]·b[k][j]` for the rows `r` of `rows` and `j < n`; the output
/// is `count·pitch × n`, row-major, with zeros in the rows after each segment.
///
/// ```
/// use burn_fused_conv::kernel::tile::{Rows, rows_product};
/// // Three rows of K = 3 overlapping with stride 1: a = [[1, 2, 3], [2, 3, 4], [3, 4, 5]].
/// let xh = [1.0, 2.0, 3.0, 4.0, 5.0];
/// let b = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]; // 3 × 2
/// assert_eq!(rows_product(&xh, 1, 3, &b, 2, Rows::all(3)), [4.0, 2.0, 6.0, 3.0, 8.0, 4.0]);
/// // Rows 0 and 2 only (segments of 1 row, 2 apart): rows 1 and 3 are zero.
/// let skip = Rows { count: 2, len: 1, pitch: 2 };
/// let out = rows_product(&xh, 1, 3, &b, 2, skip);
/// assert_eq!(out, [4.0, 2.0, 0.0, 0.0, 8.0, 4.0, 0.0, 0.0]);
/// ```
pub fn rows_product(xh: &[f32], s: usize, k: usize, b: &[f32], n: usize, rows: Rows) -> Vec<f32> {
    assert_eq!(b.len(), k * n, "right operand of the wrong size");
    assert!(rows.len <= rows.pitch, "segments overlap");
    let span = rows.span();
    if span > 0 {
        assert!(
            k == 0 || xh.len() >= (span - 1) * s + k,
            "left operand too short"
        );
    }
    let len = rows.count * rows.pitch * n;
    if rows.computed() * n == 0 || k == 0 {
        return vec![0.0; len];
    }
    let isa = isa();
    let (w, t) = (isa.lanes(), isa.tile());
    let nr = 2 * w;
    let panels = n.div_ceil(nr);
    // b in panels of 2W columns, zero-padded: packed[p][k][0..2W].
    let mut packed = vec![0.0f32; panels * k * nr];
    for p in 0..panels {
        let cols = nr.min(n - p * nr);
        for kk in 0..k {
            let src = &b[kk * n + p * nr..kk * n + p * nr + cols];
            packed[(p * k + kk) * nr..(p * k + kk) * nr + cols].copy_from_slice(src);
        }
    }
    // Tasks of whole segments, about 16 of them (or segments of about `t` rows' work).
    let per_task = rows.count.div_ceil(16).max(t.div_ceil(rows.len));
    let mut out = Vec::<f32>::with_capacity(len);
    let job = RowsJob {
        a: xh.as_ptr(),
        s,
        k,
        packed: &packed,
        n,
        panels,
        rows,
        out: Shared(out.as_mut_ptr()),
    };
    (0..rows.count.div_ceil(per_task))
        .into_par_iter()
        .for_each(|task| {
            let g0 = task * per_task;
            let g1 = rows.count.min(g0 + per_task);
            // SAFETY: the task writes the rows of segments g0..g1 (and the gaps after them) of
            // `out` only; the reads are inside `xh` and `packed` by the assertions above; `isa`
            // was detected on this processor.
            unsafe {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => rows_task_avx512(&job, g0, g1),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => rows_task_avx2(&job, g0, g1),
                    Isa::Plain => rows_task::<Plain>(&job, g0, g1),
                }
            }
        });
    // SAFETY: the tasks cover every segment and the gaps between them; a task writes every
    // column of its rows (the first K block stores each tile's columns 0..n) and zeros the gaps.
    unsafe { out.set_len(len) };
    out
}

/// One call of [`rows_product`], shared by its tasks.
struct RowsJob<'a> {
    a: *const f32,
    s: usize,
    k: usize,
    packed: &'a [f32],
    n: usize,
    panels: usize,
    rows: Rows,
    out: Shared,
}
// SAFETY: `a` is only read.
unsafe impl Sync for RowsJob<'_> {}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rows_task_avx512(job: &RowsJob<'_>, g0: usize, g1: usize) {
    unsafe { rows_task::<Avx512>(job, g0, g1) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_task_avx2(job: &RowsJob<'_>, g0: usize, g1: usize) {
    unsafe { rows_task::<Avx2>(job, g0, g1) }
}

/// Calls `$f::<L, M>($args)` for the run-time `$m` in `1..=12`.
macro_rules! by_rows {
    ($m:expr, $f:ident, $l:ty, ($($arg:expr),*)) => {
        match $m {
            1 => $f::<$l, 1>($($arg),*),
            2 => $f::<$l, 2>($($arg),*),
            3 => $f::<$l, 3>($($arg),*),
            4 => $f::<$l, 4>($($arg),*),
            5 => $f::<$l, 5>($($arg),*),
            6 => $f::<$l, 6>($($arg),*),
            7 => $f::<$l, 7>($($arg),*),
            8 => $f::<$l, 8>($($arg),*),
            9 => $f::<$l, 9>($($arg),*),
            10 => $f::<$l, 10>($($arg),*),
            11 => $f::<$l, 11>($($arg),*),
            12 => $f::<$l, 12>($($arg),*),
            m => unreachable!("a tile of {m} rows"),
        }
    };
}

/// Rows of the left operand a rows task keeps hot at a time (about 256 KB: L2), over which it
/// runs every `K` block and panel.
fn group_rows(s: usize) -> usize {
    (65_536 / s.max(1)).clamp(24, 512)
}

/// Segments `g0..g1` of a rows product, in groups of about [`group_rows`] rows: for each group,
/// `K` blocks, then panels, then tiles of up to `L::TILE` rows (within a segment, or whole short
/// segments together); then zeros in the gap after each segment.
#[inline(always)]
unsafe fn rows_task<L: Lanes>(job: &RowsJob<'_>, g0: usize, g1: usize) {
    let nr = 2 * L::W;
    let rows = job.rows;
    // Rows of a tile relative to its first: consecutive within a segment, or `per_tile` whole
    // segments when segments are shorter than a tile.
    let per_tile = (L::TILE / rows.len).max(1);
    let mut a_off = [0usize; 12];
    let mut c_off = [0usize; 12];
    for i in 0..L::TILE {
        let r = if per_tile > 1 {
            (i / rows.len) * rows.pitch + i % rows.len
        } else {
            i
        };
        (a_off[i], c_off[i]) = (r * job.s, r * job.n);
    }
    let per_group = (group_rows(job.s) / rows.len).max(per_tile);
    let mut gs = g0;
    while gs < g1 {
        let ge = g1.min(gs + per_group);
        let mut k0 = 0;
        while k0 < job.k {
            let kc = L::KC.min(job.k - k0);
            for p in 0..job.panels {
                let cols = nr.min(job.n - p * nr);
                // SAFETY (all pointer arithmetic below): inside `packed`, `xh` and `out` as
                // asserted by `rows_product`.
                let b = unsafe { job.packed.as_ptr().add((p * job.k + k0) * nr) };
                // (first row, rows) of each tile of the group, in order; no closure, which
                // would not be compiled for `L`'s instruction set.
                let (mut seg, mut r) = (gs, gs * rows.pitch);
                while seg < ge {
                    let (start, m) = if per_tile > 1 {
                        let segs = per_tile.min(ge - seg);
                        let start = seg * rows.pitch;
                        seg += segs;
                        r = seg * rows.pitch;
                        (start, segs * rows.len)
                    } else {
                        let m = L::TILE.min(seg * rows.pitch + rows.len - r);
                        let start = r;
                        r += m;
                        if r == seg * rows.pitch + rows.len {
                            seg += 1;
                            r = seg * rows.pitch;
                        }
                        (start, m)
                    };
                    unsafe {
                        let a = job.a.add(start * job.s + k0);
                        let c = job.out.0.add(start * job.n + p * nr);
                        let args = (a, &a_off, b, kc, c, &c_off, cols, k0 == 0);
                        by_rows!(m, rows_tile, L, (args))
                    }
                }
            }
            k0 += kc;
        }
        gs = ge;
    }
    for seg in g0..g1 {
        for r in (seg * rows.pitch + rows.len)..(seg + 1) * rows.pitch {
            // SAFETY: row r < count·pitch, the rows of `out`.
            unsafe { std::ptr::write_bytes(job.out.0.add(r * job.n), 0, job.n) };
        }
    }
}

/// The arguments of one tile: the left operand at its first row and `k`, each row's offset
/// from there, the packed panel at that `k`, the `k` steps, the output at its first row and
/// column, each row's offset from there, the valid columns and whether this is the first `K`
/// block.
type TileArgs<'a> = (
    *const f32,
    &'a [usize; 12],
    *const f32,
    usize,
    *mut f32,
    &'a [usize; 12],
    usize,
    bool,
);

/// `M` rows × `2W` columns of a rows product over `kc` steps of `k`.
#[inline(always)]
unsafe fn rows_tile<L: Lanes, const M: usize>(args: TileArgs<'_>) {
    let (a, a_off, b, kc, c, c_off, cols, first) = args;
    let mut acc = [[unsafe { L::zero() }; 2]; M];
    unsafe {
        let a: [*const f32; M] = std::array::from_fn(|i| a.add(a_off[i]));
        if !first {
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = load_pair::<L>(c.add(c_off[i]), cols);
            }
        }
        for kk in 0..kc {
            let b0 = L::load(b.add(kk * 2 * L::W));
            let b1 = L::load(b.add(kk * 2 * L::W + L::W));
            for (i, acc) in acc.iter_mut().enumerate() {
                let x = L::splat(a[i].add(kk));
                acc[0] = L::fma(x, b0, acc[0]);
                acc[1] = L::fma(x, b1, acc[1]);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            store_pair::<L>(c.add(c_off[i]), *acc, cols);
        }
    }
}

/// Two vectors from `p`, of which the first `cols` lanes are read (zeros beyond).
#[inline(always)]
unsafe fn load_pair<L: Lanes>(p: *const f32, cols: usize) -> [L::V; 2] {
    unsafe {
        if cols >= 2 * L::W {
            [L::load(p), L::load(p.add(L::W))]
        } else if cols > L::W {
            [L::load(p), L::load_n(p.add(L::W), cols - L::W)]
        } else if cols == L::W {
            [L::load(p), L::zero()]
        } else {
            [L::load_n(p, cols), L::zero()]
        }
    }
}

/// The first `cols` lanes of two vectors to `p`.
#[inline(always)]
unsafe fn store_pair<L: Lanes>(p: *mut f32, v: [L::V; 2], cols: usize) {
    unsafe {
        if cols >= 2 * L::W {
            L::store(p, v[0]);
            L::store(p.add(L::W), v[1]);
        } else if cols > L::W {
            L::store(p, v[0]);
            L::store_n(p.add(L::W), v[1], cols - L::W);
        } else if cols == L::W {
            L::store(p, v[0]);
        } else {
            L::store_n(p, v[0], cols);
        }
    }
}

/// Segment chunks of a grad product: their sums are added in order, so the count depends on
/// the shape only. Enough (chunk, 32-column panel) pairs for 8 tasks, chunks of ≥ 256 rows.
fn grad_chunks(rows: Rows, n: usize) -> usize {
    (8 / n.div_ceil(32))
        .clamp(1, 8)
        .min(rows.computed() / 256)
        .min(rows.count)
        .max(1)
}

/// Rows a grad task takes at a time (whole segments, at least one): its panel of `d` (`2W`
/// columns) stays in L1 while the `k` tiles pass over it.
const GRAD_ROW_BLOCK: usize = 128;

/// `dw[k][j] = Σ_r xh[r·s + k]·d[r][j]` over the rows `r` of `rows`, for `k < K`, `j < n`:
/// `K × n`, row-major.
///
/// ```
/// use burn_fused_conv::kernel::tile::{Rows, grad_product};
/// // a = [[1, 2], [2, 3]] (stride 1, K = 2), d = [[1], [10]].
/// assert_eq!(grad_product(&[1.0, 2.0, 3.0], 1, 2, &[1.0, 10.0], 1, Rows::all(2)), [21.0, 32.0]);
/// ```
pub fn grad_product(xh: &[f32], s: usize, k: usize, d: &[f32], n: usize, rows: Rows) -> Vec<f32> {
    assert!(rows.len <= rows.pitch, "segments overlap");
    let span = rows.span();
    assert!(d.len() >= span * n, "right operand too short");
    if span > 0 {
        assert!(
            k == 0 || xh.len() >= (span - 1) * s + k,
            "left operand too short"
        );
    }
    let len = k * n;
    if len == 0 || rows.computed() == 0 {
        return vec![0.0; len];
    }
    let isa = isa();
    let nr = 2 * isa.lanes();
    let panels = n.div_ceil(nr);
    let chunks = grad_chunks(rows, n);
    let mut partials = Vec::<f32>::with_capacity(chunks * len);
    let job = GradJob {
        a: xh.as_ptr(),
        s,
        k,
        d: d.as_ptr(),
        n,
        rows,
        out: Shared(partials.as_mut_ptr()),
    };
    (0..chunks * panels).into_par_iter().for_each(|task| {
        let (chunk, p) = (task / panels, task % panels);
        let segments = (
            chunk * rows.count / chunks,
            (chunk + 1) * rows.count / chunks,
        );
        let cols = (p * nr, n.min(p * nr + nr));
        // SAFETY: the task writes columns cols of chunk `chunk`'s K × n partial only; the
        // reads are inside `xh` and `d` by the assertions above; `isa` was detected here.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => grad_task_avx512(&job, chunk, segments, cols),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => grad_task_avx2(&job, chunk, segments, cols),
                Isa::Plain => grad_task::<Plain>(&job, chunk, segments, cols),
            }
        }
    });
    // SAFETY: every (chunk, panel) task wrote all K rows of its columns (its first row block
    // stores each tile whole), and the panels cover 0..n.
    unsafe { partials.set_len(chunks * len) };
    let (sum, rest) = partials.split_at_mut(len);
    for part in rest.chunks_exact(len) {
        for (s, p) in sum.iter_mut().zip(part) {
            *s += p;
        }
    }
    partials.truncate(len);
    partials
}

/// One call of [`grad_product`], shared by its tasks.
struct GradJob {
    a: *const f32,
    s: usize,
    k: usize,
    d: *const f32,
    n: usize,
    rows: Rows,
    out: Shared,
}
// SAFETY: `a` and `d` are only read.
unsafe impl Sync for GradJob {}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn grad_task_avx512(job: &GradJob, chunk: usize, segments: Span, cols: Span) {
    unsafe { grad_task::<Avx512>(job, chunk, segments, cols) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn grad_task_avx2(job: &GradJob, chunk: usize, segments: Span, cols: Span) {
    unsafe { grad_task::<Avx2>(job, chunk, segments, cols) }
}

/// A half-open range `(start, end)`.
type Span = (usize, usize);

/// Columns `cols` (one panel) of chunk `chunk`'s partial sum over segments `segments`: blocks
/// of whole segments, then tiles of `L::TILE` consecutive `k`.
#[inline(always)]
unsafe fn grad_task<L: Lanes>(job: &GradJob, chunk: usize, segments: Span, cols: Span) {
    let ((g0, g1), (j0, j1)) = (segments, cols);
    let rows = job.rows;
    let per_block = (GRAD_ROW_BLOCK / rows.len.max(1)).max(1);
    // SAFETY (all pointer arithmetic below): inside `xh`, `d` and the partials as asserted
    // and allocated by `grad_product`.
    let out = unsafe { job.out.0.add(chunk * job.k * job.n + j0) };
    let mut gb = g0;
    while gb < g1 {
        let count = per_block.min(g1 - gb);
        let r = gb * rows.pitch;
        let block = Rows { count, ..rows };
        let mut k0 = 0;
        while k0 < job.k {
            let m = L::TILE.min(job.k - k0);
            unsafe {
                let args = (
                    job.a.add(r * job.s + k0),
                    job.s,
                    job.d.add(r * job.n + j0),
                    block,
                    out.add(k0 * job.n),
                    job.n,
                    j1 - j0,
                    gb == g0,
                );
                by_rows!(m, grad_tile, L, (args))
            }
            k0 += m;
        }
        gb += count;
    }
}

/// `M` consecutive `k` × `2W` columns of a grad product over the rows of a block of segments:
/// the left operand at its first row and `k`, its row stride, `d` at its first row and column
/// (row stride = the output's), the segments, the output at its first `k` and column, the
/// output's row stride, the valid columns and whether these are the chunk's first rows.
type GradArgs = (
    *const f32,
    usize,
    *const f32,
    Rows,
    *mut f32,
    usize,
    usize,
    bool,
);

#[inline(always)]
unsafe fn grad_tile<L: Lanes, const M: usize>(args: GradArgs) {
    let (a, s, d, rows, c, ldc, cols, first) = args;
    let mut acc = [[unsafe { L::zero() }; 2]; M];
    unsafe {
        if !first {
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = load_pair::<L>(c.add(i * ldc), cols);
            }
        }
        for seg in 0..rows.count {
            let (r0, r1) = (seg * rows.pitch, seg * rows.pitch + rows.len);
            if cols == 2 * L::W {
                for r in r0..r1 {
                    let d0 = L::load(d.add(r * ldc));
                    let d1 = L::load(d.add(r * ldc + L::W));
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let x = L::splat(a.add(r * s + i));
                        acc[0] = L::fma(x, d0, acc[0]);
                        acc[1] = L::fma(x, d1, acc[1]);
                    }
                }
            } else {
                for r in r0..r1 {
                    let [d0, d1] = load_pair::<L>(d.add(r * ldc), cols);
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let x = L::splat(a.add(r * s + i));
                        acc[0] = L::fma(x, d0, acc[0]);
                        acc[1] = L::fma(x, d1, acc[1]);
                    }
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            store_pair::<L>(c.add(i * ldc), *acc, cols);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 1013) as f32 - 506.0) / 311.0)
            .collect()
    }

    /// Both products against the definition, in f64, on shapes with every kind of edge: tails of
    /// rows, of `k` tiles and of columns, one panel and several, one `K` block and several.
    #[test]
    fn products_equal_the_definition_on_ragged_shapes() {
        for &(s, k, n, rows) in &[
            (9, 27, 32, 100),
            (3, 9, 5, 7),
            (39, 117, 13, 61),
            (96, 288, 64, 300),
            (192, 576, 19, 45),
            (384, 1152, 40, 29),
            (1, 1, 1, 1),
        ] {
            let xh = values((rows - 1) * s + k, 1);
            let b = values(k * n, 2);
            let d = values(rows * n, 3);
            let out = rows_product(&xh, s, k, &b, n, Rows::all(rows));
            for r in 0..rows {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|kk| xh[r * s + kk] as f64 * b[kk * n + j] as f64)
                        .sum();
                    let got = out[r * n + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "rows {s} {k} {n} {rows}: {got} vs {want}"
                    );
                }
            }
            let dw = grad_product(&xh, s, k, &d, n, Rows::all(rows));
            for kk in 0..k {
                for j in 0..n {
                    let want: f64 = (0..rows)
                        .map(|r| xh[r * s + kk] as f64 * d[r * n + j] as f64)
                        .sum();
                    let got = dw[kk * n + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "grad {s} {k} {n} {rows}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// Segments: only their rows are computed (zeros after each) and summed.
    #[test]
    fn segments_skip_the_rows_between_them() {
        let (s, k, n) = (12, 36, 40);
        let rows = Rows {
            count: 37,
            len: 4,
            pitch: 6,
        };
        let span = rows.span();
        let xh = values((span - 1) * s + k, 7);
        let b = values(k * n, 8);
        let d = values(span * n, 9);
        let full = rows_product(&xh, s, k, &b, n, Rows::all(span));
        let out = rows_product(&xh, s, k, &b, n, rows);
        assert_eq!(out.len(), rows.count * rows.pitch * n);
        for r in 0..rows.count * rows.pitch {
            let row = &out[r * n..(r + 1) * n];
            if r % rows.pitch < rows.len {
                assert_eq!(row, &full[r * n..(r + 1) * n]);
            } else {
                assert!(row.iter().all(|&v| v == 0.0));
            }
        }
        // The grad product over the segments equals it over all rows with d zero between them.
        let mut d_zeroed = d.clone();
        for r in 0..span {
            if r % rows.pitch >= rows.len {
                d_zeroed[r * n..(r + 1) * n].fill(0.0);
            }
        }
        let dw = grad_product(&xh, s, k, &d, n, rows);
        let dw_all = grad_product(&xh, s, k, &d_zeroed, n, Rows::all(span));
        for (a, b) in dw.iter().zip(&dw_all) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }

    /// The vector paths give the plain path's bits.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let (s, k, n, rows) = (39, 117, 45, 700);
        let xh = values((rows - 1) * s + k, 4);
        let b = values(k * n, 5);
        let d = values(rows * n, 6);
        let (vector_rows, vector_grad) = (
            rows_product(&xh, s, k, &b, n, Rows::all(rows)),
            grad_product(&xh, s, k, &d, n, Rows::all(rows)),
        );
        let plain_rows = {
            let mut packed = vec![0.0f32; n.div_ceil(16) * k * 16];
            for p in 0..n.div_ceil(16) {
                for kk in 0..k {
                    for j in 0..16.min(n - p * 16) {
                        packed[(p * k + kk) * 16 + j] = b[kk * n + p * 16 + j];
                    }
                }
            }
            let mut out = vec![0.0f32; rows * n];
            let job = RowsJob {
                a: xh.as_ptr(),
                s,
                k,
                packed: &packed,
                n,
                panels: n.div_ceil(16),
                rows: Rows::all(rows),
                out: Shared(out.as_mut_ptr()),
            };
            unsafe { rows_task::<Plain>(&job, 0, 1) };
            out
        };
        assert_eq!(vector_rows, plain_rows);
        let plain_grad = {
            let chunks = grad_chunks(Rows::all(rows), n);
            assert_eq!(chunks, 1, "one segment is one chunk");
            let mut partials = vec![0.0f32; chunks * k * n];
            let job = GradJob {
                a: xh.as_ptr(),
                s,
                k,
                d: d.as_ptr(),
                n,
                rows: Rows::all(rows),
                out: Shared(partials.as_mut_ptr()),
            };
            for p in 0..n.div_ceil(16) {
                unsafe { grad_task::<Plain>(&job, 0, (0, 1), (p * 16, n.min(p * 16 + 16))) };
            }
            let (sum, rest) = partials.split_at_mut(k * n);
            for part in rest.chunks_exact(k * n) {
                for (s, p) in sum.iter_mut().zip(part) {
                    *s += p;
                }
            }
            sum.to_vec()
        };
        assert_eq!(vector_grad, plain_grad);
    }
}
