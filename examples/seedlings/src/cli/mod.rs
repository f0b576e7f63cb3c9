//! The subcommands of the `seedlings` binary, one module each, with the flags they take:
//! [`sweep`] (the default; its run-folder persistence for `--resume` in [`resume`], its named
//! flag sets in [`preset`]), [`bench`],
//! [`evaluate`], [`download`], [`backends`] and [`serve`]. [`flags`] holds the value parsers
//! that check each flag where clap parses it, [`paths`] the paths given (file or folder, there
//! or not); [`data`] finds and loads the images for the sweep and the bench.
//!
//! The sweep's flags are [`SweepArgs`]: the run folder, the images and the devices (typed
//! [`DeviceName`](seedlings::devices::DeviceName)s) here, with the library's
//! [`SweepSettings`](seedlings::settings::SweepSettings) flattened into it: the recipe, the
//! arms and the seeds, parsed once by clap into the numbers and enums they mean, saved as such
//! in `state/sweep.json` (the same text as before they were typed) and compared as such by
//! `--resume`.
//!
//! Adding a sweep flag touches at most 2 files, none of them in this folder:
//! 1. `src/settings/mod.rs`: the field with its clap attribute (default, value parser: a
//!    check of `src/settings/checks.rs`, or a closure) and, for run folders written before
//!    it, its serde default. Saving it, comparing it under `--resume`, reading it back and
//!    handing it to training need no more code: training's
//!    [`TrainSettings`](seedlings::train::TrainSettings) holds the whole `SweepSettings`
//!    (`settings.sweep`);
//! 2. the file that uses it (e.g. `src/train/epoch.rs`, reading `settings.sweep.FIELD`).
//!
//! A flag the report should print adds its line to `RunInfo` (`src/records/run_info.rs`) and
//! `src/report/markdown.rs`: a change of the report, not of the flag.

pub mod backends;
pub mod bench;
pub mod data;
pub mod download;
pub mod evaluate;
pub mod flags;
pub mod paths;
pub mod preset;
pub mod resume;
pub mod serve;
pub mod sweep;

pub use bench::BenchArgs;
pub use download::DownloadArgs;
pub use evaluate::EvaluateArgs;
pub use serve::ServeArgs;
pub use sweep::SweepArgs;
