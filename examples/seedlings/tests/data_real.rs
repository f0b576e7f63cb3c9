//! The real photos, read through `SEEDLINGS_DATA` only (skipped when it is unset).

use seedlings::data::{DATA_ENV, DataSource, LoadOptions, Normalization, load};

#[test]
fn real_plant_seedlings_load() {
    let Some(root) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) else {
        println!("skipped: set {DATA_ENV} to the plant-seedlings folder to run this test");
        return;
    };
    let root = std::path::PathBuf::from(root);
    let set = load(&root, &LoadOptions::default()).expect("real data loads");
    println!("{}", set.summary());
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert_eq!(set.class_names.len(), 12);
    assert_eq!(set.class_names[0], "Black-grass");
    assert!(set.class_names.iter().any(|c| c == "Common Chickweed"));
    assert_eq!(set.train.len(), 2363);
    assert_eq!(set.valid.len(), 591);
    assert_eq!(set.train.len() + set.valid.len(), 2954);
    assert_eq!(set.train.class_counts(12)[0], 198);
    assert_eq!(set.valid.class_counts(12)[0], 50);
    assert_eq!(set.image_size, 96);
    assert_eq!(set.train.pixels().len(), 2363 * 96 * 96 * 3);
    assert!(matches!(&set.source, DataSource::Real { .. }));
    let norm = Normalization::from_store(&set.train);
    // Soil photos: more red than blue on average, nothing degenerate.
    for c in 0..3 {
        assert!(
            norm.mean[c] > 0.05 && norm.mean[c] < 0.95 && norm.std[c] > 0.01,
            "{norm:?}"
        );
    }
}
