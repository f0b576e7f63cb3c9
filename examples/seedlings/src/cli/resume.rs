//! `--resume RUN_DIR`: the sweep's settings and images saved in `state/sweep.json` when a run
//! starts, and read back (with the flags given checked against them) to continue it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Parser};
use seedlings::data::SeedlingSet;
use seedlings::report::write_atomic_str;
use serde::{Deserialize, Serialize};

use super::SweepArgs;

/// The sweep's flags alone, parsed from nothing: their defaults.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    sweep: SweepArgs,
}

/// The flags written on the command line (not defaulted), by their argument ids (`epochs`,
/// `batch_size`, …): what `--resume` compares with the saved settings.
pub fn flags_given(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

/// What `--resume` needs to rebuild a sweep: its settings and the images it trained on.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedSweep {
    /// The sweep's flags (with `data` the folder actually read, if any).
    pub args: SweepArgs,
    /// Class names, train and valid counts: resuming on other images is refused.
    pub classes: Vec<String>,
    pub train_images: usize,
    pub valid_images: usize,
    /// Whether it ran on the built-in synthetic images (resumed on them too).
    pub synthetic: bool,
    /// The command line that started the run.
    pub command: String,
    /// When it started (RFC 3339).
    pub started: String,
}

fn saved_sweep_path(run_dir: &Path) -> PathBuf {
    run_dir.join("state").join("sweep.json")
}

/// The flags `--resume` takes besides the run folder: where the images are, and where to train.
const RESUME_OVERRIDES: [&str; 3] = ["data", "devices", "backend"];

/// Settings of `--resume RUN_DIR`: those saved in the run folder, with `--data`, `--devices` and
/// `--backend` as the only overrides. Any other flag given with `--resume` must equal the saved
/// value (it changes nothing); a different value is an error naming both, rather than silently
/// ignored.
pub fn resume_args(run_dir: &Path, given: &SweepArgs, flags: &[String]) -> Result<SavedSweep> {
    super::paths::folder("--resume", run_dir)?;
    let defaults = Defaults::try_parse_from(["seedlings"])
        .map(|parsed| parsed.sweep)
        .context("default settings")?;
    let compared: Vec<&String> = flags
        .iter()
        .filter(|flag| flag.as_str() != "resume" && !RESUME_OVERRIDES.contains(&flag.as_str()))
        .collect();
    let flag_name = |key: &str| format!("--{}", key.replace('_', "-"));
    let path = saved_sweep_path(run_dir);
    if !path.is_file() {
        let flags: Vec<String> = compared.iter().map(|key| flag_name(key)).collect();
        let checked = if flags.is_empty() {
            String::new()
        } else {
            format!(
                "; {} cannot be checked against saved settings",
                flags.join(", ")
            )
        };
        bail!(
            "{} holds no resumable sweep (no {}){checked}",
            run_dir.display(),
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut saved: SavedSweep = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a saved sweep", path.display()))?;
    let (given_json, saved_json) = (
        serde_json::to_value(given)?,
        serde_json::to_value(&saved.args)?,
    );
    let conflicts: Vec<String> = compared
        .iter()
        .filter_map(|key| {
            let (now, then) = (given_json.get(key.as_str())?, saved_json.get(key.as_str())?);
            (now != then).then(|| format!("{} {now} (saved: {then})", flag_name(key)))
        })
        .collect();
    if !conflicts.is_empty() {
        bail!(
            "--resume continues with the settings saved in {}; these flags differ from them: {} \
             (give the saved value or drop the flag)",
            path.display(),
            conflicts.join(", ")
        );
    }
    if given.data.is_some() {
        saved.args.data = given.data.clone();
    }
    // Another device list or backend: e.g. a server that died, or a GPU now free. Within a
    // backend's tolerance the numbers do not depend on where an arm runs.
    if given.devices.is_some() {
        saved.args.devices = given.devices.clone();
    } else if given.backend != defaults.backend {
        saved.args.backend = given.backend.clone();
        saved.args.devices = None;
    }
    saved.args.out = Some(run_dir.to_path_buf());
    Ok(saved)
}

/// Writes `state/sweep.json` for a new run (refused where the folder already holds a sweep):
/// `args` with `data` the folder read (`data_root`) and `out` the run folder.
pub fn save_sweep(
    run_dir: &Path,
    args: &SweepArgs,
    data_root: Option<PathBuf>,
    set: &SeedlingSet,
    command: &str,
    started: &str,
) -> Result<()> {
    let path = saved_sweep_path(run_dir);
    if path.exists() {
        bail!(
            "{} already holds a sweep: continue it with `seedlings --resume {}` or choose another --out",
            run_dir.display(),
            run_dir.display()
        );
    }
    let record = SavedSweep {
        args: SweepArgs {
            data: data_root,
            out: Some(run_dir.to_path_buf()),
            ..args.clone()
        },
        classes: set.class_names.clone(),
        train_images: set.train.len(),
        valid_images: set.valid.len(),
        synthetic: set.is_synthetic(),
        command: command.to_string(),
        started: started.to_string(),
    };
    let dir = run_dir.join("state");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic_str(&path, &serde_json::to_string_pretty(&record)?)
        .with_context(|| format!("writing {}", path.display()))
}

impl SavedSweep {
    /// Refuses images other than those the run started with (classes, train and valid counts).
    pub fn check_images(&self, set: &SeedlingSet) -> Result<()> {
        if self.classes != set.class_names
            || self.train_images != set.train.len()
            || self.valid_images != set.valid.len()
        {
            bail!(
                "the images now found ({}) are not those the run started with ({} classes, {} train, {} valid); pass --data with the original folder",
                set.summary(),
                self.classes.len(),
                self.train_images,
                self.valid_images
            );
        }
        Ok(())
    }
}
