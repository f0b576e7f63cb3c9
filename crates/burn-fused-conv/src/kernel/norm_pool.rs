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

use rayon::prelude::*;

use super::geometry::Geometry;

/// Per-channel batch mean and biased variance of the conv output, in f64.
pub fn batch_stats(y: &[f32], g: &Geometry) -> (Vec<f64>, Vec<f64>) {
    let c = g.cout;
    let rows_img = g.rows_per_image();
    // Sums are taken around a per-channel pivot (the first sample) so that Σ(y − p)² − M·(μ − p)²
    // does not cancel when |μ| ≫ σ.
    let pivot: Vec<f32> = y[..c].to_vec();
    let partials: Vec<(Vec<f64>, Vec<f64>)> = (0..g.n)
        .into_par_iter()
        .map(|ni| {
            let (mut s, mut q) = (vec![0.0f64; c], vec![0.0f64; c]);
            let (mut rs, mut rq) = (vec![0.0f32; c], vec![0.0f32; c]);
            for h in 0..g.h {
                rs.iter_mut().for_each(|v| *v = 0.0);
                rq.iter_mut().for_each(|v| *v = 0.0);
                let r0 = ni * rows_img + h * g.wp2();
                for px in y[r0 * c..(r0 + g.w) * c].chunks_exact(c) {
                    for (((rs, rq), &v), &p) in rs.iter_mut().zip(rq.iter_mut()).zip(px).zip(&pivot) {
                        let d = v - p;
                        *rs += d;
                        *rq += d * d;
                    }
                }
                for (((s, q), &rs), &rq) in s.iter_mut().zip(q.iter_mut()).zip(&rs).zip(&rq) {
                    *s += rs as f64;
                    *q += rq as f64;
                }
            }
            (s, q)
        })
        .collect();
    let m = g.samples() as f64;
    let (mut mean, mut var) = (vec![0.0f64; c], vec![0.0f64; c]);
    for ch in 0..c {
        let (mut s, mut q) = (0.0f64, 0.0f64);
        for (ps, pq) in &partials {
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

/// Normalize, ReLU and 2×2 max-pool: the pooled output `[N, H/2, W/2, C]` (channels-last), and
/// the argmax of each window (0..4 as `dy·2 + dx`) when `argmax` is given.
pub fn forward(y: &[f32], g: &Geometry, a: &Affine, mut argmax: Option<&mut [u8]>) -> Vec<f32> {
    let c = g.cout;
    let (hp, wp, wp2) = (g.hp(), g.wp(), g.wp2());
    let per_image = hp * wp * c;
    let mut out = vec![0.0f32; g.n * per_image];
    if per_image == 0 {
        return out;
    }
    let rows_img = g.rows_per_image();
    let (scale, shift) = (&a.scale[..], &a.shift[..]);
    let body = |ni: usize, out: &mut [f32], mut arg: Option<&mut [u8]>| {
        for ph in 0..hp {
            for pw in 0..wp {
                let r00 = ni * rows_img + 2 * ph * wp2 + 2 * pw;
                let px = |r: usize| &y[r * c..(r + 1) * c];
                let (y0, y1, y2, y3) = (px(r00), px(r00 + 1), px(r00 + wp2), px(r00 + wp2 + 1));
                let o = (ph * wp + pw) * c;
                let out = &mut out[o..o + c];
                // Branch-free over the channels (first maximum wins, as in MaxPool2d).
                match arg.as_deref_mut() {
                    Some(arg) => {
                        let arg = &mut arg[o..o + c];
                        for ch in 0..c {
                            let (s, t) = (scale[ch], shift[ch]);
                            let (z0, z1, z2, z3) =
                                (y0[ch] * s + t, y1[ch] * s + t, y2[ch] * s + t, y3[ch] * s + t);
                            let (m01, i01) = if z1 > z0 { (z1, 1u8) } else { (z0, 0u8) };
                            let (m23, i23) = if z3 > z2 { (z3, 3u8) } else { (z2, 2u8) };
                            let (m, i) = if m23 > m01 { (m23, i23) } else { (m01, i01) };
                            out[ch] = m.max(0.0);
                            arg[ch] = i;
                        }
                    }
                    None => {
                        for ch in 0..c {
                            let (s, t) = (scale[ch], shift[ch]);
                            let m = (y0[ch] * s + t)
                                .max(y1[ch] * s + t)
                                .max(y2[ch] * s + t)
                                .max(y3[ch] * s + t);
                            out[ch] = m.max(0.0);
                        }
                    }
                }
            }
        }
    };
    match argmax.as_deref_mut() {
        Some(arg) => out
            .par_chunks_mut(per_image)
            .zip(arg.par_chunks_mut(per_image))
            .enumerate()
            .for_each(|(ni, (o, a))| body(ni, o, Some(a))),
        None => out
            .par_chunks_mut(per_image)
            .enumerate()
            .for_each(|(ni, o)| body(ni, o, None)),
    }
    out
}

/// The gradients of batch norm's input (GEMM-row layout, zeros in the scratch columns), γ and
/// β, from the pooled output's gradient `dp` (`[N, H/2, W/2, C]`, channels-last).
pub fn backward(
    y: &[f32],
    g: &Geometry,
    a: &Affine,
    argmax: &[u8],
    dp: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let c = g.cout;
    let (hp, wp, wp2) = (g.hp(), g.wp(), g.wp2());
    let per_image = hp * wp * c;
    let rows_img = g.rows_per_image();
    let row_of = |ni: usize, ph: usize, pw: usize, at: u8| {
        ni * rows_img + (2 * ph + (at as usize >> 1)) * wp2 + 2 * pw + (at as usize & 1)
    };

    // Pass 1: the gradient that reaches each window's argmax through ReLU, and Σd, Σd·ŷ.
    let mut routed = vec![0.0f32; g.n * per_image];
    let partials: Vec<(Vec<f64>, Vec<f64>)> = if per_image == 0 {
        Vec::new()
    } else {
        routed
            .par_chunks_mut(per_image)
            .enumerate()
            .map(|(ni, routed)| {
                let (mut sb, mut sg) = (vec![0.0f64; c], vec![0.0f64; c]);
                for ph in 0..hp {
                    for pw in 0..wp {
                        let o = ((ni * hp + ph) * wp + pw) * c;
                        let lo = (ph * wp + pw) * c;
                        for ch in 0..c {
                            let r = row_of(ni, ph, pw, argmax[o + ch]);
                            let yv = y[r * c + ch];
                            let yhat = (yv - a.mean[ch]) * a.inv_std[ch];
                            if yv * a.scale[ch] + a.shift[ch] > 0.0 {
                                let d = dp[o + ch];
                                routed[lo + ch] = d;
                                sb[ch] += d as f64;
                                sg[ch] += (d * yhat) as f64;
                            }
                        }
                    }
                }
                (sb, sg)
            })
            .collect()
    };
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

    // Pass 2: ∂y = γ·inv_std·(d − mean(d) − ŷ·mean(d·ŷ)) over every sample of the image, written
    // once: `k0 + k1·y` (the terms without d, per channel), then `+ γ·inv_std·d` at the argmax.
    let k1: Vec<f32> = (0..c).map(|ch| -scale[ch] * a.inv_std[ch] * mean_dy[ch]).collect();
    let k0: Vec<f32> = (0..c)
        .map(|ch| scale[ch] * (a.mean[ch] * a.inv_std[ch] * mean_dy[ch] - mean_d[ch]))
        .collect();
    let mut dy = vec![0.0f32; g.rows() * c];
    if rows_img > 0 {
        dy.par_chunks_mut(rows_img * c)
            .enumerate()
            .for_each(|(ni, dy)| {
                let yi = &y[ni * rows_img * c..(ni + 1) * rows_img * c];
                for h in 0..g.h {
                    let span = h * wp2 * c..(h * wp2 + g.w) * c;
                    for (dst, src) in dy[span.clone()]
                        .chunks_exact_mut(c)
                        .zip(yi[span].chunks_exact(c))
                    {
                        for (((d, &v), &k0), &k1) in dst.iter_mut().zip(src).zip(&k0).zip(&k1) {
                            *d = k0 + k1 * v;
                        }
                    }
                }
                if per_image > 0 {
                    let routed = &routed[ni * per_image..(ni + 1) * per_image];
                    let arg = &argmax[ni * per_image..(ni + 1) * per_image];
                    for ph in 0..hp {
                        for pw in 0..wp {
                            let lo = (ph * wp + pw) * c;
                            for ch in 0..c {
                                let r = row_of(0, ph, pw, arg[lo + ch]);
                                dy[r * c + ch] += scale[ch] * routed[lo + ch];
                            }
                        }
                    }
                }
            });
    }
    let dgamma = dgamma.iter().map(|&v| v as f32).collect();
    let dbeta = dbeta.iter().map(|&v| v as f32).collect();
    (dy, dgamma, dbeta)
}
