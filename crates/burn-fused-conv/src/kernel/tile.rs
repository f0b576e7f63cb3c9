//! The block's two kinds of product, register-tiled, on a left operand read in place:
//!
//! ```text
//! rows product   out[r][j] = Σ_{k<K} a(r, k) · b[k][j]        (forward, input gradient)
//! grad product   dw[k][j]  = Σ_r a(r, k) · d[r][j]           (weight gradient)
//! a(r, k) = data[row(r)·s + offset_p + (k − k_p)]   for k in piece p = [k_p, k_p + len_p)
//! ```
//!
//! ([`Left`]): `K` is split into pieces, each contiguous in memory at its own offset from the
//! row's start. The conv reads its padded input this way, one piece per kernel row `kh` (the
//! `3·C` values of `kw` and `c` are adjacent in channels-last memory), so no im2col copy is made.
//!
//! Only some rows are wanted ([`Rows`]): `count` segments of `len` consecutive rows, whose output
//! rows start `pitch` apart; the rows between segments are not computed (zeros in the output).
//! A [`RowMap`] places each segment's rows in the left operand (and in `d`): the conv's output
//! rows are `N·H` segments of `W` pixels, and the padded input has two more rows and columns per
//! image than the output.
//!
//! A tile keeps `T × 2W` sums in registers (the private `lanes` module: `T` rows and two vectors
//! of `W` output columns): each step loads two vectors of `b` (or `d`), broadcasts `T` values of
//! `a` and issues `2T` fused multiply-adds. The rows product packs `b` into panels of `2W`
//! columns and runs `K` in blocks of `KC` within each piece (a panel's block stays in L1 while
//! the row tiles stream past it); the grad product keeps `T` consecutive `k` × `2W` columns in
//! registers while the rows stream past.
//!
//! Every output is one chain of fused multiply-adds in `k` (or `r`) order, whatever the thread
//! count, the tile sizes or the instruction set (AVX-512, AVX2 + FMA or plain Rust); the grad
//! product splits the rows into a number of chunks fixed by the shape (not by the threads) and
//! adds the chunks' sums in order. The same inputs give the same bits on any machine.

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::lanes::{Avx2, Avx512};
use super::lanes::{Lanes, Plain};
use crate::isa::Isa;

/// The products' block sizes for each instruction set.
trait Blocking {
    fn lanes(self) -> usize;
    fn kc(self) -> usize;
    fn tile(self) -> usize;
}

impl Blocking for Isa {
    /// Floats per vector.
    fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::W,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::W,
            _ => Plain::W,
        }
    }

    /// `K` block of the rows product.
    fn kc(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::KC,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::KC,
            _ => Plain::KC,
        }
    }

    /// Rows of a register tile.
    fn tile(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::TILE,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::TILE,
            _ => Plain::TILE,
        }
    }
}

/// A raw pointer that tasks writing disjoint parts of one buffer share.
#[derive(Clone, Copy)]
pub(crate) struct Shared(pub(crate) *mut f32);
// SAFETY: every task writes its own rows or columns of the buffer (see the callers).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The buffer from float `at` (a method, so that closures capture the whole `Shared`).
    pub(crate) fn at(&self, at: usize) -> *mut f32 {
        // SAFETY: the callers stay inside the buffer's allocation.
        unsafe { self.0.add(at) }
    }
}

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

    /// Rows computed: `count·len`.
    pub fn computed(&self) -> usize {
        self.count * self.len
    }
}

/// Where segment `g`'s first row is in an operand:
/// `offset + (g / per_image)·image_pitch + (g % per_image)·row_pitch` (its other rows follow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowMap {
    /// Segments per image.
    pub per_image: usize,
    /// Rows from one image's start to the next one's (at least `per_image·row_pitch`).
    pub image_pitch: usize,
    /// Rows from one segment's start to the next one's within an image.
    pub row_pitch: usize,
    /// The first segment's first row.
    pub offset: usize,
}

impl RowMap {
    /// Segment `g` at row `g·pitch`.
    pub fn linear(pitch: usize) -> Self {
        Self {
            per_image: 1,
            image_pitch: pitch,
            row_pitch: 0,
            offset: 0,
        }
    }

    /// Segment `g`'s first row.
    #[inline]
    pub fn first(&self, g: usize) -> usize {
        self.offset
            + (g / self.per_image) * self.image_pitch
            + (g % self.per_image) * self.row_pitch
    }
}

/// The left operand `a(r, k) = data[row(r)·s + offset_p + (k − k_p)]`: `row` from `map`, `K`
/// the pieces' lengths together.
#[derive(Debug, Clone, Copy)]
pub struct Left<'a> {
    /// The memory.
    pub data: &'a [f32],
    /// Floats from one row to the next.
    pub s: usize,
    /// `(offset, len)` of each piece of `K`, in `k` order.
    pub pieces: &'a [(usize, usize)],
    /// Where each segment's rows are.
    pub map: RowMap,
}

impl Left<'_> {
    /// `K`: the pieces' lengths together.
    pub fn k(&self) -> usize {
        self.pieces.iter().map(|p| p.1).sum()
    }

    /// Panics unless every row of `rows` reads inside `data`.
    fn check(&self, rows: Rows) {
        let m = self.map;
        assert!(
            m.per_image > 0
                && m.image_pitch >= m.per_image.saturating_sub(1) * m.row_pitch + rows.len,
            "segments of an image overlap the next image's"
        );
        if rows.computed() == 0 {
            return;
        }
        let last_row = m.first(rows.count - 1) + rows.len - 1;
        let reach = self.pieces.iter().map(|&(o, l)| o + l).max().unwrap_or(0);
        assert!(
            last_row * self.s + reach <= self.data.len(),
            "left operand too short"
        );
    }
}

/// `out[r][j] = Σ_{k<K} a(r, k)·b[k][j]` for the rows `r` of `rows` and `j < n`; the output
/// is `count·pitch × n`, row-major, with zeros in the rows after each segment.
///
/// ```
/// use burn_fused_conv::kernel::tile::{Left, RowMap, Rows, rows_product};
/// // Three rows of K = 3 overlapping with stride 1: a = [[1, 2, 3], [2, 3, 4], [3, 4, 5]].
/// let xh = [1.0, 2.0, 3.0, 4.0, 5.0];
/// let left = Left { data: &xh, s: 1, pieces: &[(0, 3)], map: RowMap::linear(3) };
/// let b = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]; // 3 × 2
/// assert_eq!(rows_product(&left, &b, 2, Rows::all(3)), [4.0, 2.0, 6.0, 3.0, 8.0, 4.0]);
/// // Rows 0 and 2 only (segments of 1 row, 2 apart): rows 1 and 3 are zero.
/// let skip = Left { map: RowMap::linear(2), ..left };
/// let out = rows_product(&skip, &b, 2, Rows { count: 2, len: 1, pitch: 2 });
/// assert_eq!(out, [4.0, 2.0, 0.0, 0.0, 8.0, 4.0, 0.0, 0.0]);
/// // K in two pieces: a(r, ·) = [xh[r], xh[r + 2], xh[r + 3]] (pieces at offsets 0 and 2).
/// let two = Left { pieces: &[(0, 1), (2, 2)], ..left };
/// assert_eq!(rows_product(&two, &b, 2, Rows::all(2)), [5.0, 3.0, 7.0, 4.0]);
/// ```
pub fn rows_product(left: &Left<'_>, b: &[f32], n: usize, rows: Rows) -> Vec<f32> {
    rows_product_with(Isa::active(), left, b, n, rows, None)
}

/// What a rows product calls as soon as a group of whole segments is final:
/// `done((first, end), rows)` with `rows` the output from segment `first`'s first row
/// (`pitch·n` floats per segment, zeros in the gaps), while they are still in cache.
/// Called once per segment, from the task that computed it, in parallel with other tasks.
pub type SegmentsDone<'a> = &'a (dyn Fn(Span, &[f32]) + Sync);

/// [`rows_product`], calling `done` on each group of segments as soon as it is final: the same
/// output, and a pass over it that reads cache instead of memory.
///
/// ```
/// use std::sync::Mutex;
/// use burn_fused_conv::kernel::tile::{Left, RowMap, Rows, rows_product, rows_product_then};
/// let xh = [1.0, 2.0, 3.0, 4.0, 5.0];
/// let left = Left { data: &xh, s: 1, pieces: &[(0, 3)], map: RowMap::linear(1) };
/// let b = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0]; // 3 × 2
/// let rows = Rows { count: 3, len: 1, pitch: 1 };
/// let seen = Mutex::new(vec![0.0; 3]);
/// let done = |(first, end): (usize, usize), out: &[f32]| {
///     for seg in first..end {
///         seen.lock().unwrap()[seg] = out[(seg - first) * 2]; // column 0 of the segment's row
///     }
/// };
/// let out = rows_product_then(&left, &b, 2, rows, &done);
/// assert_eq!(out, rows_product(&left, &b, 2, rows));
/// assert_eq!(*seen.lock().unwrap(), [4.0, 6.0, 8.0]);
/// ```
pub fn rows_product_then(
    left: &Left<'_>,
    b: &[f32],
    n: usize,
    rows: Rows,
    done: SegmentsDone<'_>,
) -> Vec<f32> {
    rows_product_with(Isa::active(), left, b, n, rows, Some(done))
}

/// [`rows_product`] with the given instruction set, which the processor must have.
fn rows_product_with(
    isa: Isa,
    left: &Left<'_>,
    b: &[f32],
    n: usize,
    rows: Rows,
    done: Option<SegmentsDone<'_>>,
) -> Vec<f32> {
    let k = left.k();
    assert_eq!(b.len(), k * n, "right operand of the wrong size");
    assert!(rows.len <= rows.pitch, "segments overlap");
    left.check(rows);
    let len = rows.count * rows.pitch * n;
    if rows.computed() * n == 0 || k == 0 {
        return vec![0.0; len];
    }
    let (w, t) = (isa.lanes(), isa.tile());
    let nr = 2 * w;
    let panels = n.div_ceil(nr);
    let packed = pack_panels(b, k, n, nr);
    let passes = passes(left.pieces, isa.kc());
    // Tasks of whole segments, about 16 of them (or segments of about `t` rows' work).
    let per_task = rows.count.div_ceil(16).max(t.div_ceil(rows.len));
    let mut out = Vec::<f32>::with_capacity(len);
    let job = RowsJob {
        left: *left,
        k,
        packed: &packed,
        passes: &passes,
        n,
        panels,
        rows,
        out: Shared(out.as_mut_ptr()),
        done,
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
                    _ => rows_task::<Plain>(&job, g0, g1),
                }
            }
        });
    // SAFETY: the tasks cover every segment and the gaps between them; a task writes every
    // column of its rows (the first K block stores each tile's columns 0..n) and zeros the gaps.
    unsafe { out.set_len(len) };
    out
}

/// A right operand `b` (`K × n`) packed once for many [`small_product`]s on the calling thread,
/// for the instruction set the products run with.
#[derive(Debug, Clone)]
pub struct Packed {
    data: Vec<f32>,
    k: usize,
    n: usize,
    passes: Vec<Pass>,
    isa: Isa,
}

impl Packed {
    /// `b`, `K × n` row-major.
    pub fn new(b: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(b.len(), k * n, "right operand of the wrong size");
        Self::from_rows(k, n, |kk| &b[kk * n..(kk + 1) * n])
    }

    /// The `K × n` operand whose row `kk` is `row(kk)` (`n` floats each, wherever they are).
    pub fn from_rows<'a>(k: usize, n: usize, row: impl Fn(usize) -> &'a [f32]) -> Self {
        let isa = Isa::active();
        Self {
            data: pack_rows(k, n, 2 * isa.lanes(), row),
            k,
            n,
            passes: passes(&[(0, k)], isa.kc()),
            isa,
        }
    }
}

/// A dense row-major left operand: `m` rows `lda` floats apart, `K` the one piece's length at
/// offset 0; checked to lie inside `a`.
fn dense_left<'a>(
    a: &'a [f32],
    lda: usize,
    m: usize,
    pieces: &'a [(usize, usize); 1],
) -> (Left<'a>, Rows) {
    let left = Left {
        data: a,
        s: lda,
        pieces,
        map: RowMap::linear(m),
    };
    let rows = Rows::all(m);
    left.check(rows);
    (left, rows)
}

/// `out[i·n + j] = Σ_{k<K} a[i·lda + k]·b[k][j]` for `i < m`, `j < n`, on the calling thread
/// (no tasks): the register tiles of [`rows_product`], for products too small to split, run
/// inside a caller's own parallel loop. Each output is the same chain of multiply-adds as in
/// [`rows_product`] over the same rows.
///
/// ```
/// use burn_fused_conv::kernel::tile::{Packed, small_product};
/// let b = Packed::new(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], 3, 2); // 3 × 2
/// let mut out = [0.0; 4];
/// small_product(&[1.0, 2.0, 3.0, 9.0, 2.0, 3.0, 4.0], 4, 2, &b, &mut out);
/// assert_eq!(out, [4.0, 2.0, 6.0, 3.0]);
/// ```
pub fn small_product(a: &[f32], lda: usize, m: usize, b: &Packed, out: &mut [f32]) {
    let (k, n) = (b.k, b.n);
    assert!(lda >= k, "rows of the left operand shorter than K");
    assert!(out.len() >= m * n, "output too short");
    if m == 0 || n == 0 {
        return;
    }
    let pieces = [(0, k)];
    let (left, rows) = dense_left(a, lda, m, &pieces);
    if k == 0 {
        out[..m * n].fill(0.0);
        return;
    }
    let job = RowsJob {
        left,
        k,
        packed: &b.data,
        passes: &b.passes,
        n,
        panels: n.div_ceil(2 * b.isa.lanes()),
        rows,
        out: Shared(out.as_mut_ptr()),
        done: None,
    };
    // SAFETY: the one segment's m rows of n floats are inside `out` (checked above), the reads
    // inside `a` (checked by `left.check`) and `b.data` (packed for K × n); `b.isa` is
    // `Isa::active`, which the processor has.
    unsafe {
        match b.isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => rows_task_avx512(&job, 0, 1),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => rows_task_avx2(&job, 0, 1),
            _ => rows_task::<Plain>(&job, 0, 1),
        }
    }
}

/// One call of [`rows_product`], shared by its tasks.
struct RowsJob<'a> {
    left: Left<'a>,
    k: usize,
    packed: &'a [f32],
    /// The passes over `K`, for the instruction set's block size ([`passes`]).
    passes: &'a [Pass],
    n: usize,
    panels: usize,
    rows: Rows,
    out: Shared,
    /// Called on each group of segments once it is final.
    done: Option<SegmentsDone<'a>>,
}
// SAFETY: the left operand is only read; `out` is written in disjoint rows (see the callers).
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

/// One register tile of a group: its rows (`m`), where its first row is in the left operand
/// and in the output, and each row's offset (in floats) from those.
struct Tile {
    m: usize,
    a0: usize,
    c0: usize,
    a_off: [usize; 12],
    c_off: [usize; 12],
}

/// The tiles of segments `gs..ge`: up to `t` rows within a segment, or whole segments together
/// when they are shorter than a tile.
fn tiles(job: &RowsJob<'_>, gs: usize, ge: usize, t: usize, out: &mut Vec<Tile>) {
    out.clear();
    let (rows, map, s, n) = (job.rows, job.left.map, job.left.s, job.n);
    let per_tile = (t / rows.len).max(1);
    let mut seg = gs;
    while seg < ge {
        if per_tile > 1 {
            let segs = per_tile.min(ge - seg);
            let (a0, c0) = (map.first(seg) * s, seg * rows.pitch * n);
            let mut tile = Tile {
                m: segs * rows.len,
                a0,
                c0,
                a_off: [0; 12],
                c_off: [0; 12],
            };
            for i in 0..tile.m {
                let (sg, ii) = (seg + i / rows.len, i % rows.len);
                tile.a_off[i] = (map.first(sg) + ii) * s - a0;
                tile.c_off[i] = (sg * rows.pitch + ii) * n - c0;
            }
            out.push(tile);
            seg += segs;
        } else {
            let mut i0 = 0;
            while i0 < rows.len {
                let m = t.min(rows.len - i0);
                let mut tile = Tile {
                    m,
                    a0: (map.first(seg) + i0) * s,
                    c0: (seg * rows.pitch + i0) * n,
                    a_off: [0; 12],
                    c_off: [0; 12],
                };
                for i in 0..m {
                    (tile.a_off[i], tile.c_off[i]) = (i * s, i * n);
                }
                out.push(tile);
                i0 += m;
            }
            seg += 1;
        }
    }
}

/// One pass over part of `K`: the runs of `k` it sums, its first packed row, whether it is first.
type Pass = (Vec<(usize, usize)>, usize, bool);

/// The passes over `K` of a rows product, in `k` order: each the runs of `k` it sums (offset
/// and length in the left operand's row), the first `k` of its packed rows, and whether it is
/// the first pass. All pieces in one pass when `K ≤ kc` (the sums stay in registers
/// throughout), else blocks of at most `kc` within each piece.
fn passes(pieces: &[(usize, usize)], kc: usize) -> Vec<Pass> {
    let k: usize = pieces.iter().map(|p| p.1).sum();
    if k <= kc {
        return vec![(pieces.to_vec(), 0, true)];
    }
    let mut out = Vec::new();
    let mut kstart = 0;
    for &(off, len) in pieces {
        let mut k0 = 0;
        while k0 < len {
            let step = kc.min(len - k0);
            out.push((vec![(off + k0, step)], kstart + k0, out.is_empty()));
            k0 += step;
        }
        kstart += len;
    }
    out
}

/// Segments `g0..g1` of a rows product, in groups of about [`group_rows`] rows: for each group,
/// each pass over `K` ([`passes`]), then panels, then the group's tiles; then zeros in the gap
/// after each segment.
#[inline(always)]
unsafe fn rows_task<L: Lanes>(job: &RowsJob<'_>, g0: usize, g1: usize) {
    let nr = 2 * L::W;
    let rows = job.rows;
    let left = job.left;
    let per_tile = (L::TILE / rows.len).max(1);
    let per_group = (group_rows(3 * left.s) / rows.len).max(per_tile);
    let mut group = Vec::new();
    let mut gs = g0;
    while gs < g1 {
        let ge = g1.min(gs + per_group);
        tiles(job, gs, ge, L::TILE, &mut group);
        for (runs, kstart, first) in job.passes {
            for p in 0..job.panels {
                let cols = nr.min(job.n - p * nr);
                // SAFETY (all pointer arithmetic below): inside `packed`, the left operand and
                // `out` as checked by `rows_product`.
                let b = unsafe { job.packed.as_ptr().add((p * job.k + kstart) * nr) };
                for tile in &group {
                    unsafe {
                        let a = left.data.as_ptr().add(tile.a0);
                        let c = job.out.0.add(tile.c0 + p * nr);
                        let args = (a, &tile.a_off, &runs[..], b, c, &tile.c_off, cols, *first);
                        by_rows!(tile.m, rows_tile, L, (args))
                    }
                }
            }
        }
        for seg in gs..ge {
            for r in (seg * rows.pitch + rows.len)..(seg + 1) * rows.pitch {
                // SAFETY: row r < count·pitch, the rows of `out`.
                unsafe { std::ptr::write_bytes(job.out.0.add(r * job.n), 0, job.n) };
            }
        }
        if let Some(done) = job.done {
            let per_segment = rows.pitch * job.n;
            // SAFETY: segments gs..ge are this task's, every pass over them is done and their
            // gaps are zeroed, so their rows are initialised; no other task writes them.
            let group = unsafe {
                std::slice::from_raw_parts(job.out.0.add(gs * per_segment), (ge - gs) * per_segment)
            };
            done((gs, ge), group);
        }
        gs = ge;
    }
}

/// The arguments of one tile: the left operand at its first row, each row's offset from there,
/// the `(offset, length)` of each run of `k` to sum (in `k` order), the packed panel at the
/// first of them (the runs' `b` rows follow one another), the output at its first row and
/// column, each row's offset from there, the valid columns and whether this is the first pass
/// over `K` (else the sums so far are read back first).
type TileArgs<'a> = (
    *const f32,
    &'a [usize; 12],
    &'a [(usize, usize)],
    *const f32,
    *mut f32,
    &'a [usize; 12],
    usize,
    bool,
);

/// `M` rows × `2W` columns of a rows product over the given runs of `k`.
#[inline(always)]
unsafe fn rows_tile<L: Lanes, const M: usize>(args: TileArgs<'_>) {
    let (a, a_off, runs, b, c, c_off, cols, first) = args;
    let mut acc = [[unsafe { L::zero() }; 2]; M];
    unsafe {
        if !first {
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = load_pair::<L>(c.add(c_off[i]), cols);
            }
        }
        let a: [*const f32; M] = std::array::from_fn(|i| a.add(a_off[i]));
        let mut b = b;
        for &(off, len) in runs {
            for kk in off..off + len {
                let b0 = L::load(b);
                let b1 = L::load(b.add(L::W));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let x = L::splat(a[i].add(kk));
                    acc[0] = L::fma(x, b0, acc[0]);
                    acc[1] = L::fma(x, b1, acc[1]);
                }
                b = b.add(2 * L::W);
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

/// `dw[k][j] = Σ_r a(r, k)·d[row_d(r)][j]` over the rows `r` of `rows`, for `k < K`, `j < n`
/// (`d` row-major with `n` columns, its rows placed by `d_map`): `K × n`, row-major.
///
/// ```
/// use burn_fused_conv::kernel::tile::{Left, RowMap, Rows, grad_product};
/// // a = [[1, 2], [2, 3]] (stride 1, K = 2), d = [[1], [10]].
/// let left = Left { data: &[1.0, 2.0, 3.0], s: 1, pieces: &[(0, 2)], map: RowMap::linear(2) };
/// let dw = grad_product(&left, &[1.0, 10.0], RowMap::linear(2), 1, Rows::all(2));
/// assert_eq!(dw, [21.0, 32.0]);
/// ```
pub fn grad_product(left: &Left<'_>, d: &[f32], d_map: RowMap, n: usize, rows: Rows) -> Vec<f32> {
    grad_product_with(Isa::active(), left, Right::Rows(d, d_map), n, rows)
}

/// A grad product's right operand `d`.
#[derive(Clone, Copy)]
pub enum Right<'a> {
    /// Rows of a row-major buffer with `n` columns, each segment's first row placed by the map.
    Rows(&'a [f32], RowMap),
    /// Computed where it is used: `fill(segment, (j0, j1), out)` writes the segment's rows
    /// (`n` floats apart) in columns `j0..j1` of `out`, a block at a time, while it is in cache.
    Computed(&'a (dyn Fn(usize, Span, &mut [f32]) + Sync)),
}

/// [`grad_product`] with a [`Right::Computed`] operand: the same sums in the same order, so the
/// same bits as [`grad_product`] over a buffer holding the values `fill` writes, and `d` is
/// never stored whole.
///
/// ```
/// use burn_fused_conv::kernel::tile::{Left, RowMap, Rows, grad_product, grad_product_computed};
/// let left = Left { data: &[1.0, 2.0, 3.0], s: 1, pieces: &[(0, 2)], map: RowMap::linear(2) };
/// // d = [[1], [10]]: one segment of two rows, written when the product reaches it.
/// let fill = |_segment: usize, _cols: (usize, usize), out: &mut [f32]| {
///     out[..2].copy_from_slice(&[1.0, 10.0]);
/// };
/// let computed = grad_product_computed(&left, &fill, 1, Rows::all(2));
/// assert_eq!(computed, grad_product(&left, &[1.0, 10.0], RowMap::linear(2), 1, Rows::all(2)));
/// assert_eq!(computed, [21.0, 32.0]);
/// ```
pub fn grad_product_computed(
    left: &Left<'_>,
    fill: &(dyn Fn(usize, Span, &mut [f32]) + Sync),
    n: usize,
    rows: Rows,
) -> Vec<f32> {
    grad_product_with(Isa::active(), left, Right::Computed(fill), n, rows)
}

/// [`grad_product`] with the given instruction set, which the processor must have.
fn grad_product_with(
    isa: Isa,
    left: &Left<'_>,
    right: Right<'_>,
    n: usize,
    rows: Rows,
) -> Vec<f32> {
    let k = left.k();
    left.check(rows);
    if let (Right::Rows(d, d_map), true) = (right, rows.computed() > 0) {
        let last = d_map.first(rows.count - 1) + rows.len;
        assert!(d.len() >= last * n, "right operand too short");
    }
    let len = k * n;
    if len == 0 || rows.computed() == 0 {
        return vec![0.0; len];
    }
    let nr = 2 * isa.lanes();
    let panels = n.div_ceil(nr);
    let chunks = grad_chunks(rows, n);
    let mut partials = Vec::<f32>::with_capacity(chunks * len);
    let job = GradJob {
        left: *left,
        k,
        right,
        n,
        rows,
        out: Shared(partials.as_mut_ptr()),
        accumulate: false,
    };
    (0..chunks * panels).into_par_iter().for_each(|task| {
        let (chunk, p) = (task / panels, task % panels);
        let segments = (
            chunk * rows.count / chunks,
            (chunk + 1) * rows.count / chunks,
        );
        let cols = (p * nr, n.min(p * nr + nr));
        // SAFETY: the task writes columns cols of chunk `chunk`'s K × n partial only; the
        // reads are inside the operands by the checks above; `isa` was detected here.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => grad_task_avx512(&job, chunk, segments, cols),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => grad_task_avx2(&job, chunk, segments, cols),
                _ => grad_task::<Plain>(&job, chunk, segments, cols),
            }
        }
    });
    // SAFETY: every (chunk, panel) task wrote all K rows of its columns (its first row block
    // stores each tile whole), and the panels cover 0..n.
    unsafe { partials.set_len(chunks * len) };
    sum_chunks(partials, len)
}

/// `out[k][j] += Σ_{i<m} a[i·lda + k]·d[i·n + j]` for `k < K`, `j < n` (`out` is `K × n`,
/// row-major), on the calling thread: the register tiles of [`grad_product`] for reductions a
/// caller splits itself. With `accumulate` false the sums start from zero instead of `out`.
/// Each output's chain of multiply-adds runs over the rows in order, continuing the chain in
/// `out`, so calls over consecutive blocks of rows give the bits of one call over all of them.
///
/// ```
/// use burn_fused_conv::kernel::tile::small_grad_product;
/// // a = [[1, 2], [2, 3]] (K = 2), d = [[1], [10]].
/// let mut dw = [0.0; 2];
/// small_grad_product(&[1.0, 2.0, 2.0, 3.0], 2, 2, &[1.0, 10.0], 1, 2, &mut dw, false);
/// assert_eq!(dw, [21.0, 32.0]);
/// small_grad_product(&[1.0, 1.0], 2, 2, &[1.0], 1, 1, &mut dw, true); // one more row
/// assert_eq!(dw, [22.0, 33.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn small_grad_product(
    a: &[f32],
    lda: usize,
    k: usize,
    d: &[f32],
    n: usize,
    m: usize,
    out: &mut [f32],
    accumulate: bool,
) {
    assert!(lda >= k, "rows of the left operand shorter than K");
    assert!(d.len() >= m * n, "right operand too short");
    assert!(out.len() >= k * n, "output too short");
    if k * n == 0 {
        return;
    }
    if m == 0 {
        if !accumulate {
            out[..k * n].fill(0.0);
        }
        return;
    }
    let pieces = [(0, k)];
    let (left, rows) = dense_left(a, lda, m, &pieces);
    let job = GradJob {
        left,
        k,
        right: Right::Rows(d, RowMap::linear(m)),
        n,
        rows,
        out: Shared(out.as_mut_ptr()),
        accumulate,
    };
    let isa = Isa::active();
    let nr = 2 * isa.lanes();
    for j0 in (0..n).step_by(nr) {
        let cols = (j0, n.min(j0 + nr));
        // SAFETY: the one chunk's K × n sums are inside `out`, the reads inside `a` and `d`
        // (checked above); `isa` is `Isa::active`, which the processor has.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => grad_task_avx512(&job, 0, (0, 1), cols),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => grad_task_avx2(&job, 0, (0, 1), cols),
                _ => grad_task::<Plain>(&job, 0, (0, 1), cols),
            }
        }
    }
}

/// `b` (`K × n`, row-major) in panels of `nr` columns, zero-padded: `packed[p][k][0..nr]`.
fn pack_panels(b: &[f32], k: usize, n: usize, nr: usize) -> Vec<f32> {
    pack_rows(k, n, nr, |kk| &b[kk * n..(kk + 1) * n])
}

/// [`pack_panels`] of the operand whose row `kk` is `row(kk)`. Every float is written once: the
/// columns past `n` of the last panel with zeros, the rest copied (no zeroing pass first).
fn pack_rows<'a>(k: usize, n: usize, nr: usize, row: impl Fn(usize) -> &'a [f32]) -> Vec<f32> {
    let panels = n.div_ceil(nr);
    let len = panels * k * nr;
    let mut packed = Vec::<f32>::with_capacity(len);
    let out = &mut packed.spare_capacity_mut()[..len];
    for kk in 0..k {
        let src = &row(kk)[..n];
        for p in 0..panels {
            let cols = nr.min(n - p * nr);
            let dst = &mut out[(p * k + kk) * nr..(p * k + kk + 1) * nr];
            for (d, &v) in dst.iter_mut().zip(&src[p * nr..p * nr + cols]) {
                d.write(v);
            }
            for d in &mut dst[cols..] {
                d.write(0.0);
            }
        }
    }
    // SAFETY: every row of every panel was written whole just above.
    unsafe { packed.set_len(len) };
    packed
}

/// The chunks' partial sums (`len` floats each, one after another) added in order into the
/// first.
pub(crate) fn sum_chunks(mut partials: Vec<f32>, len: usize) -> Vec<f32> {
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
struct GradJob<'a> {
    left: Left<'a>,
    k: usize,
    right: Right<'a>,
    n: usize,
    rows: Rows,
    out: Shared,
    /// Whether the sums start from the output's values (else from zero).
    accumulate: bool,
}
// SAFETY: the operands are only read; `out` is written in disjoint columns (see the caller).
unsafe impl Sync for GradJob<'_> {}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn grad_task_avx512(job: &GradJob<'_>, chunk: usize, segments: Span, cols: Span) {
    unsafe { grad_task::<Avx512>(job, chunk, segments, cols) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn grad_task_avx2(job: &GradJob<'_>, chunk: usize, segments: Span, cols: Span) {
    unsafe { grad_task::<Avx2>(job, chunk, segments, cols) }
}

/// A half-open range `(start, end)`.
/// A range `(start, end)` of segments or columns.
pub type Span = (usize, usize);

/// Columns `cols` (one panel) of chunk `chunk`'s partial sum over segments `segments`: blocks
/// of whole segments (their rows' places in both operands looked up once), then each piece's
/// tiles of `L::TILE` consecutive `k`.
#[inline(always)]
unsafe fn grad_task<L: Lanes>(job: &GradJob<'_>, chunk: usize, segments: Span, cols: Span) {
    let ((g0, g1), (j0, j1)) = (segments, cols);
    let (rows, left) = (job.rows, job.left);
    let per_block = (GRAD_ROW_BLOCK / rows.len.max(1)).max(1);
    // SAFETY (all pointer arithmetic below): inside the operands and the partials as checked
    // and allocated by `grad_product`.
    let out = unsafe { job.out.0.add(chunk * job.k * job.n + j0) };
    let mut starts = Vec::with_capacity(per_block);
    // A computed right operand: each row block's rows, written here while they are used.
    let block_len = rows.len * job.n;
    let mut scratch = match job.right {
        Right::Computed(_) => vec![0.0f32; per_block * block_len],
        Right::Rows(..) => Vec::new(),
    };
    let mut gb = g0;
    while gb < g1 {
        let count = per_block.min(g1 - gb);
        starts.clear();
        let d = match job.right {
            Right::Rows(d, d_map) => {
                starts.extend(
                    (gb..gb + count).map(|g| (left.map.first(g) * left.s, d_map.first(g) * job.n)),
                );
                d.as_ptr()
            }
            Right::Computed(fill) => {
                for (i, out) in scratch.chunks_exact_mut(block_len).take(count).enumerate() {
                    fill(gb + i, (j0, j1), out);
                }
                starts.extend(
                    (gb..gb + count)
                        .enumerate()
                        .map(|(i, g)| (left.map.first(g) * left.s, i * block_len)),
                );
                scratch.as_ptr()
            }
        };
        let mut kbase = 0;
        for &(poff, plen) in left.pieces {
            let mut k0 = 0;
            while k0 < plen {
                let m = L::TILE.min(plen - k0);
                unsafe {
                    let args = (
                        left.data.as_ptr().add(poff + k0),
                        left.s,
                        d.add(j0),
                        &starts[..],
                        rows.len,
                        out.add((kbase + k0) * job.n),
                        job.n,
                        j1 - j0,
                        gb == g0 && !job.accumulate,
                    );
                    by_rows!(m, grad_tile, L, (args))
                }
                k0 += m;
            }
            kbase += plen;
        }
        gb += count;
    }
}

/// `M` consecutive `k` × `2W` columns of a grad product over a block of segments: the left
/// operand at its piece and `k`, its row stride, `d` at its column, each segment's first row
/// in both (as float offsets), the rows per segment, the output at its first `k` and column,
/// `d`'s and the output's row stride, the valid columns and whether these are the chunk's
/// first rows.
type GradArgs<'a> = (
    *const f32,
    usize,
    *const f32,
    &'a [(usize, usize)],
    usize,
    *mut f32,
    usize,
    usize,
    bool,
);

#[inline(always)]
unsafe fn grad_tile<L: Lanes, const M: usize>(args: GradArgs<'_>) {
    let (a, s, d, starts, len, c, ldc, cols, first) = args;
    let mut acc = [[unsafe { L::zero() }; 2]; M];
    unsafe {
        if !first {
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = load_pair::<L>(c.add(i * ldc), cols);
            }
        }
        for &(ar, dr) in starts {
            let (a, d) = (a.add(ar), d.add(dr));
            if cols == 2 * L::W {
                for r in 0..len {
                    let d0 = L::load(d.add(r * ldc));
                    let d1 = L::load(d.add(r * ldc + L::W));
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let x = L::splat(a.add(r * s + i));
                        acc[0] = L::fma(x, d0, acc[0]);
                        acc[1] = L::fma(x, d1, acc[1]);
                    }
                }
            } else {
                for r in 0..len {
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

    /// `a(r, k)` by the definition.
    fn a_at(left: &Left<'_>, rows: Rows, seg: usize, i: usize, k: usize) -> f32 {
        let mut k = k;
        for &(off, len) in left.pieces {
            if k < len {
                return left.data[(left.map.first(seg) + i) * left.s + off + k];
            }
            k -= len;
        }
        let _ = rows;
        unreachable!("k beyond K")
    }

    /// Both products against the definition, in f64, on shapes with every kind of edge: tails of
    /// rows, of `k` tiles and of columns, one panel and several, one `K` block and several,
    /// pieces, segments shorter and longer than a tile, images with gaps between them.
    #[test]
    fn products_equal_the_definition_on_ragged_shapes() {
        // (s, pieces, n, rows, a map, d map)
        type Case = (usize, Vec<(usize, usize)>, usize, Rows, RowMap, RowMap);
        let cases: Vec<Case> = vec![
            (
                9,
                vec![(0, 27)],
                32,
                Rows::all(100),
                RowMap::linear(100),
                RowMap::linear(100),
            ),
            (
                3,
                vec![(0, 9)],
                5,
                Rows::all(7),
                RowMap::linear(7),
                RowMap::linear(7),
            ),
            (
                39,
                vec![(0, 117)],
                13,
                Rows::all(61),
                RowMap::linear(61),
                RowMap::linear(61),
            ),
            (
                96,
                vec![(0, 288)],
                64,
                Rows::all(300),
                RowMap::linear(300),
                RowMap::linear(300),
            ),
            (
                192,
                vec![(0, 576)],
                19,
                Rows::all(45),
                RowMap::linear(45),
                RowMap::linear(45),
            ),
            (
                1,
                vec![(0, 1)],
                1,
                Rows::all(1),
                RowMap::linear(1),
                RowMap::linear(1),
            ),
            // The conv's padded layout: 3 images of 5 rows of 4 pixels, C = 13, 3 pieces.
            (
                13,
                vec![(0, 39), (6 * 13, 39), (12 * 13, 39)],
                40,
                Rows {
                    count: 15,
                    len: 4,
                    pitch: 6,
                },
                RowMap {
                    per_image: 5,
                    image_pitch: 7 * 6,
                    row_pitch: 6,
                    offset: 0,
                },
                RowMap {
                    per_image: 5,
                    image_pitch: 7 * 6,
                    row_pitch: 6,
                    offset: 7,
                },
            ),
            // The same with 20-pixel rows (segments longer than a tile) and C = 3.
            (
                3,
                vec![(0, 9), (22 * 3, 9), (44 * 3, 9)],
                33,
                Rows {
                    count: 6,
                    len: 20,
                    pitch: 22,
                },
                RowMap {
                    per_image: 3,
                    image_pitch: 5 * 22,
                    row_pitch: 22,
                    offset: 0,
                },
                RowMap {
                    per_image: 3,
                    image_pitch: 5 * 22,
                    row_pitch: 22,
                    offset: 23,
                },
            ),
        ];
        for (s, pieces, n, rows, a_map, d_map) in cases {
            let reach = pieces.iter().map(|p| p.0 + p.1).max().unwrap();
            let data = values((a_map.first(rows.count - 1) + rows.len - 1) * s + reach, 1);
            let left = Left {
                data: &data,
                s,
                pieces: &pieces,
                map: a_map,
            };
            let k = left.k();
            let b = values(k * n, 2);
            let d = values((d_map.first(rows.count - 1) + rows.len) * n, 3);
            let out = rows_product(&left, &b, n, rows);
            assert_eq!(out.len(), rows.count * rows.pitch * n);
            for seg in 0..rows.count {
                for i in 0..rows.pitch {
                    for j in 0..n {
                        let got = out[(seg * rows.pitch + i) * n + j] as f64;
                        if i >= rows.len {
                            assert_eq!(got, 0.0);
                            continue;
                        }
                        let want: f64 = (0..k)
                            .map(|kk| a_at(&left, rows, seg, i, kk) as f64 * b[kk * n + j] as f64)
                            .sum();
                        assert!(
                            (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "rows {s} {k} {n}: {got} vs {want}"
                        );
                    }
                }
            }
            let dw = grad_product(&left, &d, d_map, n, rows);
            for kk in 0..k {
                for j in 0..n {
                    let want: f64 = (0..rows.count)
                        .flat_map(|seg| (0..rows.len).map(move |i| (seg, i)))
                        .map(|(seg, i)| {
                            a_at(&left, rows, seg, i, kk) as f64
                                * d[(d_map.first(seg) + i) * n + j] as f64
                        })
                        .sum();
                    let got = dw[kk * n + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "grad {s} {k} {n}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// Every instruction set the processor has gives the plain path's bits.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let (s, n) = (13, 45);
        let pieces = [(0, 39), (6 * 13, 39), (12 * 13, 39)];
        let rows = Rows {
            count: 40,
            len: 4,
            pitch: 6,
        };
        let a_map = RowMap {
            per_image: 4,
            image_pitch: 6 * 6,
            row_pitch: 6,
            offset: 0,
        };
        let d_map = RowMap {
            per_image: 4,
            image_pitch: 6 * 6,
            row_pitch: 6,
            offset: 7,
        };
        let data = values(
            (a_map.first(rows.count - 1) + rows.len - 1) * s + 12 * 13 + 39,
            4,
        );
        let left = Left {
            data: &data,
            s,
            pieces: &pieces,
            map: a_map,
        };
        let b = values(left.k() * n, 5);
        let d = values((d_map.first(rows.count - 1) + rows.len) * n, 6);
        let plain_rows = rows_product_with(Isa::Plain, &left, &b, n, rows, None);
        let plain_grad = grad_product_with(Isa::Plain, &left, Right::Rows(&d, d_map), n, rows);
        // The same right operand computed block by block, only the asked columns written.
        let fill = |seg: usize, (j0, j1): Span, out: &mut [f32]| {
            for i in 0..rows.len {
                let at = (d_map.first(seg) + i) * n;
                out[i * n + j0..i * n + j1].copy_from_slice(&d[at + j0..at + j1]);
            }
        };
        let computed = Right::Computed(&fill);
        assert_eq!(
            grad_product_with(Isa::Plain, &left, computed, n, rows),
            plain_grad
        );
        #[cfg(target_arch = "x86_64")]
        for (isa, has) in [
            (
                Isa::Avx2,
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            ),
            (Isa::Avx512, is_x86_feature_detected!("avx512f")),
        ] {
            if has {
                assert_eq!(
                    rows_product_with(isa, &left, &b, n, rows, None),
                    plain_rows,
                    "{isa:?}"
                );
                let grad = grad_product_with(isa, &left, Right::Rows(&d, d_map), n, rows);
                assert_eq!(grad, plain_grad, "{isa:?}");
                let grad = grad_product_with(isa, &left, computed, n, rows);
                assert_eq!(grad, plain_grad, "{isa:?}, computed");
            }
        }
        // The public functions take the widest the processor has.
        assert_eq!(rows_product(&left, &b, n, rows), plain_rows);
        assert_eq!(grad_product(&left, &d, d_map, n, rows), plain_grad);
        assert_eq!(grad_product_computed(&left, &fill, n, rows), plain_grad);
    }
}
