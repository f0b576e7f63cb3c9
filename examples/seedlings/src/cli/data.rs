//! Finding and loading the images for the sweep and the bench: the folder given, found, or the
//! built-in synthetic set, with a message saying which.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use seedlings::data::{self, LoadOptions, Located, SeedlingSet};

/// The images at `flag` (or found as [`data::locate`] does), or the synthetic set when there
/// are none or `force_synthetic` (a resumed run that trained on them); with the folder read.
pub fn load_data(
    flag: Option<&Path>,
    force_synthetic: bool,
    image_size: usize,
    seed: u64,
    synthetic_per_class: usize,
) -> Result<(SeedlingSet, Option<PathBuf>)> {
    let options = LoadOptions {
        image_size,
        split_seed: seed,
        ..LoadOptions::default()
    };
    let located = data::locate(flag);
    if force_synthetic {
        eprintln!("seedlings: the run used the built-in SYNTHETIC images; so does its resumption");
    } else if matches!(&located, Located::NotFound { .. }) {
        eprintln!(
            "seedlings: no data found ({}); using the built-in SYNTHETIC images. \
             Set SEEDLINGS_DATA, pass --data DIR, or run `seedlings download`.",
            located.describe()
        );
    }
    if force_synthetic || matches!(&located, Located::NotFound { .. }) {
        return Ok((
            data::synthetic(
                image_size,
                synthetic_per_class,
                synthetic_per_class.div_ceil(4),
                seed,
            ),
            None,
        ));
    }
    let (root, _) = located.into_result()?.context("no data folder")?;
    eprintln!("seedlings: reading {}", root.display());
    let set = data::load(&root, &options)?;
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    Ok((set, Some(root)))
}
