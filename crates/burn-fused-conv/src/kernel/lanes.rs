//! The vector operations the register-tiled products of [`super::tile`] are written in, for
//! three instruction sets chosen at run time: AVX-512F, AVX2 + FMA, and plain Rust.
//!
//! Every product is a chain of fused multiply-adds `acc ← x·b + acc` (one rounding each), one
//! lane per output element, in the same order on every instruction set: the result does not
//! depend on the vector width, so the three give the same bits (plain Rust through
//! [`f32::mul_add`], which rounds once as the hardware instruction does).
//!
//! ```text
//! Avx512: W = 16 lanes (zmm), 32 registers: tiles of 12 rows × 2 vectors
//! Avx2:   W =  8 lanes (ymm), 16 registers: tiles of  6 rows × 2 vectors
//! Plain:  W =  8 lanes ([f32; 8]),          tiles of  4 rows × 2 vectors
//! ```

/// One instruction set's vectors of `W` floats. Every method is `unsafe`: the pointers must be
/// valid for the lanes read or written, and the processor must have the instruction set (the
/// callers in [`super::tile`] check it once and run in a function compiled for it).
pub(crate) trait Lanes: Copy {
    /// Floats per vector.
    const W: usize;
    /// Rows (or weight-gradient columns) of a register tile of 2 vectors per row.
    const TILE: usize;
    /// Products of this `K` length or less run in one pass; longer ones in `K` blocks.
    const KC: usize;
    /// A vector of `W` floats.
    type V: Copy;
    /// All lanes 0.
    unsafe fn zero() -> Self::V;
    /// `W` floats from `p`.
    unsafe fn load(p: *const f32) -> Self::V;
    /// The first `n < W` floats from `p`, zeros in the other lanes (which are not read).
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    /// `W` floats to `p`.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// The first `n < W` lanes to `p` (the memory after them is not touched).
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
    /// `*p` in every lane.
    unsafe fn splat(p: *const f32) -> Self::V;
    /// `x·b + acc`, rounded once.
    unsafe fn fma(x: Self::V, b: Self::V, acc: Self::V) -> Self::V;
}

/// Plain Rust: `[f32; 8]` and [`f32::mul_add`] (slow without a hardware FMA, but the same bits).
#[derive(Clone, Copy)]
pub(crate) struct Plain;

impl Lanes for Plain {
    const W: usize = 8;
    const TILE: usize = 4;
    const KC: usize = 256;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 8 readable floats.
        unsafe { std::ptr::read_unaligned(p as *const [f32; 8]) }
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V {
        let mut v = [0.0; 8];
        for (i, x) in v.iter_mut().enumerate().take(n) {
            // SAFETY: the caller guarantees n readable floats.
            *x = unsafe { *p.add(i) };
        }
        v
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller guarantees 8 writable floats.
        unsafe { std::ptr::write_unaligned(p as *mut [f32; 8], v) }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize) {
        for (i, x) in v.iter().enumerate().take(n) {
            // SAFETY: the caller guarantees n writable floats.
            unsafe { *p.add(i) = *x };
        }
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees one readable float.
        [unsafe { *p }; 8]
    }
    #[inline(always)]
    unsafe fn fma(x: Self::V, b: Self::V, acc: Self::V) -> Self::V {
        std::array::from_fn(|i| x[i].mul_add(b[i], acc[i]))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Lanes;

    /// AVX2 + FMA: `__m256`.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    /// The mask of the first `n` of 8 lanes, for `maskload`/`maskstore`.
    #[inline(always)]
    unsafe fn mask8(n: usize) -> __m256i {
        // SAFETY: AVX is enabled where this is inlined (AVX2 + FMA functions only).
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(n as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }

    impl Lanes for Avx2 {
        const W: usize = 8;
        const TILE: usize = 6;
        const KC: usize = 256;
        type V = __m256;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
            unsafe { _mm256_maskload_ps(p, mask8(n)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
            unsafe { _mm256_maskstore_ps(p, mask8(n), v) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> __m256 {
            unsafe { _mm256_broadcast_ss(&*p) }
        }
        #[inline(always)]
        unsafe fn fma(x: __m256, b: __m256, acc: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(x, b, acc) }
        }
    }

    /// AVX-512F: `__m512`.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    impl Lanes for Avx512 {
        const W: usize = 16;
        const TILE: usize = 12;
        const KC: usize = 128;
        type V = __m512;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
            unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> __m512 {
            unsafe { _mm512_set1_ps(*p) }
        }
        #[inline(always)]
        unsafe fn fma(x: __m512, b: __m512, acc: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(x, b, acc) }
        }
    }
}
