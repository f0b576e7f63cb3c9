//! `seedlings evaluate`: accuracy, macro-F1 and the confusion matrix of a saved checkpoint on a
//! folder of images, as a table or JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use seedlings::checkpoint;
use seedlings::data::{self, LoadOptions};
use seedlings::devices::device;
use seedlings::train::evaluate;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A checkpoint folder, e.g. runs/NAME/checkpoints/decoupled-wd0.1/best.
    #[arg(long)]
    checkpoint: PathBuf,
    /// A root with train/ and valid/ (valid/ is used) or a folder of class folders.
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
    let device = device(&args.backend)?;
    let (model, meta) = checkpoint::load(&args.checkpoint, &device)?;
    let root = if args.data.join("valid").is_dir() {
        args.data.join("valid")
    } else {
        args.data.clone()
    };
    let options = LoadOptions {
        image_size: meta.image_size,
        valid_fraction: 0.0,
        ..LoadOptions::default()
    };
    let set = data::load(&root, &options)?;
    // Map the folder's classes onto the checkpoint's by name.
    let mut store = data::ImageStore::new(meta.image_size);
    for i in 0..set.train.len() {
        let name = &set.class_names[set.train.label(i).unwrap_or(0)];
        let Some(label) = meta.class_names.iter().position(|c| c == name) else {
            bail!(
                "class `{name}` in {} is not one the checkpoint knows",
                root.display()
            );
        };
        store.push(
            label,
            set.train.image(i).unwrap_or(&[]),
            set.train.path(i).unwrap_or(Path::new("")),
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
        let out = serde_json::json!({"accuracy": m.accuracy(), "macro_f1": m.macro_f1(), "loss": eval.loss, "images": m.total(), "per_class": per_class});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "checkpoint {} ({} epoch {})",
            args.checkpoint.display(),
            meta.arm,
            meta.epoch
        );
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
