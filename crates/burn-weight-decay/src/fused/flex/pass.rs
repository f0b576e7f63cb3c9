//! The pass engine every fused kernel runs on: which buffers a step reads and writes, the
//! parallel block loop, the non-finite check, and the end of a step (the tensors taken back out,
//! the monitor's count, the [`Outcome`]), written once for all kernels.
//!
//! A step is one pass over its operands, all f32 buffers: the weight, the gradient and the state
//! tensors. An output goes into its own input's buffer when that buffer is uniquely owned (in
//! place), else into the gradient's buffer when the gradient is uniquely owned and not taken yet
//! (the step consumes it), else into a new buffer. The index range is split into parts for
//! rayon's threads (large tensors only), each part worked in blocks of [`BLOCK`] elements. In the
//! usual step every output is in place and the kernel runs on the buffers themselves; otherwise
//! (first step, shared buffers) a block's inputs are all loaded into stack arrays before any
//! output is stored, so an output may share its buffer with any input, the written buffers being
//! viewed as `&[Cell<f32>]`. No `unsafe` here.
//!
//! A kernel implements [`Kernel`] (one block's update), plans its buffers with [`Pass::new`],
//! [`Pass::input`] and [`Pass::roles`], and ends the step with [`Pass::run`], which hands it the
//! state tensors ([`Finished`]) to build its optimizer's state from.
//!
//! Over 400 lines, on purpose: the buffer plan ([`Pass::roles`]), the two block loops and the
//! split into parts rest on one invariant (every output has a writable buffer no other output
//! has, and a block's inputs are all loaded before any output is stored), which is checked by
//! reading this one file; split further, each part would have to restate it.

use std::cell::Cell;
use std::ops::Range;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use super::Context;
use super::Outcome::{self, Skipped, Stepped};

/// Elements per block of the inner loop (4 stack arrays of 2 KiB).
const BLOCK: usize = 512;

/// The fewest elements worth a part of their own on rayon's pool (512 KiB per buffer): below
/// twice this, a pass runs on the calling thread, as waking the pool costs more than it saves.
const MIN_PART: usize = 1 << 17;

/// The elementwise update of one block: `w`, `g` and the state `m`, `v` (those a kernel does not
/// use are scratch) hold the block's inputs; the kernel leaves the outputs in `w`, `m`, `v`.
pub(super) trait Kernel: Sync {
    fn block(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]);
}

/// The state tensors a pass hands back to its kernel, which builds its optimizer's state from
/// them (`m`, `v` as [`Pass::roles`] named them).
pub(super) enum Finished<const D: usize> {
    /// The pass wrote: the new state tensors, `None` where the kernel writes none.
    Stepped {
        m: Option<Tensor<D>>,
        v: Option<Tensor<D>>,
    },
    /// A non-finite gradient and nothing written: the state tensors as they came, `None` where
    /// none came.
    Skipped {
        m: Option<Tensor<D>>,
        v: Option<Tensor<D>>,
    },
}

/// Buffer indices of a pass: where each input is read and each output written.
pub(super) struct Roles {
    w: usize,
    g: usize,
    m: Option<usize>,
    v: Option<usize>,
    w_out: usize,
    m_out: Option<usize>,
    v_out: Option<usize>,
}

impl Roles {
    /// Every output in its own input's buffer (so the gradient is not an output).
    fn in_place(&self) -> bool {
        self.w_out == self.w && self.m_out == self.m && self.v_out == self.v
    }
}

/// One buffer of a pass; `writable`: uniquely owned, so it may be written in place.
struct Buf {
    tensor: FlexTensor,
    writable: bool,
}

impl Buf {
    fn lane(&mut self) -> Lane<'_> {
        let (start, end) = self
            .tensor
            .layout()
            .contiguous_offsets()
            .expect("probed contiguous");
        if self.writable {
            let storage = self
                .tensor
                .try_storage_mut::<f32>()
                .expect("a writable buffer is uniquely owned");
            Lane::Write(&mut storage[start..end])
        } else {
            Lane::Read(&self.tensor.storage::<f32>()[start..end])
        }
    }
}

/// The buffers of one step: the weight, the gradient, the state tensors, then new buffers.
pub(super) struct Pass {
    bufs: Vec<Buf>,
    /// The gradient's buffer while it may still take an output.
    spare: Option<usize>,
}

impl Pass {
    const WEIGHT: usize = 0;
    const GRAD: usize = 1;

    /// The buffers of a step on `weight` with `grad`; the state tensors follow by [`input`](Self::input).
    pub(super) fn new(weight: FlexTensor, grad: FlexTensor) -> Self {
        let mut pass = Self {
            bufs: Vec::with_capacity(5),
            spare: None,
        };
        pass.input(weight);
        let grad = pass.input(grad);
        pass.spare = pass.bufs[grad].writable.then_some(grad);
        pass
    }

    /// Adds a state tensor the kernel reads; returns its buffer index, for [`roles`](Self::roles).
    pub(super) fn input(&mut self, mut tensor: FlexTensor) -> usize {
        let writable = tensor.try_storage_mut::<f32>().is_some();
        self.bufs.push(Buf { tensor, writable });
        self.bufs.len() - 1
    }

    /// The roles of a step that reads the state buffers `m` and `v` (from [`input`](Self::input);
    /// `None`: the step that creates them, or a state the kernel has not) and writes `m` if
    /// `write_m`, `v` if `write_v`. The outputs are planned in the order weight, `m`, `v`, so the
    /// weight gets the gradient's spare buffer first.
    pub(super) fn roles(
        &mut self,
        m: Option<usize>,
        v: Option<usize>,
        write_m: bool,
        write_v: bool,
    ) -> Roles {
        let w_out = self.output(Some(Self::WEIGHT));
        let m_out = write_m.then(|| self.output(m));
        let v_out = write_v.then(|| self.output(v));
        Roles {
            w: Self::WEIGHT,
            g: Self::GRAD,
            m,
            v,
            w_out,
            m_out,
            v_out,
        }
    }

    /// Where an output goes: its own input's buffer if writable, else the gradient's if still
    /// free, else a new buffer. Every output gets a buffer no other output has.
    fn output(&mut self, own: Option<usize>) -> usize {
        if let Some(own) = own
            && self.bufs[own].writable
        {
            return own;
        }
        if let Some(spare) = self.spare.take() {
            return spare;
        }
        let shape = self.bufs[Self::WEIGHT].tensor.layout().shape().clone();
        self.bufs.push(Buf {
            tensor: FlexTensor::zeros(shape, DType::F32),
            writable: true,
        });
        self.bufs.len() - 1
    }

    /// The step: runs `kernel` over every element (unless `ctx.skip_non_finite` and the gradient
    /// holds a NaN or ±∞), counts it in `ctx.monitor` as fused or skipped, and returns the weight
    /// with the state `state` builds from the state tensors: the outputs if the pass wrote
    /// ([`Stepped`]), else the inputs as they came ([`Skipped`]).
    pub(super) fn run<const D: usize, S>(
        self,
        roles: &Roles,
        kernel: &dyn Kernel,
        ctx: &Context<'_>,
        state: impl FnOnce(Finished<D>) -> Option<S>,
    ) -> Outcome<D, S> {
        let (written, mut out) = self.sweep(roles, kernel, ctx.skip_non_finite);
        let mut take = |i: usize| {
            let tensor = out[i].take().expect("an output of the pass, taken once");
            Tensor::<D>::from_primitive::<Flex>(tensor)
        };
        if !written {
            // A non-finite gradient: nothing was written, the inputs are as they came.
            ctx.monitor.count_skipped();
            let (m, v) = (roles.m.map(&mut take), roles.v.map(&mut take));
            let weight = take(roles.w);
            return Skipped(weight, state(Finished::Skipped { m, v }));
        }
        ctx.monitor.count_fused();
        let (m, v) = (roles.m_out.map(&mut take), roles.v_out.map(&mut take));
        let weight = take(roles.w_out);
        Stepped(weight, state(Finished::Stepped { m, v }))
    }

    /// Runs `kernel` over every element, unless `check` finds a NaN or ±∞ in the gradient
    /// first; returns whether it ran (`false`: nothing was written) and the buffers, by index.
    ///
    /// A large pass runs as one job on rayon's pool, the check and the parts split over its
    /// threads: the caller waits for the pool to wake up once per parameter.
    fn sweep(
        mut self,
        roles: &Roles,
        kernel: &dyn Kernel,
        check: bool,
    ) -> (bool, Vec<Option<FlexTensor>>) {
        let n = self.bufs[Self::WEIGHT].tensor.layout().num_elements();
        let lanes: Vec<Lane<'_>> = self.bufs.iter_mut().map(Buf::lane).collect();
        let parts = parts(n);
        let pass = move || {
            let grad: &[f32] = match &lanes[roles.g] {
                Lane::Read(s) => s,
                Lane::Write(s) => s,
            };
            if check && has_non_finite(grad, parts > 1) {
                return false;
            }
            if parts <= 1 {
                run_part(lanes, roles, kernel);
            } else {
                let chunk = n.div_ceil(parts).next_multiple_of(BLOCK);
                split(lanes, chunk)
                    .into_par_iter()
                    .for_each(|lanes| run_part(lanes, roles, kernel));
            }
            true
        };
        let written = if parts <= 1 {
            pass()
        } else {
            rayon::scope(|_| pass())
        };
        let out = self.bufs.into_iter().map(|b| Some(b.tensor)).collect();
        (written, out)
    }
}

/// A buffer's elements as one pass sees them.
enum Lane<'a> {
    Read(&'a [f32]),
    Write(&'a mut [f32]),
}

/// Splits every lane at the same multiples of `chunk`: one list of lanes per part.
fn split(lanes: Vec<Lane<'_>>, chunk: usize) -> Vec<Vec<Lane<'_>>> {
    fn push<'a>(parts: &mut Vec<Vec<Lane<'a>>>, i: usize, lane: Lane<'a>) {
        if parts.len() <= i {
            parts.push(Vec::new());
        }
        parts[i].push(lane);
    }
    let mut parts = Vec::new();
    for lane in lanes {
        match lane {
            Lane::Read(s) => {
                for (i, c) in s.chunks(chunk).enumerate() {
                    push(&mut parts, i, Lane::Read(c));
                }
            }
            Lane::Write(s) => {
                for (i, c) in s.chunks_mut(chunk).enumerate() {
                    push(&mut parts, i, Lane::Write(c));
                }
            }
        }
    }
    parts
}

/// A lane inside one part: a written buffer is seen as cells, since an output may share its
/// buffer with an input.
enum View<'a> {
    Read(&'a [f32]),
    Cells(&'a [Cell<f32>]),
}

impl View<'_> {
    fn len(&self) -> usize {
        match self {
            View::Read(s) => s.len(),
            View::Cells(c) => c.len(),
        }
    }

    fn load(&self, range: Range<usize>, out: &mut [f32]) {
        match self {
            View::Read(s) => out.copy_from_slice(&s[range]),
            View::Cells(c) => {
                for (o, c) in out.iter_mut().zip(&c[range]) {
                    *o = c.get();
                }
            }
        }
    }

    fn store(&self, range: Range<usize>, values: &[f32]) {
        match self {
            View::Cells(c) => {
                for (c, &x) in c[range].iter().zip(values) {
                    c.set(x);
                }
            }
            View::Read(_) => unreachable!("outputs are planned on writable buffers"),
        }
    }
}

/// One part: block by block, load every input, run the kernel, store every output; or, when
/// every output is in place, run the kernel on the buffers themselves.
fn run_part(lanes: Vec<Lane<'_>>, roles: &Roles, kernel: &dyn Kernel) {
    if roles.in_place() {
        return run_part_in_place(lanes, roles, kernel);
    }
    let views: Vec<View<'_>> = lanes
        .into_iter()
        .map(|lane| match lane {
            Lane::Read(s) => View::Read(s),
            Lane::Write(s) => View::Cells(Cell::from_mut(s).as_slice_of_cells()),
        })
        .collect();
    let len = views.first().map_or(0, View::len);
    let (mut w, mut g, mut m, mut v) = ([0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK], [0.0; BLOCK]);
    let mut start = 0;
    while start < len {
        let k = BLOCK.min(len - start);
        let range = start..start + k;
        views[roles.w].load(range.clone(), &mut w[..k]);
        views[roles.g].load(range.clone(), &mut g[..k]);
        if let Some(i) = roles.m {
            views[i].load(range.clone(), &mut m[..k]);
        }
        if let Some(i) = roles.v {
            views[i].load(range.clone(), &mut v[..k]);
        }
        kernel.block(&mut w[..k], &g[..k], &mut m[..k], &mut v[..k]);
        views[roles.w_out].store(range.clone(), &w[..k]);
        if let Some(i) = roles.m_out {
            views[i].store(range.clone(), &m[..k]);
        }
        if let Some(i) = roles.v_out {
            views[i].store(range, &v[..k]);
        }
        start += k;
    }
}

/// The usual step: weight and state updated in their own, uniquely owned buffers, the gradient
/// only read. No staging: the kernel works on the buffers directly, block by block (blocks only
/// so that a state the kernel does not use has stack scratch to stand in for it).
fn run_part_in_place(lanes: Vec<Lane<'_>>, roles: &Roles, kernel: &dyn Kernel) {
    fn written(lane: Lane<'_>) -> &mut [f32] {
        match lane {
            Lane::Write(s) => s,
            Lane::Read(_) => unreachable!("in-place outputs are writable"),
        }
    }
    let mut lanes: Vec<Option<Lane<'_>>> = lanes.into_iter().map(Some).collect();
    let mut take = |i: usize| lanes[i].take().expect("one role per buffer");
    let w = written(take(roles.w));
    let g: &[f32] = match take(roles.g) {
        Lane::Read(s) => s,
        Lane::Write(s) => s,
    };
    let mut m = roles.m.map(|i| written(take(i)));
    let mut v = roles.v.map(|i| written(take(i)));
    let (mut scratch_m, mut scratch_v) = ([0.0; BLOCK], [0.0; BLOCK]);
    let mut start = 0;
    while start < w.len() {
        let end = w.len().min(start + BLOCK);
        let k = end - start;
        let m = match &mut m {
            Some(m) => &mut m[start..end],
            None => &mut scratch_m[..k],
        };
        let v = match &mut v {
            Some(v) => &mut v[start..end],
            None => &mut scratch_v[..k],
        };
        kernel.block(&mut w[start..end], &g[start..end], m, v);
        start = end;
    }
}

/// How many parts a pass over `n` elements is split into.
fn parts(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if threads <= 1 || n < 2 * MIN_PART {
        1
    } else {
        (n / MIN_PART).min(threads * 4)
    }
}

/// Whether any element is NaN or ±∞ (exponent bits all ones), split over rayon's threads if
/// `parallel`.
fn has_non_finite(values: &[f32], parallel: bool) -> bool {
    fn part(values: &[f32]) -> bool {
        const EXPONENT: u32 = 0x7f80_0000;
        const EXPONENT_ONE: u32 = 0x0080_0000;
        // An all-ones exponent plus one carries into bit 31; no other exponent reaches it.
        values.chunks(BLOCK).any(|c| {
            let carried = c.iter().fold(0u32, |acc, x| {
                acc | (x.to_bits() & EXPONENT).wrapping_add(EXPONENT_ONE)
            });
            carried & 0x8000_0000 != 0
        })
    }
    if parallel {
        values.par_chunks(MIN_PART).any(part)
    } else {
        part(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_is_found_anywhere() {
        let mut values = vec![1.0f32; 3 * MIN_PART + 17];
        for parallel in [false, true] {
            assert!(!has_non_finite(&values, parallel));
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for at in [0, BLOCK - 1, MIN_PART + 5, values.len() - 1] {
                    let old = values[at];
                    values[at] = bad;
                    assert!(has_non_finite(&values, parallel), "{bad} at {at}");
                    values[at] = old;
                }
            }
        }
        let edge = [f32::MAX, f32::MIN, 0.0, -0.0, f32::MIN_POSITIVE / 2.0];
        assert!(!has_non_finite(&edge, false));
    }

    #[test]
    fn split_keeps_lanes_aligned() {
        let a: Vec<f32> = (0..10).map(|x| x as f32).collect();
        let mut b = vec![0.0f32; 10];
        let parts = split(vec![Lane::Read(&a), Lane::Write(&mut b)], 4);
        assert_eq!(parts.len(), 3);
        for part in parts {
            let [Lane::Read(r), Lane::Write(w)] = &part[..] else {
                panic!("lane order")
            };
            assert_eq!(r.len(), w.len());
        }
    }
}
