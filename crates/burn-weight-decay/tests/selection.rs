//! `Selection`: one type for which parameters decay and which the diagnostics measure.

mod common;

use burn::module::{Module, ParamGroup};
use burn::nn::Linear;
use burn_weight_decay::{
    DecayConfig, Selection, decayed_weight_norm, l2_penalty, l2_penalty_of, weight_norm,
    weight_norm_of,
};
use common::{device, linear};

#[derive(Module, Debug)]
struct Net {
    body: Linear,
    head: Linear,
}

fn sq(linear: &Linear) -> (f64, f64) {
    let w = linear.weight.val().square().sum().into_scalar::<f64>();
    let b = linear
        .bias
        .as_ref()
        .map(|b| b.val().square().sum().into_scalar::<f64>())
        .unwrap_or(0.0);
    (w, b)
}

#[test]
fn each_selection_measures_what_it_names() {
    let device = device();
    let net = Net {
        body: linear(4, 3, &device),
        head: linear(3, 2, &device),
    };
    let ((bw, bb), (hw, hb)) = (sq(&net.body), sq(&net.head));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-5 * b.max(1.0);
    assert!(close(
        weight_norm_of(&net, &Selection::RankAtLeast2).powi(2),
        bw + hw
    ));
    assert!(close(
        weight_norm_of(&net, &Selection::All).powi(2),
        bw + bb + hw + hb
    ));
    let head = Selection::Group(ParamGroup::from_predicate("head"));
    assert!(close(weight_norm_of(&net, &head).powi(2), hw + hb));
    let head_weight = Selection::Group(ParamGroup::from_path("head.weight"));
    assert!(close(weight_norm_of(&net, &head_weight).powi(2), hw));
    assert_eq!(weight_norm_of(&net, &Selection::Nothing), 0.0);
    assert!(l2_penalty_of(&net, 1.0, &Selection::Nothing).is_none());
    let penalty = l2_penalty_of(&net, 0.5, &head)
        .unwrap()
        .into_scalar::<f64>();
    assert!(close(penalty, 0.5 * (hw + hb)));
}

#[test]
fn the_config_conveniences_select_as_the_optimizer_decays() {
    let device = device();
    let net = Net {
        body: linear(4, 3, &device),
        head: linear(3, 2, &device),
    };
    let by_config = |config: &DecayConfig| decayed_weight_norm(&net, config);
    assert_eq!(
        by_config(&DecayConfig::coupled(0.2)),
        weight_norm_of(&net, &Selection::RankAtLeast2)
    );
    assert_eq!(
        by_config(&DecayConfig::decoupled(0.0).with_decay_rank_le_1(true)),
        weight_norm_of(&net, &Selection::All),
        "the rate is not read, only the rank switch"
    );
    // The documented trap: a config that decays nothing selects nothing.
    assert_eq!(by_config(&DecayConfig::none()), 0.0);
    assert!(l2_penalty(&net, 1.0, &DecayConfig::none()).is_none());
    assert_eq!(weight_norm(&net), weight_norm_of(&net, &Selection::All));
    assert!(matches!(
        DecayConfig::new().selection(),
        Selection::RankAtLeast2
    ));
    assert!(matches!(
        DecayConfig::new().with_decay_rank_le_1(true).selection(),
        Selection::All
    ));
}
