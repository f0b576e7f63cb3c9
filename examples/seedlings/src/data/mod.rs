//! Finding, fetching, decoding and batching the plant-seedling images.
//!
//! The flow, one module per step:
//!
//! * [`locate`](locate()): which folder to read (`--data`, `SEEDLINGS_DATA`,
//!   `datasets/plant-seedlings/`), or none → [`synthetic`](synthetic()).
//! * [`download`](download()): fetch and safely unpack the Aarhus zip.
//! * [`layout`]: find class folders and candidate files ([`detect_layout`]).
//! * [`decode`]: files → square RGB8 arrays, in parallel, never panicking on bad files.
//! * [`load`]: the above, plus the seeded stratified [`split`] → a [`SeedlingSet`] of two
//!   in-memory [`ImageStore`]s (decoded once).
//! * [`augment`]: flips, quarter turns, brightness/contrast; [`Normalization`].
//! * [`batch`]: the per-epoch order ([`EpochPlan`]) and [`make_batch`] (NCHW `f32`);
//!   [`Prefetcher`] makes batches ahead on worker threads, in order.
//!
//! Every random choice is seeded (see [`seed`]) so that results never depend on thread
//! timing or on the order the file system lists files in.

pub mod augment;
pub mod batch;
pub mod decode;
pub mod download;
mod error;
pub mod layout;
pub mod locate;
mod parallel;
pub mod prefetch;
pub mod seed;
pub mod set;
pub mod split;
pub mod store;
pub mod synthetic;

pub use augment::{Augment, Normalization};
pub use batch::{AugmentSeed, Batch, EpochPlan, make_batch};
pub use decode::{DEFAULT_MAX_PIXELS, decode_bytes, decode_file};
pub use download::{AARHUS_V2_URL, download};
pub use error::DataError;
pub use layout::{Layout, LayoutKind, detect_layout};
pub use locate::{DATA_ENV, DEFAULT_DATA_DIR, Located, Origin, locate};
pub use prefetch::Prefetcher;
pub use set::{DataSource, LoadOptions, SeedlingSet, Skipped, SplitRule, load};
pub use split::{DEFAULT_VALID_FRACTION, stratified_split};
pub use store::{ImageStore, SeedlingItem};
pub use synthetic::synthetic;
