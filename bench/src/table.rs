//! Markdown tables from the recorded runs: every run with its fsync times
//! and its skiff/etcd ratio, the ratios against the targets, and the
//! snapshot/purge stall check.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::load::Mode;
use crate::record::{Record, STALL_BOUND_MS};
use crate::target::Kind;

/// The throughput target for skiff/etcd in a configuration, if any.
pub fn target_ratio(replicas: u32, mode: Mode, clients: usize) -> Option<f64> {
    match (replicas, mode, clients) {
        (3, Mode::Write, 64 | 256) => Some(2.0),
        (3, Mode::Write, 1) => Some(1.0),
        (_, Mode::Read, _) => Some(5.0),
        _ => None,
    }
}

fn mode_rank(mode: Mode) -> u8 {
    match mode {
        Mode::Write => 0,
        Mode::Read => 1,
        Mode::Stall => 2,
    }
}

fn fsync(s: &crate::stats::Summary) -> String {
    if s.count == 0 {
        "-".into()
    } else {
        format!("{:.2}/{:.2}", s.p50_ms, s.p99_ms)
    }
}

/// Every run in order, with the ratio of each skiff run to the etcd run of
/// the same round and configuration.
pub fn runs(records: &[Record]) -> String {
    let mut out = String::from(
        "| round | target | replicas | mode | clients | ops/s | p50 ms | p99 ms | max ms | errors | fsync before+after p50/p99 ms | fsync during p50/p99 ms | skiff/etcd |\n\
         |--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in records.iter().filter(|r| r.mode != Mode::Stall) {
        let ratio = match r.target {
            Kind::Etcd => String::new(),
            Kind::Skiff => records
                .iter()
                .find(|e| e.target == Kind::Etcd && e.round == r.round && e.config() == r.config())
                .filter(|e| e.ops_per_s > 0.0)
                .map(|e| format!("{:.2}x", r.ops_per_s / e.ops_per_s))
                .unwrap_or_else(|| "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {} | {} | {} |",
            r.round,
            r.target.name(),
            r.replicas,
            r.mode.name(),
            r.clients,
            r.ops_per_s,
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            r.errors,
            fsync(&r.fsync_around),
            fsync(&r.fsync_during),
            ratio
        );
    }
    out
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Per configuration: median ops/s of each target over the rounds, the
/// ratio, and whether it meets the target.
pub fn ratios(records: &[Record]) -> String {
    // (replicas, mode order, clients) -> (mode, etcd ops/s, skiff ops/s)
    type Runs = (Mode, Vec<f64>, Vec<f64>);
    let mut by_config: BTreeMap<(u32, u8, usize), Runs> = BTreeMap::new();
    for r in records.iter().filter(|r| r.mode != Mode::Stall) {
        let entry = by_config
            .entry((r.replicas, mode_rank(r.mode), r.clients))
            .or_insert_with(|| (r.mode, Vec::new(), Vec::new()));
        match r.target {
            Kind::Etcd => entry.1.push(r.ops_per_s),
            Kind::Skiff => entry.2.push(r.ops_per_s),
        }
    }
    let mut out = String::from(
        "| replicas | mode | clients | etcd ops/s | skiff ops/s | skiff/etcd | target | met |\n\
         |--:|---|--:|--:|--:|--:|--:|---|\n",
    );
    for ((replicas, _, clients), (mode, etcd, skiff)) in by_config {
        let (e, s) = (median(etcd), median(skiff));
        let ratio = match (e, s) {
            (Some(e), Some(s)) if e > 0.0 => Some(s / e),
            _ => None,
        };
        let goal = target_ratio(replicas, mode, clients);
        let met = match (ratio, goal) {
            (Some(r), Some(g)) if r >= g => "yes",
            (Some(_), Some(_)) => "NO",
            _ => "",
        };
        let num = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        let _ = writeln!(
            out,
            "| {replicas} | {} | {clients} | {} | {} | {} | {} | {met} |",
            mode.name(),
            num(e),
            num(s),
            ratio.map_or("-".into(), |r| format!("{r:.2}x")),
            goal.map_or(String::new(), |g| format!(">= {g}x")),
        );
    }
    out
}

/// The stall runs, judged by their slowest write against the 100 ms bound.
pub fn stalls(records: &[Record]) -> String {
    let mut out = String::from(
        "| target | replicas | clients | seconds | ops/s | p99 ms | max ms | max at s | writes > 100 ms | fewest ops in 1 s | snapshots in window | fsync during p50/p99 ms | max < 100 ms | note |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n",
    );
    for r in records.iter().filter(|r| r.mode == Mode::Stall) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} |",
            r.target.name(),
            r.replicas,
            r.clients,
            r.duration_s,
            r.ops_per_s,
            r.latency.p99_ms,
            r.latency.max_ms,
            r.max_at_s,
            r.slow_ops,
            r.min_second_ops,
            r.snapshots_at_s
                .iter()
                .filter(|&&s| s >= 0.0 && s <= r.duration_s)
                .count(),
            fsync(&r.fsync_during),
            if r.latency.max_ms < STALL_BOUND_MS && r.errors == 0 {
                "yes"
            } else {
                "NO"
            },
            r.note
        );
    }
    out
}
