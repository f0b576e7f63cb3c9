//! `seedlings evaluate`: accuracy, macro-F1 and the confusion matrix of a saved checkpoint on a
//! folder of images, as a table or JSON.
//!
//! Which images are scored ([`Scope`]): given the folder the checkpoint was trained on (it
//! records the folder and its split), only the validation images of that same split, never one
//! it trained on. Given another folder: its `valid/` split when it has one, else every image,
//! and the output says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use seedlings::checkpoint::{self, CheckpointMeta};
use seedlings::data::{self, DataError, LayoutKind, LoadOptions, SeedlingSet, SplitRule};
use seedlings::devices::device;
use seedlings::train::evaluate;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A checkpoint folder, e.g. runs/NAME/checkpoints/decoupled-wd0.1/best.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The folder the checkpoint was trained on (its held-out validation images are scored),
    /// another root with train/ and valid/ (valid/ is scored), or a folder of class folders
    /// (every image is scored).
    #[arg(long)]
    data: PathBuf,
    /// Print JSON: {"accuracy", "macro_f1", "per_class": {...}}.
    #[arg(long)]
    json: bool,
    /// Backend.
    // Checked when its device opens, not by clap (see `--backend` of the sweep).
    #[arg(long, default_value = "flex")]
    backend: String,
}

pub fn run(args: EvaluateArgs) -> Result<ExitCode> {
    super::paths::folder("--data", &args.data)?;
    if !args.checkpoint.exists() {
        bail!("--checkpoint {}: no such folder", args.checkpoint.display());
    }
    let device = device(&args.backend)?;
    let (model, meta) = checkpoint::load(&args.checkpoint, &device)?;
    let (set, scope) = images_to_score(&args.data, &meta)?;
    if args.json {
        eprintln!("seedlings: scoring {}", scope.describe(&args.data));
    }
    for warning in &set.warnings {
        eprintln!("seedlings: warning: {warning}");
    }
    let scored = if scope.uses_valid_side() {
        &set.valid
    } else {
        &set.train
    };
    // Map the folder's classes onto the checkpoint's by name.
    let mut store = data::ImageStore::new(meta.image_size);
    for i in 0..scored.len() {
        let name = &set.class_names[scored.label(i).unwrap_or(0)];
        let Some(label) = meta.class_names.iter().position(|c| c == name) else {
            bail!(
                "class `{name}` in {} is not one the checkpoint knows",
                args.data.display()
            );
        };
        store.push(
            label,
            scored.image(i).unwrap_or(&[]),
            scored.path(i).unwrap_or(Path::new("")),
        );
    }
    let eval = evaluate(
        &model,
        &store,
        &meta.normalization,
        meta.class_names.len(),
        64,
        &device,
    );
    let m = &eval.matrix;
    if args.json {
        let per_class: serde_json::Map<String, serde_json::Value> = meta
            .class_names
            .iter()
            .zip(m.per_class())
            .map(|(name, c)| {
                (
                    name.clone(),
                    serde_json::json!({"precision": c.precision, "recall": c.recall, "f1": c.f1, "support": c.support}),
                )
            })
            .collect();
        let out = serde_json::json!({"accuracy": m.accuracy(), "macro_f1": m.macro_f1(), "loss": eval.loss, "images": m.total(), "scored": scope.name(), "per_class": per_class});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "checkpoint {} ({} epoch {})",
            args.checkpoint.display(),
            meta.arm,
            meta.epoch
        );
        println!("scored: {}", scope.describe(&args.data));
        println!(
            "images: {}  accuracy: {:.2}%  macro-F1: {:.4}  loss: {:.4}",
            m.total(),
            100.0 * m.accuracy(),
            m.macro_f1(),
            eval.loss
        );
        println!("\n{}", m.render_per_class(&meta.class_names));
        println!("{}", m.render(&meta.class_names));
    }
    Ok(ExitCode::SUCCESS)
}

/// Which images of the folder are scored.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// The folder the checkpoint trained on: the validation side of the same split.
    HeldOut,
    /// The same folder, but its images are no longer those the checkpoint's split was made
    /// of: the split cannot be trusted to be the same.
    HeldOutChanged,
    /// Another folder with a given `valid/` split: that split.
    ValidFolder,
    /// A folder holding only one split folder (e.g. `test/<Species>/`): every image of it.
    OnlySplit(String),
    /// A folder inside the one the checkpoint trained on: every image, trained on or not.
    InsideTraining(PathBuf),
    /// Another folder without a `valid/` split: every image (its train/ images included).
    AllImages {
        /// The checkpoint records the folder it trained on (so this one is another).
        known_origin: bool,
    },
}

impl Scope {
    fn uses_valid_side(&self) -> bool {
        matches!(
            self,
            Scope::HeldOut | Scope::HeldOutChanged | Scope::ValidFolder
        )
    }

    /// The `scored` field of the JSON output.
    fn name(&self) -> &'static str {
        match self {
            Scope::HeldOut => "held-out",
            Scope::HeldOutChanged => "held-out-folder-changed",
            Scope::ValidFolder => "valid-folder",
            Scope::OnlySplit(_) => "split-folder",
            Scope::InsideTraining(_) => "inside-training-folder",
            Scope::AllImages { .. } => "all-images",
        }
    }

    fn describe(&self, data: &Path) -> String {
        let data = data.display();
        match self {
            Scope::HeldOut => format!(
                "the validation images of {data}, split as in training: none of them was trained on"
            ),
            Scope::HeldOutChanged => format!(
                "the validation images of {data}, split as in training; WARNING: the folder's \
                 image count changed since training, so some of these may have been trained on"
            ),
            Scope::ValidFolder => format!("the valid/ split of {data}"),
            Scope::OnlySplit(name) => format!("every image of the {name} split of {data}"),
            Scope::InsideTraining(root) => format!(
                "every image of {data}; WARNING: it lies inside {}, the folder the checkpoint \
                 trained on, so these include training images (give that folder itself to \
                 score only its held-out images)",
                root.display()
            ),
            Scope::AllImages { known_origin: true } => format!(
                "every image of {data}, a folder other than the one the checkpoint trained on"
            ),
            Scope::AllImages {
                known_origin: false,
            } => format!(
                "every image of {data}; the checkpoint does not record what it was trained on, \
                 so some of these may be training images"
            ),
        }
    }
}

/// Loads `data` at the checkpoint's image size and decides which of its images to score.
fn images_to_score(data: &Path, meta: &CheckpointMeta) -> Result<(SeedlingSet, Scope)> {
    let options = LoadOptions {
        image_size: meta.image_size,
        valid_fraction: 0.0,
        ..LoadOptions::default()
    };
    let layout = match data::detect_layout(data) {
        Err(DataError::NoTrainSplit { root, found }) if found.len() == 1 => {
            let split = root.join(found[0].trim_end_matches('/'));
            let set = data::load(&split, &options)?;
            return Ok((set, Scope::OnlySplit(found[0].clone())));
        }
        layout => layout?,
    };
    let root = std::fs::canonicalize(&layout.root).unwrap_or(layout.root.clone());
    if let Some(trained) = meta.trained_on.as_ref().filter(|t| t.root == root) {
        let options = match trained.split {
            SplitRule::Given => options,
            SplitRule::Drawn {
                valid_fraction,
                seed,
            } => LoadOptions {
                valid_fraction,
                split_seed: seed,
                ..options
            },
        };
        let set = data::load(data, &options)?;
        let same =
            set.train.len() == trained.train_images && set.valid.len() == trained.valid_images;
        let scope = if same {
            Scope::HeldOut
        } else {
            Scope::HeldOutChanged
        };
        return Ok((set, scope));
    }
    let set = data::load(data, &options)?;
    let scope = match &meta.trained_on {
        Some(trained) if root.starts_with(&trained.root) => {
            Scope::InsideTraining(trained.root.clone())
        }
        _ if layout.kind == LayoutKind::TrainValid => Scope::ValidFolder,
        trained => Scope::AllImages {
            known_origin: trained.is_some(),
        },
    };
    Ok((set, scope))
}
