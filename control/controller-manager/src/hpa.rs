//! The HorizontalPodAutoscaler controller (autoscaling/v2): every 15 s per HPA (kube's
//! `--horizontal-pod-autoscaler-sync-period`), reads the target's `/scale`, the pods' usage
//! from `metrics.k8s.io/v1beta1` PodMetrics (`hpa_metrics`), decides with
//! `skiff_controllers::hpa`, scales through `/scale`, writes the status and records events.
//! The recent recommendations (for the stabilization windows) and scale changes (for
//! `behavior`'s policies) live in memory, as in kube: a new term of leadership starts
//! without them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;
use skiff_controllers::hpa::{
    self, HpaDecision, HpaEvent, HpaInput, PodUsage, Recommendation, ScaleEvent, TargetScale,
};

use crate::context::{Ctx, drive};
use crate::error::Error;
use crate::events::EventNote;

/// The controller's name in metrics and logs.
const NAME: &str = "horizontalpodautoscaler";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "horizontal-pod-autoscaler";
/// kube's `--horizontal-pod-autoscaler-sync-period`.
const SYNC_PERIOD: Duration = Duration::from_secs(15);

struct HpaCtx {
    ctx: Arc<Ctx>,
    /// Recommendations and scale changes per HPA key, newest last.
    memory: Mutex<HashMap<String, Memory>>,
}

/// What one HPA's earlier reconciles left for the next.
#[derive(Clone, Default)]
struct Memory {
    recommendations: Vec<Recommendation>,
    scale_events: Vec<ScaleEvent>,
}

/// Runs the controller on its own watch of HPAs.
pub(crate) async fn controller(ctx: Arc<Ctx>) {
    let api: Api<HorizontalPodAutoscaler> = Api::all(ctx.client.clone());
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let c = Arc::new(HpaCtx {
        ctx,
        memory: Mutex::default(),
    });
    let stream = Controller::new(api, watcher::Config::default())
        .with_config(config)
        .run(reconcile, error_policy, c);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(hpa: Arc<HorizontalPodAutoscaler>, error: &Error, c: Arc<HpaCtx>) -> Action {
    c.ctx.backoff.next(NAME, key(&hpa), error)
}

fn key(hpa: &HorizontalPodAutoscaler) -> String {
    format!(
        "hpa/{}/{}/{}",
        hpa.namespace().unwrap_or_default(),
        hpa.name_any(),
        hpa.uid().unwrap_or_default()
    )
}

/// The target's API: its kind looked up in the resource table (apps/v1 Deployments and
/// ReplicaSets, v1 ReplicationControllers: whatever serves `/scale`).
fn target_api(
    ctx: &Ctx,
    hpa: &HorizontalPodAutoscaler,
    ns: &str,
) -> Result<Api<DynamicObject>, String> {
    let target = hpa
        .spec
        .as_ref()
        .map(|s| s.scale_target_ref.clone())
        .unwrap_or_default();
    let api_version = target.api_version.unwrap_or_default();
    let info = skiff_api::resources::find_kind(&api_version, &target.kind)
        .filter(|r| r.subresources.contains(&"scale"))
        .ok_or_else(|| {
            format!(
                "the server does not serve a scalable {} in {api_version}",
                target.kind
            )
        })?;
    let gvk = GroupVersionKind::gvk(info.group, info.version, info.kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, info.plural);
    Ok(Api::namespaced_with(ctx.client.clone(), ns, &resource))
}

/// The target's `/scale`: replicas and selector, or why it could not be read.
async fn read_scale(
    api: &Result<Api<DynamicObject>, String>,
    name: &str,
) -> Result<TargetScale, String> {
    let api = api.as_ref().map_err(Clone::clone)?;
    let scale = api.get_scale(name).await.map_err(|e| e.to_string())?;
    Ok(TargetScale {
        replicas: scale.spec.and_then(|s| s.replicas).unwrap_or(0),
        selector: scale.status.and_then(|s| s.selector).unwrap_or_default(),
    })
}

async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, c: Arc<HpaCtx>) -> Result<Action, Error> {
    let ctx = &c.ctx;
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = hpa.namespace().unwrap_or_default();
    let key = key(&hpa);
    let target = target_name(&hpa);
    let api = target_api(ctx, &hpa, &ns);
    let scale = read_scale(&api, &target).await;
    let usage = match &scale {
        Ok(s) => crate::hpa_metrics::pod_usage(&ctx.client, &ns, &s.selector).await,
        Err(_) => Ok(Vec::new()),
    };
    let cached = ctx.pods_in(&ns);
    let memory = c.recall(&key);
    let decision = decide(&hpa, &cached, (&scale, &usage), &memory);
    // The scale change counts for the policies only once it is made (kube's storeScaleEvent).
    let remembered = Memory {
        recommendations: decision.recommendations.clone(),
        scale_events: memory.scale_events,
    };
    c.remember(key.clone(), remembered);
    if let (Some(replicas), Ok(api)) = (decision.scale_to, &api) {
        scale_target(api, &target, replicas).await?;
        c.scale_made(&key, &decision.scale_events);
    }
    write_status(ctx, &hpa, &ns, decision.status).await?;
    record_events(ctx, &hpa, decision.events).await;
    ctx.backoff.reset(NAME, &key);
    Ok(Action::requeue(SYNC_PERIOD))
}

impl HpaCtx {
    /// What earlier reconciles of the HPA at `key` left (nothing in a new term).
    fn recall(&self, key: &str) -> Memory {
        skiff_sync::lock(&self.memory)
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Keeps `memory` for the next reconcile of the HPA at `key`.
    fn remember(&self, key: String, memory: Memory) {
        skiff_sync::lock(&self.memory).insert(key, memory);
    }

    /// Records the scale changes of a decision whose scale was just made.
    fn scale_made(&self, key: &str, scale_events: &[ScaleEvent]) {
        if let Some(m) = skiff_sync::lock(&self.memory).get_mut(key) {
            m.scale_events = scale_events.to_vec();
        }
    }
}

/// The name of the HPA's scale target.
fn target_name(hpa: &HorizontalPodAutoscaler) -> String {
    hpa.spec
        .as_ref()
        .map(|s| s.scale_target_ref.name.clone())
        .unwrap_or_default()
}

/// `skiff_controllers::hpa`'s decision, from the target's scale, its pods' usage, the cached
/// pods of the HPA's namespace and what earlier reconciles left.
fn decide(
    hpa: &HorizontalPodAutoscaler,
    cached: &[Arc<Pod>],
    (scale, usage): (&Result<TargetScale, String>, &Result<Vec<PodUsage>, String>),
    memory: &Memory,
) -> HpaDecision {
    let pods: Vec<&Pod> = cached.iter().map(|p| &**p).collect();
    hpa::reconcile(
        hpa,
        HpaInput {
            scale: scale.as_ref().map_err(String::as_str),
            pods: &pods,
            metrics: usage.as_deref().map_err(String::as_str),
            history: &memory.recommendations,
            scale_events: &memory.scale_events,
            now: Timestamp::now().as_second(),
        },
    )
}

/// Sets the target's `/scale` to `replicas`.
async fn scale_target(api: &Api<DynamicObject>, target: &str, replicas: i32) -> Result<(), Error> {
    let patch = Patch::Merge(json!({"spec": {"replicas": replicas}}));
    api.patch_scale(target, &PatchParams::default(), &patch)
        .await
        .map_err(Error::api("scaling", target.to_owned()))?;
    Ok(())
}

/// Writes `status` as the HPA's, unless it already is.
async fn write_status(
    ctx: &Ctx,
    hpa: &HorizontalPodAutoscaler,
    ns: &str,
    status: HorizontalPodAutoscalerStatus,
) -> Result<(), Error> {
    if hpa.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let mut with_status = hpa.clone();
    with_status.status = Some(status);
    Api::<HorizontalPodAutoscaler>::namespaced(ctx.client.clone(), ns)
        .replace_status(&hpa.name_any(), &PostParams::default(), &with_status)
        .await
        .map_err(Error::api("writing the status of", hpa.name_any()))?;
    Ok(())
}

/// Records the decision's events on the HPA, one after the other.
async fn record_events(ctx: &Ctx, hpa: &HorizontalPodAutoscaler, events: Vec<HpaEvent>) {
    let object = reference(hpa);
    for event in events {
        let note = match event.type_ {
            "Normal" => EventNote::normal(event.reason, event.message),
            _ => EventNote::warning(event.reason, event.message),
        };
        ctx.events.record(EVENT_SOURCE, &object, note).await;
    }
}

/// The HPA as the object its events are about.
fn reference(hpa: &HorizontalPodAutoscaler) -> ObjectReference {
    ObjectReference {
        api_version: Some(HorizontalPodAutoscaler::api_version(&()).into()),
        kind: Some("HorizontalPodAutoscaler".into()),
        name: hpa.metadata.name.clone(),
        namespace: hpa.metadata.namespace.clone(),
        uid: hpa.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}
