//! What the agent writes back about a pod's status: `pods/<name>/status` (a merge patch, only
//! when it changed, retried after a failure), as the kubelet's status manager does. Its
//! events go through `events.rs`.

use crate::api::bounded;
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

/// How soon a failed status write is tried again.
const STATUS_RETRY: Duration = Duration::from_secs(1);

/// Writes one pod's status.
pub struct StatusWriter {
    api: Api<Pod>,
    name: String,
    /// The status the API has (as far as this writer knows).
    written: Option<PodStatus>,
    /// Set after a failed write: when to try again.
    pub retry_at: Option<Instant>,
    /// The pod is gone from the API: nothing more to write.
    gone: bool,
}

impl StatusWriter {
    pub fn new(api: Api<Pod>, name: String) -> StatusWriter {
        StatusWriter {
            api,
            name,
            written: None,
            retry_at: None,
            gone: false,
        }
    }

    /// Writes `status` unless the API already has it (or it is the empty status a worker
    /// publishes before its first step).
    pub async fn write(&mut self, status: &PodStatus) {
        if self.gone || status.phase.is_none() || self.written.as_ref() == Some(status) {
            return;
        }
        let patch = json!({ "status": status });
        let params = PatchParams::default();
        match bounded(
            self.api
                .patch_status(&self.name, &params, &Patch::Merge(&patch)),
        )
        .await
        {
            Ok(_) => {
                self.written = Some(status.clone());
                self.retry_at = None;
            }
            Err(e) if e.is_not_found() => self.gone = true,
            Err(e) => {
                tracing::warn!(pod = %self.name, error = %e, "writing the pod status failed; retrying in {STATUS_RETRY:?}");
                self.retry_at = Some(Instant::now() + STATUS_RETRY);
            }
        }
    }
}
