//! What the pod's spec and the init containers' ends decide for the worker: whether the pod
//! is being deleted, its grace period, its restart policy, and whether an init container is
//! done or has failed the pod.

use super::run::Worker;
use crate::status::State;
use skiff_runtime_wasm::TerminationReason;
use std::time::Duration;

/// The default `terminationGracePeriodSeconds`.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

impl Worker {
    /// Whether the pod has a `deletionTimestamp`.
    pub(super) fn deleting(&self) -> bool {
        self.desired.pod.metadata.deletion_timestamp.is_some()
    }

    /// The grace period: the deletion's, else the pod's, else 30 s.
    pub(super) fn grace(&self) -> Duration {
        let meta = &self.desired.pod.metadata;
        let spec = self.desired.pod.spec.as_ref();
        let secs = meta
            .deletion_grace_period_seconds
            .or_else(|| spec.and_then(|s| s.termination_grace_period_seconds));
        secs.map_or(DEFAULT_GRACE, |s| {
            Duration::from_secs(u64::try_from(s).unwrap_or(0))
        })
    }

    /// Whether init container `i` exited with code 0.
    pub(super) fn init_succeeded(&self, i: usize) -> bool {
        matches!(&self.snap.init_containers[i].state,
            State::Terminated(t) if t.reason == TerminationReason::Exited { code: 0 })
    }

    /// An init container failed and restartPolicy is Never: the pod has failed.
    pub(super) fn init_failed_for_good(&self, i: usize) -> bool {
        matches!(self.snap.init_containers[i].state, State::Terminated(_))
            && self.restart_policy() == "Never"
    }

    /// The pod's `restartPolicy`, `Always` when unset.
    pub(super) fn restart_policy(&self) -> &str {
        self.desired
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always")
    }
}
