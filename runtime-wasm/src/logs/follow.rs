//! Reading a log: everything on disk at once, or followed: entries as they are written,
//! across rotations, until the container finishes.

use super::entry::{self, LogEntry};
use super::{LogFile, Progress, rotated};
use futures::Stream;
use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use tokio::sync::watch;

struct Follow {
    path: PathBuf,
    rx: watch::Receiver<Progress>,
    rotations: u64,
    offset: u64,
    shutdown: Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    /// Parsed entries not yet handed out.
    ready: VecDeque<LogEntry>,
    /// The start of a line whose end is not read yet.
    carry: Vec<u8>,
}

fn read_range(path: &Path, from: u64, to: Option<u64>) -> Vec<u8> {
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
    /// Parses `chunk` (after what was carried over) into `ready`.
    fn take(&mut self, chunk: Vec<u8>) {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(&chunk);
        let mut parsed = Vec::new();
        let used = entry::parse_into(&bytes, &mut parsed);
        self.carry = bytes.split_off(used);
        self.ready.extend(parsed);
    }

    /// The next chunk written, `None` when the log is finished and read.
    async fn next_chunk(&mut self) -> Option<Vec<u8>> {
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
                self.carry.clear();
                if !rest.is_empty() {
                    return Some(rest);
                }
                continue;
            }
            if p.size > self.offset {
                let chunk = read_range(&self.path, self.offset, Some(p.size));
                self.offset += chunk.len() as u64;
                if !chunk.is_empty() {
                    return Some(chunk);
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

    async fn next(&mut self) -> Option<LogEntry> {
        loop {
            if let Some(entry) = self.ready.pop_front() {
                return Some(entry);
            }
            let chunk = self.next_chunk().await?;
            self.take(chunk);
        }
    }
}

impl LogFile {
    /// Every entry still on disk: rotated files (of this log) oldest first, then what this
    /// log wrote to the current file.
    pub fn entries(&self) -> std::io::Result<Vec<LogEntry>> {
        Ok(self.entries_at(&self.0.progress.borrow()))
    }

    fn entries_at(&self, p: &Progress) -> Vec<LogEntry> {
        let mut out = Vec::new();
        for n in (1..=self.kept_rotations(p)).rev() {
            if let Ok(bytes) = std::fs::read(rotated(&self.0.path, n)) {
                entry::parse_into(&bytes, &mut out);
            }
        }
        if p.size > 0 {
            entry::parse_into(&read_range(&self.0.path, 0, Some(p.size)), &mut out);
        }
        out
    }

    /// What the guest wrote, as it wrote it (stdout and stderr interleaved, no times): the
    /// content of [`LogFile::entries`].
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        for e in self.entries()? {
            e.write_text(&mut out);
        }
        Ok(out)
    }

    /// Follows the current file from its start (`from_start`) or its end: yields entries as
    /// they are written and ends when the container has finished or `shutdown` resolves.
    pub fn follow(
        &self,
        from_start: bool,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl Stream<Item = LogEntry> + Send + 'static {
        let rx = self.0.progress.subscribe();
        let start = *rx.borrow();
        self.follow_from(rx, start, from_start, shutdown)
    }

    /// Everything on disk now, and a stream of every entry written after it (no entry in
    /// both, none missed), ending as [`LogFile::follow`]'s does: what `kubectl logs -f`
    /// shows.
    pub fn entries_and_follow(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (Vec<LogEntry>, impl Stream<Item = LogEntry> + Send + 'static) {
        let rx = self.0.progress.subscribe();
        let start = *rx.borrow();
        let history = self.entries_at(&start);
        (history, self.follow_from(rx, start, false, shutdown))
    }

    fn follow_from(
        &self,
        rx: watch::Receiver<Progress>,
        start: Progress,
        from_start: bool,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl Stream<Item = LogEntry> + Send + 'static {
        let state = Follow {
            path: self.0.path.clone(),
            rx,
            rotations: start.rotations,
            offset: if from_start { 0 } else { start.size },
            shutdown: Box::pin(shutdown),
            ready: VecDeque::new(),
            carry: Vec::new(),
        };
        futures::stream::unfold(state, |mut s| async move { s.next().await.map(|e| (e, s)) })
    }
}
