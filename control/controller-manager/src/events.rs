//! core/v1 Events about the objects the controllers act on (`kubectl describe` shows them),
//! once per distinct object, reason and message: the Event's name is derived from the three,
//! so deciding the same thing again meets 409 and records nothing more (kube's recorder
//! counts repeats instead; skiff keeps the first).

use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

/// Who the Events say reported them.
const COMPONENT: &str = "controller-manager";

/// What to record: Normal or Warning, a reason and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventNote {
    type_: &'static str,
    reason: &'static str,
    message: String,
}

impl EventNote {
    pub(crate) fn normal(reason: &'static str, message: String) -> EventNote {
        EventNote {
            type_: "Normal",
            reason,
            message,
        }
    }

    pub(crate) fn warning(reason: &'static str, message: String) -> EventNote {
        EventNote {
            type_: "Warning",
            reason,
            message,
        }
    }
}

/// Records `note` about `object` (best effort: a failure is logged, never fails a reconcile).
pub(crate) async fn record(client: &Client, object: &ObjectReference, note: EventNote) {
    let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
    let mut hasher = DefaultHasher::new();
    (&object.uid, note.reason, &note.message).hash(&mut hasher);
    let name = object.name.clone().unwrap_or_default();
    let now = Time(Timestamp::now());
    let event = Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:016x}", hasher.finish())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: object.clone(),
        reason: Some(note.reason.into()),
        message: Some(note.message),
        type_: Some(note.type_.into()),
        count: Some(1),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        source: Some(EventSource {
            component: Some(COMPONENT.into()),
            ..EventSource::default()
        }),
        reporting_component: Some(COMPONENT.into()),
        ..Event::default()
    };
    match Api::<Event>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &event)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => tracing::debug!("controller-manager: recording an event about {name}: {e}"),
    }
}
