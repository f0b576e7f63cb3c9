//! Measuring a block: forward and backward time and GFLOP/s of [`FusedConvBlock`](crate::FusedConvBlock) (fused or
//! stock) on one shape, and the machine's FMA peak measured the same way, in the same run, so
//! that a figure can be read as a share of what the cores can do.
//!
//! ```
//! use burn_fused_conv::bench::{BlockShape, fma_peak_gflops, time_block};
//! use burn_fused_conv::BlockKernel;
//!
//! let peak = fma_peak_gflops(0.01);
//! let shape = BlockShape { batch: 2, cin: 3, cout: 8, side: 8, input_grad: false };
//! let t = time_block(shape, BlockKernel::Fused, 2);
//! assert!(peak > 0.0 && t.forward_seconds > 0.0 && t.backward_seconds > 0.0);
//! ```

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use serde::Serialize;

use crate::isa::Isa;
use crate::{BlockKernel, FusedConvBlockConfig};

/// One block call: batch, channels in and out, square side, and whether the input needs a
/// gradient (not for a network's first block, whose input is the images).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlockShape {
    pub batch: usize,
    pub cin: usize,
    pub cout: usize,
    pub side: usize,
    pub input_grad: bool,
}

impl BlockShape {
    /// Floating-point operations of the convolution forward (`2·N·H·W·9·C_in·C_out`).
    pub fn conv_flops(&self) -> f64 {
        2.0 * (self.batch * self.side * self.side * 9 * self.cin * self.cout) as f64
    }

    /// Convolution flops of forward + backward: the weight gradient costs as much as the
    /// forward, the input gradient (when needed) as much again.
    pub fn step_flops(&self) -> f64 {
        self.conv_flops() * if self.input_grad { 3.0 } else { 2.0 }
    }
}

/// Median times of one block on flex autodiff.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BlockTiming {
    /// Forward (training mode), seconds.
    pub forward_seconds: f64,
    /// Backward (weight, γ, β and input gradients), seconds.
    pub backward_seconds: f64,
    /// Convolution GFLOP/s of forward + backward: [`BlockShape::step_flops`] over their time.
    pub gflops: f64,
}

/// Times forward and backward of a block of `shape` run by `kernel` on `Device::flex().autodiff()`,
/// the median of `reps` runs after one warm-up.
pub fn time_block(shape: BlockShape, kernel: BlockKernel, reps: usize) -> BlockTiming {
    let device = Device::flex().autodiff();
    let block = FusedConvBlockConfig::new([shape.cin, shape.cout])
        .with_kernel(kernel)
        .init(&device);
    let dims = [shape.batch, shape.cin, shape.side, shape.side];
    let x = Tensor::<4>::random(dims, burn::tensor::Distribution::Default, &device);
    let x = if shape.input_grad {
        x.require_grad()
    } else {
        x
    };
    let sync = |device: &Device| device.sync().expect("flex syncs");
    let mut forward = Vec::new();
    let mut backward = Vec::new();
    for rep in 0..=reps.max(1) {
        let started = Instant::now();
        let y = block.forward(x.clone());
        let _ = y
            .clone()
            .inner()
            .slice([0..1, 0..1, 0..1, 0..1])
            .into_scalar::<f32>();
        sync(&device);
        let f = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let grads = y.sum().backward();
        let dw = block.conv.weight.grad(&grads).expect("a weight gradient");
        let _ = dw.slice([0..1, 0..1, 0..1, 0..1]).into_scalar::<f32>();
        sync(&device);
        let b = started.elapsed().as_secs_f64();
        if rep > 0 {
            forward.push(f);
            backward.push(b);
        }
    }
    let _ = block.valid();
    let (forward_seconds, backward_seconds) = (median(&mut forward), median(&mut backward));
    BlockTiming {
        forward_seconds,
        backward_seconds,
        gflops: shape.step_flops() / (forward_seconds + backward_seconds) / 1e9,
    }
}

/// The median time of what [`time_block`]'s backward pays besides the block: `y.sum()` and its
/// backward pass on a leaf tensor of the block's output shape (the loss's `sum`, its gradient of
/// ones, and registering it), `reps` runs after one warm-up.
pub fn time_loss(shape: BlockShape, reps: usize) -> f64 {
    let device = Device::flex().autodiff();
    let dims = [shape.batch, shape.cout, shape.side / 2, shape.side / 2];
    let y = Tensor::<4>::random(dims, burn::tensor::Distribution::Default, &device).require_grad();
    let mut times = Vec::new();
    for rep in 0..=reps.max(1) {
        let started = Instant::now();
        let grads = y.clone().sum().backward();
        let dy = y.grad(&grads).expect("a gradient");
        let _ = dy.slice([0..1, 0..1, 0..1, 0..1]).into_scalar::<f32>();
        device.sync().expect("flex syncs");
        if rep > 0 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    median(&mut times)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Threads of rayon's pool: what the kernels and [`fma_peak_gflops`] run on.
pub fn pool_threads() -> usize {
    rayon::current_num_threads()
}

/// The machine's fused-multiply-add peak in GFLOP/s: every thread of rayon's pool runs a loop of
/// independent vector FMAs (AVX-512 or AVX2 as the kernels run them, [`Isa::active`])
/// for about `seconds`.
pub fn fma_peak_gflops(seconds: f64) -> f64 {
    // Calibrate the iteration count on one thread, then run it everywhere at once.
    let mut iters = 1u64 << 16;
    loop {
        let started = Instant::now();
        std::hint::black_box(fma_loop(iters));
        if started.elapsed().as_secs_f64() > seconds / 4.0 || iters > 1 << 40 {
            break;
        }
        iters *= 2;
    }
    let started = Instant::now();
    let flops: Vec<f64> = rayon::broadcast(|_| fma_loop(iters).1);
    flops.iter().sum::<f64>() / started.elapsed().as_secs_f64() / 1e9
}

/// `iters` rounds of independent FMAs; returns a value that depends on them and the flops done.
fn fma_loop(iters: u64) -> (f32, f64) {
    #[cfg(target_arch = "x86_64")]
    {
        match Isa::active() {
            // SAFETY: the processor has AVX-512F (`Isa::active` never exceeds what it detected).
            Isa::Avx512 => return unsafe { fma_avx512(iters) },
            // SAFETY: the processor has AVX2 and FMA (as above).
            Isa::Avx2 => return unsafe { fma_avx2(iters) },
            Isa::Plain => {}
        }
    }
    fma_scalar(iters)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_avx512(iters: u64) -> (f32, f64) {
    use std::arch::x86_64::*;
    let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let sum = acc
        .iter()
        .fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v));
    (_mm512_reduce_add_ps(sum), iters as f64 * 12.0 * 16.0 * 2.0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn fma_avx2(iters: u64) -> (f32, f64) {
    use std::arch::x86_64::*;
    let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut out = [0f32; 8];
    let sum = acc
        .iter()
        .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
    // SAFETY: `out` holds the 8 floats stored.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    (out.iter().sum(), iters as f64 * 12.0 * 8.0 * 2.0)
}

fn fma_scalar(iters: u64) -> (f32, f64) {
    let mut acc = [1f32; 8];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = v.mul_add(0.999_999, 1e-7);
        }
    }
    (acc.iter().sum(), iters as f64 * 8.0 * 2.0)
}

/// Forward and backward time of each conv block of the network, per kernel, next to the FMA
/// peak measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct BlockTimingTable {
    /// FMA peak of rayon's threads, GFLOP/s, with the instruction set the kernels ran.
    pub peak_gflops: f64,
    /// The instruction set the kernels and the peak ran with ([`Isa::active`]).
    pub isa: Isa,
    /// One row per block and kernel.
    pub rows: Vec<BlockTimingRow>,
    /// Per block, in order: [`time_loss`] of its output shape, seconds (part of every row's
    /// backward time).
    pub loss_seconds: Vec<f64>,
}

/// One block under one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct BlockTimingRow {
    pub kernel: String,
    pub shape: BlockShape,
    pub timing: BlockTiming,
    /// `timing.gflops / peak_gflops`.
    pub share_of_peak: f64,
}

/// Times every conv block of a network of `channels` on `batch` images of `side`², for each of
/// `kernels` (medians of `reps` runs), after measuring the FMA peak.
pub fn time_network(
    channels: &[usize],
    batch: usize,
    side: usize,
    kernels: &[BlockKernel],
    reps: usize,
) -> BlockTimingTable {
    let peak_gflops = fma_peak_gflops(0.5);
    let mut rows = Vec::new();
    let mut loss_seconds = Vec::new();
    let (mut cin, mut side) = (3, side);
    for &cout in channels {
        let shape = BlockShape {
            batch,
            cin,
            cout,
            side,
            input_grad: cin != 3,
        };
        for &kernel in kernels {
            let timing = time_block(shape, kernel, reps);
            rows.push(BlockTimingRow {
                kernel: kernel.name().to_string(),
                shape,
                timing,
                share_of_peak: timing.gflops / peak_gflops,
            });
        }
        loss_seconds.push(time_loss(shape, reps));
        cin = cout;
        side /= 2;
    }
    BlockTimingTable {
        peak_gflops,
        isa: Isa::active(),
        rows,
        loss_seconds,
    }
}

impl BlockTimingTable {
    /// The table as text.
    pub fn render(&self) -> String {
        let mut out = format!(
            "conv blocks, forward + backward ({}; FMA peak of {} threads measured now: {:.0} GFLOP/s)\n{:<18} {:<6} {:>9} {:>9} {:>9} {:>8}\n",
            self.isa,
            pool_threads(),
            self.peak_gflops,
            "block",
            "kernel",
            "fwd ms",
            "bwd ms",
            "GFLOP/s",
            "% peak"
        );
        for r in &self.rows {
            let s = &r.shape;
            out += &format!(
                "{:<18} {:<8} {:>9.2} {:>9.2} {:>9.1} {:>7.1}%\n",
                format!("{}→{} @{}²", s.cin, s.cout, s.side),
                r.kernel,
                1e3 * r.timing.forward_seconds,
                1e3 * r.timing.backward_seconds,
                r.timing.gflops,
                100.0 * r.share_of_peak
            );
        }
        if !self.loss_seconds.is_empty() {
            let ms: Vec<String> = self
                .loss_seconds
                .iter()
                .map(|t| format!("{:.2}", 1e3 * t))
                .collect();
            out += &format!(
                "(every bwd above includes the loss's own y.sum() and its backward, timed alone on each block's output shape: {} ms)\n",
                ms.join(" / ")
            );
        }
        if self
            .rows
            .iter()
            .any(|r| r.kernel == BlockKernel::Winograd.name())
        {
            out += "(GFLOP/s and % peak count the direct convolution's flops: winograd rows do 2.25× fewer multiply-adds where they apply, blocks of 16+ input channels, so they can pass 100 %)\n";
        }
        out
    }
}

/// Median time of each phase of the fused op on one block shape, called on plain buffers (no
/// Burn tensors, no autodiff graph): where a block's time goes, phase by phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTiming {
    /// The block.
    pub shape: BlockShape,
    /// `(phase, seconds)` in the order the op runs them.
    pub phases: Vec<(&'static str, f64)>,
}

/// Times every phase of the fused op on `shape` (medians of `reps` runs after one warm-up), with
/// random inputs. The product phases are named `product …`; their GFLOP/s follow from
/// [`BlockShape::conv_flops`].
pub fn time_phases(shape: BlockShape, reps: usize) -> PhaseTiming {
    use crate::kernel::{conv, conv::Products, geometry::Geometry, norm_pool, strided};
    let g = Geometry {
        n: shape.batch,
        cin: shape.cin,
        cout: shape.cout,
        h: shape.side,
        w: shape.side,
    };
    let mut seed = 0x9e37_79b9_u32;
    let mut random = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as f32 / u32::MAX as f32 - 0.5
            })
            .collect()
    };
    let x = random(g.n * g.cin * g.h * g.w);
    let weight = random(g.cout * g.cin * 9);
    let dp = random(g.n * g.hp() * g.wp() * g.cout);
    let view = strided::View4::nhwc(&x, [g.n, g.cin, g.h, g.w]);
    let mut times: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut timed = |rep: usize, name: &'static str, started: Instant| {
        let t = started.elapsed().as_secs_f64();
        if rep == 0 {
            times.push((name, Vec::new()));
        } else if let Some((_, v)) = times.iter_mut().find(|(n, _)| *n == name) {
            v.push(t);
        }
    };
    for rep in 0..=reps.max(1) {
        let s = Instant::now();
        let wr = conv::repack_forward(&weight, g.cin, g.cout);
        timed(rep, "repack weight", s);
        let s = Instant::now();
        let xp = strided::pad(&view, &g);
        timed(rep, "pad x", s);
        let s = Instant::now();
        let (y, mean, var) = conv::conv_pixels_stats(&xp, g.cin, &wr, g.cout, &g);
        timed(rep, "product forward, stats in it", s);
        if Products::Winograd.winograd(g.cin, &g) {
            let s = Instant::now();
            let out = conv::conv_pixels_stats_by(&xp, g.cin, &wr, g.cout, &g, Products::Winograd);
            timed(rep, "product forward Winograd, stats", s);
            std::hint::black_box(out);
        }
        let affine =
            norm_pool::Affine::new(&mean, &var, 1e-5, vec![1.0; g.cout], vec![0.0; g.cout]);
        let s = Instant::now();
        let (_pooled, winners) = norm_pool::forward(&y, &g, &affine, true);
        timed(rep, "norm+relu+pool", s);
        let s = Instant::now();
        let dp_rows = strided::PixelRows::contiguous(&dp, [g.hp(), g.wp(), g.cout]);
        let routed = norm_pool::route(&g, &affine, &winners, dp_rows);
        timed(rep, "norm+relu+pool back: route", s);
        if shape.input_grad {
            let s = Instant::now();
            let dy = routed.padded_grad(&y, &g, &winners);
            timed(rep, "norm+relu+pool back: ∂y", s);
            let s = Instant::now();
            let dw = conv::weight_grad(&xp, &dy, &g);
            timed(rep, "product weight grad", s);
            std::hint::black_box(dw);
            if Products::Winograd.winograd(g.cin, &g) {
                let s = Instant::now();
                let dw = conv::weight_grad_by(&xp, &dy, &g, Products::Winograd);
                timed(rep, "product weight grad Winograd", s);
                std::hint::black_box(dw);
            }
            let s = Instant::now();
            let wt = conv::repack_transposed(&weight, g.cin, g.cout);
            timed(rep, "repack transposed", s);
            let s = Instant::now();
            let dx = conv::conv_pixels(&dy, g.cout, &wt, g.cin, &g);
            timed(rep, "product input grad", s);
            std::hint::black_box(dx);
            if Products::Winograd.winograd(g.cout, &g) {
                let s = Instant::now();
                let dx = conv::conv_pixels_by(&dy, g.cout, &wt, g.cin, &g, Products::Winograd);
                timed(rep, "product input grad Winograd", s);
                std::hint::black_box(dx);
            }
        } else {
            let s = Instant::now();
            let fill = |segment: usize, cols: (usize, usize), out: &mut [f32]| {
                routed.grad_rows(&y, &g, &winners, segment, cols, out)
            };
            let dw = conv::weight_grad_computed(&xp, &fill, &g);
            timed(rep, "product weight grad, ∂y in it", s);
            std::hint::black_box(dw);
        }
    }
    PhaseTiming {
        shape,
        phases: times
            .into_iter()
            .map(|(name, mut v)| (name, median(&mut v)))
            .collect(),
    }
}

impl PhaseTiming {
    /// One line per phase: ms, and GFLOP/s for the GEMMs.
    pub fn render(&self) -> String {
        let s = &self.shape;
        let total: f64 = self.phases.iter().map(|p| p.1).sum();
        let mut out = format!(
            "{}→{} @{}², batch {}: {:.2} ms in all\n",
            s.cin,
            s.cout,
            s.side,
            s.batch,
            1e3 * total
        );
        for (name, t) in &self.phases {
            let gflops = if name.starts_with("product") {
                format!("{:>7.1} GFLOP/s", s.conv_flops() / t / 1e9)
            } else {
                String::new()
            };
            out += &format!("  {name:<30} {:>8.3} ms {gflops}\n", 1e3 * t);
        }
        out
    }
}
