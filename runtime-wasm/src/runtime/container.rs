//! One container's bookkeeping: spec, prepared code, log, state, and the tokens that stop it.

use super::prepare::Prepared;
use crate::logs::LogFile;
use crate::spec::{ContainerSpec, ContainerState, ContainerStatus, TerminationReason};
use crate::usage::UsageCounters;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Tokens of one run: `stop` asks for a graceful end (HTTP stops accepting), `kill` cancels.
#[derive(Debug, Clone, Default)]
pub struct RunTokens {
    pub stop: CancellationToken,
    pub kill: CancellationToken,
}

pub struct ContainerEntry {
    pub spec: ContainerSpec,
    pub digest: String,
    pub prepared: Prepared,
    pub log: Mutex<LogFile>,
    /// The log of the run before the current one (`kubectl logs --previous`).
    pub previous_log: Mutex<Option<LogFile>>,
    pub state: watch::Sender<ContainerState>,
    pub run: Mutex<Option<(RunTokens, JoinHandle<()>)>>,
    /// CPU time and linear memory of every run of this container.
    pub usage: Arc<UsageCounters>,
    /// Runs started, the first one included (restarts are one fewer).
    pub starts: std::sync::atomic::AtomicU32,
}

impl ContainerEntry {
    pub fn new(spec: ContainerSpec, digest: String, prepared: Prepared, log: LogFile) -> Self {
        let (state, _) = watch::channel(ContainerState::Created);
        ContainerEntry {
            spec,
            digest,
            prepared,
            log: Mutex::new(log),
            previous_log: Mutex::new(None),
            state,
            run: Mutex::new(None),
            usage: Arc::default(),
            starts: std::sync::atomic::AtomicU32::new(0),
        }
    }

    pub fn log(&self) -> LogFile {
        skiff_sync::lock(&self.log).clone()
    }

    pub fn status(&self) -> ContainerStatus {
        ContainerStatus {
            name: self.spec.name.clone(),
            image_digest: self.digest.clone(),
            state: self.state.borrow().clone(),
            log_path: self.log().path().to_owned(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(*self.state.borrow(), ContainerState::Running { .. })
    }

    /// Records the end of a run whose output went to `log`: the log is complete, then the
    /// state says so (waking waiters), then the log's descriptor is closed.
    pub fn terminated(&self, log: &LogFile, reason: TerminationReason) {
        log.end_writes();
        self.state.send_replace(ContainerState::Terminated {
            reason,
            finished_at: SystemTime::now(),
        });
        log.release();
    }

    /// Waits until the container is no longer running.
    pub async fn wait(&self) -> TerminationReason {
        let mut rx = self.state.subscribe();
        loop {
            if let ContainerState::Terminated { reason, .. } = &*rx.borrow_and_update() {
                return reason.clone();
            }
            if rx.changed().await.is_err() {
                return TerminationReason::Interrupted;
            }
        }
    }

    /// Graceful stop: ask, wait up to `grace`, then cancel the guest.
    pub async fn stop(&self, grace: Duration) -> Option<TerminationReason> {
        let run = skiff_sync::lock(&self.run).take();
        let (tokens, handle) = run?;
        tokens.stop.cancel();
        let mut handle = handle;
        if tokio::time::timeout(grace, &mut handle).await.is_err() {
            tracing::info!(container = %self.spec.name, ?grace, "grace period over; cancelling guest");
            tokens.kill.cancel();
            let _ = handle.await;
        }
        Some(self.wait().await)
    }
}
