//! The names of arms and runs: the folder names under `checkpoints/` and `state/`, and the `arm`
//! of `metrics.csv`, `summary.json` and the report.
//!
//! An arm is a weight decay × a mode, named `MODE-wdWD` ([`arm_name`]). With one seed per arm
//! (the default) an arm is one run and the run has the arm's name; with several seeds each
//! run is named `MODE-wdWD-seedSEED` ([`run_name`]), and the report groups runs into arms by
//! their `wd` and `mode`.
//!
//! ```
//! use seedlings::report::{arm_name, run_name, seed_of_run};
//!
//! assert_eq!(arm_name("decoupled", 0.1), "decoupled-wd0.1");
//! assert_eq!(run_name("decoupled", 0.1, None), "decoupled-wd0.1");
//! assert_eq!(run_name("coupled", 10.0, Some(43)), "coupled-wd10-seed43");
//! assert_eq!(seed_of_run("coupled-wd10-seed43", "coupled", 10.0), Some(43));
//! assert_eq!(seed_of_run("coupled-wd10", "coupled", 10.0), None);
//! ```

/// An arm's name, `MODE-wdWD` (e.g. `decoupled-wd0.1`; `wd` as Rust prints it).
pub fn arm_name(mode: &str, wd: f64) -> String {
    format!("{mode}-wd{wd}")
}

/// A run's name: the arm's name, followed by `-seedSEED` when the arm runs with several seeds
/// (`seed` is `Some`).
pub fn run_name(mode: &str, wd: f64, seed: Option<u64>) -> String {
    match seed {
        None => arm_name(mode, wd),
        Some(seed) => format!("{}-seed{seed}", arm_name(mode, wd)),
    }
}

/// The seed in `name` when it is the name of a run of arm `mode` × `wd` with several seeds
/// (`MODE-wdWD-seedSEED`, what [`run_name`] writes); `None` otherwise.
pub fn seed_of_run(name: &str, mode: &str, wd: f64) -> Option<u64> {
    name.strip_prefix(&arm_name(mode, wd))?
        .strip_prefix("-seed")?
        .parse()
        .ok()
}
