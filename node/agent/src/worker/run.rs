//! The worker's task: set up, the loop that reacts to container exits, timers, input
//! changes and cancellation, and the teardown.

use super::slot::{Slot, Which};
use super::{PodInput, WorkerConfig, WorkerError};
use crate::status::{self, ContainerFacts, PodSnapshot, State, Waiting};
use crate::translate::{self, PodFacts, PodPlan};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use skiff_api::k8s_openapi::api::core::v1::PodStatus;
use skiff_runtime_wasm::network::PodNetwork;
use skiff_runtime_wasm::{Runtime, TerminationReason};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Background work of the worker besides container waits: probe checks and stops.
pub(super) enum Chore {
    Probe(super::probes::ProbeOutcome),
    /// A container stopped after a failed probe (its wait reports the exit).
    Stopped,
}

/// A container's end, as its wait future reports it.
pub(super) type Exit = (Which, TerminationReason);

pub(super) struct Worker {
    pub(super) rt: Runtime,
    /// The runtime's network, through which probes reach the pod.
    pub(super) net: Arc<dyn PodNetwork>,
    pub(super) cfg: Arc<WorkerConfig>,
    input: watch::Receiver<Arc<PodInput>>,
    /// The desired state being worked towards.
    pub(super) desired: Arc<PodInput>,
    pub(super) facts: PodFacts,
    pub(super) plan: PodPlan,
    /// True once the volume files are written.
    pub(super) volumes_ready: bool,
    /// True once they were written at all: from then on guests may read them, so updates
    /// are written beside each file and renamed over it.
    pub(super) volumes_written: bool,
    pub(super) snap: PodSnapshot,
    pub(super) init_slots: Vec<Slot>,
    pub(super) app_slots: Vec<Slot>,
    /// One wait per running container; owned here and dropped with the worker.
    pub(super) waits: FuturesUnordered<BoxFuture<'static, Exit>>,
    /// Probe checks and probe-triggered stops in flight; owned like `waits`.
    pub(super) chores: FuturesUnordered<BoxFuture<'static, Chore>>,
    tx: watch::Sender<PodStatus>,
    published: Option<PodSnapshot>,
    /// Where events go (see `events.rs`).
    pub(super) events: super::events::EventSender,
    /// The emptyDirs with a `sizeLimit`, and when to measure them next (`size_limit.rs`).
    pub(super) size_limits: Vec<super::size_limit::SizeLimit>,
    pub(super) size_check_at: Instant,
}

impl Worker {
    /// The worker of the pod on `input` at `pod_ip`: its first plan, a waiting slot per
    /// container and the snapshot it starts from; nothing runs yet.
    pub(super) fn new(
        rt: Runtime,
        net: Arc<dyn PodNetwork>,
        cfg: Arc<WorkerConfig>,
        pod_ip: IpAddr,
        mut input: watch::Receiver<Arc<PodInput>>,
        tx: watch::Sender<PodStatus>,
        events: super::events::EventSender,
    ) -> Self {
        let desired = input.borrow_and_update().clone();
        let facts = cfg.pod_facts(&desired, pod_ip);
        let size_limits = super::size_limit::size_limits(&desired.pod, &facts);
        let plan = translate::plan_pod(&desired.pod, &desired.refs, &facts);
        // The kubelet's default waiting reason when a pod has init containers, for them too:
        // kubectl shows "Init:0/1" while the first one is pulled, not "Init:ContainerCreating".
        let (init_slots, init_facts) =
            waiting_slots(&cfg, &plan.init_containers, Waiting::PodInitializing);
        let (mut app_slots, mut app_facts) =
            waiting_slots(&cfg, &plan.containers, first_app_waiting(&plan));
        super::restore::continue_restart_counts(&desired.pod, &mut app_slots, &mut app_facts);
        let snap = first_snapshot(&cfg, init_facts, app_facts);
        Worker {
            rt,
            net,
            cfg,
            input,
            desired,
            facts,
            plan,
            volumes_ready: false,
            volumes_written: false,
            snap,
            init_slots,
            app_slots,
            waits: FuturesUnordered::new(),
            chores: FuturesUnordered::new(),
            tx,
            published: None,
            events,
            size_limits,
            size_check_at: Instant::now() + super::size_limit::CHECK_EVERY,
        }
    }

    pub(super) async fn run(mut self, cancel: CancellationToken) -> Result<(), WorkerError> {
        let result = self.drive(&cancel).await;
        // Whatever happened, nothing of this pod stays behind in the runtime. When the agent
        // is stopping, the pod's directory (its logs, its volumes) stays for the next agent,
        // which removes it only if the pod is gone.
        let stopping = cancel.is_cancelled();
        let grace = if stopping {
            Duration::ZERO
        } else {
            self.grace()
        };
        Box::pin(self.teardown(grace, !stopping)).await;
        result
    }

    async fn drive(&mut self, cancel: &CancellationToken) -> Result<(), WorkerError> {
        self.rt
            .create_pod(self.plan.sandbox.clone())
            .map_err(WorkerError::Sandbox)?;
        self.snap.pod_ip = Some(self.facts.pod_ip);
        let pod = skiff_runtime_wasm::network::PodRef {
            ip: self.facts.pod_ip,
            namespace: self.plan.sandbox.namespace.as_str().into(),
        };
        let labels = self.desired.pod.metadata.labels.clone().unwrap_or_default();
        self.net.pod_labels(&pod, &labels);
        loop {
            if self.deleting() {
                return Ok(());
            }
            // Boxed: a step's future (starting containers, writing volumes) is large and lives
            // only during the step; inline, every idle pod's task would hold its space for life.
            Box::pin(self.step()).await?;
            self.publish();
            let wake = self.next_wake();
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                changed = self.input.changed() => {
                    if changed.is_err() {
                        // The agent dropped the pod's input: treat it as deleted.
                        return Ok(());
                    }
                    self.replan();
                }
                Some((which, reason)) = self.waits.next(), if !self.waits.is_empty() => {
                    self.on_exit(which, reason);
                }
                Some(chore) = self.chores.next(), if !self.chores.is_empty() => {
                    if let Chore::Probe(outcome) = chore {
                        self.on_probe(outcome);
                    }
                }
                () = tokio::time::sleep_until(self.size_check_at), if !self.size_limits.is_empty() => {
                    self.size_check_at = Instant::now() + super::size_limit::CHECK_EVERY;
                    Box::pin(self.check_size_limits()).await;
                }
                () = sleep_until(wake) => {}
            }
        }
    }

    /// A new desired state: re-translate, so containers held by a missing reference retry.
    fn replan(&mut self) {
        self.desired = self.input.borrow_and_update().clone();
        let plan = translate::plan_pod(&self.desired.pod, &self.desired.refs, &self.facts);
        self.size_limits = super::size_limit::size_limits(&self.desired.pod, &self.facts);
        // Changed volume contents (a renewed token, an edited ConfigMap) are written again.
        if plan.volumes != self.plan.volumes {
            self.volumes_ready = false;
        }
        self.plan = plan;
        for slot in self.init_slots.iter_mut().chain(self.app_slots.iter_mut()) {
            slot.retry_now_if_blocked();
        }
    }

    /// Everything due now: the next init container, else every app container.
    async fn step(&mut self) -> Result<(), WorkerError> {
        // An evicted pod stays Failed: nothing starts again.
        if self.snap.evicted.is_some() || !self.ensure_volumes().await? {
            return Ok(());
        }
        let now = Instant::now();
        for i in 0..self.init_slots.len() {
            if self.init_succeeded(i) {
                continue;
            }
            if self.init_failed_for_good(i) {
                return Ok(());
            }
            return self.step_container(Which::Init(i), now).await;
        }
        for facts in &mut self.snap.containers {
            if facts.state == State::Waiting(Waiting::PodInitializing) {
                facts.state = State::Waiting(Waiting::ContainerCreating);
            }
        }
        for i in 0..self.app_slots.len() {
            self.step_container(Which::App(i), now).await?;
            self.step_probes(i, now);
        }
        Ok(())
    }

    fn next_wake(&self) -> Option<Instant> {
        let probes = (0..self.app_slots.len()).filter_map(|i| self.probe_wake(i));
        self.init_slots
            .iter()
            .chain(self.app_slots.iter())
            .filter_map(Slot::next_wake)
            .chain(probes)
            .min()
    }

    /// Publishes the status if the snapshot changed.
    pub(super) fn publish(&mut self) {
        if self.published.as_ref() == Some(&self.snap) {
            return;
        }
        let previous = self.tx.borrow().clone();
        let status = status::pod_status(
            &self.desired.pod,
            &self.snap,
            Some(&previous),
            SystemTime::now(),
        );
        self.tx.send_replace(status);
        self.published = Some(self.snap.clone());
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// A fresh slot and the facts of each container of `plans`, all in `waiting`.
fn waiting_slots(
    cfg: &WorkerConfig,
    plans: &[translate::ContainerPlan],
    waiting: Waiting,
) -> (Vec<Slot>, Vec<ContainerFacts>) {
    plans
        .iter()
        .map(|p| {
            (
                Slot::new(cfg),
                ContainerFacts::new(&p.name, &p.image, waiting.clone()),
            )
        })
        .unzip()
}

/// The app containers' first waiting reason: PodInitializing when init containers run first.
fn first_app_waiting(plan: &PodPlan) -> Waiting {
    if plan.init_containers.is_empty() {
        Waiting::ContainerCreating
    } else {
        Waiting::PodInitializing
    }
}

/// The pod's snapshot before anything runs: on this node, started now, no pod IP yet.
fn first_snapshot(
    cfg: &WorkerConfig,
    init_containers: Vec<ContainerFacts>,
    containers: Vec<ContainerFacts>,
) -> PodSnapshot {
    PodSnapshot {
        pod_ip: None,
        host_ip: Some(cfg.host_ip),
        start_time: Some(SystemTime::now()),
        init_containers,
        containers,
        evicted: None,
    }
}
