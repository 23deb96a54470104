//! The scheduler's Events: `Scheduled` ("Successfully assigned default/web-1 to node-a") for
//! every pod it binds, as kube-scheduler records, and `FailedScheduling` for one that fits
//! nowhere ([`pod_event`]).
//!
//! Bindings never wait for their Events. A bound pod's Event goes into a queue of
//! [`QUEUED_AT_MOST`] (kube-scheduler's broadcaster keeps 1,000 and drops past that), and one
//! loop ([`post_scheduled`]) posts them through the token bucket the agent's events use
//! ([`skiff_api::event_rate`]) at the kubelet's default rate: 50 a second after a burst of 100. kube-scheduler posts without a rate limit; skiff
//! keeps a burst of thousands of pods from doubling the API's writes on a 2-core node, and
//! every pod of an ordinary rollout still gets its Event.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use skiff_api::event_rate::{EventRate, TokenBucket};
use tokio::sync::mpsc;

use crate::queue::DEFAULT_SCHEDULER;

/// Scheduled Events waiting to be posted before new ones are dropped.
pub(crate) const QUEUED_AT_MOST: usize = 1000;

/// Where bindings leave their Scheduled Events; a full queue drops them.
#[derive(Clone)]
pub(crate) struct ScheduledEvents {
    queue: mpsc::Sender<Event>,
}

/// A queue of Scheduled Events and its receiving end, for [`post_scheduled`].
pub(crate) fn scheduled_events() -> (ScheduledEvents, mpsc::Receiver<Event>) {
    let (queue, posting) = mpsc::channel(QUEUED_AT_MOST);
    (ScheduledEvents { queue }, posting)
}

impl ScheduledEvents {
    /// Queues the Scheduled Event of `pod` bound to `node` (dropped when the queue is full).
    pub(crate) fn bound(&self, pod: &Pod, node: &str) {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let message = format!("Successfully assigned {namespace}/{name} to {node}");
        let event = pod_event(pod, "Normal", "Scheduled", &message, Timestamp::now());
        if self.queue.try_send(event).is_err() {
            tracing::debug!(pod = %name, "scheduler: too many Events waiting; Scheduled dropped");
        }
    }
}

/// Posts the queued Scheduled Events one at a time at the kubelet's rate, until every sender is
/// gone (the scheduler's loop owns and awaits it).
pub(crate) async fn post_scheduled(client: Client, mut posting: mpsc::Receiver<Event>) {
    let mut pace = TokenBucket::new(EventRate::KUBELET, std::time::Instant::now());
    while let Some(event) = posting.recv().await {
        let wait = pace.take(std::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let posted = Api::<Event>::namespaced(client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await;
        if let Err(e) = posted {
            tracing::debug!("scheduler: posting a Scheduled event: {e}");
        }
    }
}

/// A core/v1 Event about `pod` from the default scheduler.
pub(crate) fn pod_event(
    pod: &Pod,
    type_: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> Event {
    let namespace = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = pod.metadata.name.clone().unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name),
            namespace: Some(namespace),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(type_.into()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        source: Some(EventSource {
            component: Some(DEFAULT_SCHEDULER.into()),
            ..EventSource::default()
        }),
        reporting_component: Some(DEFAULT_SCHEDULER.into()),
        ..Event::default()
    }
}
