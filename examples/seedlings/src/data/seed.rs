//! Deriving independent random seeds from a few numbers (SplitMix64 mixing).
//!
//! Every random choice in the data layer uses its own ChaCha8 generator seeded by
//! [`derive_seed`] from a stream tag plus the numbers that identify the choice (seed, epoch,
//! class or sample index). Results therefore never depend on the order in which threads run.

/// Stream tag for the stratified train/valid split.
pub const STREAM_SPLIT: u64 = 1;
/// Stream tag for the per-epoch shuffle of the train order.
pub const STREAM_EPOCH_ORDER: u64 = 2;
/// Stream tag for the per-sample augmentation.
pub const STREAM_AUGMENT: u64 = 3;
/// Stream tag for synthetic images.
pub const STREAM_SYNTHETIC: u64 = 4;

/// Mixes `parts` into one well-spread 64-bit seed. Different inputs (including different
/// lengths) give unrelated outputs with overwhelming probability.
pub fn derive_seed(parts: &[u64]) -> u64 {
    let mut h = splitmix64(parts.len() as u64);
    for &p in parts {
        h = splitmix64(h ^ splitmix64(p));
    }
    h
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_seed_separates_inputs() {
        let a = derive_seed(&[1, 2, 3]);
        assert_eq!(a, derive_seed(&[1, 2, 3]));
        assert_ne!(a, derive_seed(&[1, 3, 2]));
        assert_ne!(a, derive_seed(&[1, 2, 3, 0]));
        assert_ne!(derive_seed(&[0]), derive_seed(&[0, 0]));
    }
}
