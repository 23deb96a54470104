//! core/v1 Events about the objects the controllers act on (`kubectl describe` shows them),
//! from the controller that acted, in Kubernetes' words (`deployment-controller`,
//! `replicaset-controller`, ...). Once per distinct object, reason and message: the Event's
//! name is derived from the three, so deciding the same thing again meets 409 and records
//! nothing more (kube's recorder counts repeats instead; skiff keeps the first). Past 25 Events
//! about one object from one controller, one more is let through every 5 minutes (client-go's
//! spam filter, [`spam::SpamFilter`]), so a ReplicaSet of 1,000 pods writes 25 "Created pod"
//! Events, not 1,000.

mod spam;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

pub(crate) use spam::SpamFilter;

/// What to record: Normal or Warning, a reason and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventNote {
    type_: &'static str,
    reason: String,
    message: String,
}

impl EventNote {
    pub(crate) fn normal(reason: impl Into<String>, message: String) -> EventNote {
        EventNote {
            type_: "Normal",
            reason: reason.into(),
            message,
        }
    }

    pub(crate) fn warning(reason: impl Into<String>, message: String) -> EventNote {
        EventNote {
            type_: "Warning",
            reason: reason.into(),
            message,
        }
    }
}

/// Posts the controllers' Events through the spam filter. One per controller manager.
pub(crate) struct Recorder {
    client: Client,
    spam: Mutex<SpamFilter>,
}

impl Recorder {
    pub(crate) fn new(client: Client) -> Recorder {
        Recorder {
            client,
            spam: Mutex::new(SpamFilter::default()),
        }
    }

    /// Records `note` about `object` as `component` (best effort: a failure is logged, never
    /// fails a reconcile; past the spam filter's allowance nothing is written).
    pub(crate) async fn record(
        &self,
        component: &'static str,
        object: &ObjectReference,
        note: EventNote,
    ) {
        let spam_key = format!("{component}/{}", object.uid.as_deref().unwrap_or_default());
        if !skiff_sync::lock(&self.spam).allow(&spam_key, std::time::Instant::now()) {
            return;
        }
        let event = event(component, object, note);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        match Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => tracing::debug!(
                "{component}: recording an event about {}: {e}",
                object.name.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// The Event of `note` about `object`, named after the object, reason and message.
fn event(component: &'static str, object: &ObjectReference, note: EventNote) -> Event {
    let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
    let mut hasher = DefaultHasher::new();
    (&object.uid, &note.reason, &note.message).hash(&mut hasher);
    let name = object.name.clone().unwrap_or_default();
    let now = Time(Timestamp::now());
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:016x}", hasher.finish())),
            namespace: Some(namespace),
            ..ObjectMeta::default()
        },
        involved_object: object.clone(),
        reason: Some(note.reason),
        message: Some(note.message),
        type_: Some(note.type_.into()),
        count: Some(1),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        source: Some(EventSource {
            component: Some(component.into()),
            ..EventSource::default()
        }),
        reporting_component: Some(component.into()),
        ..Event::default()
    }
}
