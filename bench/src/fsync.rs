//! The fsync probe: how long "write 4 KiB + fdatasync" takes on the data
//! directories' filesystem, measured next to every run, because the shared
//! machine's disk varies (0.2-4 ms seen) and every durable write waits on it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::stats::micros;

const BLOCK: usize = 4096;

fn open_probe(dir: &Path, name: &str) -> Result<(File, PathBuf)> {
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("open fsync probe {}", path.display()))?;
    Ok((file, path))
}

fn one(file: &File, buf: &mut [u8; BLOCK], i: u64) -> Result<u32> {
    buf[..8].copy_from_slice(&i.to_le_bytes());
    let start = Instant::now();
    file.write_all_at(buf, (i % 16) * BLOCK as u64)?;
    file.sync_data()?;
    Ok(micros(start.elapsed()))
}

/// Writes 4 KiB and fdatasyncs it, back to back, for `secs`; returns each
/// round's time in microseconds.
pub fn probe(dir: &Path, secs: f64) -> Result<Vec<u32>> {
    let (file, path) = open_probe(dir, ".store-bench-fsync")?;
    let mut buf = [0x5au8; BLOCK];
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut out = Vec::new();
    let mut i = 0;
    while Instant::now() < end {
        out.push(one(&file, &mut buf, i)?);
        i += 1;
    }
    drop(file);
    let _ = std::fs::remove_file(path);
    Ok(out)
}

/// A low-rate probe running in its own thread during a run: one 4 KiB
/// write + fdatasync every `interval`, so it sees the disk as the store
/// does without competing much with it.
pub struct Background {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<Vec<u32>>>,
}

impl Background {
    pub fn start(dir: &Path, interval: Duration) -> Result<Self> {
        let (file, path) = open_probe(dir, ".store-bench-fsync-during")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut buf = [0xa5u8; BLOCK];
            let mut out = Vec::new();
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                out.push(one(&file, &mut buf, i)?);
                i += 1;
                std::thread::sleep(interval);
            }
            drop(file);
            let _ = std::fs::remove_file(path);
            Ok(out)
        });
        Ok(Self { stop, handle })
    }

    /// Stops the probe and returns its samples in microseconds.
    pub fn finish(self) -> Result<Vec<u32>> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("fsync probe thread panicked"))?
    }
}
