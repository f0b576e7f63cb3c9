//! The copies of this example's CNN shape that cannot derive it from `CnnConfig`, each checked
//! against it: the optimizer benches of `burn-weight-decay` and the `block_bench` example of
//! `burn-fused-conv` (neither crate can depend on this one, which depends on both), and the
//! defaults of the PyTorch reference script `bench/torch_reference.py` (`seedlings bench` passes
//! it the real shape; the defaults serve the script run alone). The benches' copy lives in a file
//! of its own, without imports, which this test includes.

#[path = "../../../crates/burn-weight-decay/benches/shared/seedlings_cnn.rs"]
mod bench_copy;

use seedlings::data::synthetic::SPECIES;
use seedlings::model::CnnConfig;

#[test]
fn the_benches_copy_of_the_cnn_shape_is_current() {
    assert_eq!(
        bench_copy::CHANNELS.to_vec(),
        CnnConfig::new(SPECIES.len()).channels,
        "update crates/burn-weight-decay/benches/shared/seedlings_cnn.rs to CnnConfig's channels"
    );
    assert_eq!(
        bench_copy::CLASSES,
        SPECIES.len(),
        "update crates/burn-weight-decay/benches/shared/seedlings_cnn.rs to the number of species"
    );
}

/// `block_bench` times "the seedlings CNN's four blocks" with its own list of their channels.
#[test]
fn the_block_bench_copy_of_the_channels_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/burn-fused-conv/examples/block_bench.rs"
    );
    let source = std::fs::read_to_string(path).unwrap();
    let call = format!(
        "time_network(&{:?},",
        CnnConfig::new(SPECIES.len()).channels
    );
    assert!(
        source.contains(&call),
        "update {path} to CnnConfig's channels: `{call}` not found"
    );
}

/// The PyTorch reference's defaults, `CHANNELS = [...]` and `CLASSES = N`.
#[test]
fn the_torch_references_default_cnn_shape_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/torch_reference.py");
    let source = std::fs::read_to_string(path).unwrap();
    for line in [
        format!("CHANNELS = {:?}", CnnConfig::new(SPECIES.len()).channels),
        format!("CLASSES = {}", SPECIES.len()),
    ] {
        assert!(
            source.lines().any(|l| l == line),
            "update the defaults of {path}: `{line}` not found"
        );
    }
}
