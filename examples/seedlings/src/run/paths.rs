//! Where an arm's files live inside the run folder: its checkpoints and its resume state.

use std::path::PathBuf;

/// Where an arm's files live inside the run folder.
#[derive(Debug, Clone)]
pub struct ArmPaths {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The run's name: the arm's (`decoupled-wd0.1`), with `-seedSEED` when the arm runs with
    /// several seeds ([`RunSpec::name`](crate::train::RunSpec::name)).
    pub arm: String,
}

impl ArmPaths {
    /// `checkpoints/<arm>/best`, relative to the run folder.
    pub fn best_rel(&self) -> String {
        format!("checkpoints/{}/best", self.arm)
    }
    /// `checkpoints/<arm>/last`, relative to the run folder.
    pub fn last_rel(&self) -> String {
        format!("checkpoints/{}/last", self.arm)
    }
    /// `state/<arm>`: what resuming needs.
    pub fn state_dir(&self) -> PathBuf {
        self.run_dir.join("state").join(&self.arm)
    }
    /// `state/<arm>/progress.json`: the arm's position (see [`ArmProgress`](crate::train::ArmProgress)).
    pub fn progress_file(&self) -> PathBuf {
        self.state_dir().join("progress.json")
    }
}
