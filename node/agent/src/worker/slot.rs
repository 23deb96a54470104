//! One container's lifecycle inside the worker: create (pull and prepare, in `create.rs`) and
//! start, and the timers after a failure (ErrImagePull to ImagePullBackOff, a terminated run to
//! CrashLoopBackOff); `exit.rs` decides the restart. Its facts live in the worker's snapshot.

use super::WorkerConfig;
use super::events::EventType::{Normal, Warning};
use super::run::Worker;
use crate::backoff::Backoff;
use crate::status::{ContainerFacts, State, Waiting};
use futures::FutureExt;
use skiff_runtime_wasm::TerminationReason;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Which container of the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Init(usize),
    App(usize),
}

/// The worker's bookkeeping of one container.
#[derive(Debug)]
pub struct Slot {
    /// The runtime has the container (its image is pulled and prepared).
    pub(super) created: bool,
    /// When the current (or last) run started, for `startedAt` of its termination.
    pub(super) run_started: Option<SystemTime>,
    /// Runs started so far; the restart count is one less.
    pub(super) starts: i32,
    /// The probes' counters for the current run.
    pub(super) probes: Vec<super::probes::ProbeState>,
    pub(super) crash: Backoff,
    pub(super) pull: Backoff,
    /// When to try again (create or start); `None` when nothing is scheduled.
    pub(super) retry_at: Option<Instant>,
    /// When an ErrImagePull / CreateContainerError, or the terminated state of a run that
    /// will restart, turns into its back-off reason.
    pub(super) hold_until: Option<Instant>,
    /// The crash-loop delay of a run that ended and shows its termination until `hold_until`.
    pub(super) pending_crash: Option<Duration>,
    /// Held by a spec that does not translate: retried when the input changes.
    pub(super) blocked: bool,
}

impl Slot {
    pub fn new(cfg: &WorkerConfig) -> Self {
        Slot {
            created: false,
            run_started: None,
            starts: 0,
            probes: Vec::new(),
            crash: Backoff::new(cfg.crash_backoff),
            pull: Backoff::new(cfg.pull_backoff),
            retry_at: None,
            hold_until: None,
            pending_crash: None,
            blocked: false,
        }
    }

    pub fn next_wake(&self) -> Option<Instant> {
        [self.retry_at, self.hold_until].into_iter().flatten().min()
    }

    pub fn retry_now_if_blocked(&mut self) {
        if std::mem::take(&mut self.blocked) {
            self.retry_at = None;
        }
    }
}

impl Worker {
    pub(super) fn slot_and_facts(&mut self, which: Which) -> (&mut Slot, &mut ContainerFacts) {
        match which {
            Which::Init(i) => (&mut self.init_slots[i], &mut self.snap.init_containers[i]),
            Which::App(i) => (&mut self.app_slots[i], &mut self.snap.containers[i]),
        }
    }

    /// Does what is due for one container at `now`.
    pub(super) async fn step_container(
        &mut self,
        which: Which,
        now: Instant,
    ) -> Result<(), super::WorkerError> {
        let (slot, facts) = self.slot_and_facts(which);
        let mut pull_backoff = None;
        if let Some(hold) = slot.hold_until
            && hold <= now
        {
            slot.hold_until = None;
            let crash = slot.pending_crash.take();
            match (&facts.state, crash) {
                (State::Waiting(Waiting::ErrImagePull { message }), _) => {
                    let message = message.clone();
                    facts.state = State::Waiting(Waiting::ImagePullBackOff { message });
                    pull_backoff = Some(facts.image.clone());
                }
                (State::Terminated(termination), Some(delay)) => {
                    facts.last_termination = Some(termination.clone());
                    facts.state = State::Waiting(Waiting::CrashLoopBackOff { delay });
                }
                _ => {}
            }
        }
        if let Some(image) = pull_backoff {
            self.emit(
                which,
                Normal,
                "BackOff",
                format!("Back-off pulling image {image:?}"),
            );
            let message = "Error: ImagePullBackOff".to_owned();
            self.emit(which, Warning, "Failed", message);
        }
        let (slot, facts) = self.slot_and_facts(which);
        let due = slot.retry_at.is_none_or(|t| t <= now);
        let idle = matches!(facts.state, State::Waiting(_)) && !slot.blocked;
        if !(due && idle) {
            return Ok(());
        }
        slot.retry_at = None;
        if !self.ensure_created(which).await? {
            return Ok(());
        }
        self.start(which).await
    }

    async fn start(&mut self, which: Which) -> Result<(), super::WorkerError> {
        let sandbox = self.facts.sandbox_id.clone();
        let (slot, facts) = self.slot_and_facts(which);
        let (name, image, restart) = (facts.name.clone(), facts.image.clone(), slot.starts > 0);
        if restart {
            // The kubelet makes a new container from the image it has for each restart.
            let present = format!("Container image {image:?} already present on machine");
            self.emit(which, Normal, "Pulled", present);
            self.emit(
                which,
                Normal,
                "Created",
                format!("Created container {name}"),
            );
        }
        let result = self.rt.start_container(&sandbox, &name).await;
        let hold = self.cfg.error_hold;
        let (slot, facts) = self.slot_and_facts(which);
        match result {
            Ok(()) => {
                let started_at = SystemTime::now();
                slot.run_started = Some(started_at);
                slot.starts += 1;
                facts.restart_count = (slot.starts - 1).max(0);
                facts.state = State::Running { started_at };
                // An init container is never ready; an app container's probes decide.
                (facts.ready, facts.started) = (false, true);
                self.emit(
                    which,
                    Normal,
                    "Started",
                    format!("Started container {name}"),
                );
            }
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                let delay = slot.crash.next_delay(Duration::ZERO);
                slot.retry_at = Some(Instant::now() + delay);
                slot.hold_until = Some(Instant::now() + hold.min(delay / 2));
                facts.state = State::Waiting(Waiting::CreateContainerError {
                    message: e.to_string(),
                });
                self.emit(which, Warning, "Failed", format!("Error: {e}"));
                return Ok(());
            }
        }
        if let Which::App(i) = which {
            self.start_probes(i, Instant::now());
        }
        let rt = self.rt.clone();
        let wait = async move {
            let reason = rt
                .wait_container(&sandbox, &name)
                .await
                .unwrap_or(TerminationReason::Interrupted);
            (which, reason)
        };
        self.waits.push(wait.boxed());
        Ok(())
    }
}
