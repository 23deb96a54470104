//! `events.k8s.io/v1` Events as a view of the stored core/v1 Events: the same objects in the
//! other shape, as kube-apiserver serves both from one storage
//! (`pkg/apis/events/v1/conversion.go`). Field by field (core <-> events.k8s.io/v1):
//! `involvedObject` <-> `regarding`, `message` <-> `note`, `source` <-> `deprecatedSource`,
//! `firstTimestamp` <-> `deprecatedFirstTimestamp`, `lastTimestamp` <->
//! `deprecatedLastTimestamp`, `count` <-> `deprecatedCount`, `reportingComponent` <->
//! `reportingController`; `metadata`, `eventTime`, `series`, `action`, `reason`, `related`,
//! `reportingInstance` and `type` are the same in both.

use serde_json::{Map, Value};

/// The group, version and `apiVersion` of the view.
pub const GROUP: &str = "events.k8s.io";
pub const VERSION: &str = "v1";
pub const API_VERSION: &str = "events.k8s.io/v1";

/// (core/v1 field, events.k8s.io/v1 field) for the fields whose names differ.
const RENAMED: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// Fields the two shapes share.
const SHARED: [&str; 7] = [
    "metadata",
    "eventTime",
    "series",
    "action",
    "reason",
    "related",
    "reportingInstance",
];

/// A stored core/v1 Event in the events.k8s.io/v1 shape.
pub fn to_events_v1(core: &Value) -> Value {
    convert(core, API_VERSION, |(from, to)| (from, to))
}

/// An events.k8s.io/v1 Event in the core/v1 shape it is stored in.
pub fn to_core(events_v1: &Value) -> Value {
    convert(events_v1, "v1", |(core, v1)| (v1, core))
}

fn convert(
    object: &Value,
    api_version: &str,
    direction: fn((&'static str, &'static str)) -> (&'static str, &'static str),
) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    for field in SHARED.iter().chain(&["type"]) {
        if let Some(v) = object.get(*field).filter(|v| !v.is_null()) {
            out.insert((*field).into(), v.clone());
        }
    }
    for pair in RENAMED {
        let (from, to) = direction(pair);
        if let Some(v) = object.get(from).filter(|v| !v.is_null()) {
            out.insert(to.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// An events.k8s.io/v1 field selector in core/v1's field names (`regarding.name=x` is
/// `involvedObject.name=x`), so the stored Events are filtered by it.
pub fn field_selector_to_core(selector: &str) -> String {
    selector
        .split(',')
        .map(|term| {
            for (core, v1) in RENAMED {
                if let Some(rest) = term.strip_prefix(v1)
                    && (rest.starts_with('.') || rest.starts_with('=') || rest.starts_with('!'))
                {
                    return format!("{core}{rest}");
                }
            }
            term.to_owned()
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default", "resourceVersion": "7"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
            "reason": "Started", "message": "Started container web", "type": "Normal",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:09Z",
            "count": 3, "reportingComponent": "kubelet", "reportingInstance": "n1",
            "eventTime": null,
        })
    }

    #[test]
    fn core_events_read_as_events_v1_and_back() {
        let v1 = to_events_v1(&core_event());
        let expected = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default", "resourceVersion": "7"},
            "regarding": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
            "reason": "Started", "note": "Started container web", "type": "Normal",
            "deprecatedSource": {"component": "kubelet", "host": "n1"},
            "deprecatedFirstTimestamp": "2026-01-01T00:00:00Z",
            "deprecatedLastTimestamp": "2026-01-01T00:00:09Z",
            "deprecatedCount": 3, "reportingController": "kubelet", "reportingInstance": "n1",
        });
        assert_eq!(v1, expected);
        let mut core = core_event();
        core.as_object_mut().map(|o| o.remove("eventTime"));
        assert_eq!(to_core(&v1), core);
    }

    #[test]
    fn an_events_v1_series_is_kept() {
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "action": "Scheduling",
            "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:05.000000Z"},
            "reportingController": "default-scheduler", "reportingInstance": "s-1",
            "regarding": {"kind": "Pod", "name": "p"}, "note": "bound", "type": "Normal",
            "reason": "Scheduled",
        });
        let core = to_core(&v1);
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "bound");
        assert_eq!(core["reportingComponent"], "default-scheduler");
        assert_eq!(core["series"]["count"], 2);
        assert_eq!(to_events_v1(&core), v1);
    }

    #[test]
    fn field_selectors_name_core_fields() {
        for (v1, core) in [
            ("regarding.name=web", "involvedObject.name=web"),
            (
                "regarding.kind=Pod,type=Warning",
                "involvedObject.kind=Pod,type=Warning",
            ),
            ("note!=x", "message!=x"),
            ("reason=Started", "reason=Started"),
            ("metadata.name=e", "metadata.name=e"),
            ("regardingx=1", "regardingx=1"),
        ] {
            assert_eq!(field_selector_to_core(v1), core, "{v1}");
        }
    }
}
