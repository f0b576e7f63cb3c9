//! On-the-fly augmentation of one image, and the per-channel normalization.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::ImageStore;

/// Largest relative change of brightness and of contrast drawn by [`Augment::sample`] (±10 %).
pub const JITTER: f32 = 0.1;

/// One draw of the augmentation for one image. Applied in this order: horizontal flip,
/// vertical flip, `rot90` quarter turns **clockwise**, then contrast and brightness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Mirror left ↔ right.
    pub hflip: bool,
    /// Mirror top ↔ bottom.
    pub vflip: bool,
    /// Quarter turns clockwise, 0..4 (images are square).
    pub rot90: u8,
    /// Brightness factor (1 = unchanged): `v ← v · brightness`.
    pub brightness: f32,
    /// Contrast factor around the image's mean value (1 = unchanged):
    /// `v ← mean + (v − mean) · contrast`.
    pub contrast: f32,
}

impl Augment {
    /// The augmentation that changes nothing.
    pub const IDENTITY: Augment = Augment {
        hflip: false,
        vflip: false,
        rot90: 0,
        brightness: 1.0,
        contrast: 1.0,
    };

    /// Draws flips (p = ½ each), a rotation k ∈ 0..4, and brightness and contrast factors
    /// uniform in `1 ± JITTER`.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Augment {
            hflip: rng.random_bool(0.5),
            vflip: rng.random_bool(0.5),
            rot90: rng.random_range(0..4u8),
            brightness: 1.0 + rng.random_range(-JITTER..=JITTER),
            contrast: 1.0 + rng.random_range(-JITTER..=JITTER),
        }
    }

    /// Applies the augmentation to `src`, a `size`×`size` HWC RGB image, returning a new one.
    /// Values are rounded and clamped to 0..=255.
    ///
    /// # Panics
    ///
    /// When `src.len() != size * size * 3`.
    pub fn apply(&self, src: &[u8], size: usize) -> Vec<u8> {
        assert_eq!(src.len(), size * size * 3, "image is not {size}x{size} RGB");
        let n = size;
        let mut out = vec![0u8; src.len()];
        for y in 0..n {
            for x in 0..n {
                // Walk back from the output pixel to the source pixel.
                let (mut sy, mut sx) = (y, x);
                for _ in 0..self.rot90 % 4 {
                    // One clockwise turn maps source (r, c) to (c, n-1-r).
                    (sy, sx) = (n - 1 - sx, sy);
                }
                if self.vflip {
                    sy = n - 1 - sy;
                }
                if self.hflip {
                    sx = n - 1 - sx;
                }
                let d = (y * n + x) * 3;
                let s = (sy * n + sx) * 3;
                out[d..d + 3].copy_from_slice(&src[s..s + 3]);
            }
        }
        if self.brightness != 1.0 || self.contrast != 1.0 {
            let mean = if src.is_empty() {
                0.0
            } else {
                src.iter().map(|&v| f64::from(v)).sum::<f64>() as f32 / src.len() as f32
            };
            for v in &mut out {
                let c = (mean + (f32::from(*v) - mean) * self.contrast) * self.brightness;
                *v = c.round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }
}

/// Per-channel mean and standard deviation of the training pixels, on the 0..1 scale.
/// Inputs are normalized as `(v / 255 − mean) / std`. Stored in checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean of R, G, B.
    pub mean: [f32; 3],
    /// Population standard deviation of R, G, B (never 0: a flat channel gets 1).
    pub std: [f32; 3],
}

impl Normalization {
    /// No change besides the 0..1 scaling: mean 0, std 1.
    pub const IDENTITY: Normalization = Normalization {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    /// Computes mean and population std per channel over every pixel of `store` (meant for
    /// the train split). An empty store gives [`Normalization::IDENTITY`]; a channel whose std is
    /// below 1e-6 gets std 1.
    pub fn from_store(store: &ImageStore) -> Self {
        let mut sum = [0u64; 3];
        let mut sum_sq = [0u64; 3];
        for px in store.pixels().chunks_exact(3) {
            for c in 0..3 {
                let v = u64::from(px[c]);
                sum[c] += v;
                sum_sq[c] += v * v;
            }
        }
        let count = (store.pixels().len() / 3) as f64;
        if count == 0.0 {
            return Self::IDENTITY;
        }
        let mut out = Self::IDENTITY;
        for c in 0..3 {
            let mean = sum[c] as f64 / count;
            let var = (sum_sq[c] as f64 / count - mean * mean).max(0.0);
            let std = var.sqrt() / 255.0;
            out.mean[c] = (mean / 255.0) as f32;
            out.std[c] = if std < 1e-6 { 1.0 } else { std as f32 };
        }
        out
    }

    /// Normalizes one byte of channel `channel` (0 = R, 1 = G, 2 = B).
    pub fn apply(&self, value: u8, channel: usize) -> f32 {
        (f32::from(value) / 255.0 - self.mean[channel]) / self.std[channel]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_changes_nothing() {
        let src: Vec<u8> = (0..27).collect();
        assert_eq!(Augment::IDENTITY.apply(&src, 3), src);
    }

    #[test]
    fn four_quarter_turns_are_identity() {
        let src: Vec<u8> = (0..48).collect();
        let mut img = src.clone();
        let turn = Augment {
            rot90: 1,
            ..Augment::IDENTITY
        };
        for _ in 0..4 {
            img = turn.apply(&img, 4);
        }
        assert_eq!(img, src);
    }
}
