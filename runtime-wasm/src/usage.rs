//! What each container uses, measured cheaply while it runs: guest CPU time (the thread CPU
//! time spent inside polls of the container's futures, where wasm runs) and linear memory
//! (the bytes the memory limiter has let its live stores grow to), and the bytes its guest
//! sockets received and sent (TCP payload and UDP datagrams). The node agent samples
//! [`UsageSnapshot`]s and turns two of them into rates, as the kubelet does with cgroups.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

/// One container's counters, shared by its runs and their stores (cheap atomics).
#[derive(Debug, Default)]
pub struct UsageCounters {
    /// Cumulative CPU nanoseconds spent polling the container's guests, over all its runs.
    cpu_ns: AtomicU64,
    /// Linear memory bytes of the container's live stores (0 when nothing runs).
    memory_bytes: AtomicU64,
    /// Bytes the guest's sockets received (TCP stream bytes handed to the guest, UDP
    /// datagram payloads), over all its runs.
    rx_bytes: AtomicU64,
    /// Bytes the guest's sockets sent (TCP bytes written to the real socket, UDP datagram
    /// payloads accepted for sending), over all its runs.
    tx_bytes: AtomicU64,
}

/// A container's usage at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageSnapshot {
    /// Cumulative CPU time in nanoseconds (never decreases for one container).
    pub cpu_ns: u64,
    /// Current linear memory in bytes.
    pub memory_bytes: u64,
    /// Cumulative bytes received by the guest's sockets.
    pub rx_bytes: u64,
    /// Cumulative bytes sent by the guest's sockets.
    pub tx_bytes: u64,
}

impl UsageCounters {
    pub fn snapshot(&self) -> UsageSnapshot {
        UsageSnapshot {
            cpu_ns: self.cpu_ns.load(Ordering::Relaxed),
            memory_bytes: self.memory_bytes.load(Ordering::Relaxed),
            rx_bytes: self.rx_bytes.load(Ordering::Relaxed),
            tx_bytes: self.tx_bytes.load(Ordering::Relaxed),
        }
    }

    /// The guest's sockets received `bytes`.
    pub fn received(&self, bytes: u64) {
        self.rx_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The guest's sockets sent `bytes`.
    pub fn sent(&self, bytes: u64) {
        self.tx_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn add_cpu(&self, ns: u64) {
        self.cpu_ns.fetch_add(ns, Ordering::Relaxed);
    }

    pub(crate) fn grew(&self, bytes: u64) {
        self.memory_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn released(&self, bytes: u64) {
        // Never below zero, even if a store reported more than it grew.
        let _ = self
            .memory_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                Some(held.saturating_sub(bytes))
            });
    }
}

/// A running container's usage, as [`crate::Runtime::usage`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUsage {
    pub name: String,
    pub usage: UsageSnapshot,
}

/// The running containers of one pod sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodUsage {
    /// The sandbox id ([`crate::PodSpec::id`]; the node agent uses the pod's uid).
    pub pod: String,
    /// The sandbox's namespace ([`crate::PodSpec::namespace`]).
    pub namespace: String,
    pub containers: Vec<ContainerUsage>,
}

/// Whether a container runs, as the kubelet's `container_state` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Created,
    Running { started_at: std::time::SystemTime },
    Exited,
}

impl RunState {
    /// The kubelet's label value.
    pub fn label(self) -> &'static str {
        match self {
            RunState::Created => "created",
            RunState::Running { .. } => "running",
            RunState::Exited => "exited",
        }
    }
}

/// One container of a sandbox, as [`crate::Runtime::inventory`] lists it.
#[derive(Debug, Clone)]
pub struct ContainerInventory {
    /// The sandbox id (the node agent uses the pod's uid).
    pub pod_id: String,
    pub pod_name: String,
    /// When the sandbox was created.
    pub pod_created: std::time::SystemTime,
    pub namespace: String,
    pub container: String,
    pub state: RunState,
    /// Restarts since this runtime created the container.
    pub restarts: u32,
    pub usage: UsageSnapshot,
    /// The current run's log (its size on disk is reported).
    pub log: crate::logs::LogFile,
}

/// The CPU time the calling thread has used, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    timespec_ns(rustix::time::clock_gettime(
        rustix::time::ClockId::ThreadCPUTime,
    ))
}

/// The CPU time this whole process has used (every thread, guests included), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    timespec_ns(rustix::time::clock_gettime(
        rustix::time::ClockId::ProcessCPUTime,
    ))
}

fn timespec_ns(t: rustix::time::Timespec) -> u64 {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// This process's resident set size in bytes (`VmRSS` of `/proc/self/status`), if readable.
pub fn process_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// A future whose polls are charged to `counters`: wasm runs synchronously inside `poll`
/// (on a fiber of the polling thread), so the thread's CPU time across a poll is the
/// guest's, plus the host calls it made; time spent waiting (`Pending`) costs nothing.
pub struct Metered<F> {
    inner: F,
    counters: Arc<UsageCounters>,
}

impl<F> Metered<F> {
    pub fn new(inner: F, counters: Arc<UsageCounters>) -> Self {
        Metered { inner, counters }
    }
}

impl<F: Future + Unpin> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = thread_cpu_ns();
        let polled = Pin::new(&mut self.inner).poll(cx);
        self.counters
            .add_cpu(thread_cpu_ns().saturating_sub(started));
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_never_goes_below_zero() {
        let counters = UsageCounters::default();
        counters.grew(100);
        counters.released(30);
        assert_eq!(counters.snapshot().memory_bytes, 70);
        counters.released(500);
        assert_eq!(counters.snapshot().memory_bytes, 0);
    }

    #[tokio::test]
    async fn a_busy_poll_is_charged_and_a_wait_is_not() {
        let counters = Arc::new(UsageCounters::default());
        let spin = Box::pin(async {
            let until = std::time::Instant::now() + std::time::Duration::from_millis(50);
            let mut x = 1u64;
            while std::time::Instant::now() < until {
                x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
            }
            x
        });
        Metered::new(spin, counters.clone()).await;
        let busy = counters.snapshot().cpu_ns;
        // The spin ran ~50 ms of wall time; the thread had the CPU for part of it at least.
        assert!(busy >= 5_000_000, "busy poll charged only {busy} ns");
        let sleep = Box::pin(tokio::time::sleep(std::time::Duration::from_millis(200)));
        Metered::new(sleep, counters.clone()).await;
        let after = counters.snapshot().cpu_ns - busy;
        assert!(after < 20_000_000, "a 200 ms sleep was charged {after} ns");
    }

    #[test]
    fn the_process_has_a_cpu_time_and_a_resident_set() {
        assert!(process_cpu_ns() > 0);
        assert!(process_rss_bytes().is_some_and(|b| b > 0));
    }
}
