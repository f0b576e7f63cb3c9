//! Batch norm, ReLU and the 2×2 max-pool over the conv output in GEMM-row layout
//! (`y[r][c]`, `r = (n·H + h)·(W + 2) + w'`, the columns `w' ≥ W` scratch).
//!
//! Forward, per channel `c` over the `M = N·H·W` samples:
//!
//! ```text
//! μ = Σy / M,  σ² = Σ(y − μ)² / M (biased, as Burn's batch norm),  ŷ = (y − μ)/√(σ² + ε)
//! z = γ·ŷ + β,  out = max over the 2×2 window of max(z, 0),  argmax: which of the 4 (1 byte)
//! ```
//!
//! Backward, with `d` the pooled output's gradient routed to the argmax when `z > 0` (ReLU):
//!
//! ```text
//! ∂β = Σ d,  ∂γ = Σ d·ŷ,  ∂y = γ/√(σ² + ε) · (d − ∂β/M − ŷ·∂γ/M)
//! ```
//!
//! Every sum is taken per image, in f64, then over the images in order: the result does not
//! depend on the number of threads.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::geometry::Geometry;
use super::simd::multiversion;
use super::strided::PixelRows;

/// Per-channel batch mean and biased variance of the conv output, in f64.
pub fn batch_stats(y: &[f32], g: &Geometry) -> (Vec<f64>, Vec<f64>) {
    let c = g.cout;
    let rows_img = g.rows_per_image();
    // Sums are taken around a per-channel pivot (the first sample) so that Σ(y − p)² − M·(μ − p)²
    // does not cancel when |μ| ≫ σ.
    let pivot: Vec<f32> = y[..c].to_vec();
    let partials: Vec<(Vec<f64>, Vec<f64>)> = y[..g.rows() * c]
        .par_chunks(rows_img * c)
        .map(|image| stats_image(image, g, &pivot))
        .collect();
    combine(&partials, &pivot, g)
}

multiversion! {
    /// One image's Σ(y − p) and Σ(y − p)², per channel: f32 within an image row, f64 across rows.
    fn stats_image(image: &[f32], g: &Geometry, pivot: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let c = g.cout;
        let (mut s, mut q) = (vec![0.0f64; c], vec![0.0f64; c]);
        let (mut rs, mut rq) = (vec![0.0f32; c], vec![0.0f32; c]);
        for h in 0..g.h {
            let r0 = h * g.wp2();
            row_sums(&image[r0 * c..(r0 + g.w) * c], pivot, &mut rs, &mut rq);
            for (((s, q), &rs), &rq) in s.iter_mut().zip(q.iter_mut()).zip(&rs).zip(&rq) {
                *s += rs as f64;
                *q += rq as f64;
            }
        }
        (s, q)
    }
}

/// One image row's Σ(y − p) and Σ(y − p)² per channel, in f32, over its samples in order
/// (each channel's sums start at 0 and add the samples one by one). Eight channels at a time
/// keep their sums in registers across the row.
#[inline(always)]
fn row_sums(row: &[f32], pivot: &[f32], rs: &mut [f32], rq: &mut [f32]) {
    const L: usize = 8;
    let c = pivot.len();
    let mut ch = 0;
    while ch + L <= c {
        let p: [f32; L] = pivot[ch..ch + L].try_into().expect("8 channels");
        let (mut s, mut q) = ([0.0f32; L], [0.0f32; L]);
        for px in row.chunks_exact(c) {
            let v: &[f32; L] = px[ch..ch + L].try_into().expect("8 channels");
            for l in 0..L {
                let d = v[l] - p[l];
                s[l] += d;
                q[l] += d * d;
            }
        }
        rs[ch..ch + L].copy_from_slice(&s);
        rq[ch..ch + L].copy_from_slice(&q);
        ch += L;
    }
    for ch in ch..c {
        let (mut s, mut q) = (0.0f32, 0.0f32);
        for px in row.chunks_exact(c) {
            let d = px[ch] - pivot[ch];
            s += d;
            q += d * d;
        }
        rs[ch] = s;
        rq[ch] = q;
    }
}

multiversion! {
    /// [`row_sums`] of segments `first..end` (image rows, `pitch` GEMM rows of `C` floats
    /// apart in `rows`), each as `[Σ(y − p); C]` then `[Σ(y − p)²; C]` into `out`.
    fn segment_sums(rows: &[f32], pivot: &[f32], w: usize, pitch: usize, count: usize, out: &mut [f32]) {
        let c = pivot.len();
        for (i, sums) in out.chunks_exact_mut(2 * c).take(count).enumerate() {
            let row = &rows[i * pitch * c..][..w * c];
            let (rs, rq) = sums.split_at_mut(c);
            row_sums(row, pivot, rs, rq);
        }
    }
}

/// [`batch_stats`] gathered while a product writes the conv output: each image row's f32
/// sums around the pivot as soon as its group of rows is final ([`StatsCollector::segments_done`],
/// in cache), then the same f64 sums over rows and images in the same order
/// ([`StatsCollector::finish`]). The same bits as [`batch_stats`] of the finished output, given
/// its pivot (the output's first sample).
#[derive(Debug)]
pub struct StatsCollector {
    pivot: Vec<f32>,
    /// Per segment (image row): `[Σ(y − p); C]` then `[Σ(y − p)²; C]`, written in place by
    /// [`StatsCollector::segments_done`] (each segment by the one call that covers it).
    sums: Vec<f32>,
    out: SharedSums,
    w: usize,
    pitch: usize,
}

/// The sums' buffer, written by the product's tasks at disjoint segments.
#[derive(Debug)]
struct SharedSums(*mut f32);
// SAFETY: the product calls `segments_done` once per segment, so no two threads write the same
// floats, and every write is done before `finish` reads (the product's tasks join first).
unsafe impl Send for SharedSums {}
unsafe impl Sync for SharedSums {}

impl StatsCollector {
    /// For the conv output of `g`, around `pivot` (its first sample's `C` values).
    pub fn new(pivot: Vec<f32>, g: &Geometry) -> Self {
        assert_eq!(pivot.len(), g.cout, "one pivot per channel");
        let mut sums = vec![0.0f32; g.n * g.h * 2 * g.cout];
        Self {
            out: SharedSums(sums.as_mut_ptr()),
            sums,
            pivot,
            w: g.w,
            pitch: g.wp2(),
        }
    }

    /// Segments `first..end` are final; `rows` holds them from segment `first`'s first row.
    /// Each segment must be passed once (as [`rows_product_then`](super::tile::rows_product_then)
    /// does).
    pub fn segments_done(&self, (first, end): (usize, usize), rows: &[f32]) {
        let c = self.pivot.len();
        assert!(end * 2 * c <= self.sums.len(), "segments beyond the output");
        // SAFETY: inside `sums` (checked above); segments first..end are written by this call
        // only (each segment is passed once), and nothing reads `sums` until `finish`.
        let out = unsafe {
            std::slice::from_raw_parts_mut(self.out.0.add(first * 2 * c), (end - first) * 2 * c)
        };
        segment_sums(rows, &self.pivot, self.w, self.pitch, end - first, out);
    }

    /// The batch mean and biased variance, once every segment is done.
    pub fn finish(self, g: &Geometry) -> (Vec<f64>, Vec<f64>) {
        let c = g.cout;
        let partials: Vec<(Vec<f64>, Vec<f64>)> = self
            .sums
            .chunks(g.h * 2 * c)
            .map(|image| {
                let (mut s, mut q) = (vec![0.0f64; c], vec![0.0f64; c]);
                for row in image.chunks_exact(2 * c) {
                    let (rs, rq) = row.split_at(c);
                    for ch in 0..c {
                        s[ch] += rs[ch] as f64;
                        q[ch] += rq[ch] as f64;
                    }
                }
                (s, q)
            })
            .collect();
        combine(&partials, &self.pivot, g)
    }
}

/// The mean and biased variance from per-image sums around `pivot`, images in order.
fn combine(partials: &[(Vec<f64>, Vec<f64>)], pivot: &[f32], g: &Geometry) -> (Vec<f64>, Vec<f64>) {
    let c = g.cout;
    let m = g.samples() as f64;
    let (mut mean, mut var) = (vec![0.0f64; c], vec![0.0f64; c]);
    for ch in 0..c {
        let (mut s, mut q) = (0.0f64, 0.0f64);
        for (ps, pq) in partials {
            s += ps[ch];
            q += pq[ch];
        }
        let d = s / m;
        mean[ch] = pivot[ch] as f64 + d;
        var[ch] = (q / m - d * d).max(0.0);
    }
    (mean, var)
}

/// What normalizes channel `c`: `ŷ = (y − mean)·inv_std`, `z = γ·ŷ + β`, computed as
/// `z = y·scale + shift` with `scale = γ·inv_std`, `shift = β − mean·scale`.
#[derive(Debug, Clone)]
pub struct Affine {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl Affine {
    /// From the statistics (batch or running) and ε.
    pub fn new(mean: &[f64], var: &[f64], epsilon: f64, gamma: Vec<f32>, beta: Vec<f32>) -> Self {
        let inv_std: Vec<f64> = var.iter().map(|&v| 1.0 / (v + epsilon).sqrt()).collect();
        let scale: Vec<f64> = (0..gamma.len())
            .map(|c| gamma[c] as f64 * inv_std[c])
            .collect();
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            inv_std: inv_std.iter().map(|&v| v as f32).collect(),
            shift: (0..gamma.len())
                .map(|c| (beta[c] as f64 - mean[c] * scale[c]) as f32)
                .collect(),
            scale: scale.iter().map(|&v| v as f32).collect(),
            gamma,
            beta,
        }
    }
}

/// What the backward pass keeps of each pooling window and channel (`[N, H/2, W/2, C]`): which
/// of the 4 inputs won (0..4 as `dy·2 + dx`, 1 byte), and the conv output `y` there, so that
/// the backward pass reads the winners' values in order instead of gathering them.
#[derive(Debug, Clone, Default)]
pub struct Winners {
    /// The winning input of each window and channel.
    pub argmax: Vec<u8>,
    /// The conv output at the winning input.
    pub y: Vec<f32>,
}

/// Normalize, ReLU and 2×2 max-pool: the pooled output `[N, H/2, W/2, C]` (channels-last), and
/// each window's winner when `keep_winners` (else empty [`Winners`]).
pub fn forward(y: &[f32], g: &Geometry, a: &Affine, keep_winners: bool) -> (Vec<f32>, Winners) {
    let c = g.cout;
    let per_image = g.hp() * g.wp() * c;
    let len = g.n * per_image;
    // Every element is written below (each window of each channel), so nothing is zeroed first.
    let mut out = Vec::<f32>::with_capacity(len);
    let mut winners = Winners::default();
    if per_image > 0 {
        let images = y[..g.rows() * c].par_chunks(g.rows_per_image() * c);
        let outs = out.spare_capacity_mut()[..len].par_chunks_mut(per_image);
        if keep_winners {
            winners.argmax.reserve_exact(len);
            winners.y.reserve_exact(len);
            outs.zip(winners.argmax.spare_capacity_mut()[..len].par_chunks_mut(per_image))
                .zip(winners.y.spare_capacity_mut()[..len].par_chunks_mut(per_image))
                .zip(images)
                .for_each(|(((o, arg), yat), image)| pool_image(image, g, a, o, Some((arg, yat))));
        } else {
            outs.zip(images)
                .for_each(|(o, image)| pool_image(image, g, a, o, None));
        }
    }
    // SAFETY: `pool_image` wrote every element of every image (and there are none when the
    // pooled map is empty); likewise the winners when they are kept.
    unsafe {
        out.set_len(len);
        if keep_winners && per_image > 0 {
            winners.argmax.set_len(len);
            winners.y.set_len(len);
        }
    }
    (out, winners)
}

/// One image's winners: the argmax and the conv output there.
type ImageWinners<'a> = (&'a mut [MaybeUninit<u8>], &'a mut [MaybeUninit<f32>]);

multiversion! {
    /// One image of [`forward`]: branch-free over the channels, the first maximum winning (as in
    /// `MaxPool2d`).
    fn pool_image(image: &[f32], g: &Geometry, a: &Affine, out: &mut [MaybeUninit<f32>], arg: Option<ImageWinners<'_>>) {
        let c = g.cout;
        let (wp, wp2) = (g.wp(), g.wp2());
        let (scale, shift) = (&a.scale[..c], &a.shift[..c]);
        let mut arg = arg;
        for ph in 0..g.hp() {
            for pw in 0..wp {
                let r00 = 2 * ph * wp2 + 2 * pw;
                let px = |r: usize| &image[r * c..(r + 1) * c];
                let (y0, y1, y2, y3) = (px(r00), px(r00 + 1), px(r00 + wp2), px(r00 + wp2 + 1));
                let o = (ph * wp + pw) * c;
                let out = &mut out[o..o + c];
                match arg.as_mut() {
                    Some((arg, yat)) => {
                        let (arg, yat) = (&mut arg[o..o + c], &mut yat[o..o + c]);
                        for ch in 0..c {
                            let (s, t) = (scale[ch], shift[ch]);
                            let (z0, z1, z2, z3) =
                                (y0[ch] * s + t, y1[ch] * s + t, y2[ch] * s + t, y3[ch] * s + t);
                            let (m01, i01, y01) =
                                if z1 > z0 { (z1, 1u8, y1[ch]) } else { (z0, 0u8, y0[ch]) };
                            let (m23, i23, y23) =
                                if z3 > z2 { (z3, 3u8, y3[ch]) } else { (z2, 2u8, y2[ch]) };
                            let (m, i, yv) =
                                if m23 > m01 { (m23, i23, y23) } else { (m01, i01, y01) };
                            out[ch].write(m.max(0.0));
                            arg[ch].write(i);
                            yat[ch].write(yv);
                        }
                    }
                    None => {
                        for ch in 0..c {
                            let (s, t) = (scale[ch], shift[ch]);
                            let m = (y0[ch] * s + t)
                                .max(y1[ch] * s + t)
                                .max(y2[ch] * s + t)
                                .max(y3[ch] * s + t);
                            out[ch].write(m.max(0.0));
                        }
                    }
                }
            }
        }
    }
}

/// The gradients of batch norm's input (padded like the conv's input, `[N][H + 2][W + 2][C]`
/// with a zero border: the input gradient's product reads it in place), γ and β, from the pooled
/// output's gradient `dp` (`[N, H/2, W/2, C]`, channels-last): [`route`], then
/// [`Routed::padded_grad`].
pub fn backward(
    y: &[f32],
    g: &Geometry,
    a: &Affine,
    winners: &Winners,
    dp: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dp = PixelRows::contiguous(dp, [g.hp(), g.wp(), g.cout]);
    let routed = route(g, a, winners, dp);
    let dy = routed.padded_grad(y, g, winners);
    (dy, routed.dgamma, routed.dbeta)
}

/// The backward pass up to `∂y`: the gradient each window's winner receives, `∂γ`, `∂β`, and
/// the per-channel coefficients of `∂y = k0 + k1·y + γ·inv_std·d` (`d` the routed gradient at
/// the winner, 0 elsewhere). `∂y` itself is written whole by [`Routed::padded_grad`], or row by
/// row where it is used by [`Routed::grad_rows`]: the same values either way.
#[derive(Debug, Clone)]
pub struct Routed {
    /// `[N, H/2, W/2, C]`: the gradient reaching each window's winner (0 where ReLU blocks it).
    routed: Vec<f32>,
    k0: Vec<f32>,
    k1: Vec<f32>,
    scale: Vec<f32>,
    /// `∂γ = Σ d·ŷ`.
    pub dgamma: Vec<f32>,
    /// `∂β = Σ d`.
    pub dbeta: Vec<f32>,
}

/// Pass 1 of the backward pass, over the pooled windows only: [`Routed`], from the pooled
/// output's gradient `dp` (`[N, H/2, W/2, C]` channels-last, read where it is).
pub fn route(g: &Geometry, a: &Affine, winners: &Winners, dp: PixelRows<'_>) -> Routed {
    let c = g.cout;
    let per_image = g.hp() * g.wp() * c;
    let len = g.n * per_image;
    // Every element is written by `route_image`, so nothing is zeroed first.
    let mut routed = Vec::<f32>::with_capacity(len);
    let partials: Vec<(Vec<f64>, Vec<f64>)> = if per_image == 0 {
        Vec::new()
    } else {
        routed.spare_capacity_mut()[..len]
            .par_chunks_mut(per_image)
            .zip(winners.y.par_chunks(per_image))
            .enumerate()
            .map(|(ni, (routed, yat))| {
                let image = PixelRows {
                    data: &dp.data[ni * dp.image_pitch..],
                    ..dp
                };
                route_image(yat, g, a, image, routed)
            })
            .collect()
    };
    // SAFETY: `route_image` wrote every element of every image (none when the map is empty).
    unsafe { routed.set_len(len) };
    let (mut dbeta, mut dgamma) = (vec![0.0f64; c], vec![0.0f64; c]);
    for (sb, sg) in &partials {
        for ch in 0..c {
            dbeta[ch] += sb[ch];
            dgamma[ch] += sg[ch];
        }
    }
    let m = g.samples() as f64;
    let mean_d: Vec<f32> = dbeta.iter().map(|&v| (v / m) as f32).collect();
    let mean_dy: Vec<f32> = dgamma.iter().map(|&v| (v / m) as f32).collect();
    let scale: Vec<f32> = (0..c).map(|ch| a.gamma[ch] * a.inv_std[ch]).collect();
    // ∂y = γ·inv_std·(d − mean(d) − ŷ·mean(d·ŷ)) = k0 + k1·y (the terms without d, per
    // channel) + γ·inv_std·d at the argmax.
    let k1 = (0..c)
        .map(|ch| -scale[ch] * a.inv_std[ch] * mean_dy[ch])
        .collect();
    let k0 = (0..c)
        .map(|ch| scale[ch] * (a.mean[ch] * a.inv_std[ch] * mean_dy[ch] - mean_d[ch]))
        .collect();
    Routed {
        routed,
        k0,
        k1,
        scale,
        dgamma: dgamma.iter().map(|&v| v as f32).collect(),
        dbeta: dbeta.iter().map(|&v| v as f32).collect(),
    }
}

impl Routed {
    fn coefficients(&self) -> Coefficients<'_> {
        Coefficients {
            k0: &self.k0,
            k1: &self.k1,
            scale: &self.scale,
        }
    }

    /// Image `ni`'s routed gradients and winners (empty when the pooled map is).
    fn windows<'a>(
        &'a self,
        g: &Geometry,
        winners: &'a Winners,
        ni: usize,
    ) -> (&'a [f32], &'a [u8]) {
        let per_image = g.hp() * g.wp() * g.cout;
        if per_image == 0 {
            return (&[], &[]);
        }
        let r = ni * per_image..(ni + 1) * per_image;
        (&self.routed[r.clone()], &winners.argmax[r])
    }

    /// Pass 2: `∂y` over every sample, padded like the conv's input (`[N][H + 2][W + 2][C]`,
    /// zero border), from the conv output `y` (GEMM rows).
    pub fn padded_grad(&self, y: &[f32], g: &Geometry, winners: &Winners) -> Vec<f32> {
        let c = g.cout;
        let rows_img = g.rows_per_image();
        let coef = self.coefficients();
        // Per image, the GEMM rows (whose scratch columns are the right and left borders) after
        // W + 3 zero pixels (the top row and the first left border), then W + 1 zero pixels (the
        // rest of the bottom row).
        let len = g.padded_len(c);
        let padded_image = g.padded_pixels_per_image() * c;
        let head = (g.wp2() + 1) * c;
        let mut dy = Vec::<f32>::with_capacity(len);
        if rows_img > 0 && c > 0 {
            let images = y[..g.rows() * c].par_chunks(rows_img * c);
            dy.spare_capacity_mut()[..len]
                .par_chunks_mut(padded_image)
                .zip(images)
                .enumerate()
                .for_each(|(ni, (dy, image))| {
                    let (top, rest) = dy.split_at_mut(head);
                    let (rows, bottom) = rest.split_at_mut(rows_img * c);
                    for v in top.iter_mut().chain(bottom.iter_mut()) {
                        v.write(0.0);
                    }
                    input_grad_image(image, g, &coef, self.windows(g, winners, ni), rows)
                });
        } else {
            for v in &mut dy.spare_capacity_mut()[..len] {
                v.write(0.0);
            }
        }
        // SAFETY: every float was written: the borders above, and by `input_grad_image` every
        // element of every image's GEMM rows (valid samples and scratch columns alike).
        unsafe { dy.set_len(len) };
        dy
    }

    /// Row `segment` (`n·H + h`) of `∂y`, its `W` samples `C` floats apart, channels `cols`
    /// only, into `out`: the values [`Routed::padded_grad`] writes there.
    pub fn grad_rows(
        &self,
        y: &[f32],
        g: &Geometry,
        winners: &Winners,
        segment: usize,
        cols: (usize, usize),
        out: &mut [f32],
    ) {
        let (ni, h) = (segment / g.h, segment % g.h);
        let c = g.cout;
        let src = &y[segment * g.wp2() * c..][..g.w * c];
        // SAFETY: f32 and MaybeUninit<f32> have one layout; only initialised values are written.
        let out = unsafe { &mut *(&mut out[..g.w * c] as *mut [f32] as *mut [MaybeUninit<f32>]) };
        grad_row(
            src,
            h,
            g,
            &self.coefficients(),
            self.windows(g, winners, ni),
            cols,
            out,
        );
    }
}

multiversion! {
    /// One image of pass 1: `routed` gets the gradient each window's winner receives (0 where
    /// ReLU blocks it), from the winners' conv outputs `yat`; returns that image's Σd and Σd·ŷ
    /// per channel.
    fn route_image(
        yat: &[f32],
        g: &Geometry,
        a: &Affine,
        dp: PixelRows<'_>,
        routed: &mut [MaybeUninit<f32>],
    ) -> (Vec<f64>, Vec<f64>) {
        let c = g.cout;
        let (pixel_pitch, channel_pitch) = (dp.pixel_pitch, dp.channel_pitch);
        let (mut sb, mut sg) = (vec![0.0f64; c], vec![0.0f64; c]);
        let (mean, inv_std, scale, shift) = (&a.mean[..c], &a.inv_std[..c], &a.scale[..c], &a.shift[..c]);
        let row = g.wp() * c;
        for ph in 0..g.hp() {
            // f32 within a pooled row, f64 across rows, as in the statistics.
            let span = ph * row..(ph + 1) * row;
            let yat = &yat[span.clone()];
            let dp = &dp.data[ph * dp.row_pitch..];
            let routed = &mut routed[span];
            // Eight channels at a time keep their sums in registers across the row (a sum kept
            // in memory chains every pixel's add through a store and a load); each channel's
            // sums add the row's pixels in order, whatever the grouping.
            let mut ch0 = 0;
            while ch0 < c {
                let (mut b, mut q) = ([0.0f32; ROUTE_LANES], [0.0f32; ROUTE_LANES]);
                if ch0 + ROUTE_LANES <= c {
                    let lane = |v: &[f32]| -> [f32; ROUTE_LANES] {
                        v[ch0..ch0 + ROUTE_LANES].try_into().expect("8 channels")
                    };
                    let (m, is, sc, sh) = (lane(mean), lane(inv_std), lane(scale), lane(shift));
                    for px in 0..g.wp() {
                        let o = px * c + ch0;
                        let yv: &[f32; ROUTE_LANES] = yat[o..o + ROUTE_LANES].try_into().expect("8");
                        let at = px * pixel_pitch + ch0 * channel_pitch;
                        let mut gv = [0.0f32; ROUTE_LANES];
                        if channel_pitch == 1 {
                            gv.copy_from_slice(&dp[at..at + ROUTE_LANES]);
                        } else {
                            for (l, v) in gv.iter_mut().enumerate() {
                                *v = dp[at + l * channel_pitch];
                            }
                        }
                        let mut dv = [0.0f32; ROUTE_LANES];
                        for l in 0..ROUTE_LANES {
                            let yhat = (yv[l] - m[l]) * is[l];
                            // The gradient where ReLU passes it, +0 elsewhere, as a bit mask
                            // (a select the compiler vectorizes).
                            let pass = if yv[l] * sc[l] + sh[l] > 0.0 { u32::MAX } else { 0 };
                            let d = f32::from_bits(gv[l].to_bits() & pass);
                            dv[l] = d;
                            b[l] += d;
                            q[l] += d * yhat;
                        }
                        for (out, d) in routed[o..o + ROUTE_LANES].iter_mut().zip(dv) {
                            out.write(d);
                        }
                    }
                } else {
                    for px in 0..g.wp() {
                        for (l, ch) in (ch0..c).enumerate() {
                            let o = px * c + ch;
                            let yv = yat[o];
                            let yhat = (yv - mean[ch]) * inv_std[ch];
                            let grad = dp[px * pixel_pitch + ch * channel_pitch];
                            let d = if yv * scale[ch] + shift[ch] > 0.0 { grad } else { 0.0 };
                            routed[o].write(d);
                            b[l] += d;
                            q[l] += d * yhat;
                        }
                    }
                }
                for (l, ch) in (ch0..c.min(ch0 + ROUTE_LANES)).enumerate() {
                    sb[ch] += b[l] as f64;
                    sg[ch] += q[l] as f64;
                }
                ch0 += ROUTE_LANES;
            }
        }
        (sb, sg)
    }
}

/// Channels [`route_image`] sums together, in registers.
const ROUTE_LANES: usize = 8;

/// The per-channel coefficients of pass 2.
struct Coefficients<'a> {
    k0: &'a [f32],
    k1: &'a [f32],
    scale: &'a [f32],
}

/// One image of pass 2, written once into `dy` (the image's GEMM rows, uninitialised):
/// `k0 + k1·y + γ·inv_std·d` where `d` is the routed gradient at its window's argmax and 0
/// elsewhere (outside every window too), and 0 in the scratch columns.
fn input_grad_image(
    image: &[f32],
    g: &Geometry,
    coef: &Coefficients<'_>,
    windows: (&[f32], &[u8]),
    dy: &mut [MaybeUninit<f32>],
) {
    let c = g.cout;
    let row = g.wp2() * c;
    for h in 0..g.h {
        let (src, dst) = (
            &image[h * row..(h + 1) * row],
            &mut dy[h * row..(h + 1) * row],
        );
        grad_row(src, h, g, coef, windows, (0, c), dst);
        for d in &mut dst[g.w * c..] {
            d.write(0.0);
        }
    }
}

multiversion! {
    /// Image row `h` of `∂y`, its `W` samples `C` floats apart in `src` and `dst`, channels
    /// `cols.0..cols.1`: `k0 + k1·y + γ·inv_std·d`, `d` the routed gradient at the window's argmax
    /// and 0 elsewhere (outside every window too).
    fn grad_row(
        src: &[f32],
        h: usize,
        g: &Geometry,
        coef: &Coefficients<'_>,
        windows: (&[f32], &[u8]),
        cols: (usize, usize),
        dst: &mut [MaybeUninit<f32>],
    ) {
        let c = g.cout;
        let (j0, j1) = cols;
        let len = j1 - j0;
        let (k0, k1, scale) = (&coef.k0[j0..j1], &coef.k1[j0..j1], &coef.scale[j0..j1]);
        let (routed, arg) = windows;
        let (hp, wp) = (g.hp(), g.wp());
        for w in 0..g.w {
            let src = &src[w * c + j0..][..len];
            let dst = &mut dst[w * c + j0..][..len];
            if h < 2 * hp && w < 2 * wp && !arg.is_empty() {
                let lo = ((h / 2) * wp + w / 2) * c + j0;
                let at = ((h % 2) * 2 + w % 2) as u8;
                let (routed, arg) = (&routed[lo..lo + len], &arg[lo..lo + len]);
                for ch in 0..len {
                    // Read unconditionally and selected: a conditional read compiles to a
                    // masked load, several times slower on AMD processors (perf annotate).
                    let winner = scale[ch] * routed[ch];
                    let d = if arg[ch] == at { winner } else { 0.0 };
                    dst[ch].write(k0[ch] + k1[ch] * src[ch] + d);
                }
            } else {
                for ch in 0..len {
                    dst[ch].write(k0[ch] + k1[ch] * src[ch]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sums as the definition takes them: channel by channel, sample after sample, from 0.
    fn row_sums_reference(row: &[f32], pivot: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let c = pivot.len();
        let (mut rs, mut rq) = (vec![0.0f32; c], vec![0.0f32; c]);
        for px in row.chunks_exact(c) {
            for ch in 0..c {
                let d = px[ch] - pivot[ch];
                rs[ch] += d;
                rq[ch] += d * d;
            }
        }
        (rs, rq)
    }

    /// Eight channels at a time in registers give the definition's bits, remainder included.
    #[test]
    fn row_sums_equal_the_definition_bit_for_bit() {
        for (c, w) in [(32, 64), (13, 7), (7, 5), (8, 1), (40, 33)] {
            let row: Vec<f32> = (0..c * w)
                .map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 37.0 + 11.0)
                .collect();
            let pivot: Vec<f32> = (0..c).map(|i| i as f32 * 0.3 + 10.0).collect();
            let (mut rs, mut rq) = (vec![f32::NAN; c], vec![f32::NAN; c]);
            row_sums(&row, &pivot, &mut rs, &mut rq);
            let (ws, wq) = row_sums_reference(&row, &pivot);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&rs), bits(&ws), "Σ, C = {c}, W = {w}");
            assert_eq!(bits(&rq), bits(&wq), "Σ², C = {c}, W = {w}");
        }
    }

    /// The backward's first pass gives the definition's bits: per image and pooled row, each
    /// channel's sums in window order (f32), then rows (f64), then images in order.
    #[test]
    fn routing_equals_the_definition_bit_for_bit() {
        for (n, c, h, w) in [(2, 32, 8, 6), (3, 13, 6, 10), (1, 40, 4, 4)] {
            let g = Geometry {
                n,
                cin: 3,
                cout: c,
                h,
                w,
            };
            let len = n * g.hp() * g.wp() * c;
            let val = |i: usize, k: usize| ((i * k % 1013) as f32 - 506.0) / 97.0;
            let winners = Winners {
                argmax: vec![0; len],
                y: (0..len).map(|i| val(i, 7919)).collect(),
            };
            let dp: Vec<f32> = (0..len).map(|i| val(i, 104_729)).collect();
            let mean: Vec<f64> = (0..c).map(|i| i as f64 * 0.01 - 0.1).collect();
            let var: Vec<f64> = (0..c).map(|i| 0.5 + i as f64 * 0.02).collect();
            let gamma: Vec<f32> = (0..c).map(|i| 1.0 + i as f32 * 0.01).collect();
            let beta: Vec<f32> = (0..c).map(|i| i as f32 * 0.02 - 0.2).collect();
            let a = Affine::new(&mean, &var, 1e-5, gamma, beta);
            let got = route(
                &g,
                &a,
                &winners,
                PixelRows::contiguous(&dp, [g.hp(), g.wp(), c]),
            );
            // The definition, channel by channel.
            let (mut sb, mut sg) = (vec![0.0f64; c], vec![0.0f64; c]);
            let mut routed = vec![0.0f32; len];
            let row = g.wp() * c;
            for ni in 0..n {
                let (mut ib, mut ig) = (vec![0.0f64; c], vec![0.0f64; c]);
                for ph in 0..g.hp() {
                    let (mut rb, mut rg) = (vec![0.0f32; c], vec![0.0f32; c]);
                    for pw in 0..g.wp() {
                        for ch in 0..c {
                            let at = ni * g.hp() * row + ph * row + pw * c + ch;
                            let yv = winners.y[at];
                            let yhat = (yv - a.mean[ch]) * a.inv_std[ch];
                            let d = if yv * a.scale[ch] + a.shift[ch] > 0.0 {
                                dp[at]
                            } else {
                                0.0
                            };
                            routed[at] = d;
                            rb[ch] += d;
                            rg[ch] += d * yhat;
                        }
                    }
                    for ch in 0..c {
                        ib[ch] += rb[ch] as f64;
                        ig[ch] += rg[ch] as f64;
                    }
                }
                for ch in 0..c {
                    sb[ch] += ib[ch];
                    sg[ch] += ig[ch];
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&got.routed),
                bits(&routed),
                "routed {:?}",
                (n, c, h, w)
            );
            let want_b: Vec<f32> = sb.iter().map(|&v| v as f32).collect();
            let want_g: Vec<f32> = sg.iter().map(|&v| v as f32).collect();
            assert_eq!(bits(&got.dbeta), bits(&want_b), "∂β {:?}", (n, c, h, w));
            assert_eq!(bits(&got.dgamma), bits(&want_g), "∂γ {:?}", (n, c, h, w));
            // The same gradient in NCHW order, read in place at its pitches: the same bits.
            let (hp, wp) = (g.hp(), g.wp());
            let mut planes = vec![0.0f32; len];
            for ni in 0..n {
                for ch in 0..c {
                    for px in 0..hp * wp {
                        planes[(ni * c + ch) * hp * wp + px] = dp[(ni * hp * wp + px) * c + ch];
                    }
                }
            }
            let nchw = crate::kernel::strided::View4::nchw(&planes, [n, c, hp, wp]);
            let from_planes = route(&g, &a, &winners, nchw.pixel_rows().expect("NCHW"));
            assert_eq!(
                bits(&from_planes.routed),
                bits(&routed),
                "NCHW {:?}",
                (n, c, h, w)
            );
            assert_eq!(bits(&from_planes.dbeta), bits(&want_b));
            assert_eq!(bits(&from_planes.dgamma), bits(&want_g));
        }
    }
}
