//! The watchers' side of the watch benchmark, run as a process of its own (`api-bench
//! watchers`, started by [`super::watch::run`]) so the load generator's watch streams do not
//! share a runtime with the writer whose answers time the commits.
//!
//! Watches are spread over a few HTTP/2 connections; one task per connection polls all of its
//! streams, taking the time once per wake-up, before reading what arrived: the moment the
//! bytes were handed over by the connection, not when a per-watcher task got to run. Times are
//! wall-clock microseconds (`CLOCK_REALTIME`, the same clock in both processes).
//!
//! Protocol on stdio: the child prints `ready <seconds to open>` once every watch answered 200;
//! the parent writes `expect <deliveries>` and closes stdin after its last write; the child
//! waits for that many deliveries (at most [`GRACE`]), prints `d <seq> <µs>` per delivery and
//! `end`.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use hyper::body::{Body, Incoming};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use super::h2::H2Endpoint;

/// How long the watchers get to catch up after the last write.
pub const GRACE: Duration = Duration::from_secs(10);

/// Wall-clock microseconds since the Unix epoch.
pub fn unix_us() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// The number after `"seq":"` in a watch line.
pub fn seq_of(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.find("\"seq\":\"")? + 7;
    let digits = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// One watch stream and the part of a line received so far.
struct Stream {
    body: Incoming,
    partial: Vec<u8>,
    done: bool,
}

impl Stream {
    /// Reads everything ready; records `(seq, now)` per complete line carrying a sequence.
    fn drain(&mut self, cx: &mut std::task::Context<'_>, now: i64, got: &mut Vec<(u64, i64)>) {
        while !self.done {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    self.partial.extend_from_slice(&data);
                    let mut start = 0;
                    while let Some(nl) = self.partial[start..].iter().position(|&b| b == b'\n') {
                        let line = &self.partial[start..start + nl];
                        if let Some(seq) = seq_of(line).filter(|&s| s > 0) {
                            got.push((seq, now));
                        }
                        start += nl + 1;
                    }
                    self.partial.drain(..start);
                }
                Poll::Ready(_) => self.done = true,
                Poll::Pending => return,
            }
        }
    }
}

/// Polls one connection's streams until `stop`; returns the deliveries.
async fn follow(
    mut streams: Vec<Stream>,
    delivered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    stopped: Arc<Notify>,
) -> Vec<(u64, i64)> {
    let mut got = Vec::new();
    let polling = poll_fn(|cx| {
        let now = unix_us();
        let before = got.len();
        for stream in &mut streams {
            stream.drain(cx, now, &mut got);
        }
        delivered.fetch_add((got.len() - before) as u64, Ordering::Relaxed);
        if stop.load(Ordering::Relaxed) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    });
    tokio::select! {
        _ = polling => {}
        _ = stopped.notified() => {}
    }
    got
}

/// `api-bench watchers`: opens `watchers` watches of `path` over `conns` connections spread
/// over `endpoints`, then follows the stdio protocol above.
pub async fn run_child(
    endpoints: Vec<H2Endpoint>,
    path: String,
    watchers: usize,
    conns: usize,
) -> Result<()> {
    if endpoints.is_empty() || watchers == 0 {
        bail!("need an endpoint and watchers");
    }
    let conns = conns.clamp(1, watchers);
    let opening = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mut conn = endpoints[c % endpoints.len()].connect().await?;
        let mut streams = Vec::new();
        for _ in (c..watchers).step_by(conns) {
            let resp = conn.get(&path).await?;
            if resp.status() != 200 {
                bail!("watch {path}: {}", resp.status());
            }
            streams.push(Stream {
                body: resp.into_body(),
                partial: Vec::new(),
                done: false,
            });
        }
        let args = (delivered.clone(), stop.clone(), stopped.clone());
        tasks.push(tokio::spawn(follow(streams, args.0, args.1, args.2)));
    }
    let mut stdout = tokio::io::stdout();
    let ready = format!("ready {:.3}\n", opening.elapsed().as_secs_f64());
    stdout.write_all(ready.as_bytes()).await?;
    stdout.flush().await?;

    let mut expect = u64::MAX;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(n) = line.strip_prefix("expect ") {
            expect = n.trim().parse().context("expect <n>")?;
        }
    }
    let deadline = Instant::now() + GRACE;
    while delivered.load(Ordering::Relaxed) < expect && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    stopped.notify_waiters();
    let mut out = String::new();
    for task in tasks {
        for (seq, at) in task.await.context("watch connection task")? {
            out.push_str(&format!("d {seq} {at}\n"));
        }
    }
    out.push_str("end\n");
    stdout.write_all(out.as_bytes()).await?;
    stdout.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_sequence_number() {
        let line = br#"{"type":"MODIFIED","object":{"data":{"seq":"42"},"kind":"ConfigMap"}}"#;
        assert_eq!(super::seq_of(line), Some(42));
        assert_eq!(super::seq_of(b"{}"), None);
    }
}
