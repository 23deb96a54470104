//! Watches skiff replicas' data directories during a run for new snapshot
//! files (`snapshot-*.bin`), so the stall check can say whether snapshots
//! (and the log purges that follow them) happened inside its window.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A polling watcher; [`SnapWatch::finish`] returns when each snapshot
/// file first appeared.
pub struct SnapWatch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Vec<Instant>>,
}

fn snapshot_files(dir: &Path, out: &mut Vec<PathBuf>, depth: u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() && depth > 0 {
            snapshot_files(&path, out, depth - 1);
        } else if name.starts_with("snapshot-") && name.ends_with(".bin") {
            out.push(path);
        }
    }
}

impl SnapWatch {
    /// Polls `dirs` (and three levels below them) every 100 ms. Files there
    /// at the start are not counted.
    pub fn start(dirs: Vec<PathBuf>) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let scan = || {
                let mut files = Vec::new();
                for d in &dirs {
                    snapshot_files(d, &mut files, 3);
                }
                files
            };
            let mut seen: HashSet<PathBuf> = scan().into_iter().collect();
            let mut times = Vec::new();
            loop {
                for f in scan() {
                    if seen.insert(f) {
                        times.push(Instant::now());
                    }
                }
                tokio::select! {
                    _ = &mut stopped => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
            times
        });
        Self { stop, task }
    }

    pub async fn finish(self) -> Vec<Instant> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// Seconds from `origin` to `at`, negative when `at` came first.
pub fn offset(origin: Instant, at: Instant) -> f64 {
    match at.checked_duration_since(origin) {
        Some(d) => d.as_secs_f64(),
        None => -(origin - at).as_secs_f64(),
    }
}
