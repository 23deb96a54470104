//! Startup, liveness and readiness probes (httpGet, tcpSocket) of app containers, reaching
//! the pod at its own address through the runtime's `PodNetwork`, as the kubelet's prober
//! reaches the pod IP. A startup probe holds the other two until it succeeds; failing
//! liveness (or startup) probes stop the container, which then restarts per restartPolicy;
//! readiness sets the container's `ready`.

use super::events::EventType::{Normal, Warning};
use super::probe_check::check;
use super::run::{Chore, Worker};
use crate::translate::{ProbeKind, ProbeSpec};
use futures::FutureExt;
use skiff_runtime_wasm::network::PodRef;
use tokio::time::Instant;

/// One probe's counters during one run of its container.
#[derive(Debug, Clone, Default)]
pub struct ProbeState {
    /// When it runs next; `None` while a check is in flight.
    next_at: Option<Instant>,
    successes: u32,
    failures: u32,
}

/// A finished check: container index, which run of it, probe index, result (why it failed).
#[derive(Debug)]
pub struct ProbeOutcome {
    container: usize,
    run: i32,
    probe: usize,
    result: Result<(), String>,
}

impl Worker {
    fn probe_specs(&self, i: usize) -> &[ProbeSpec] {
        &self.plan.containers[i].probes
    }

    /// A container started: its probes start over; it is started and ready only when the
    /// probes that exist say so.
    pub(super) fn start_probes(&mut self, i: usize, now: Instant) {
        // Probes Wasm cannot run (exec, grpc) are left out; each run says so in an event.
        for skipped in self.plan.containers[i].skipped_probes.clone() {
            let message = format!("{skipped}; the probe is not run");
            self.emit(super::slot::Which::App(i), Warning, "ProbeWarning", message);
        }
        let specs = self.probe_specs(i).to_vec();
        let has = |kind| specs.iter().any(|p| p.kind == kind);
        let facts = &mut self.snap.containers[i];
        facts.started = !has(ProbeKind::Startup);
        facts.ready = facts.started && !has(ProbeKind::Readiness);
        self.app_slots[i].probes = specs
            .iter()
            .map(|p| ProbeState {
                next_at: Some(now + p.initial_delay),
                ..ProbeState::default()
            })
            .collect();
    }

    /// Whether probe `spec` runs now: startup until the container started, the others after.
    fn probe_active(&self, i: usize, spec: &ProbeSpec) -> bool {
        let facts = &self.snap.containers[i];
        let running = matches!(facts.state, crate::status::State::Running { .. });
        running && (spec.kind == ProbeKind::Startup) != facts.started
    }

    /// The earliest probe due of container `i`.
    pub(super) fn probe_wake(&self, i: usize) -> Option<Instant> {
        let specs = self.probe_specs(i);
        let states = &self.app_slots[i].probes;
        specs
            .iter()
            .zip(states)
            .filter(|(spec, _)| self.probe_active(i, spec))
            .filter_map(|(_, state)| state.next_at)
            .min()
    }

    /// Starts the checks that are due.
    pub(super) fn step_probes(&mut self, i: usize, now: Instant) {
        let pod = PodRef {
            ip: self.facts.pod_ip,
            namespace: self.facts.namespace.as_str().into(),
        };
        let run = self.app_slots[i].starts;
        for (p, spec) in self.probe_specs(i).to_vec().into_iter().enumerate() {
            // No state after a failed probe stopped the run: nothing is due until it restarts.
            let state = self.app_slots[i].probes.get(p);
            let due = state.and_then(|s| s.next_at).is_some_and(|t| t <= now);
            if !due || !self.probe_active(i, &spec) {
                continue;
            }
            self.app_slots[i].probes[p].next_at = None;
            let (net, pod) = (self.net.clone(), pod.clone());
            let check = async move {
                let result = check(net, pod, spec.action, spec.timeout).await;
                Chore::Probe(ProbeOutcome {
                    container: i,
                    run,
                    probe: p,
                    result,
                })
            };
            self.chores.push(check.boxed());
        }
    }

    /// Applies a check's result; a stale one (from an earlier run) is dropped.
    pub(super) fn on_probe(&mut self, outcome: ProbeOutcome) {
        let ProbeOutcome {
            container: i,
            run,
            probe: p,
            result,
        } = outcome;
        let ok = result.is_ok();
        if self.app_slots[i].starts != run || self.app_slots[i].probes.len() <= p {
            return;
        }
        let spec = self.probe_specs(i)[p].clone();
        let state = &mut self.app_slots[i].probes[p];
        state.next_at = Some(Instant::now() + spec.period);
        if ok {
            (state.successes, state.failures) = (state.successes + 1, 0);
        } else {
            (state.successes, state.failures) = (0, state.failures + 1);
        }
        let (passed, failed) = (
            state.successes >= spec.success_threshold,
            state.failures >= spec.failure_threshold,
        );
        let has_readiness = self
            .probe_specs(i)
            .iter()
            .any(|s| s.kind == ProbeKind::Readiness);
        if let Err(why) = result {
            let kind = match spec.kind {
                ProbeKind::Startup => "Startup",
                ProbeKind::Liveness => "Liveness",
                ProbeKind::Readiness => "Readiness",
            };
            let message = format!("{kind} probe failed: {why}");
            self.emit(super::slot::Which::App(i), Warning, "Unhealthy", message);
        }
        let facts = &mut self.snap.containers[i];
        match spec.kind {
            ProbeKind::Startup if passed => {
                facts.started = true;
                facts.ready = !has_readiness;
            }
            ProbeKind::Readiness if passed => facts.ready = true,
            ProbeKind::Readiness if failed => facts.ready = false,
            ProbeKind::Startup | ProbeKind::Liveness if failed => self.kill_unhealthy(i, spec.kind),
            _ => {}
        }
    }

    /// Stops a container whose liveness or startup probe failed; its exit restarts it.
    fn kill_unhealthy(&mut self, i: usize, kind: ProbeKind) {
        let name = self.snap.containers[i].name.clone();
        tracing::info!(container = %name, ?kind, "probe failed; restarting container");
        let probe = if kind == ProbeKind::Startup {
            "startup"
        } else {
            "liveness"
        };
        let message = format!("Container {name} failed {probe} probe, will be restarted");
        self.emit(super::slot::Which::App(i), Normal, "Killing", message);
        self.app_slots[i].probes.clear();
        let (rt, sandbox, grace) = (self.rt.clone(), self.facts.sandbox_id.clone(), self.grace());
        let stop = async move {
            if let Err(e) = rt.stop_container(&sandbox, &name, grace).await {
                tracing::debug!(container = %name, error = %e, "stopping unhealthy container");
            }
            Chore::Stopped
        };
        self.chores.push(stop.boxed());
    }
}
