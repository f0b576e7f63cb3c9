//! Conformance tool: runs one optimizer on one parameter tensor from a JSON case and prints the
//! trajectory as JSON (`{"params": [[after step 1], ...]}`).
//!
//! ```text
//! cargo run --release -p burn-weight-decay --example replay -- CASE.json
//! ```
//!
//! The case format is documented in `burn_weight_decay::replay`. A malformed case or a file that
//! cannot be read prints a message naming it to stderr and exits with code 2.

use std::process::ExitCode;

use burn::tensor::Device;
use burn_weight_decay::replay::Case;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: replay CASE.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("replay: cannot read {path}: {err}");
            return ExitCode::from(2);
        }
    };
    let trajectory = Case::from_json(&text).and_then(|case| case.run(&Device::default()));
    match trajectory {
        Ok(trajectory) => {
            // serde_json prints f32 with the shortest text that reads back to the same value.
            println!(
                "{}",
                serde_json::to_string(&trajectory).expect("floats serialise")
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("replay: {path}: {err}");
            ExitCode::from(2)
        }
    }
}
