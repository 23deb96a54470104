//! Per-container log files: stdout and stderr go to one file, size-capped and rotated
//! (`<name>.log`, `<name>.log.1`, ...), readable whole and followable as an async stream.
//!
//! A log holds no file descriptor while idle: it is opened for append on a write and kept
//! open only while it is among the most recently written logs of its [`LogFds`].

mod fds;
mod follow;
mod sink;

pub use fds::{DEFAULT_MAX_OPEN_LOGS, LogFds};
pub use sink::LogSink;

use bytes::Bytes;
use futures::Stream;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Rotation policy.
#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    /// Size at which the current file is rotated.
    pub max_file_bytes: u64,
    /// Rotated files kept besides the current one.
    pub max_rotated: usize,
    /// Log files a runtime keeps open at once (see [`LogFds`]).
    pub max_open_files: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_file_bytes: 10 << 20,
            max_rotated: 1,
            max_open_files: DEFAULT_MAX_OPEN_LOGS,
        }
    }
}

/// Writer progress, watched by followers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    rotations: u64,
    size: u64,
    finished: bool,
}

struct Shared {
    /// Key in `fds`.
    id: u64,
    path: PathBuf,
    cfg: LogConfig,
    fds: Arc<LogFds>,
    /// Serialises writers and rotation; `true` once finished (late writes are dropped).
    finished: Mutex<bool>,
    progress: watch::Sender<Progress>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.fds.forget(self.id);
    }
}

/// A container's log (cheap to clone).
#[derive(Clone)]
pub struct LogFile(Arc<Shared>);

impl std::fmt::Debug for LogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogFile").field(&self.0.path).finish()
    }
}

fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl LogFile {
    /// Starts an empty log at `path`, with descriptors of its own (at most one open).
    pub fn create(path: impl Into<PathBuf>, cfg: LogConfig) -> std::io::Result<Self> {
        Self::create_in(path, cfg, Arc::new(LogFds::new(1)))
    }

    /// Starts an empty log at `path`, its descriptor kept in `fds`. Nothing touches the disk
    /// until the first write, which creates (or truncates) the file and its directory;
    /// readers never read past what this log wrote, so an older file there is never shown.
    pub fn create_in(
        path: impl Into<PathBuf>,
        cfg: LogConfig,
        fds: Arc<LogFds>,
    ) -> std::io::Result<Self> {
        let path = path.into();
        let (progress, _) = watch::channel(Progress::default());
        Ok(LogFile(Arc::new(Shared {
            id: fds::next_id(),
            path,
            cfg,
            fds,
            finished: Mutex::new(false),
            progress,
        })))
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Appends `bytes`, rotating first if the file would pass its cap.
    pub fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        let s = &*self.0;
        let finished = skiff_sync::lock(&s.finished);
        if *finished {
            return Ok(()); // late writes from a cancelled guest are dropped
        }
        let p = *s.progress.borrow();
        let mut rotations = p.rotations;
        let mut size = p.size;
        if size > 0 && size + bytes.len() as u64 > s.cfg.max_file_bytes {
            for n in (1..s.cfg.max_rotated.max(1)).rev() {
                let _ = std::fs::rename(rotated(&s.path, n), rotated(&s.path, n + 1));
            }
            s.fds.forget(s.id);
            std::fs::rename(&s.path, rotated(&s.path, 1))?;
            rotations += 1;
            size = 0;
        }
        // Nothing written to this path yet (first write, or first after a rotation).
        let fresh = size == 0;
        let file = s.fds.get(s.id, &s.path, fresh)?;
        (&*file).write_all(bytes)?;
        size += bytes.len() as u64;
        s.progress.send_modify(|p| {
            p.rotations = rotations;
            p.size = size;
        });
        Ok(())
    }

    /// Marks the log complete (followers drain what is left and end) and closes its
    /// descriptor.
    pub fn finish(&self) {
        self.end_writes();
        self.release();
    }

    /// Marks the log complete: later writes are dropped, followers drain what is left and
    /// end. The descriptor stays open until [`LogFile::release`], so the runtime can report
    /// a container's exit before it pays for the `close`.
    pub(crate) fn end_writes(&self) {
        *skiff_sync::lock(&self.0.finished) = true;
        self.0.progress.send_modify(|p| p.finished = true);
    }

    /// Closes the log's descriptor, if it is open.
    pub(crate) fn release(&self) {
        self.0.fds.forget(self.0.id);
    }

    /// Everything still on disk: rotated files (of this log) oldest first, then what this
    /// log wrote to the current file.
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        let p = *self.0.progress.borrow();
        let mut out = Vec::new();
        let kept = usize::try_from(p.rotations).unwrap_or(usize::MAX);
        for n in (1..=self.0.cfg.max_rotated.max(1).min(kept)).rev() {
            if let Ok(bytes) = std::fs::read(rotated(&self.0.path, n)) {
                out.extend_from_slice(&bytes);
            }
        }
        if p.size > 0 {
            out.extend_from_slice(&follow::read_range(&self.0.path, 0, Some(p.size)));
        }
        Ok(out)
    }

    /// Follows the current file from its start (`from_start`) or its end: yields chunks as
    /// they are written and ends when the container has finished or `shutdown` resolves.
    pub fn follow(
        &self,
        from_start: bool,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl Stream<Item = Bytes> + Send + 'static {
        let rx = self.0.progress.subscribe();
        let start = *rx.borrow();
        let state = follow::Follow {
            path: self.0.path.clone(),
            rx,
            rotations: start.rotations,
            offset: if from_start { 0 } else { start.size },
            shutdown: Box::pin(shutdown),
        };
        futures::stream::unfold(state, |mut s| async move { s.next().await.map(|b| (b, s)) })
    }
}
