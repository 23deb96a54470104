//! Runs CPU-heavy background work of the store (building a snapshot) on a thread of its own at
//! a lower CPU priority, so that it yields the CPU to the threads that answer writes and reads.
//!
//! On a small machine the three replicas of a cluster build their snapshots at the same moment;
//! at normal priority their encoding competed with the write path and stalled writes for tens
//! of milliseconds (see bench/README.md). Linux lets one thread be niced alone; elsewhere the
//! work just runs on its own thread at the normal priority.

use std::io;

use tokio::sync::oneshot;

/// The nice value of background threads (0 is normal, 19 the lowest).
const BACKGROUND_NICE: i32 = 10;

/// Runs `work` on a new thread named `name` at background priority and returns its result.
pub(crate) async fn run<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority();
            tx.send(work()).ok();
        })?;
    rx.await
        .map_err(|_| io::Error::other("a background thread of the store panicked"))?
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux a thread id names just this thread here.
    let me = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(me), BACKGROUND_NICE) {
        tracing::debug!("cannot lower a background thread's priority: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_and_its_result_and_errors_come_back() {
        assert_eq!(run("t", || Ok(7)).await.expect("ok"), 7);
        let err = run::<()>("t", || Err(io::Error::other("no"))).await;
        assert_eq!(err.expect_err("err").to_string(), "no");
        let panicked = run::<()>("t", || panic!("boom")).await;
        assert!(
            panicked
                .expect_err("panic")
                .to_string()
                .contains("panicked")
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_thread_runs_niced_and_the_caller_does_not() {
        let nice = || rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        let before = nice().expect("nice");
        let inside = run("t", move || Ok(nice().expect("nice")))
            .await
            .expect("ok");
        assert_eq!(inside, before + BACKGROUND_NICE);
        assert_eq!(nice().expect("nice"), before);
    }
}
