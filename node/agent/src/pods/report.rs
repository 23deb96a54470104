//! What the agent writes back about a pod: its status through `pods/<name>/status` (a merge
//! patch, only when it changed, retried after a failure) and its events as core/v1 Events
//! (what `kubectl describe pod` lists), as the kubelet's status manager and event recorder do.

use crate::api::bounded;
use crate::kube_time::to_kube;
use crate::worker::WorkerEvent;
use k8s_openapi::api::core::v1::{Event, ObjectReference, Pod, PodStatus};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
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

/// Posts one pod's events.
pub struct EventRecorder {
    api: Api<Event>,
    node: String,
    pod: ObjectReference,
}

/// Makes event names unique within this process.
static EVENT_SEQ: AtomicU64 = AtomicU64::new(0);

impl EventRecorder {
    pub fn new(api: Api<Event>, node: &str, pod: &Pod) -> EventRecorder {
        let meta = &pod.metadata;
        EventRecorder {
            api,
            node: node.to_owned(),
            pod: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: meta.name.clone(),
                namespace: meta.namespace.clone(),
                uid: meta.uid.clone(),
                resource_version: meta.resource_version.clone(),
                ..ObjectReference::default()
            },
        }
    }

    /// Posts `event`; a failure is logged and the event dropped (events are best effort).
    pub async fn post(&self, event: WorkerEvent) {
        let now = SystemTime::now();
        let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let seq = EVENT_SEQ.fetch_add(1, Ordering::Relaxed);
        let pod_name = self.pod.name.clone().unwrap_or_default();
        let mut involved = self.pod.clone();
        involved.field_path = event.field_path.clone();
        let object = Event {
            metadata: kube::api::ObjectMeta {
                name: Some(format!("{pod_name}.{nanos:x}{seq:x}")),
                namespace: self.pod.namespace.clone(),
                ..Default::default()
            },
            involved_object: involved,
            reason: Some(event.reason.to_owned()),
            message: Some(event.message.clone()),
            type_: Some(event.type_.as_str().to_owned()),
            source: Some(k8s_openapi::api::core::v1::EventSource {
                component: Some("kubelet".into()),
                host: Some(self.node.clone()),
            }),
            first_timestamp: Some(to_kube(now)),
            last_timestamp: Some(to_kube(now)),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.clone()),
            ..Event::default()
        };
        if let Err(e) = bounded(self.api.create(&PostParams::default(), &object)).await {
            tracing::warn!(pod = %pod_name, reason = event.reason, error = %e, "posting an event failed; dropped");
        }
    }
}
