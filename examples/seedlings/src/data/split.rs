//! The seeded, stratified train/valid split used when the data has no `valid/` folder.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::seed::{STREAM_SPLIT, derive_seed};

/// Default share of each class that goes to the valid split.
pub const DEFAULT_VALID_FRACTION: f64 = 0.2;

/// Splits items by class: within each class the items are shuffled with a generator seeded
/// from `(seed, class)`, and the first `round(valid_fraction * n)` go to valid, but never all
/// of them: a class with `n ≥ 1` items keeps at least one in train (so a class of one item is
/// train-only, and `round` may give a class of two items no valid item at 20%).
///
/// `labels[i]` is the class of item `i`. Returns `(train, valid)` as item indices, each sorted
/// ascending, so the split depends only on the labels, the fraction and the seed.
pub fn stratified_split(
    labels: &[usize],
    valid_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let n_classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let fraction = if valid_fraction.is_finite() {
        valid_fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut train = Vec::with_capacity(labels.len());
    let mut valid = Vec::new();
    for (class, mut items) in by_class.into_iter().enumerate() {
        let n = items.len();
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&[STREAM_SPLIT, seed, class as u64]));
        items.shuffle(&mut rng);
        // `n as f64` is exact for any realistic count; the product is ≤ n.
        let n_valid = ((fraction * n as f64).round() as usize).min(n.saturating_sub(1));
        valid.extend_from_slice(&items[..n_valid]);
        train.extend_from_slice(&items[n_valid..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_one_train_item_per_class() {
        let labels = [0, 1, 1, 2, 2, 2];
        let (train, valid) = stratified_split(&labels, 0.9, 7);
        for class in 0..3 {
            assert!(train.iter().any(|&i| labels[i] == class), "class {class}");
        }
        assert_eq!(train.len() + valid.len(), labels.len());
    }

    #[test]
    fn split_fraction_zero_puts_all_in_train() {
        let labels = [0, 0, 1, 1];
        let (train, valid) = stratified_split(&labels, 0.0, 1);
        assert_eq!(train, vec![0, 1, 2, 3]);
        assert!(valid.is_empty());
    }
}
