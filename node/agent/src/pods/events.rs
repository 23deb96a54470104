//! A pod's events as core/v1 Events (what `kubectl describe pod` and `kubectl get events`
//! list), with client-go's `EventLogger` correlation: an event that repeats (same type,
//! reason, message and container) bumps `count` and `lastTimestamp` of the Event posted the
//! first time instead of posting another, so `describe` reads "3s (x4 over 20s)" as it does
//! on Kubernetes and a crash loop does not fill the store with copies.

use crate::api::bounded;
use crate::kube_time::to_kube;
use crate::worker::{EventType, WorkerEvent};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Series one pod remembers; past this the memory starts over (client-go keeps an LRU of
/// 4096 per recorder; one pod repeats a handful of distinct events).
const MAX_SERIES: usize = 256;

/// What makes two events the same, as client-go's `getEventKey` (source and object are
/// fixed for one pod's recorder).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
    pub field_path: Option<String>,
}

impl SeriesKey {
    fn of(event: &WorkerEvent) -> SeriesKey {
        SeriesKey {
            type_: event.type_,
            reason: event.reason,
            message: event.message.clone(),
            field_path: event.field_path.clone(),
        }
    }
}

/// The Event posted for a series, and how often it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    pub count: i32,
}

/// What to do with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Post a new Event named `name`.
    New { name: String },
    /// Bump Event `name` to `count`.
    Repeat { name: String, count: i32 },
}

/// The series seen so far. Pure: names come from the caller.
#[derive(Debug, Default)]
pub struct Correlator {
    series: HashMap<SeriesKey, Series>,
}

impl Correlator {
    /// Records one occurrence of `key`; `fresh` names the Event of a new series.
    pub fn record(&mut self, key: SeriesKey, fresh: impl FnOnce() -> String) -> Record {
        if let Some(series) = self.series.get_mut(&key) {
            series.count = series.count.saturating_add(1);
            return Record::Repeat {
                name: series.name.clone(),
                count: series.count,
            };
        }
        if self.series.len() >= MAX_SERIES {
            self.series.clear();
        }
        let name = fresh();
        let series = Series {
            name: name.clone(),
            count: 1,
        };
        self.series.insert(key, series);
        Record::New { name }
    }

    /// The series' Event could not be written (gone, or never created): start it again.
    pub fn forget(&mut self, key: &SeriesKey) {
        self.series.remove(key);
    }
}

/// Makes event names unique within this process.
static EVENT_SEQ: AtomicU64 = AtomicU64::new(0);

/// Posts one pod's events.
pub struct EventRecorder {
    api: Api<Event>,
    node: String,
    pod: ObjectReference,
    correlator: Correlator,
}

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
            correlator: Correlator::default(),
        }
    }

    /// Posts `event`, or counts it on the Event of its series; a failure is logged and
    /// the event dropped (events are best effort).
    pub async fn post(&mut self, event: WorkerEvent) {
        let key = SeriesKey::of(&event);
        let pod_name = self.pod.name.clone().unwrap_or_default();
        let now = SystemTime::now();
        let result = match self
            .correlator
            .record(key.clone(), || unique_name(&pod_name))
        {
            Record::New { name } => self.create(&name, &event, now).await,
            Record::Repeat { name, count } => {
                let patch = json!({"count": count, "lastTimestamp": to_kube(now)});
                let params = PatchParams::default();
                match bounded(self.api.patch(&name, &params, &Patch::Merge(&patch))).await {
                    // The first Event is gone (expired or deleted): this one starts anew.
                    Err(e) if e.is_not_found() => {
                        self.correlator.forget(&key);
                        let name = match self
                            .correlator
                            .record(key.clone(), || unique_name(&pod_name))
                        {
                            Record::New { name } | Record::Repeat { name, .. } => name,
                        };
                        self.create(&name, &event, now).await
                    }
                    other => other.map(drop),
                }
            }
        };
        if let Err(e) = result {
            self.correlator.forget(&key);
            tracing::warn!(pod = %pod_name, reason = event.reason, error = %e, "posting an event failed; dropped");
        }
    }

    async fn create(
        &self,
        name: &str,
        event: &WorkerEvent,
        now: SystemTime,
    ) -> Result<(), crate::api::CallError> {
        let object = self.event(name, event, now);
        bounded(self.api.create(&PostParams::default(), &object))
            .await
            .map(drop)
    }

    fn event(&self, name: &str, event: &WorkerEvent, now: SystemTime) -> Event {
        let mut involved = self.pod.clone();
        involved.field_path = event.field_path.clone();
        Event {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_owned()),
                namespace: self.pod.namespace.clone(),
                ..Default::default()
            },
            involved_object: involved,
            reason: Some(event.reason.to_owned()),
            message: Some(event.message.clone()),
            type_: Some(event.type_.as_str().to_owned()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(self.node.clone()),
            }),
            first_timestamp: Some(to_kube(now)),
            last_timestamp: Some(to_kube(now)),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.clone()),
            ..Event::default()
        }
    }
}

/// `<pod>.<hex time><hex seq>`, as the kubelet names events `<pod>.<hex nanos>`.
fn unique_name(pod: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seq = EVENT_SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{pod}.{nanos:x}{seq:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reason: &'static str, message: &str, container: Option<&str>) -> SeriesKey {
        SeriesKey {
            type_: EventType::Warning,
            reason,
            message: message.into(),
            field_path: container.map(|c| format!("spec.containers{{{c}}}")),
        }
    }

    #[test]
    fn repeated_events_count_on_the_first_and_different_ones_start_a_series() {
        let mut c = Correlator::default();
        let mut n = 0;
        let mut fresh = || {
            n += 1;
            format!("e{n}")
        };
        let back_off = key(
            "BackOff",
            "Back-off restarting failed container a",
            Some("a"),
        );
        let table = [
            (back_off.clone(), Record::New { name: "e1".into() }),
            (
                back_off.clone(),
                Record::Repeat {
                    name: "e1".into(),
                    count: 2,
                },
            ),
            // Another container, another message, another reason: each its own series.
            (
                key(
                    "BackOff",
                    "Back-off restarting failed container a",
                    Some("b"),
                ),
                Record::New { name: "e2".into() },
            ),
            (
                key("BackOff", "other", Some("a")),
                Record::New { name: "e3".into() },
            ),
            (
                key(
                    "Unhealthy",
                    "Back-off restarting failed container a",
                    Some("a"),
                ),
                Record::New { name: "e4".into() },
            ),
            (
                back_off.clone(),
                Record::Repeat {
                    name: "e1".into(),
                    count: 3,
                },
            ),
        ];
        for (i, (k, want)) in table.into_iter().enumerate() {
            assert_eq!(c.record(k, &mut fresh), want, "step {i}");
        }
        c.forget(&back_off);
        assert_eq!(
            c.record(back_off, &mut fresh),
            Record::New { name: "e5".into() }
        );
    }

    #[test]
    fn the_memory_is_bounded() {
        let mut c = Correlator::default();
        for i in 0..MAX_SERIES + 10 {
            c.record(key("Failed", &i.to_string(), None), || i.to_string());
        }
        assert!(c.series.len() <= MAX_SERIES);
    }
}
