//! Augmentation, normalization, epoch plans, batches, prefetching and the synthetic set.

use burn::data::dataset::Dataset;
use seedlings::data::{
    Augment, AugmentSeed, Batch, EpochPlan, ImageStore, Normalization, Prefetcher, make_batch,
    synthetic,
};

/// A 3×3 image whose red channel numbers the pixels row by row (0..9); green and blue are
/// derived so that every channel is checked.
fn numbered() -> Vec<u8> {
    (0..9u8).flat_map(|v| [v, v + 100, v + 200]).collect()
}

/// The red channel laid out as rows.
fn red_grid(img: &[u8]) -> Vec<u8> {
    img.chunks_exact(3)
        .map(|p| {
            assert_eq!(
                (p[1], p[2]),
                (p[0] + 100, p[0] + 200),
                "channels stay together"
            );
            p[0]
        })
        .collect()
}

fn geometric(hflip: bool, vflip: bool, rot90: u8) -> Augment {
    Augment {
        hflip,
        vflip,
        rot90,
        ..Augment::IDENTITY
    }
}

#[test]
fn flips_and_quarter_turns_move_pixels_correctly() {
    let img = numbered();
    let cases: [(Augment, [u8; 9]); 6] = [
        (geometric(true, false, 0), [2, 1, 0, 5, 4, 3, 8, 7, 6]),
        (geometric(false, true, 0), [6, 7, 8, 3, 4, 5, 0, 1, 2]),
        // One clockwise quarter turn: the left column (0 3 6), read bottom-up, becomes the top row.
        (geometric(false, false, 1), [6, 3, 0, 7, 4, 1, 8, 5, 2]),
        (geometric(false, false, 2), [8, 7, 6, 5, 4, 3, 2, 1, 0]),
        (geometric(false, false, 3), [2, 5, 8, 1, 4, 7, 0, 3, 6]),
        // Flip first, then turn.
        (geometric(true, false, 1), [8, 5, 2, 7, 4, 1, 6, 3, 0]),
    ];
    for (aug, expected) in cases {
        assert_eq!(red_grid(&aug.apply(&img, 3)), expected, "{aug:?}");
    }
}

#[test]
fn brightness_and_contrast_follow_the_formula() {
    // One pixel (100, 50, 150): mean 100. Contrast ½ → (100, 75, 125); brightness 1.1 →
    // (110, 82.5, 137.5) → rounded (110, 83, 138).
    let aug = Augment {
        contrast: 0.5,
        brightness: 1.1,
        ..Augment::IDENTITY
    };
    assert_eq!(aug.apply(&[100, 50, 150], 1), vec![110, 83, 138]);
    // Clamped at 255.
    let bright = Augment {
        brightness: 1.1,
        ..Augment::IDENTITY
    };
    assert_eq!(bright.apply(&[250, 0, 10], 1), vec![255, 0, 11]);
}

#[test]
fn sampled_augmentation_stays_in_range_and_is_seeded() {
    let seed = AugmentSeed { seed: 5, epoch: 2 };
    assert_eq!(seed.for_sample(17), seed.for_sample(17));
    let draws: Vec<Augment> = (0..200).map(|i| seed.for_sample(i)).collect();
    for a in &draws {
        assert!(a.rot90 < 4);
        assert!(
            (0.9..=1.1).contains(&a.brightness) && (0.9..=1.1).contains(&a.contrast),
            "{a:?}"
        );
    }
    // All four turns and both flips occur.
    for k in 0..4 {
        assert!(draws.iter().any(|a| a.rot90 == k));
    }
    assert!(draws.iter().any(|a| a.hflip) && draws.iter().any(|a| !a.hflip));
    assert_ne!(
        seed.for_sample(17),
        AugmentSeed { seed: 5, epoch: 3 }.for_sample(17)
    );
}

fn store_of(size: usize, images: &[(usize, Vec<u8>)]) -> ImageStore {
    let mut store = ImageStore::new(size);
    for (i, (label, px)) in images.iter().enumerate() {
        store.push(*label, px, format!("img{i}"));
    }
    store
}

#[test]
fn normalization_matches_hand_computed_values() {
    // Two 1×1 images: R 0 and 255 (mean ½, std ½), G 255 and 255 (mean 1, std 0 → 1),
    // B 10 and 30 (mean 20/255, std 10/255).
    let store = store_of(1, &[(0, vec![0, 255, 10]), (1, vec![255, 255, 30])]);
    let n = Normalization::from_store(&store);
    let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
    assert!(close(n.mean[0], 0.5) && close(n.std[0], 0.5), "{n:?}");
    assert!(close(n.mean[1], 1.0) && close(n.std[1], 1.0), "{n:?}");
    assert!(
        close(n.mean[2], 20.0 / 255.0) && close(n.std[2], 10.0 / 255.0),
        "{n:?}"
    );
    assert!(close(n.apply(255, 0), 1.0) && close(n.apply(0, 0), -1.0));
    assert_eq!(
        Normalization::from_store(&ImageStore::new(4)),
        Normalization::IDENTITY
    );
    // Stored in checkpoints: survives JSON.
    let json = serde_json::to_string(&n).expect("serialize");
    assert_eq!(
        serde_json::from_str::<Normalization>(&json).expect("deserialize"),
        n
    );
}

#[test]
fn epoch_plan_is_a_seeded_permutation_with_a_partial_last_batch() {
    let plan = EpochPlan::shuffled(23, 5, 9, 0);
    assert_eq!(plan, EpochPlan::shuffled(23, 5, 9, 0));
    assert_ne!(plan.order, EpochPlan::shuffled(23, 5, 9, 1).order);
    assert_ne!(plan.order, EpochPlan::shuffled(23, 5, 10, 0).order);
    let mut sorted = plan.order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..23).collect::<Vec<_>>());
    assert_eq!(plan.num_batches(), 5);
    let sizes: Vec<usize> = plan.batches().map(<[usize]>::len).collect();
    assert_eq!(sizes, [5, 5, 5, 5, 3]);
    assert_eq!(plan.batch(4), Some(&plan.order[20..]));
    assert_eq!(plan.batch(5), None);
    let valid = EpochPlan::sequential(7, 3);
    assert_eq!(valid.order, (0..7).collect::<Vec<_>>());
    assert_eq!(valid.num_batches(), 3);
    assert_eq!(EpochPlan::sequential(3, 0).batch_size, 1);
    assert_eq!(EpochPlan::sequential(0, 4).num_batches(), 0);
}

#[test]
fn make_batch_lays_out_nchw_and_normalizes() {
    // Two 2×2 images.
    let a: Vec<u8> = (0..12).collect();
    let b: Vec<u8> = (100..112).collect();
    let store = store_of(2, &[(3, a), (7, b)]);
    let batch = make_batch(&store, &[1, 0], &Normalization::IDENTITY, None);
    assert_eq!(batch.shape(), [2, 3, 2, 2]);
    assert_eq!(batch.labels, [7, 3]);
    assert_eq!(batch.len, 2);
    // Image 1 first; channel planes R (100,103,106,109), G (+1), B (+2); then image 0.
    let expected: Vec<f32> = [
        [100, 103, 106, 109],
        [101, 104, 107, 110],
        [102, 105, 108, 111],
        [0, 3, 6, 9],
        [1, 4, 7, 10],
        [2, 5, 8, 11],
    ]
    .iter()
    .flatten()
    .map(|&v| v as f32 / 255.0)
    .collect();
    assert_eq!(batch.images, expected);
    let norm = Normalization {
        mean: [0.5; 3],
        std: [0.25; 3],
    };
    let batch = make_batch(&store, &[0], &norm, None);
    assert!((batch.images[0] - (0.0 - 0.5) / 0.25).abs() < 1e-6);
}

fn bits(batch: &Batch) -> Vec<u32> {
    batch.images.iter().map(|v| v.to_bits()).collect()
}

/// All batches of epoch `epoch`, made one after the other on this thread.
fn sequential_batches(
    store: &ImageStore,
    norm: &Normalization,
    seed: u64,
    epoch: u64,
) -> Vec<Batch> {
    let plan = EpochPlan::shuffled(store.len(), 7, seed, epoch);
    plan.batches()
        .map(|idx| make_batch(store, idx, norm, Some(AugmentSeed { seed, epoch })))
        .collect()
}

#[test]
fn two_runs_give_byte_identical_batches() {
    let run = || {
        let set = synthetic(16, 5, 2, 11);
        let norm = Normalization::from_store(&set.train);
        (0..2)
            .flat_map(|epoch| sequential_batches(&set.train, &norm, 11, epoch))
            .collect::<Vec<_>>()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), 2 * 60usize.div_ceil(7));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(bits(x), bits(y));
        assert_eq!(x.labels, y.labels);
    }
    // Augmentation really changes things between epochs.
    assert_ne!(bits(&a[0]), bits(&a[a.len() / 2]));
}

#[test]
fn augmentation_of_a_sample_does_not_depend_on_its_batch() {
    let set = synthetic(8, 2, 0, 1);
    let norm = Normalization::IDENTITY;
    let aug = Some(AugmentSeed { seed: 1, epoch: 0 });
    let alone = make_batch(&set.train, &[5], &norm, aug);
    let together = make_batch(&set.train, &[2, 5, 9], &norm, aug);
    let plane = 3 * 8 * 8;
    assert_eq!(bits(&alone), bits(&together)[plane..2 * plane]);
}

#[test]
fn prefetch_order_equals_sequential_order() {
    let set = synthetic(16, 4, 2, 3);
    let norm = Normalization::from_store(&set.train);
    let expected = sequential_batches(&set.train, &norm, 3, 1);
    for workers in [1, 2, 3, 8] {
        let plan = EpochPlan::shuffled(set.train.len(), 7, 3, 1);
        let got: Vec<Batch> = Prefetcher::new(
            &set.train,
            plan,
            norm,
            Some(AugmentSeed { seed: 3, epoch: 1 }),
            0,
            workers,
        )
        .collect();
        assert_eq!(got.len(), expected.len(), "workers {workers}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(bits(g), bits(e), "workers {workers}");
            assert_eq!(g.labels, e.labels);
        }
    }
}

#[test]
fn prefetch_resumes_at_batch_k() {
    let set = synthetic(8, 3, 0, 4);
    let norm = Normalization::IDENTITY;
    let expected = sequential_batches(&set.train, &norm, 4, 0);
    let plan = EpochPlan::shuffled(set.train.len(), 7, 4, 0);
    let mut pre = Prefetcher::new(
        &set.train,
        plan.clone(),
        norm,
        Some(AugmentSeed { seed: 4, epoch: 0 }),
        2,
        2,
    );
    assert_eq!(pre.next_batch_index(), 2);
    assert_eq!(pre.len(), expected.len() - 2);
    let got: Vec<Batch> = pre.by_ref().collect();
    assert_eq!(got.len(), expected.len() - 2);
    for (g, e) in got.iter().zip(&expected[2..]) {
        assert_eq!(bits(g), bits(e));
    }
    assert!(pre.next().is_none());
    // Past the end: nothing.
    assert_eq!(
        Prefetcher::new(&set.train, plan, norm, None, 99, 2).count(),
        0
    );
}

#[test]
fn prefetch_stops_cleanly_when_dropped_early() {
    let set = synthetic(16, 10, 0, 5);
    let plan = EpochPlan::shuffled(set.train.len(), 4, 5, 0);
    let mut pre = Prefetcher::new(&set.train, plan, Normalization::IDENTITY, None, 0, 3);
    let first = pre.next().expect("one batch");
    assert_eq!(first.len, 4);
    drop(pre); // joins the workers; hanging here would fail the test by timeout
}

#[test]
fn validation_batches_are_unaugmented_and_in_order() {
    let set = synthetic(8, 1, 3, 6);
    let plan = EpochPlan::sequential(set.valid.len(), 10);
    let got: Vec<Batch> =
        Prefetcher::new(&set.valid, plan, Normalization::IDENTITY, None, 0, 2).collect();
    let labels: Vec<i64> = got.iter().flat_map(|b| b.labels.clone()).collect();
    let expected: Vec<i64> = set.valid.labels().iter().map(|&l| l as i64).collect();
    assert_eq!(labels, expected);
    let first = set.valid.image(0).expect("image");
    assert_eq!(got[0].images[0], f32::from(first[0]) / 255.0);
}

#[test]
fn synthetic_set_is_deterministic_and_shaped() {
    let a = synthetic(24, 6, 2, 42);
    let b = synthetic(24, 6, 2, 42);
    assert!(a.is_synthetic());
    assert_eq!(a.train, b.train);
    assert_eq!(a.valid, b.valid);
    assert_ne!(a.train, synthetic(24, 6, 2, 43).train);
    assert_eq!(a.class_names.len(), 12);
    assert_eq!(a.class_names[3], "synthetic-Common Chickweed");
    assert_eq!(a.train.class_counts(12), [6; 12]);
    assert_eq!(a.valid.class_counts(12), [2; 12]);
    assert_eq!(a.train.pixels().len(), 72 * 24 * 24 * 3);
    // Valid images are not copies of train images, and images within a class differ.
    assert_ne!(a.train.image(0), a.train.image(1));
    assert!(
        (0..a.valid.len())
            .all(|v| (0..a.train.len()).all(|t| a.valid.image(v) != a.train.image(t)))
    );
}

#[test]
fn store_is_a_burn_dataset() {
    let set = synthetic(8, 2, 0, 7);
    let store = &set.train;
    assert_eq!(Dataset::len(store), 24);
    let item = store.get(3).expect("item");
    assert_eq!(item.label, 1);
    assert_eq!(item.image_size, 8);
    assert_eq!(item.pixels, store.image(3).expect("pixels"));
    assert_eq!(store.iter().count(), 24);
}
