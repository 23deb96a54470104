//! One run's result as a JSON line, appended to a results file by each
//! `store-bench run` and read back by `store-bench table`.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::load::Mode;
use crate::stats::Summary;
use crate::target::Kind;

/// Writes slower than this count as stalls (the bound).
pub const STALL_BOUND_MS: f64 = 100.0;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// Unix seconds when the run ended.
    pub at: u64,
    /// Which alternation round (etcd, skiff, etcd, skiff, ...) it belongs to.
    pub round: u32,
    pub target: Kind,
    pub replicas: u32,
    pub mode: Mode,
    pub clients: usize,
    pub duration_s: f64,
    pub ops_per_s: f64,
    pub latency: Summary,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Ops slower than [`STALL_BOUND_MS`].
    pub slow_ops: u64,
    /// When the slowest op started, seconds into the window.
    pub max_at_s: f64,
    /// The fewest successful ops in any one second of the window.
    pub min_second_ops: u64,
    /// Back-to-back 4 KiB write + fdatasync, ~1 s before and ~1 s after.
    pub fsync_around: Summary,
    /// One 4 KiB write + fdatasync every 100 ms during the window.
    pub fsync_during: Summary,
    /// When new snapshot files appeared, seconds into the window (negative:
    /// during warm-up); empty when no `--snapshot-dir` was watched.
    #[serde(default)]
    pub snapshots_at_s: Vec<f64>,
    /// Free text from the script, e.g. skiff's snapshot flag.
    #[serde(default)]
    pub note: String,
}

impl Record {
    /// The configuration two runs must share to be compared.
    pub fn config(&self) -> (u32, Mode, usize) {
        (self.replicas, self.mode, self.clients)
    }
}

pub fn append(path: &Path, record: &Record) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    file.write_all(&line)?;
    Ok(())
}

pub fn read_all(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: bad record", path.display(), n + 1))?,
        );
    }
    Ok(out)
}
