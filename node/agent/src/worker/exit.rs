//! A container's run ended: its termination recorded in the facts, and per restartPolicy
//! the restart scheduled after the crash-loop back-off. The terminated state (OOMKilled,
//! Error, Completed) shows for `error_hold` before CrashLoopBackOff (see `slot.rs`).

use super::events::EventType::Warning;
use super::run::Worker;
use super::slot::Which;
use crate::status::{State, Termination};
use skiff_runtime_wasm::TerminationReason;
use std::time::SystemTime;
use tokio::time::Instant;

impl Worker {
    /// Records how a run ended in the container's facts; returns the termination.
    pub(super) fn record_exit(&mut self, which: Which, reason: TerminationReason) -> Termination {
        let sandbox = self.facts.sandbox_id.clone();
        let name = self.slot_and_facts(which).1.name.clone();
        let finished = self.rt.container_status(&sandbox, &name);
        let (slot, facts) = self.slot_and_facts(which);
        let finished_at = match finished.map(|s| s.state) {
            Ok(skiff_runtime_wasm::ContainerState::Terminated { finished_at, .. }) => finished_at,
            _ => SystemTime::now(),
        };
        let termination = Termination {
            reason,
            started_at: slot.run_started,
            finished_at,
        };
        facts.state = State::Terminated(termination.clone());
        (facts.ready, facts.started) = (false, false);
        termination
    }

    /// A container ended: record it and restart it per restartPolicy, after the back-off.
    /// Its terminated state (OOMKilled, Error, Completed) shows for `error_hold` (at most
    /// half the delay) before CrashLoopBackOff, as the kubelet shows it until its next sync.
    pub(super) fn on_exit(&mut self, which: Which, reason: TerminationReason) {
        let termination = self.record_exit(which, reason);
        let failed = termination.reason != TerminationReason::Exited { code: 0 };
        let policy = self.restart_policy();
        let restart = match (which, policy) {
            (_, "Never") => false,
            (Which::Init(_), _) => failed,
            (Which::App(_), "OnFailure") => failed,
            (Which::App(_), _) => true,
        };
        if !restart {
            return;
        }
        let ran_for = termination
            .finished_at
            .duration_since(termination.started_at.unwrap_or(termination.finished_at))
            .unwrap_or_default();
        let hold = self.cfg.error_hold;
        let (slot, facts) = self.slot_and_facts(which);
        let delay = slot.crash.next_delay(ran_for);
        let now = Instant::now();
        slot.retry_at = Some(now + delay);
        slot.hold_until = Some(now + hold.min(delay / 2));
        slot.pending_crash = Some(delay);
        let name = facts.name.clone();
        if failed {
            let message = format!(
                "Back-off restarting failed container {name} in pod {}",
                self.pod_label()
            );
            self.emit(which, Warning, "BackOff", message);
        }
    }
}
