//! Following a log: yields chunks as they are written, across rotations, until the
//! container finishes.

use super::{Progress, rotated};
use bytes::Bytes;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use tokio::sync::watch;

pub(super) struct Follow {
    pub(super) path: PathBuf,
    pub(super) rx: watch::Receiver<Progress>,
    pub(super) rotations: u64,
    pub(super) offset: u64,
    pub(super) shutdown: Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

pub(super) fn read_range(path: &Path, from: u64, to: Option<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path)
        && f.seek(SeekFrom::Start(from)).is_ok()
    {
        let _ = match to {
            Some(to) => f.take(to.saturating_sub(from)).read_to_end(&mut out),
            None => f.read_to_end(&mut out),
        };
    }
    out
}

impl Follow {
    pub(super) async fn next(&mut self) -> Option<Bytes> {
        loop {
            let p = *self.rx.borrow_and_update();
            if p.rotations != self.rotations {
                // The file we were reading is now `.1`; finish it (a follower more than one
                // rotation behind skips what was rotated away).
                let rest = if p.rotations == self.rotations + 1 {
                    read_range(&rotated(&self.path, 1), self.offset, None)
                } else {
                    Vec::new()
                };
                self.rotations = p.rotations;
                self.offset = 0;
                if !rest.is_empty() {
                    return Some(rest.into());
                }
                continue;
            }
            if p.size > self.offset {
                let chunk = read_range(&self.path, self.offset, Some(p.size));
                self.offset += chunk.len() as u64;
                if !chunk.is_empty() {
                    return Some(chunk.into());
                }
            }
            if p.finished {
                return None;
            }
            tokio::select! {
                changed = self.rx.changed() => if changed.is_err() { return None },
                () = &mut self.shutdown => return None,
            }
        }
    }
}
