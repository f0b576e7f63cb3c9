//! Where every value of a block lives, all channels-last: the padded input, the conv output
//! and the pooled output.
//!
//! The padded input (and the conv output's gradient, written the same way) has one zero pixel
//! on every side: `xp[n][h][w][c]` for `h < H + 2`, `w < W + 2`. The conv output is in
//! *GEMM-row* layout: pixel `(n, h, w)` at row `r = (n·H + h)·(W + 2) + w`, with two scratch
//! columns `w = W, W + 1` per image row (zeros, never computed). Shifted by `W + 3` pixels, an
//! image of GEMM rows is the interior of a padded image: its scratch columns fall on the right
//! and left borders.
//!
//! ```text
//! y[r][co] = Σ_{kh, kw, ci} xp[n][h + kh][w + kw][ci] · weight[co][ci][kh][kw]
//! ```

/// The sizes of one block call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Input (and conv output) height.
    pub h: usize,
    /// Input (and conv output) width.
    pub w: usize,
}

impl Geometry {
    /// Width of a GEMM row group: the image width plus the two scratch columns.
    pub fn wp2(&self) -> usize {
        self.w + 2
    }

    /// GEMM rows per image: `H·(W + 2)`.
    pub fn rows_per_image(&self) -> usize {
        self.h * self.wp2()
    }

    /// GEMM rows of the whole batch.
    pub fn rows(&self) -> usize {
        self.n * self.rows_per_image()
    }

    /// Pooled height `⌊H/2⌋`.
    pub fn hp(&self) -> usize {
        self.h / 2
    }

    /// Pooled width `⌊W/2⌋`.
    pub fn wp(&self) -> usize {
        self.w / 2
    }

    /// Values per channel that batch norm averages over: `N·H·W`.
    pub fn samples(&self) -> usize {
        self.n * self.h * self.w
    }

    /// Pixels of one image padded by one on every side: `(H + 2)·(W + 2)`.
    pub fn padded_pixels_per_image(&self) -> usize {
        (self.h + 2) * self.wp2()
    }

    /// Floats of a padded buffer with `c` channels: `N·(H + 2)·(W + 2)·c`.
    pub fn padded_len(&self, c: usize) -> usize {
        self.n * self.padded_pixels_per_image() * c
    }

    /// Multiply-adds of the conv forward: `N·H·W·9·C_in·C_out` (the scratch columns excluded).
    pub fn conv_flops(&self) -> f64 {
        2.0 * self.samples() as f64 * 9.0 * self.cin as f64 * self.cout as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_the_seedlings_first_block() {
        let g = Geometry {
            n: 32,
            cin: 3,
            cout: 32,
            h: 64,
            w: 64,
        };
        assert_eq!(g.rows(), 32 * 64 * 66);
        assert_eq!(g.padded_len(3), 32 * 66 * 66 * 3);
        assert_eq!((g.hp(), g.wp()), (32, 32));
        assert_eq!(g.conv_flops(), 2.0 * 32.0 * 4096.0 * 27.0 * 32.0);
    }
}
