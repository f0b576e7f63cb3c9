//! A built-in, procedural stand-in for the photos: 12 seedling-like classes drawn on soil.
//!
//! Used when no data folder is found (and by tests). Each image is brown, noisy soil with a few
//! pebbles and one plant seen from above: leaves are ellipses around the centre, optionally on
//! short stems. The class sets the number of leaves, their length, their width, their colour
//! and the stem length (and colour); each image draws a random rotation, position, scale
//! (growth stage), per-leaf jitter, colour and lighting, so classes overlap and a small CNN has
//! to learn shapes rather than one pixel. Class names are the real species names prefixed with
//! `synthetic-`. Everything is a pure function of the seed.

use std::f32::consts::TAU;
use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::parallel::parallel_map;
use super::seed::{STREAM_SYNTHETIC, derive_seed};
use super::{DataSource, ImageStore, SeedlingSet};

/// The real species names, in the order of their (sorted) folders.
pub const SPECIES: [&str; 12] = [
    "Black-grass",
    "Charlock",
    "Cleavers",
    "Common Chickweed",
    "Common wheat",
    "Fat Hen",
    "Loose Silky-bent",
    "Maize",
    "Scentless Mayweed",
    "Shepherds Purse",
    "Small-flowered Cranesbill",
    "Sugar beet",
];

/// The drawing parameters of one class.
struct Species {
    /// Leaf count range (inclusive).
    leaves: (u32, u32),
    /// Leaf length as a share of the image side.
    length: f32,
    /// Leaf width / leaf length.
    width: f32,
    /// Leaf colour (RGB, 0..255).
    colour: [f32; 3],
    /// Stem (petiole) length as a share of the image side.
    stem: f32,
    /// Stem colour.
    stem_colour: [f32; 3],
}

const fn sp(
    leaves: (u32, u32),
    length: f32,
    width: f32,
    colour: [f32; 3],
    stem: f32,
    stem_colour: [f32; 3],
) -> Species {
    Species {
        leaves,
        length,
        width,
        colour,
        stem,
        stem_colour,
    }
}

const GREEN_STEM: [f32; 3] = [90.0, 140.0, 60.0];

const TABLE: [Species; 12] = [
    sp((2, 3), 0.40, 0.10, [70.0, 140.0, 50.0], 0.0, GREEN_STEM),
    sp((2, 4), 0.26, 0.75, [60.0, 150.0, 60.0], 0.08, GREEN_STEM),
    sp((5, 7), 0.18, 0.30, [80.0, 160.0, 60.0], 0.05, GREEN_STEM),
    sp((4, 6), 0.14, 0.60, [100.0, 170.0, 70.0], 0.0, GREEN_STEM),
    sp((1, 2), 0.44, 0.09, [115.0, 160.0, 70.0], 0.0, GREEN_STEM),
    sp((3, 5), 0.24, 0.55, [95.0, 140.0, 105.0], 0.05, GREEN_STEM),
    sp((3, 5), 0.34, 0.07, [80.0, 150.0, 55.0], 0.0, GREEN_STEM),
    sp((2, 3), 0.40, 0.18, [60.0, 130.0, 45.0], 0.04, GREEN_STEM),
    sp((5, 8), 0.22, 0.18, [85.0, 155.0, 65.0], 0.0, GREEN_STEM),
    sp((4, 6), 0.22, 0.35, [75.0, 135.0, 55.0], 0.0, GREEN_STEM),
    sp((3, 5), 0.18, 0.90, [70.0, 145.0, 60.0], 0.10, GREEN_STEM),
    sp(
        (2, 3),
        0.30,
        0.50,
        [80.0, 135.0, 60.0],
        0.06,
        [150.0, 60.0, 60.0],
    ),
];

/// Builds a synthetic set of `per_class_train` + `per_class_valid` images per class, each
/// `image_size`×`image_size`, deterministic in `seed` (same arguments → identical bytes).
/// Images are ordered by class, then index. `image_size` 0 is taken as 1.
pub fn synthetic(
    image_size: usize,
    per_class_train: usize,
    per_class_valid: usize,
    seed: u64,
) -> SeedlingSet {
    let size = image_size.max(1);
    let class_names: Vec<String> = SPECIES.iter().map(|s| format!("synthetic-{s}")).collect();
    let mut stores = [ImageStore::new(size), ImageStore::new(size)];
    for (split, per_class) in [per_class_train, per_class_valid].into_iter().enumerate() {
        let n = per_class * SPECIES.len();
        let images = parallel_map(n, 0, |j| {
            let (class, index) = (j / per_class, j % per_class);
            let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&[
                STREAM_SYNTHETIC,
                seed,
                split as u64,
                class as u64,
                index as u64,
            ]));
            draw(&TABLE[class], size, &mut rng)
        });
        let split_name = ["train", "valid"][split];
        for (j, pixels) in images.iter().enumerate() {
            let (class, index) = (j / per_class, j % per_class);
            let path = PathBuf::from(format!(
                "synthetic/{split_name}/{}/{index:05}",
                SPECIES[class]
            ));
            stores[split].push(class, pixels, path);
        }
    }
    let [train, valid] = stores;
    SeedlingSet {
        class_names,
        image_size: size,
        train,
        valid,
        source: DataSource::Synthetic,
        skipped: Vec::new(),
        ignored: Vec::new(),
        warnings: Vec::new(),
    }
}

/// One leaf (or stem) placed in the image, in pixels.
struct Leaf {
    /// Direction from the plant centre.
    cos: f32,
    sin: f32,
    /// Distance from the centre to the leaf base (the stem's length).
    base: f32,
    /// Half length and half width of the leaf ellipse.
    a: f32,
    b: f32,
}

fn jitter<R: Rng>(rng: &mut R, value: f32, spread: f32) -> f32 {
    value + rng.random_range(-spread..=spread)
}

/// Draws one `size`×`size` HWC RGB image of `species`.
fn draw<R: Rng>(species: &Species, size: usize, rng: &mut R) -> Vec<u8> {
    let s = size as f32;
    // Soil: base colour per image, per-pixel noise, a few pebbles.
    let soil = [
        jitter(rng, 110.0, 20.0),
        jitter(rng, 85.0, 15.0),
        jitter(rng, 60.0, 12.0),
    ];
    let pebbles: Vec<(f32, f32, f32, f32)> = (0..rng.random_range(2..7))
        .map(|_| {
            (
                rng.random_range(0.0..s),
                rng.random_range(0.0..s),
                rng.random_range(0.01..0.04) * s,
                rng.random_range(120.0..180.0),
            )
        })
        .collect();

    // The plant.
    let scale = rng.random_range(0.7..1.3);
    let cx = s * (0.5 + rng.random_range(-0.15..0.15));
    let cy = s * (0.5 + rng.random_range(-0.15..0.15));
    let n_leaves = rng.random_range(species.leaves.0..=species.leaves.1);
    let turn = rng.random_range(0.0..TAU);
    let light = rng.random_range(0.8..1.2);
    let colour = species
        .colour
        .map(|c| (jitter(rng, c, 15.0) * light).clamp(0.0, 255.0));
    let stem_colour = species.stem_colour.map(|c| (c * light).clamp(0.0, 255.0));
    let leaves: Vec<Leaf> = (0..n_leaves)
        .map(|i| {
            let angle = turn + TAU * i as f32 / n_leaves as f32 + rng.random_range(-0.35..0.35);
            let length = species.length * s * scale * rng.random_range(0.8..1.2);
            let width = species.width * rng.random_range(0.85..1.15);
            Leaf {
                cos: angle.cos(),
                sin: angle.sin(),
                base: species.stem * s * scale * rng.random_range(0.7..1.3),
                a: (length / 2.0).max(0.5),
                b: (length * width / 2.0).max(0.5),
            }
        })
        .collect();
    let stem_half_width = (s * 0.012).max(0.5);

    let mut out = vec![0u8; size * size * 3];
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let noise = rng.random_range(-12.0..12.0);
            let mut rgb = soil.map(|c| c + noise);
            for &(qx, qy, r, grey) in &pebbles {
                if (px - qx).powi(2) + (py - qy).powi(2) <= r * r {
                    rgb = [grey + noise, grey * 0.95 + noise, grey * 0.9 + noise];
                }
            }
            let (dx, dy) = (px - cx, py - cy);
            for leaf in &leaves {
                // Leaf frame: u along the leaf, v across it.
                let u = dx * leaf.cos + dy * leaf.sin;
                let v = -dx * leaf.sin + dy * leaf.cos;
                if leaf.base > 0.0 && (0.0..=leaf.base).contains(&u) && v.abs() <= stem_half_width {
                    rgb = stem_colour;
                }
                let (eu, ev) = ((u - leaf.base - leaf.a) / leaf.a, v / leaf.b);
                let r2 = eu * eu + ev * ev;
                if r2 <= 1.0 {
                    // Lighter at the middle, a darker midrib.
                    let shade = if ev.abs() < 0.12 {
                        0.8
                    } else {
                        1.05 - 0.2 * r2
                    };
                    rgb = colour.map(|c| c * shade + noise * 0.5);
                }
            }
            let o = (y * size + x) * 3;
            for c in 0..3 {
                out[o + c] = rgb[c].round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}
