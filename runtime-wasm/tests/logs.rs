//! Container logs can be followed while the guest writes them, and the follow ends when the
//! container does.

use crate::support::{Harness, bounded, guest};
use anyhow::Result;
use futures::StreamExt;
use skiff_runtime_wasm::logs::{LogEntry, LogStream};
use std::time::Duration;

/// The guest's bytes of `entries`, as it wrote them.
fn text(entries: &[LogEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        e.write_text(&mut out);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_streams_until_the_container_ends() -> Result<()> {
    bounded(async {
        let h = Harness::new()?;
        h.pod("p", "10.244.9.2")?;
        let env = [
            ("TARGET", "10.244.9.200:1"),
            ("COUNT", "5"),
            ("INTERVAL_MS", "30"),
        ];
        h.rt.create_container("p", guest("c", "client", &env))
            .await?;
        let log = h.rt.logs("p", "c")?;
        let follow = log.follow(true, std::future::pending());
        h.rt.start_container("p", "c").await?;
        let entries: Vec<_> =
            tokio::time::timeout(Duration::from_secs(30), follow.collect()).await?;
        let text = String::from_utf8(text(&entries))?;
        for i in 0..5 {
            assert!(
                text.contains(&format!("error {i} calling 10.244.9.200:1")),
                "{text}"
            );
        }
        assert!(
            entries.len() > 1,
            "expected several entries while following"
        );
        assert!(
            entries.windows(2).all(|w| w[0].time <= w[1].time),
            "entries carry their times in order"
        );
        h.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_caps_size_and_followers_cross_it() -> Result<()> {
    use skiff_runtime_wasm::logs::{LogConfig, LogFile};
    bounded(async {
        let dir = tempfile::tempdir()?;
        let cfg = LogConfig {
            max_file_bytes: 300,
            max_rotated: 2,
            ..LogConfig::default()
        };
        let log = LogFile::create(dir.path().join("c.log"), cfg)?;
        let follow = log.follow(true, std::future::pending());
        let mut expected = Vec::new();
        for i in 0..30 {
            let line = format!("line {i:02} of the log\n"); // 59 bytes stored
            log.append(LogStream::Stdout, line.as_bytes())?;
            expected.extend_from_slice(line.as_bytes());
        }
        log.finish();
        // The current file never passes the cap; only the last two rotations are kept.
        assert!(std::fs::metadata(log.path())?.len() <= 300);
        assert!(dir.path().join("c.log.2").exists());
        assert!(!dir.path().join("c.log.3").exists());
        let kept = log.read_all()?;
        assert!(
            expected.ends_with(&kept),
            "read_all is a suffix of what was written"
        );
        assert!(kept.len() > 150);
        // A follower that started at the beginning saw everything across every rotation
        // it could keep up with; at minimum what is still on disk, in order.
        let seen: Vec<_> = tokio::time::timeout(Duration::from_secs(10), follow.collect()).await?;
        let seen = text(&seen);
        assert!(expected.ends_with(&seen[seen.len() - kept.len().min(seen.len())..]));
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_descriptor_when_idle_and_stay_complete() -> Result<()> {
    use skiff_runtime_wasm::logs::{LogConfig, LogFds, LogFile};
    use std::sync::Arc;
    bounded(async {
        let dir = tempfile::tempdir()?;
        let fds = Arc::new(LogFds::new(4));
        let cfg = LogConfig {
            max_file_bytes: 200,
            max_rotated: 1,
            ..LogConfig::default()
        };
        // A file left by an earlier container of the same name is never shown, and is
        // replaced by the first write.
        std::fs::write(dir.path().join("c0.log"), "stale line\n")?;
        // 40 logs written round-robin: never more than 4 files open, nothing lost.
        let logs: Vec<LogFile> = (0..40)
            .map(|i| LogFile::create_in(dir.path().join(format!("c{i}.log")), cfg, fds.clone()))
            .collect::<Result<_, _>>()?;
        assert_eq!(fds.open_count(), 0, "creating a log opens nothing");
        assert_eq!(
            logs[0].read_all()?,
            b"",
            "an unwritten log reads empty, not the stale file"
        );
        let follow = logs[7].follow(true, std::future::pending());
        for round in 0..3 {
            for (i, log) in logs.iter().enumerate() {
                log.append(
                    LogStream::Stdout,
                    format!("log {i} round {round}\n").as_bytes(),
                )?;
                assert!(fds.open_count() <= 4);
            }
        }
        for (i, log) in logs.iter().enumerate() {
            let text = String::from_utf8(log.read_all()?)?;
            let want: String = (0..3).map(|r| format!("log {i} round {r}\n")).collect();
            assert_eq!(text, want);
        }
        // The size cap still rotates with the descriptor closed in between.
        for n in 0..20 {
            logs[7].append(
                LogStream::Stderr,
                format!("more {n:02} of log seven\n").as_bytes(),
            )?;
            logs[8].append(LogStream::Stdout, b"x\n")?;
        }
        assert!(std::fs::metadata(logs[7].path())?.len() <= 200);
        assert!(dir.path().join("c7.log.1").exists());
        for log in &logs {
            log.finish();
        }
        assert_eq!(fds.open_count(), 0, "finished logs are closed");
        let seen =
            tokio::time::timeout(Duration::from_secs(10), follow.collect::<Vec<_>>()).await?;
        // The follower was not polled while the writes happened, so it skipped what was
        // rotated away more than once; it still ends with the last line written.
        let seen = String::from_utf8(text(&seen))?;
        assert!(seen.ends_with("more 19 of log seven\n"), "{seen}");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_then_follow_misses_nothing_and_repeats_nothing() -> Result<()> {
    use skiff_runtime_wasm::logs::{LogConfig, LogFile};
    bounded(async {
        let dir = tempfile::tempdir()?;
        let log = LogFile::create(dir.path().join("c.log"), LogConfig::default())?;
        log.append(LogStream::Stdout, b"one\ntw")?;
        let (history, follow) = log.entries_and_follow(std::future::pending());
        log.append(LogStream::Stderr, b"o\nthree\n")?;
        log.finish();
        let later: Vec<_> = tokio::time::timeout(Duration::from_secs(10), follow.collect()).await?;
        assert_eq!(text(&history), b"one\ntw");
        assert_eq!(text(&later), b"o\nthree\n");
        let streams: Vec<_> = later.iter().map(|e| e.stream).collect();
        assert_eq!(streams, [LogStream::Stderr, LogStream::Stderr]);
        assert_eq!(log.read_all()?, b"one\ntwo\nthree\n");
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_previous_run_with_its_rotations() -> Result<()> {
    use skiff_runtime_wasm::logs::{LogConfig, LogFile};
    bounded(async {
        let dir = tempfile::tempdir()?;
        let cfg = LogConfig {
            max_file_bytes: 120,
            ..LogConfig::default()
        };
        let log = LogFile::create(dir.path().join("c.log"), cfg)?;
        // 56 bytes per stored line: two lines per file.
        for i in 0..6 {
            log.append(LogStream::Stdout, format!("run one, line {i}\n").as_bytes())?;
        }
        let previous = log.retire(dir.path().join("c.previous.log"))?;
        assert!(!log.path().exists(), "the current file moved away");
        let fresh = LogFile::create(dir.path().join("c.log"), cfg)?;
        fresh.append(LogStream::Stdout, b"run two\n")?;
        let kept = String::from_utf8(previous.read_all()?)?;
        let want: String = (2..6).map(|i| format!("run one, line {i}\n")).collect();
        assert_eq!(kept, want, "the current file and the one rotation kept");
        assert_eq!(fresh.read_all()?, b"run two\n");
        let followed: Vec<_> = tokio::time::timeout(
            Duration::from_secs(10),
            previous.follow(true, std::future::pending()).collect(),
        )
        .await?;
        assert_eq!(
            text(&followed),
            b"run one, line 4\nrun one, line 5\n",
            "a finished log's follow reads its current file and ends"
        );
        Ok(())
    })
    .await
}
