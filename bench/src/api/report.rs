//! `api-bench`'s records (one JSON line per run) and its Markdown tables: every write run with
//! its fsync times and API/store ratio, the medians against the targets, and the watch
//! delivery runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::Target;
use crate::stats::{Summary, percentile};

/// API pod creates at 64 clients must reach this share of the store's creates per second.
pub const MIN_API_SHARE: f64 = 0.5;
/// API create p99 at 16 clients must be at most this.
pub const MAX_P99_16_MS: f64 = 20.0;
/// Watch delivery p99 must be under this.
pub const MAX_WATCH_P99_MS: f64 = 10.0;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "bench", rename_all = "lowercase")]
pub enum Line {
    Write(WriteRecord),
    Watch(WatchRecord),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteRecord {
    pub round: u32,
    pub target: Target,
    pub replicas: u32,
    pub clients: usize,
    pub ops_per_s: f64,
    pub latency: Summary,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Bytes of the store's value (the stored pod's length).
    pub value_size: usize,
    pub fsync_around: Summary,
    pub fsync_during: Summary,
}

/// Percentiles of samples that may be negative, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Signed {
    pub count: u64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Signed {
    pub fn from_micros(samples: &[i64]) -> Self {
        let Some(&min) = samples.iter().min() else {
            return Self::default();
        };
        // Shift to non-negative so the shared nearest-rank percentile applies.
        let mut shifted: Vec<u32> = samples
            .iter()
            .map(|&s| u32::try_from(s - min).unwrap_or(u32::MAX))
            .collect();
        shifted.sort_unstable();
        let ms = |us: u32| (i64::from(us) + min) as f64 / 1000.0;
        Self {
            count: samples.len() as u64,
            min_ms: min as f64 / 1000.0,
            p50_ms: ms(percentile(&shifted, 0.50)),
            p99_ms: ms(percentile(&shifted, 0.99)),
            max_ms: ms(shifted[shifted.len() - 1]),
        }
    }

    fn cell(&self) -> String {
        format!("{:.2}/{:.2}/{:.1}", self.p50_ms, self.p99_ms, self.max_ms)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchRecord {
    pub replicas: u32,
    pub watchers: usize,
    pub conns: usize,
    pub writes: u64,
    pub rate: f64,
    pub open_s: f64,
    pub write_latency: Summary,
    pub from_ack: Signed,
    pub from_send: Signed,
    pub missing: u64,
    pub fsync_around: Summary,
    pub fsync_during: Summary,
}

pub fn append(path: &Path, line: &Line) -> Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut bytes = serde_json::to_vec(line)?;
    bytes.push(b'\n');
    Ok(file.write_all(&bytes)?)
}

pub fn read_all(path: &Path) -> Result<Vec<Line>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad record: {l}")))
        .collect()
}

fn fsync(s: &Summary) -> String {
    format!("{:.2}/{:.2}", s.p50_ms, s.p99_ms)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (n > 0).then(|| (v[(n - 1) / 2] + v[n / 2]) / 2.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// Every write run, in order, with its API/store ratio against the store run of its round.
pub fn write_runs(runs: &[WriteRecord]) -> String {
    let mut out = String::from(
        "| round | target | replicas | clients | value B | creates/s | p50 ms | p99 ms | max ms | errors | fsync before+after p50/p99 ms | fsync during p50/p99 ms | api/store |\n\
         |--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for r in runs {
        let ratio = (r.target == Target::Api)
            .then(|| {
                runs.iter().find(|s| {
                    s.target == Target::Store
                        && (s.round, s.replicas, s.clients) == (r.round, r.replicas, r.clients)
                })
            })
            .flatten()
            .filter(|s| s.ops_per_s > 0.0)
            .map_or(String::new(), |s| {
                format!("{:.2}", r.ops_per_s / s.ops_per_s)
            });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {} | {} | {ratio} |",
            r.round,
            r.target.name(),
            r.replicas,
            r.clients,
            r.value_size,
            r.ops_per_s,
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            r.errors,
            fsync(&r.fsync_around),
            fsync(&r.fsync_during),
        );
    }
    out
}

/// Medians over rounds per configuration, with the write targets.
pub fn write_summary(runs: &[WriteRecord]) -> String {
    // (replicas, clients) -> [api ops/s, api p99, store ops/s, store p99]
    let mut by: BTreeMap<(u32, usize), [Vec<f64>; 4]> = BTreeMap::new();
    for r in runs {
        let e = by.entry((r.replicas, r.clients)).or_default();
        let i = if r.target == Target::Api { 0 } else { 2 };
        e[i].push(r.ops_per_s);
        e[i + 1].push(r.latency.p99_ms);
    }
    let mut out = String::from(
        "| replicas | clients | api creates/s | store creates/s | api/store | api p99 ms | store p99 ms | target | result |\n\
         |--:|--:|--:|--:|--:|--:|--:|---|---|\n",
    );
    for ((replicas, clients), v) in by {
        let [a, ap, s, sp] = v.map(median);
        let ratio = a.zip(s).filter(|(_, s)| *s > 0.0).map(|(a, s)| a / s);
        let (goal, met) = match clients {
            64 => (
                format!("api/store >= {MIN_API_SHARE}"),
                ratio.map(|r| r >= MIN_API_SHARE),
            ),
            16 => (
                format!("api p99 <= {MAX_P99_16_MS} ms"),
                ap.map(|p| p <= MAX_P99_16_MS),
            ),
            _ => (String::new(), None),
        };
        let num = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| format!("{v:.d$}"));
        let _ = writeln!(
            out,
            "| {replicas} | {clients} | {} | {} | {} | {} | {} | {goal} | {} |",
            num(a, 0),
            num(s, 0),
            num(ratio, 2),
            num(ap, 2),
            num(sp, 2),
            met.map_or("", verdict),
        );
    }
    out
}

/// The watch runs, judged by the delivery p99 from the writer's 200 (and no lost event).
pub fn watch_table(runs: &[WatchRecord]) -> String {
    let mut out = String::from(
        "| replicas | watchers | h2 conns | writes | writes/s | open all s | deliveries | missing | from 200 p50/p99/max ms | from send p50/p99/max ms | write p50/p99 ms | fsync during p50/p99 ms | p99 < 10 ms |\n\
         |--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for r in runs {
        let ok = r.from_ack.count > 0 && r.from_ack.p99_ms < MAX_WATCH_P99_MS && r.missing == 0;
        // The target is for 1,000 watchers; smaller runs are there to show the scaling.
        let result = if r.watchers >= 1000 {
            verdict(ok)
        } else {
            "(no target)"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {:.2} | {} | {} | {} | {} | {:.2}/{:.2} | {} | {} |",
            r.replicas,
            r.watchers,
            r.conns,
            r.writes,
            r.rate,
            r.open_s,
            r.from_ack.count,
            r.missing,
            r.from_ack.cell(),
            r.from_send.cell(),
            r.write_latency.p50_ms,
            r.write_latency.p99_ms,
            fsync(&r.fsync_during),
            result,
        );
    }
    out
}
