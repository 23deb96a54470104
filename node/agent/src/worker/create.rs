//! Creating one container in the runtime (pulling and preparing its image) with the
//! kubelet's events, and what a failure shows: CreateContainerConfigError or
//! CreateContainerError for a spec that does not translate (held until the input changes),
//! ErrImagePull or CreateContainerError for a failed create (retried after the pull
//! back-off).

use super::events::EventType::{Normal, Warning};
use super::run::Worker;
use super::slot::Which;
use crate::status::{State, Waiting};
use crate::translate::PlanError;
use skiff_runtime_wasm::RuntimeError;
use skiff_runtime_wasm::spec::ContainerSpec;
use std::time::Duration;
use tokio::time::Instant;

impl Worker {
    /// Creates the container in the runtime if needed; false when it is not (yet) possible.
    pub(super) async fn ensure_created(
        &mut self,
        which: Which,
    ) -> Result<bool, super::WorkerError> {
        if self.slot_and_facts(which).0.created {
            return Ok(true);
        }
        let plan = match which {
            Which::Init(i) => &self.plan.init_containers[i],
            Which::App(i) => &self.plan.containers[i],
        };
        let spec = match &plan.spec {
            Ok(spec) => spec.clone(),
            Err(err) => {
                let (waiting, message) = untranslatable(err);
                self.block(which, waiting, &message);
                return Ok(false);
            }
        };
        self.create(which, spec).await
    }

    /// Holds a container whose spec does not translate in `waiting` until the input changes,
    /// with a "Failed" event when its state changes.
    fn block(&mut self, which: Which, waiting: Waiting, message: &str) {
        let (slot, facts) = self.slot_and_facts(which);
        slot.blocked = true;
        let changed = facts.state != State::Waiting(waiting.clone());
        facts.state = State::Waiting(waiting);
        if changed {
            self.emit(which, Warning, "Failed", format!("Error: {message}"));
        }
    }

    /// Pulls the image (when needed) and creates the container in the runtime, with the
    /// kubelet's events; false when it failed and is retried after the pull back-off.
    async fn create(
        &mut self,
        which: Which,
        spec: ContainerSpec,
    ) -> Result<bool, super::WorkerError> {
        let sandbox = self.facts.sandbox_id.clone();
        let hold = self.cfg.error_hold;
        let (image, name) = (spec.image.clone(), spec.name.clone());
        // The kubelet's pair: "Pulling" then "Successfully pulled" for a fetch, one "Pulled:
        // already present on machine" when nothing is fetched.
        let present = self.rt.image_present(&image);
        if !present {
            self.emit(which, Normal, "Pulling", format!("Pulling image {image:?}"));
        }
        let result = self.rt.create_container(&sandbox, spec).await;
        if result.is_ok() {
            self.emit_created(which, &image, &name, present);
        }
        let (slot, facts) = self.slot_and_facts(which);
        match result {
            Ok(status) => {
                slot.created = true;
                slot.pull.reset();
                facts.image_digest = Some(status.image_digest);
                Ok(true)
            }
            Err(e) if e.is_fatal() => Err(e.into()),
            Err(e) => {
                self.retry_create_later(which, e, hold);
                Ok(false)
            }
        }
    }

    /// The kubelet's "Pulled" event (a fetch or an image already present) and "Created".
    fn emit_created(&self, which: Which, image: &str, name: &str, present: bool) {
        let pulled = if present {
            format!("Container image {image:?} already present on machine")
        } else {
            format!("Successfully pulled image {image:?}")
        };
        self.emit(which, Normal, "Pulled", pulled);
        self.emit(
            which,
            Normal,
            "Created",
            format!("Created container {name}"),
        );
    }

    /// After a create that failed with `error`: schedules the next attempt after the pull
    /// back-off, shows the failure (for `hold` at most) and emits the kubelet's events.
    fn retry_create_later(&mut self, which: Which, error: RuntimeError, hold: Duration) {
        let (slot, facts) = self.slot_and_facts(which);
        let delay = slot.pull.next_delay(Duration::ZERO);
        let now = Instant::now();
        slot.retry_at = Some(now + delay);
        slot.hold_until = Some(now + hold.min(delay / 2));
        let waiting = create_failure(&facts.image, error);
        let messages = failure_messages(&waiting);
        facts.state = State::Waiting(waiting);
        for message in messages {
            self.emit(which, Warning, "Failed", message);
        }
    }
}

/// The waiting state and message of a container whose spec does not translate.
fn untranslatable(err: &PlanError) -> (Waiting, String) {
    let message = err.to_string();
    let waiting = match err {
        PlanError::Config(_) => Waiting::CreateContainerConfigError {
            message: message.clone(),
        },
        PlanError::Unsupported(_) => Waiting::CreateContainerError {
            message: message.clone(),
        },
    };
    (waiting, message)
}

/// The messages of the "Failed" events for a failed create, as the kubelet's pair: the pull's
/// error, then "Error: <reason>"; a create error is "Error: <message>".
fn failure_messages(waiting: &Waiting) -> Vec<String> {
    match waiting {
        Waiting::ErrImagePull { message } => {
            vec![message.clone(), "Error: ErrImagePull".to_owned()]
        }
        Waiting::CreateContainerError { message } => vec![format!("Error: {message}")],
        other => vec![format!("Error: {other:?}")],
    }
}

/// The waiting state for a failed create: pull failures are ErrImagePull, anything else
/// (not Wasm, missing imports) CreateContainerError.
fn create_failure(image: &str, e: RuntimeError) -> Waiting {
    match e {
        RuntimeError::Image(e) => Waiting::ErrImagePull {
            message: format!("failed to pull image {image:?}: {e}"),
        },
        RuntimeError::Compile(e) => Waiting::CreateContainerError {
            message: format!("image {image:?} cannot run as a Wasm container: {e}"),
        },
        other => Waiting::CreateContainerError {
            message: other.to_string(),
        },
    }
}
