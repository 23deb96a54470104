//! Per-container log files: stdout and stderr go to one file, size-capped and rotated
//! (`<name>.log`, `<name>.log.1`, ...), every line stored with its time and stream in the
//! CRI format (`entry`), readable whole and followable as an async stream of entries.
//!
//! A log holds no file descriptor while idle: it is opened for append on a write and kept
//! open only while it is among the most recently written logs of its [`LogFds`].

mod disk;
mod entry;
mod fds;
mod follow;
mod sink;

pub use entry::{LogEntry, LogStream, format_time, parse_into, parse_line, parse_time};
pub use fds::{DEFAULT_MAX_OPEN_LOGS, LogFds};
pub use sink::LogSink;

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

    /// Bytes this log's files (the current one and the rotated ones kept) take on disk now.
    pub fn disk_bytes(&self) -> u64 {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let rotated_bytes: u64 = (1..=self.0.cfg.max_rotated.max(1))
            .map(|n| size(&rotated(&self.0.path, n)))
            .sum();
        size(&self.0.path) + rotated_bytes
    }

    /// Appends what the guest wrote to `stream`, one entry per line (a partial one for what
    /// follows the last newline), rotating first if the file would pass its cap. Entries of
    /// one write are written at once, so readers only ever see whole entries.
    pub fn append(&self, stream: LogStream, written: &[u8]) -> std::io::Result<()> {
        let s = &*self.0;
        let finished = skiff_sync::lock(&s.finished);
        if *finished {
            return Ok(()); // late writes from a cancelled guest are dropped
        }
        let mut bytes = Vec::with_capacity(written.len() + 48);
        entry::encode(&mut bytes, std::time::SystemTime::now(), stream, written);
        let bytes = bytes.as_slice();
        if bytes.is_empty() {
            return Ok(());
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

    /// Renames this finished log's files (the current one and the rotated ones it kept) to
    /// `to` (`to.1`, ...) and returns a finished log reading them there: a container's
    /// previous run, kept beside the next one.
    pub fn retire(&self, to: impl Into<PathBuf>) -> std::io::Result<LogFile> {
        self.finish();
        let to = to.into();
        let p = *self.0.progress.borrow();
        for n in 1..=self.kept_rotations(&p) {
            // A rotated file that is gone is simply not shown.
            let _ = std::fs::rename(rotated(&self.0.path, n), rotated(&to, n));
        }
        if p.size > 0 {
            std::fs::rename(&self.0.path, &to)?;
        }
        let retired = LogFile::create_in(to, self.0.cfg, self.0.fds.clone())?;
        retired.0.progress.send_replace(Progress {
            finished: true,
            ..p
        });
        *skiff_sync::lock(&retired.0.finished) = true;
        Ok(retired)
    }

    /// Rotated files of this log still on disk.
    fn kept_rotations(&self, p: &Progress) -> usize {
        let kept = usize::try_from(p.rotations).unwrap_or(usize::MAX);
        self.0.cfg.max_rotated.max(1).min(kept)
    }
}
