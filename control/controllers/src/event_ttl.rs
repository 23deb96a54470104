//! Event time to live: kube-apiserver stores each Event with an etcd lease of `--event-ttl`
//! (default 1 h) renewed by every write, so an Event disappears an hour after it last
//! changed. skiff's store has no leases; the controller manager's event-ttl sweep deletes
//! the Events this decides are [`expired`]: the last write is the latest of
//! `metadata.creationTimestamp`, each `managedFields[].time`, `lastTimestamp`, `eventTime`
//! and `series.lastObservedTime` (what a repeat of the Event bumps).

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;

/// kube-apiserver's `--event-ttl` default.
pub const DEFAULT_EVENT_TTL: Duration = Duration::from_secs(3600);

/// The latest time `event` was written or observed, if it carries any time at all.
pub fn last_written(event: &Event) -> Option<Timestamp> {
    let meta = &event.metadata;
    let managed = meta
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(|t| t.0));
    let series = event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref());
    meta.creation_timestamp
        .as_ref()
        .map(|t| t.0)
        .into_iter()
        .chain(managed)
        .chain(event.last_timestamp.as_ref().map(|t| t.0))
        .chain(event.event_time.as_ref().map(|t| t.0))
        .chain(series.map(|t| t.0))
        .max()
}

/// Whether `event` has outlived `ttl` at `now` (an Event with no time at all has not).
pub fn expired(event: &Event, now: Timestamp, ttl: Duration) -> bool {
    let Some(last) = last_written(event) else {
        return false;
    };
    let Ok(ttl) = k8s_openapi::jiff::SignedDuration::try_from(ttl) else {
        return false;
    };
    last.checked_add(ttl).is_ok_and(|end| end <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(fields: serde_json::Value) -> Event {
        let mut base = json!({"metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p"}});
        if let (Some(b), Some(f)) = (base.as_object_mut(), fields.as_object()) {
            for (k, v) in f {
                if k == "metadata" {
                    for (mk, mv) in v.as_object().into_iter().flatten() {
                        b["metadata"][mk] = mv.clone();
                    }
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        serde_json::from_value(base).expect("an event")
    }

    #[test]
    fn an_event_expires_an_hour_after_its_last_write() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().expect("a time");
        let cases = [
            (
                "created 2 h ago",
                json!({"metadata": {"creationTimestamp": "2026-01-01T10:00:00Z"}}),
                true,
            ),
            (
                "created 59 min ago",
                json!({"metadata": {"creationTimestamp": "2026-01-01T11:01:00Z"}}),
                false,
            ),
            (
                "created exactly 1 h ago",
                json!({"metadata": {"creationTimestamp": "2026-01-01T11:00:00Z"}}),
                true,
            ),
            (
                "old, repeated 10 min ago",
                json!({"metadata": {"creationTimestamp": "2026-01-01T09:00:00Z"},
                "lastTimestamp": "2026-01-01T11:50:00Z"}),
                false,
            ),
            (
                "old, series observed 5 min ago",
                json!({"metadata": {"creationTimestamp": "2026-01-01T09:00:00Z"},
                "eventTime": "2026-01-01T09:00:00.000000Z",
                "series": {"count": 4, "lastObservedTime": "2026-01-01T11:55:00.000000Z"}}),
                false,
            ),
            (
                "old, patched 2 min ago",
                json!({"metadata": {"creationTimestamp": "2026-01-01T09:00:00Z",
                "managedFields": [{"manager": "kubelet", "operation": "Update",
                    "time": "2026-01-01T11:58:00Z"}]}}),
                false,
            ),
            (
                "an old lastTimestamp on a new write",
                json!({"metadata": {"creationTimestamp": "2026-01-01T11:30:00Z"},
                "lastTimestamp": "2026-01-01T08:00:00Z"}),
                false,
            ),
            ("no time at all", json!({}), false),
        ];
        for (what, fields, want) in cases {
            assert_eq!(
                expired(&event(fields), now, DEFAULT_EVENT_TTL),
                want,
                "{what}"
            );
        }
    }
}
