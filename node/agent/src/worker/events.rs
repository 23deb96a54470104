//! What a pod worker reports as Kubernetes Events (Pulling, Pulled, Created, Started,
//! Killing, BackOff, Unhealthy, Failed), with the kubelet's reasons and wording. The worker
//! only says what happened; the agent's pod manager posts them, naming the pod.
//!
//! The channel is bounded and a full one drops the event (logged), as the kubelet's event
//! broadcaster drops events it cannot queue: a slow API never stalls a pod.

use super::run::Worker;
use super::slot::Which;
use tokio::sync::mpsc;

/// How many events may wait for the pod manager.
pub const EVENT_QUEUE: usize = 128;

/// `Normal` or `Warning`, the Event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One event about the pod, or about one of its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerEvent {
    pub type_: EventType,
    pub reason: &'static str,
    pub message: String,
    /// `spec.containers{name}` or `spec.initContainers{name}` for a container's event.
    pub field_path: Option<String>,
}

pub(super) type EventSender = mpsc::Sender<WorkerEvent>;

impl Worker {
    /// Queues an event about container `which`.
    pub(super) fn emit(
        &self,
        which: Which,
        type_: EventType,
        reason: &'static str,
        message: String,
    ) {
        let (list, name) = match which {
            Which::Init(i) => ("initContainers", &self.snap.init_containers[i].name),
            Which::App(i) => ("containers", &self.snap.containers[i].name),
        };
        self.emit_pod(
            type_,
            reason,
            message,
            Some(format!("spec.{list}{{{name}}}")),
        );
    }

    /// Queues an event about the pod.
    pub(super) fn emit_pod(
        &self,
        type_: EventType,
        reason: &'static str,
        message: String,
        field_path: Option<String>,
    ) {
        let event = WorkerEvent {
            type_,
            reason,
            message,
            field_path,
        };
        if let Err(e) = self.events.try_send(event) {
            tracing::debug!(event = ?e.into_inner(), "event queue full or closed; dropped");
        }
    }

    /// `<name>_<namespace>(<uid>)`, as the kubelet names a pod in messages.
    pub(super) fn pod_label(&self) -> String {
        let meta = &self.desired.pod.metadata;
        format!(
            "{}_{}({})",
            meta.name.as_deref().unwrap_or_default(),
            self.facts.namespace,
            meta.uid.as_deref().unwrap_or_default()
        )
    }
}
