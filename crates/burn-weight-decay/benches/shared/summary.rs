//! The summary's timing tables: per parameter set, every optimizer's time, bandwidth and
//! allocations against its baseline ([`print_set`]) and the fused kernel against the tensor ops
//! and Burn, then the targets met or missed ([`print_targets`]). The memory tables are
//! `memory.rs`'s.

use super::cases::{Family, cases};
use super::measure::{Check, PROFILES, SetInfo};
use super::timing::{median, stats};

fn ms(seconds: f64) -> String {
    if seconds >= 0.1 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

pub(super) fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// The best copy bandwidth (bytes / s) measured for `family`'s byte count on `set`, with the
/// single-threaded and the all-core figures.
fn copy_bandwidth(set: &str, family: Family, bytes: u64) -> Option<(f64, f64, f64)> {
    let one = median(set, &format!("{}_copy_1t", family.name())).map(|t| bytes as f64 / t);
    let many = median(set, &format!("{}_copy_mt", family.name())).map(|t| bytes as f64 / t);
    let best = match (one, many) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some((best, one.unwrap_or(f64::NAN), many.unwrap_or(f64::NAN)))
}

pub(super) struct Target {
    what: String,
    /// Interleaved medians.
    ratio: Option<f64>,
    /// Criterion's sequential medians.
    sequential: Option<f64>,
    limit: f64,
}

pub(super) fn print_set(info: &SetInfo, targets: &mut Vec<Target>) {
    let set = info.name;
    println!();
    println!(
        "### {set}: {} — {} tensors, {} elements",
        info.what, info.tensors, info.numel
    );
    println!();
    for family in [Family::Adam, Family::Sgd] {
        let bytes = info.numel as u64 * 4 * family.passes();
        match copy_bandwidth(set, family, bytes) {
            Some((best, one, many)) => println!(
                "- {} steps must move {} ({} f32 per element); a plain copy of {} runs at \
                 {:.2} GB/s (1 thread {:.2}, all cores {:.2})",
                family.name(),
                mb(bytes as f64),
                family.passes(),
                mb(bytes as f64),
                best / 1e9,
                one / 1e9,
                many / 1e9
            ),
            None => println!("- {}: copy not measured", family.name()),
        }
    }
    println!();
    println!(
        "| optimizer | time/step | p25–p75 | criterion | baseline | ratio | GB/s | share of copy \
         | allocated/step | page-faulted/step |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for case in cases() {
        let Some(s) = stats(&format!("il:{set}/{}", case.name)) else {
            println!(
                "| `{}` {} | not run | | | | | | | | |",
                case.name, case.what
            );
            continue;
        };
        let t = s.median;
        let crit = stats(&format!("crit:{set}/{}", case.name)).map_or("–".to_string(), |c| {
            format!("{} (n={})", ms(c.median), c.n)
        });
        let bytes = info.numel as u64 * 4 * case.family.passes();
        let share = copy_bandwidth(set, case.family, bytes)
            .map_or("–".to_string(), |(best, _, _)| {
                format!("{:.0} %", 100.0 * bytes as f64 / t / best)
            });
        let (base, ratio) = match case.baseline {
            Some(b) => (
                format!("`{b}`"),
                median(set, b).map_or("–".to_string(), |tb| format!("{:.2}×", t / tb)),
            ),
            None => ("–".to_string(), "–".to_string()),
        };
        let tensor_bytes = info.numel as f64 * 4.0;
        let (allocated, faulted) = match PROFILES
            .lock()
            .unwrap()
            .get(&format!("{set}/{}", case.name))
        {
            Some(p) => (
                format!(
                    "{} ({:.2} × params, {:.0} allocs)",
                    mb(p.allocated),
                    p.allocated / tensor_bytes,
                    p.allocations
                ),
                p.faulted.map_or("–".to_string(), mb),
            ),
            None => ("–".to_string(), "–".to_string()),
        };
        println!(
            "| `{}` {} | {} (n={}) | {}–{} | {} | {} | {} | {:.2} | {} | {} | {} |",
            case.name,
            case.what,
            ms(t),
            s.n,
            ms(s.p25),
            ms(s.p75),
            crit,
            base,
            ratio,
            bytes as f64 / t / 1e9,
            share,
            allocated,
            faulted
        );
    }
    let ratio = |a: &str, b: &str| Some(median(set, a)? / median(set, b)?);
    let sequential = |a: &str, b: &str| {
        let m = |n: &str| stats(&format!("crit:{set}/{n}")).map(|s| s.median);
        Some(m(a)? / m(b)?)
    };
    let mut target = |what: String, a: &str, b: &str, limit: f64| {
        targets.push(Target {
            what: format!("{set}: {what}"),
            ratio: ratio(a, b),
            sequential: sequential(a, b),
            limit,
        })
    };
    for (suffix, policy) in [("", "Skip"), ("_prop", "Propagate")] {
        target(
            format!("coupled Adam ≤ 1.05 × Adam without decay ({policy})"),
            &format!("adam_l2{suffix}"),
            &format!("adam_none{suffix}"),
            1.05,
        );
        target(
            format!("AdamW ≤ 1.05 × Adam without decay ({policy})"),
            &format!("adamw{suffix}"),
            &format!("adam_none{suffix}"),
            1.05,
        );
        target(
            format!("coupled SGD ≤ 1.05 × SGD without decay ({policy})"),
            &format!("sgd_l2{suffix}"),
            &format!("sgd_none{suffix}"),
            1.05,
        );
        target(
            format!("SGDW ≤ 1.05 × SGD without decay ({policy})"),
            &format!("sgdw{suffix}"),
            &format!("sgd_none{suffix}"),
            1.05,
        );
    }
    target(
        "ours coupled Adam ≤ 1.1 × Burn's AdamW (Skip)".to_string(),
        "adam_l2",
        "burn_adamw",
        1.1,
    );
    target(
        "ours coupled Adam ≤ 1.1 × Burn's AdamW (Propagate)".to_string(),
        "adam_l2_prop",
        "burn_adamw",
        1.1,
    );
    target(
        "ours AdamW (fused, Skip) ≤ 1.0 × Burn's AdamW".to_string(),
        "adamw",
        "burn_adamw",
        1.0,
    );
    // The absolute figure: PyTorch's fused AdamW, ~1.5 ms on 4M elements.
    if set == "4M" {
        let absolute = |key: &str| stats(key).map(|s| s.median / PYTORCH_FUSED_ADAMW_4M);
        targets.push(Target {
            what: "4M: ours AdamW (fused, Skip) ≤ 1.5 ms (PyTorch fused AdamW), as time / 1.5 ms"
                .to_string(),
            ratio: absolute("il:4M/adamw"),
            sequential: absolute("crit:4M/adamw"),
            limit: 1.0,
        });
    }

    print_fused(info);

    println!();
    println!("Skip vs Propagate (the per-parameter finiteness check and its read-back):");
    println!();
    for (skip, prop) in [
        ("adam_none", "adam_none_prop"),
        ("adam_l2", "adam_l2_prop"),
        ("adamw", "adamw_prop"),
        ("sgd_none", "sgd_none_prop"),
        ("sgd_l2", "sgd_l2_prop"),
        ("sgdw", "sgdw_prop"),
    ] {
        if let (Some(s), Some(p)) = (median(set, skip), median(set, prop)) {
            println!(
                "- `{skip}`: Skip {} − Propagate {} = {} per step ({:+.0} %)",
                ms(s),
                ms(p),
                ms(s - p),
                100.0 * (s / p - 1.0)
            );
        }
    }
    for check in [Check::IsFiniteAll, Check::Sum] {
        if let Some(s) = stats(&format!("il:{set}/{}", check.name())) {
            println!(
                "- `{}` alone, on every gradient of the set: {} (p25–p75 {}–{})",
                check.name(),
                ms(s.median),
                ms(s.p25),
                ms(s.p75)
            );
        }
    }
    if let (Some(w), Some(b)) = (median(set, "adam_none_prop"), median(set, "burn_adam")) {
        println!(
            "- the wrapper without decay or check (`adam_none_prop`) vs Burn's bare Adam: {:.2}×",
            w / b
        );
    }
    if let (Some(w), Some(b)) = (median(set, "adam_l2"), median(set, "burn_adam")) {
        println!(
            "- everything on (coupled Adam, Skip) vs Burn's bare Adam: {:.2}×",
            w / b
        );
    }
}

/// PyTorch's fused AdamW on 4M f32 elements, the reference figure, in seconds.
const PYTORCH_FUSED_ADAMW_4M: f64 = 1.5e-3;

/// The fused kernel against the tensor-op path (same config, `fused` off) and Burn's equivalent.
fn print_fused(info: &SetInfo) {
    let set = info.name;
    println!();
    println!(
        "Fused kernel vs tensor ops (same config with `with_fused(false)`) vs Burn's own \
         optimizer, interleaved medians (criterion's in brackets):"
    );
    println!();
    println!(
        "| optimizer | fused | tensor ops | tensor / fused | Burn | fused / Burn | fused GB/s \
         | fused share of copy |"
    );
    println!("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    let crit = |name: &str| stats(&format!("crit:{set}/{name}")).map(|s| s.median);
    let both = |name: &str| match (median(set, name), crit(name)) {
        (Some(a), Some(b)) => format!("{} ({})", ms(a), ms(b)),
        (Some(a), None) => ms(a),
        _ => "–".to_string(),
    };
    for (fused, tensor, burn, family) in [
        ("adam_none", "adam_none_tensor", "burn_adam", Family::Adam),
        ("adam_l2", "adam_l2_tensor", "burn_adam_l2", Family::Adam),
        ("adamw", "adamw_tensor", "burn_adamw", Family::Adam),
        ("sgd_none", "sgd_none_tensor", "burn_sgd", Family::Sgd),
        ("sgd_l2", "sgd_l2_tensor", "burn_sgd_l2", Family::Sgd),
        ("sgdw", "sgdw_tensor", "burn_sgd_l2", Family::Sgd),
    ] {
        let ratio = |a: &str, b: &str| match (median(set, a), median(set, b)) {
            (Some(a), Some(b)) => format!("{:.2}×", a / b),
            _ => "–".to_string(),
        };
        let bytes = info.numel as u64 * 4 * family.passes();
        let (gbs, share) = match median(set, fused) {
            Some(t) => (
                format!("{:.2}", bytes as f64 / t / 1e9),
                copy_bandwidth(set, family, bytes).map_or("–".to_string(), |(best, _, _)| {
                    format!("{:.0} %", 100.0 * bytes as f64 / t / best)
                }),
            ),
            None => ("–".to_string(), "–".to_string()),
        };
        println!(
            "| `{fused}` | {} | {} | {} | `{burn}` {} | {} | {gbs} | {share} |",
            both(fused),
            both(tensor),
            ratio(tensor, fused),
            both(burn),
            ratio(fused, burn),
        );
    }
}

pub(super) fn print_targets(targets: &[Target]) {
    println!();
    println!("### Targets");
    println!();
    println!(
        "Met only when both the interleaved and criterion's sequential medians are within the \
         limit."
    );
    println!();
    println!("| target | interleaved | sequential (criterion) | verdict |");
    println!("| --- | ---: | ---: | --- |");
    let show = |r: Option<f64>| r.map_or("–".to_string(), |r| format!("{r:.3}×"));
    for t in targets {
        let verdict = match (t.ratio, t.sequential) {
            (Some(a), Some(b)) if a <= t.limit && b <= t.limit => "met".to_string(),
            (Some(a), Some(b)) if a <= t.limit || b <= t.limit => {
                format!("MISSED in one measurement ({a:.2}× / {b:.2}×)")
            }
            (Some(a), Some(b)) => format!("MISSED ({a:.2}× / {b:.2}×)"),
            (Some(a), None) if a <= t.limit => "met (interleaved only)".to_string(),
            (Some(a), None) => format!("MISSED ({a:.2}×)"),
            _ => "not run".to_string(),
        };
        println!(
            "| {} | {} | {} | {verdict} |",
            t.what,
            show(t.ratio),
            show(t.sequential)
        );
    }
}
