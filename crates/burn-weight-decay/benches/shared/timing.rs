//! The timing records: every timed step of every measurement, kept by key, and the median and
//! quartiles the summary reads from them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Every timed step of every measurement, in seconds. Keys: `crit:SET/NAME` for the criterion
/// benches, `il:SET/NAME` for the interleaved rounds.
static TIMES: Mutex<BTreeMap<String, Vec<f64>>> = Mutex::new(BTreeMap::new());

pub(super) fn record(key: &str, elapsed: Duration) {
    TIMES
        .lock()
        .unwrap()
        .entry(key.to_string())
        .or_default()
        .push(elapsed.as_secs_f64());
}

/// Median and quartiles of one record, in seconds.
#[derive(Clone, Copy)]
pub(super) struct Stats {
    pub(super) median: f64,
    pub(super) p25: f64,
    pub(super) p75: f64,
    pub(super) n: usize,
}

pub(super) fn stats(key: &str) -> Option<Stats> {
    let mut v = TIMES.lock().unwrap().get(key)?.clone();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let x = p * (v.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
    };
    Some(Stats {
        median: q(0.5),
        p25: q(0.25),
        p75: q(0.75),
        n: v.len(),
    })
}

/// The figure the summary uses: the interleaved median.
pub(super) fn median(set: &str, name: &str) -> Option<f64> {
    stats(&format!("il:{set}/{name}")).map(|s| s.median)
}
