//! The subcommands of the `seedlings` binary, one module each, with the flags they take:
//! [`sweep`] (the default; its run-folder persistence for `--resume` in [`resume`], its named
//! flag sets in [`preset`]), [`bench`],
//! [`evaluate`], [`download`], [`backends`] and [`serve`]. [`flags`] holds the value parsers
//! that check each flag where clap parses it, [`paths`] the paths given (file or folder, there
//! or not); [`data`] finds and loads the images for the sweep and the bench.

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
