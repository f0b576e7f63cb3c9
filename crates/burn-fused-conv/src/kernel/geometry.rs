//! Where every value of a block lives: the row-im2col buffer, the conv output and the pooled
//! output, all channels-last.
//!
//! A block's conv output is computed for every position `(n, h, w')` with `w'` in `0..W + 2`
//! ("rows" of the GEMM): the two extra columns per image row are scratch, computed and ignored,
//! which is what lets the GEMM read its left operand as an overlapping view (row stride `3·C_in`,
//! row length `9·C_in`) of the row-im2col buffer instead of a 9× im2col copy:
//!
//! ```text
//! xh[n][h][w'][kh][ci] = x[n][ci][h + kh − 1][w' − 1]   (0 outside the image)
//! lhs[r][kw·3·C_in + kh·C_in + ci] = xh[(r + kw)·3·C_in + kh·C_in + ci],  r = (n·H + h)·(W + 2) + w'
//! y[r][co] = Σ_k lhs[r][k] · wr[k][co],  wr[kw·3·C_in + kh·C_in + ci][co] = weight[co][ci][kh][kw]
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

    /// Floats of a row-im2col buffer with `c` channels: `(rows + 2)·3·c` (two zero rows at the
    /// end, which the last row's overlapping view reaches into).
    pub fn xh_len(&self, c: usize) -> usize {
        (self.rows() + 2) * 3 * c
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
        assert_eq!(g.xh_len(3), (32 * 64 * 66 + 2) * 9);
        assert_eq!((g.hp(), g.wp()), (32, 32));
        assert_eq!(g.conv_flops(), 2.0 * 32.0 * 4096.0 * 27.0 * 32.0);
    }
}
