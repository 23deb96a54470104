//! Per-container log files: stdout and stderr go to one file, size-capped and rotated
//! (`<name>.log`, `<name>.log.1`, ...), readable whole and followable as an async stream.

use bytes::Bytes;
use futures::Stream;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::watch;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Rotation policy.
#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    /// Size at which the current file is rotated.
    pub max_file_bytes: u64,
    /// Rotated files kept besides the current one.
    pub max_rotated: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_file_bytes: 10 << 20,
            max_rotated: 1,
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
    path: PathBuf,
    cfg: LogConfig,
    file: Mutex<Option<std::fs::File>>,
    progress: watch::Sender<Progress>,
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
    /// Creates (truncating) the log at `path`.
    pub fn create(path: impl Into<PathBuf>, cfg: LogConfig) -> std::io::Result<Self> {
        let path = path.into();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(&path)?;
        let (progress, _) = watch::channel(Progress::default());
        Ok(LogFile(Arc::new(Shared {
            path,
            cfg,
            file: Mutex::new(Some(file)),
            progress,
        })))
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Appends `bytes`, rotating first if the file would pass its cap.
    pub fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut guard = self.0.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(file) = guard.as_mut() else {
            return Ok(()); // finished: late writes from a cancelled guest are dropped
        };
        let p = *self.0.progress.borrow();
        let mut rotations = p.rotations;
        let mut size = p.size;
        if size > 0 && size + bytes.len() as u64 > self.0.cfg.max_file_bytes {
            for n in (1..self.0.cfg.max_rotated.max(1)).rev() {
                let _ = std::fs::rename(rotated(&self.0.path, n), rotated(&self.0.path, n + 1));
            }
            std::fs::rename(&self.0.path, rotated(&self.0.path, 1))?;
            *file = std::fs::File::create(&self.0.path)?;
            rotations += 1;
            size = 0;
        }
        file.write_all(bytes)?;
        size += bytes.len() as u64;
        self.0.progress.send_modify(|p| {
            p.rotations = rotations;
            p.size = size;
        });
        Ok(())
    }

    /// Marks the log complete: followers drain what is left and end.
    pub fn finish(&self) {
        self.0.file.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.0.progress.send_modify(|p| p.finished = true);
    }

    /// Everything still on disk: rotated files oldest first, then the current file.
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        for n in (1..=self.0.cfg.max_rotated.max(1)).rev() {
            if let Ok(bytes) = std::fs::read(rotated(&self.0.path, n)) {
                out.extend_from_slice(&bytes);
            }
        }
        out.extend_from_slice(&std::fs::read(&self.0.path)?);
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
        let state = Follow {
            path: self.0.path.clone(),
            rx,
            rotations: start.rotations,
            offset: if from_start { 0 } else { start.size },
            shutdown: Box::pin(shutdown),
        };
        futures::stream::unfold(state, |mut s| async move { s.next().await.map(|b| (b, s)) })
    }
}

struct Follow {
    path: PathBuf,
    rx: watch::Receiver<Progress>,
    rotations: u64,
    offset: u64,
    shutdown: Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
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
    async fn next(&mut self) -> Option<Bytes> {
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

/// The guest-facing side: stdout/stderr streams that append to a [`LogFile`].
#[derive(Clone, Debug)]
pub struct LogSink(pub LogFile);

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Largest write accepted at once from a guest (bounds host buffering per call).
const MAX_WRITE: usize = 64 << 10;

impl OutputStream for LogSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        // A failing log disk must not kill the guest; the error is logged on the host.
        if let Err(e) = self.0.append(&bytes) {
            tracing::warn!(path = %self.0.path().display(), error = %e, "log write failed");
        }
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_WRITE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.0.append(buf).map(|()| buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
