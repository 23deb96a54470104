//! The comparison table over the JSON lines of several `failover-bench` runs: per scenario and
//! label, the median, minimum and maximum of the measured gap, and the ratio of each label's
//! median to the first label's.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use super::Outcome;

/// Prints the table for the JSON lines in `path`, labels in order of first appearance.
pub fn print(path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut labels: Vec<String> = Vec::new();
    let mut gaps: BTreeMap<(&'static str, String), Vec<f64>> = BTreeMap::new();
    let mut elected: BTreeMap<(&'static str, String), Vec<f64>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let o: Outcome = serde_json::from_str(line).with_context(|| format!("bad line {line}"))?;
        if !labels.contains(&o.label) {
            labels.push(o.label.clone());
        }
        let key = (o.scenario.name(), o.label.clone());
        gaps.entry(key.clone()).or_default().push(o.gap_ms);
        if let Some(e) = o.elected_ms {
            elected.entry(key).or_default().push(e);
        }
    }
    println!(
        "| scenario | binary | faults | median ms | min ms | max ms | elected (median ms) | vs {} |",
        labels.first().map_or("", String::as_str)
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|");
    let scenarios: Vec<&'static str> = {
        let mut s: Vec<_> = gaps.keys().map(|(s, _)| *s).collect();
        s.dedup();
        s
    };
    for scenario in scenarios {
        let base = labels
            .first()
            .and_then(|l| gaps.get(&(scenario, l.clone())))
            .map(|v| median(v));
        for label in &labels {
            let Some(values) = gaps.get(&(scenario, label.clone())) else {
                continue;
            };
            let m = median(values);
            let (lo, hi) = min_max(values);
            let e = elected
                .get(&(scenario, label.clone()))
                .map_or("-".to_owned(), |v| format!("{:.0}", median(v)));
            let ratio = base.map_or("-".to_owned(), |b| format!("{:.2}x", m / b));
            println!(
                "| {scenario} | {label} | {} | {m:.0} | {lo:.0} | {hi:.0} | {e} | {ratio} |",
                values.len()
            );
        }
    }
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}
