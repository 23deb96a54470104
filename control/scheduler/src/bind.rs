//! The scheduler's writes: a binding through `pods/binding` (and its Scheduled Event, queued
//! for [`crate::events`]), and for a pod that fits nowhere
//! the PodScheduled=False condition and a FailedScheduling event, written once per distinct
//! message so a pod retried every pass does not flood the API with events.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Binding, Event, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::events::{ScheduledEvents, pod_event};
use crate::queue::uid;

/// Writes bindings, conditions and events.
pub struct Binder {
    client: Client,
    /// Where a binding leaves the pod's Scheduled Event.
    scheduled: ScheduledEvents,
    /// The message last reported per pod uid.
    reported: Mutex<HashMap<String, String>>,
}

impl Binder {
    pub(crate) fn new(client: Client, scheduled: ScheduledEvents) -> Self {
        Binder {
            client,
            scheduled,
            reported: Mutex::default(),
        }
    }

    fn pods(&self, pod: &Pod) -> Api<Pod> {
        Api::namespaced(
            self.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or("default"),
        )
    }

    /// Binds `pod` to `node`; `Some(uid)` if it did not (another scheduler bound it, it was
    /// deleted, or the API refused), so the caller drops its assumption.
    pub async fn bind(&self, pod: &Pod, node: String) -> Option<String> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: pod.metadata.namespace.clone(),
                ..ObjectMeta::default()
            },
            target: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: Some(node.clone()),
                ..ObjectReference::default()
            },
        };
        let answer: Result<serde_json::Value, kube::Error> = self
            .pods(pod)
            .create_subresource("binding", &name, &PostParams::default(), &binding)
            .await;
        match answer {
            Ok(_) => {
                tracing::debug!(pod = %name, %node, "bound");
                self.scheduled.bound(pod, &node);
                None
            }
            Err(e) => {
                tracing::info!(pod = %name, %node, "binding failed: {e}");
                Some(uid(pod).to_owned())
            }
        }
    }

    /// Marks `pod` unschedulable with `message` and records a FailedScheduling event, unless
    /// that was the last message reported for it.
    pub async fn report_unschedulable(&self, pod: &Pod, message: &str) {
        {
            let mut reported = skiff_sync::lock(&self.reported);
            if reported.get(uid(pod)).map(String::as_str) == Some(message) {
                return;
            }
            reported.insert(uid(pod).to_owned(), message.to_owned());
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let now = Timestamp::now();
        let condition = json!({"status": {"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastTransitionTime": now.to_string(),
        }]}});
        let patch = self
            .pods(pod)
            .patch_status(&name, &PatchParams::default(), &Patch::Strategic(condition))
            .await;
        if let Err(e) = patch {
            tracing::debug!(pod = %name, "recording PodScheduled=False: {e}");
        }
        if let Err(e) = self.event(pod, message, now).await {
            tracing::debug!(pod = %name, "recording FailedScheduling: {e}");
        }
    }

    async fn event(&self, pod: &Pod, message: &str, now: Timestamp) -> Result<Event, kube::Error> {
        let event = pod_event(pod, "Warning", "FailedScheduling", message, now);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
    }
}
