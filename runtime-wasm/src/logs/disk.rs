//! Logs an earlier process left on disk: a node agent that restarts finds its containers'
//! log files where the last one wrote them (as the kubelet finds `/var/log/pods` after a
//! restart), and reads them as finished logs.

use super::{LogConfig, LogFds, LogFile, Progress, rotated};
use std::path::PathBuf;
use std::sync::Arc;

impl LogFile {
    /// The finished log at `path` (and the rotated files beside it, `path.1` ...) as an
    /// earlier process left it, or `None` when nothing is there. Reading it shows every entry
    /// on disk; following it ends at once.
    pub fn left_on_disk(
        path: impl Into<PathBuf>,
        cfg: LogConfig,
        fds: Arc<LogFds>,
    ) -> std::io::Result<Option<LogFile>> {
        let path = path.into();
        let size = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let rotations = (1..=cfg.max_rotated.max(1))
            .take_while(|n| rotated(&path, *n).is_file())
            .count();
        if size == 0 && rotations == 0 {
            return Ok(None);
        }
        let log = LogFile::create_in(path, cfg, fds)?;
        log.0.progress.send_replace(Progress {
            rotations: u64::try_from(rotations).unwrap_or(u64::MAX),
            size,
            finished: true,
        });
        *skiff_sync::lock(&log.0.finished) = true;
        Ok(Some(log))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogStream;
    use futures::StreamExt;

    fn small() -> LogConfig {
        LogConfig {
            max_file_bytes: 200,
            max_rotated: 2,
            max_open_files: 4,
        }
    }

    #[tokio::test]
    async fn a_log_left_by_an_earlier_process_reads_back_whole_and_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let fds = Arc::new(LogFds::new(4));
        assert!(
            LogFile::left_on_disk(&path, small(), fds.clone())
                .unwrap()
                .is_none()
        );
        let written = LogFile::create_in(&path, small(), fds.clone()).unwrap();
        let lines: Vec<String> = (0..12).map(|i| format!("line number {i:02}\n")).collect();
        for line in &lines {
            written.append(LogStream::Stdout, line.as_bytes()).unwrap();
        }
        written.finish();
        drop(written);

        let found = LogFile::left_on_disk(&path, small(), fds.clone())
            .unwrap()
            .unwrap();
        let text = String::from_utf8(found.read_all().unwrap()).unwrap();
        // What rotation kept: the newest lines, in order, ending with the last.
        assert!(text.ends_with("line number 11\n"), "{text}");
        assert!(lines.concat().ends_with(&text), "{text}");
        assert!(text.lines().count() > 4, "{text}");
        // Finished: `kubectl logs -f` shows what is there and ends.
        let (history, rest) = found.entries_and_follow(std::future::pending());
        assert!(!history.is_empty());
        let rest: Vec<_> = tokio::time::timeout(std::time::Duration::from_secs(5), rest.collect())
            .await
            .expect("following a finished log ends");
        assert!(rest.is_empty(), "{rest:?}");
        // Writes to a log found on disk are dropped; the file is left as it was.
        found.append(LogStream::Stdout, b"late\n").unwrap();
        assert_eq!(String::from_utf8(found.read_all().unwrap()).unwrap(), text);
    }
}
