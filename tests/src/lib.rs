//! Shared helpers for skiff's end-to-end tests: real `skiff server` processes, a KV client, and
//! the network faults (namespaces) the fault tests inject.
//!
//! # Layout
//! - `process`: [`Replica`], one `skiff server` child process with its own data directory.
//! - `agent`: [`Agent`], one `skiff agent` child process, and [`node_credential`], a node's
//!   credential made by hand.
//! - `cluster`: [`Cluster`], one or three replicas started and joined, and leader lookup.
//! - `fleet`: [`Fleet`], replicas and node agents as separate processes joined together,
//!   with polling and node-credential helpers.
//! - `client`: [`KvClient`], the `/kv/v1/*` JSON API over HTTPS (rustls, cluster CA, bearer).
//! - `api_client`: [`ApiClient`], raw Kubernetes API requests with any token and body.
//! - `kubectl`: [`Kubectl`], the real kubectl as a subprocess, and [`kubeconfig_for`].
//! - `http_get`: [`http_get`], one plain HTTP GET to a loopback address.
//! - `kv`: the API's answers ([`KvError`], [`RangeResult`]) and the NDJSON [`WatchStream`].
//! - `netns`: network namespaces joined by a bridge, with per-replica cut and heal.
//! - `jepsen`: histories of register ops under process faults, a linearizability checker and
//!   change-log comparison.
//! - here: [`run_bounded`], which runs one test serialised (they start several processes each
//!   and CI has two cores), time-bounded, and keeps the data directories of a failed test for
//!   debugging; where the `skiff` binary is ([`skiff_bin`]); free ports; [`Exited`].
//!
//! Every child process is killed when its handle drops, so a failed or timed-out test leaves
//! nothing running.

pub mod agent;
pub mod api_client;
pub mod client;
pub mod cluster;
pub mod fleet;
pub mod http_get;
pub mod jepsen;
pub mod kubectl;
pub mod kv;
pub mod netns;
pub mod process;

pub use agent::{Agent, node_credential};
pub use api_client::{Answer, ApiClient, RawAnswer};
pub use client::{KvClient, https_client, https_client_h2};
pub use cluster::Cluster;
pub use fleet::Fleet;
pub use http_get::http_get;
pub use kubectl::{Kubectl, KubectlOutput, KubectlWatch, kubeconfig_for};
pub use kv::{Kv, KvError, RangeResult, WatchLine, WatchStream};
pub use process::{Replica, ReplicaOptions};

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Mutex;
use std::time::Duration;

/// Held for the whole of each test: only one test drives processes at a time.
static SERIAL: Mutex<()> = Mutex::new(());
/// Scratch directories made by the running test (the lock above makes this per test).
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A fresh directory for a test's data, removed after the test unless it fails.
pub fn scratch_dir(label: &str) -> anyhow::Result<PathBuf> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("skiff-test-{label}-"))
        .tempdir()?
        .keep();
    skiff_sync::lock(&SCRATCH).push(dir.clone());
    Ok(dir)
}

/// Removes every scratch directory made so far: for programs that use the helpers outside
/// [`run_bounded`] (the benchmarks), once they finished without an error.
pub fn remove_scratch_dirs() {
    let dirs = std::mem::take(&mut *skiff_sync::lock(&SCRATCH));
    for dir in dirs {
        remove_scratch_dir(&dir);
    }
}

/// Runs `test` to completion within `limit`; panics (failing the test) on error or timeout.
/// Processes started by the test are killed when their handles drop, which happens before
/// this returns, whatever the outcome.
pub fn run_bounded(name: &str, limit: Duration, test: impl Future<Output = anyhow::Result<()>>) {
    let _serial = skiff_sync::lock(&SERIAL);
    skiff_sync::lock(&SCRATCH).clear();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building a tokio runtime");
    let started = std::time::Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async { tokio::time::timeout(limit, test).await })
    }));
    // Drop the runtime first: tasks still holding replicas kill them now.
    runtime.shutdown_timeout(Duration::from_secs(5));
    let dirs = std::mem::take(&mut *skiff_sync::lock(&SCRATCH));
    let failure = match &outcome {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(format!("{name} failed: {e:#}")),
        Ok(Err(_)) => Some(format!("{name} did not finish within {limit:?}")),
        Err(_) => Some(format!("{name} panicked")),
    };
    match failure {
        None => {
            eprintln!("{name}: passed in {:.1?}", started.elapsed());
            for dir in dirs {
                remove_scratch_dir(&dir);
            }
        }
        Some(message) => {
            eprintln!("{message}; data directories and process logs kept in:");
            for dir in &dirs {
                eprintln!("  {}", dir.display());
            }
            match outcome {
                Err(panic) => resume_unwind(panic),
                _ => panic!("{message}"),
            }
        }
    }
}

/// Removes a passed test's scratch directory. A process killed as the test ended (kubectl,
/// prometheus, a replica) may still be writing into it for a moment, which makes a single
/// `remove_dir_all` fail with "directory not empty": try again briefly, then say so.
fn remove_scratch_dir(dir: &std::path::Path) {
    let mut last_error = None;
    for _ in 0..20 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => last_error = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(e) = last_error {
        eprintln!("could not remove scratch directory {}: {e}", dir.display());
    }
}

/// The `skiff` binary under test: `$SKIFF_BIN`, else `<workspace>/target/debug/skiff`.
pub fn skiff_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SKIFF_BIN") {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "SKIFF_BIN={} is not a file", path.display());
        return path;
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = workspace.join("target/debug/skiff");
    assert!(
        path.is_file(),
        "the skiff binary is missing at {}: run `cargo build -p skiff` first, or set SKIFF_BIN",
        path.display()
    );
    path
}

/// A port that was free a moment ago (bound on 127.0.0.1:0 and released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A port of the NodePort range (30000-32767) that nothing listens on at 127.0.0.1 now, for a
/// test that asks for a NodePort of its own; starts at a random point of the range, so two
/// calls seldom meet.
pub fn free_node_port() -> anyhow::Result<u16> {
    const FIRST: u16 = 30000;
    const COUNT: u16 = 2768;
    let start = rand::random::<u16>() % COUNT;
    (0..COUNT)
        .map(|i| FIRST + (start + i) % COUNT)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .ok_or_else(|| anyhow::anyhow!("no free port in the NodePort range"))
}

/// What a process that exited left behind.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Exited {
    /// The single `skiff: ...` error line of a failed start; fails if the process succeeded,
    /// panicked, or printed zero or several error lines.
    pub fn error_line(&self) -> anyhow::Result<String> {
        anyhow::ensure!(
            !self.status.success(),
            "expected a failure, got {}; stderr: {}",
            self.status,
            self.stderr
        );
        anyhow::ensure!(
            !self.stderr.contains("panicked"),
            "the process panicked: {}",
            self.stderr
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("skiff: "))
            .collect();
        anyhow::ensure!(
            lines.len() == 1,
            "expected one `skiff:` error line, got {lines:?}; stderr: {}",
            self.stderr
        );
        Ok(lines[0].to_owned())
    }
}
