//! Per-image loops compiled twice: for the processor the crate is built for, and with AVX2 + FMA,
//! chosen at run time ([`crate::isa::Isa::active`]). Rust builds for baseline x86-64 (SSE2) unless told otherwise; the loops
//! of [`super::norm_pool`] and [`super::strided`] run several times faster with 256-bit vectors.
//! No fused multiply-add is formed (Rust does not contract `a·b + c`), so both versions give the
//! same bits.

/// Defines `fn $name(args) -> ret` that runs `$body` compiled with AVX2 + FMA where the
/// processor has them, as compiled for the target otherwise.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if $crate::isa::Isa::active() >= $crate::isa::Isa::Avx2 {
                    // SAFETY: the processor has AVX2 and FMA (`Isa::active` never exceeds
                    // what it detected).
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

pub(crate) use multiversion;
