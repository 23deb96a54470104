//! A bounded set of open log-file descriptors shared by every log of a runtime.
//!
//! An idle container must not pin a file descriptor: 10,000 idle pods already hold 10,000
//! listeners, and the process limit is often 20,000. Logs therefore open their file
//! (append mode) on the first write after it was closed, and only the `capacity` most
//! recently written files stay open; the least recently used one is closed to make room.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Open files kept by default: enough for every chatty container of a node, small next to
/// any fd limit.
pub const DEFAULT_MAX_OPEN_LOGS: usize = 256;

#[derive(Default)]
struct Open {
    /// Bumped on every use; the entry with the smallest stamp is evicted first.
    clock: u64,
    files: HashMap<u64, (Arc<File>, u64)>,
}

/// The shared descriptor cache (one per runtime).
pub struct LogFds {
    capacity: usize,
    open: Mutex<Open>,
}

impl std::fmt::Debug for LogFds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFds")
            .field("capacity", &self.capacity)
            .field("open", &self.open_count())
            .finish()
    }
}

fn open(path: &Path, fresh: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if fresh {
        // One writer per log: the descriptor's own offset then appends.
        options.write(true).truncate(true);
    } else {
        options.append(true);
    }
    match options.open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            options.open(path)
        }
        r => r,
    }
}

/// A fresh id per log file, the cache key.
pub(super) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl LogFds {
    /// A cache keeping at most `capacity` (at least 1) files open.
    pub fn new(capacity: usize) -> Self {
        LogFds {
            capacity: capacity.max(1),
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        skiff_sync::lock(&self.open)
    }

    /// Files open right now.
    pub fn open_count(&self) -> usize {
        self.lock().files.len()
    }

    /// The open file of log `id`, opening `path` if it is closed: for append, or (`fresh`)
    /// truncated, creating it and its directory as needed. The caller serialises writes to
    /// one log, so one log is never opened twice at once.
    pub(super) fn get(&self, id: u64, path: &Path, fresh: bool) -> io::Result<Arc<File>> {
        {
            let mut open = self.lock();
            open.clock += 1;
            let now = open.clock;
            if let Some((file, stamp)) = open.files.get_mut(&id) {
                *stamp = now;
                return Ok(file.clone());
            }
        }
        let file = Arc::new(open(path, fresh)?);
        let evicted = {
            let mut open = self.lock();
            let evicted = if open.files.len() >= self.capacity {
                let oldest = open
                    .files
                    .iter()
                    .min_by_key(|(_, (_, stamp))| *stamp)
                    .map(|(k, _)| *k);
                oldest.and_then(|k| open.files.remove(&k))
            } else {
                None
            };
            let now = open.clock;
            open.files.insert(id, (file.clone(), now));
            evicted
        };
        drop(evicted); // closed outside the lock
        Ok(file)
    }

    /// Closes log `id`'s file (after rotation, when the log is finished or dropped).
    pub(super) fn forget(&self, id: u64) {
        let closed = self.lock().files.remove(&id);
        drop(closed);
    }
}
