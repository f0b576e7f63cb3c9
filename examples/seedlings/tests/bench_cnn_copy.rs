//! The optimizer benches of `burn-weight-decay` build a copy of this example's CNN (they cannot
//! depend on this crate, which depends on theirs); their copy of its shape lives in a file of its
//! own, without imports, which this test includes to check it against the real one.

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
