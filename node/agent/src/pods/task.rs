//! One pod's task in the pod manager: it owns the pod's [`PodWorker`], feeds it the Pod
//! and the ConfigMaps and Secrets it references (fetched again when the pod changes, soon
//! while one is missing, and at every resync) and the ServiceAccount tokens its projected
//! volumes ask for (renewed at 80% of their life), writes its status, hands its events to the
//! agent's event poster, and
//! once the worker has stopped a deleted pod, deletes the Pod object with grace period 0
//! and a UID precondition, as the kubelet's status manager does.

use super::event_sink::EventSink;
use super::events::EventRecorder;
use super::ref_cache::RefCache;
use super::refs;
use super::report::StatusWriter;
use super::tokens;
use crate::api::bounded;
use crate::metrics::RestartCounts;
use crate::translate::References;
use crate::worker::{PodInput, PodWorker, WorkerConfig, WorkerEvent};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{DeleteParams, Preconditions};
use kube::{Api, Client};
use skiff_runtime_wasm::Runtime;
use skiff_runtime_wasm::network::PodNetwork;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Settings of the pod tasks.
#[derive(Debug, Clone)]
pub struct PodSettings {
    pub node_name: String,
    /// How often referenced ConfigMaps and Secrets are read again when all were found.
    pub refs_resync: Duration,
    /// How soon they are read again while one is missing.
    pub refs_retry: Duration,
    /// Where each status's restart counts go, for the agent's metrics page.
    pub restarts: Arc<RestartCounts>,
    /// How fast pod events are posted (the kubelet's `--event-qps` and `--event-burst`).
    pub event_rate: super::event_rate::EventRate,
}

/// How a pod task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The pod was deleted and its worker stopped it: never run it again.
    Finished,
    /// The worker failed; the pod may be started again.
    Failed,
    /// The agent is shutting down.
    Cancelled,
}

/// What a pod task needs.
pub struct PodTask {
    pub client: Client,
    pub rt: Runtime,
    pub net: Arc<dyn PodNetwork>,
    pub cfg: Arc<WorkerConfig>,
    pub settings: Arc<PodSettings>,
    pub ip: IpAddr,
    /// The Pod as the watch last saw it; closed when it left the API.
    pub pod: watch::Receiver<Arc<Pod>>,
    /// Where its events go (posted by the agent's one poster, never awaited here).
    pub events: EventSink,
    /// The node's shared reads of referenced ConfigMaps and Secrets.
    pub shared: Arc<RefCache>,
}

/// The references' state: what was fetched and when to fetch again.
struct Inputs {
    tx: Option<watch::Sender<Arc<PodInput>>>,
    refs: References,
    refresh_at: Instant,
    /// The Pod as last seen.
    pod: Arc<Pod>,
}

/// Where the pod's status and events go.
struct Reports {
    pods: Api<Pod>,
    writer: StatusWriter,
    /// The pod's UID, under which its recorder sits in the sink.
    uid: String,
    status: watch::Receiver<k8s_openapi::api::core::v1::PodStatus>,
    events: mpsc::Receiver<WorkerEvent>,
}

impl PodTask {
    pub async fn run(mut self, cancel: CancellationToken) -> Outcome {
        let pod = self.pod.borrow_and_update().clone();
        // The API calls below are boxed: their futures are large and short-lived, and inline
        // they would stay in every idle pod's task for its whole life.
        let (refs, refresh_at) = Box::pin(self.fetch(&pod, &References::default())).await;
        let input = Arc::new(PodInput {
            pod: pod.clone(),
            refs: refs.clone(),
        });
        let (tx, rx) = watch::channel(input);
        let (rt, net, cfg) = (self.rt.clone(), self.net.clone(), self.cfg.clone());
        let mut worker = PodWorker::spawn(rt, net, cfg, self.ip, rx, cancel.child_token());
        let mut reports = self.reports(&pod, &mut worker);
        let mut inputs = Inputs {
            tx: Some(tx),
            refs,
            refresh_at,
            pod,
        };
        let result = self.drive(&mut worker, &mut inputs, &mut reports).await;
        self.settings.restarts.forget(&reports.uid);
        if cancel.is_cancelled() {
            // The agent is stopping: the pod keeps its last written status, so the next
            // agent counts the interrupted run as a restart.
            return Outcome::Cancelled;
        }
        while let Ok(event) = reports.events.try_recv() {
            self.events.post(&reports.uid, event);
        }
        self.events.close(&reports.uid);
        let name = inputs.pod.metadata.name.clone().unwrap_or_default();
        if let Err(e) = result {
            tracing::error!(pod = %name, error = %e, "the pod worker failed");
            return Outcome::Failed;
        }
        if inputs.tx.is_some() {
            let last = reports.status.borrow().clone();
            Box::pin(reports.writer.write(&last)).await;
            if inputs.pod.metadata.deletion_timestamp.is_some() {
                Box::pin(delete_now(&reports.pods, &inputs.pod)).await;
            }
        }
        Outcome::Finished
    }

    fn reports(&self, pod: &Pod, worker: &mut PodWorker) -> Reports {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.clone().unwrap_or_default();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let events: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let recorder = EventRecorder::new(events, &self.settings.node_name, pod);
        self.events.open(&uid, recorder);
        Reports {
            writer: StatusWriter::new(pods.clone(), name),
            uid,
            pods,
            status: worker.status(),
            events: worker.take_events().unwrap_or_else(|| mpsc::channel(1).1),
        }
    }

    /// Feeds the worker and reports what it says until it ends.
    async fn drive(
        &mut self,
        worker: &mut PodWorker,
        inputs: &mut Inputs,
        reports: &mut Reports,
    ) -> Result<(), crate::worker::WorkerError> {
        loop {
            tokio::select! {
                result = worker.wait() => return result,
                changed = self.pod.changed(), if inputs.tx.is_some() => match changed {
                    // Gone from the API: the worker stops the pod when its input closes.
                    Err(_) => inputs.tx = None,
                    Ok(()) => {
                        let pod = self.pod.borrow_and_update().clone();
                        // A status or metadata change (the echo of this task's own status
                        // write, most often) references nothing new: no read again.
                        let same_spec = pod.spec == inputs.pod.spec;
                        inputs.pod = pod;
                        if same_spec {
                            inputs.resend();
                        } else {
                            Box::pin(self.refresh(inputs, true)).await;
                        }
                    }
                },
                Ok(()) = reports.status.changed() => {
                    let current = reports.status.borrow_and_update().clone();
                    self.settings.restarts.record(&reports.uid, &current);
                    Box::pin(reports.writer.write(&current)).await;
                }
                Some(event) = reports.events.recv() => self.events.post(&reports.uid, event),
                () = tokio::time::sleep_until(inputs.refresh_at), if inputs.tx.is_some() => {
                    Box::pin(self.refresh(inputs, false)).await;
                }
                () = sleep_until(reports.writer.retry_at) => {
                    let current = reports.status.borrow().clone();
                    Box::pin(reports.writer.write(&current)).await;
                }
            }
        }
    }

    /// Fetches the references of `pod`; returns them and when to look again.
    async fn fetch(&self, pod: &Pod, previous: &References) -> (References, Instant) {
        let names = refs::names(pod);
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut fetched =
            refs::fetch(&self.client, &self.shared, namespace, &names, previous).await;
        let (tokens, tokens_incomplete) = tokens::fetch(&self.client, pod, &previous.tokens).await;
        fetched.refs.tokens = tokens;
        let wait = if fetched.incomplete || tokens_incomplete {
            self.settings.refs_retry
        } else {
            self.settings.refs_resync
        };
        let next = Instant::now() + wait;
        let renew = fetched.refs.tokens.values().map(|t| t.refresh_at).min();
        (fetched.refs, renew.map_or(next, |r| r.min(next)))
    }

    /// Reads the references again and hands the worker a new input when the pod changed
    /// (`pod_changed`) or a reference did.
    async fn refresh(&self, inputs: &mut Inputs, pod_changed: bool) {
        let pod = inputs.pod.clone();
        let (refs, refresh_at) = self.fetch(&pod, &inputs.refs).await;
        inputs.refresh_at = refresh_at;
        let refs_changed = refs::versions(&refs) != refs::versions(&inputs.refs);
        inputs.refs = refs;
        if let Some(tx) = &inputs.tx
            && (pod_changed || refs_changed)
        {
            tx.send_replace(Arc::new(PodInput {
                pod,
                refs: inputs.refs.clone(),
            }));
        }
    }
}

impl Inputs {
    /// Hands the worker the pod as last seen with the references it has.
    fn resend(&self) {
        if let Some(tx) = &self.tx {
            tx.send_replace(Arc::new(PodInput {
                pod: self.pod.clone(),
                refs: self.refs.clone(),
            }));
        }
    }
}

/// Deletes a pod whose containers have stopped: grace period 0, only this incarnation.
pub async fn delete_now(pods: &Api<Pod>, pod: &Pod) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match bounded(pods.delete(&name, &params)).await {
        Ok(_) => tracing::info!(pod = %name, "pod stopped and deleted"),
        Err(e) if matches!(e.code(), Some(404 | 409)) => {}
        Err(e) => tracing::warn!(pod = %name, error = %e, "deleting the stopped pod failed"),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
