//! The instruction set the kernels run with: the widest the processor has, or a narrower one
//! named by the environment variable [`MAX_ISA_VAR`] (as oneDNN's `ONEDNN_MAX_CPU_ISA` and
//! PyTorch's `ATEN_CPU_CAPABILITY` do), read once per process.
//!
//! ```text
//! active = min(detected, BURN_FUSED_CONV_MAX_ISA)        Plain < Avx2 < Avx512
//! ```
//!
//! Capping it lets one machine time the code paths of another: an AVX-512 host run with
//! `BURN_FUSED_CONV_MAX_ISA=avx2` runs the kernels (and [`crate::bench::fma_peak_gflops`]) as an
//! AVX2-only host would. Every instruction set gives the same bits (see [`crate::kernel::tile`]),
//! so the cap changes speed only.
//!
//! ```
//! use burn_fused_conv::isa::Isa;
//! assert_eq!(Isa::from_name("avx2"), Ok(Isa::Avx2));
//! assert!(Isa::from_name("sse9").unwrap_err().contains("sse9"));
//! assert!(Isa::active() <= Isa::detected());
//! assert!(Isa::Plain < Isa::Avx2 && Isa::Avx2 < Isa::Avx512);
//! ```

use std::sync::OnceLock;

/// The environment variable that caps the instruction set: `avx512`, `avx2` or `plain`.
pub const MAX_ISA_VAR: &str = "BURN_FUSED_CONV_MAX_ISA";

/// An instruction set of the kernels, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    /// Rust compiled for the target (baseline x86-64: SSE2), no fused multiply-add instruction.
    Plain,
    /// AVX2 + FMA: 8-float vectors.
    Avx2,
    /// AVX-512F: 16-float vectors.
    Avx512,
}

impl Isa {
    /// Every instruction set, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Plain, Isa::Avx2, Isa::Avx512];

    /// The name [`MAX_ISA_VAR`] takes and figures print.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Plain => "plain",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The instruction set named `name` (as [`Isa::name`] writes it, any case), or a message
    /// naming the value and the choices.
    pub fn from_name(name: &str) -> Result<Isa, String> {
        let wanted = name.trim().to_ascii_lowercase();
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name() == wanted)
            .ok_or_else(|| format!("{MAX_ISA_VAR}={name:?} is not one of avx512, avx2, plain"))
    }

    /// The widest instruction set the processor has (detected by std, which caches it).
    pub fn detected() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Plain
    }

    /// The cap [`MAX_ISA_VAR`] names: `Ok(None)` when it is unset or empty, an error naming the
    /// value when it names no instruction set.
    pub fn cap_from_env() -> Result<Option<Isa>, String> {
        match std::env::var(MAX_ISA_VAR) {
            Ok(text) if !text.trim().is_empty() => Isa::from_name(&text).map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(text)) => Err(format!(
                "{MAX_ISA_VAR}={text:?} is not one of avx512, avx2, plain"
            )),
        }
    }

    /// What the kernels run with: [`Isa::detected`], capped by [`MAX_ISA_VAR`]. Decided on the
    /// first call; a value that names no instruction set is reported once on standard error and
    /// ignored (a program that wants to refuse it calls [`Isa::cap_from_env`] first).
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let cap = Isa::cap_from_env().unwrap_or_else(|message| {
                eprintln!("burn-fused-conv: {message}; ignored");
                None
            });
            cap.map_or(Isa::detected(), |cap| cap.min(Isa::detected()))
        })
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Isa::Plain => "plain Rust",
            Isa::Avx2 => "AVX2 + FMA",
            Isa::Avx512 => "AVX-512",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_ones_are_named() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Ok(isa));
            assert_eq!(Isa::from_name(&isa.name().to_uppercase()), Ok(isa));
        }
        let err = Isa::from_name("avx3").unwrap_err();
        assert!(
            err.contains("\"avx3\"") && err.contains(MAX_ISA_VAR),
            "{err}"
        );
    }

    #[test]
    fn the_active_set_never_exceeds_the_processors() {
        assert!(Isa::active() <= Isa::detected());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            assert!(Isa::detected() >= Isa::Avx2);
        }
    }
}
