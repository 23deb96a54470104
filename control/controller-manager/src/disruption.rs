//! The disruption controller: the status of every PodDisruptionBudget (what the eviction
//! subresource spends), decided by `skiff_controllers::disruption` from the shared pod cache
//! and the scale of the selected pods' controllers, re-decided whenever a budget or a pod of
//! its namespace changes, and when an eviction it recorded expires.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ObjectReference, Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use skiff_controllers::common::controller_ref;
use skiff_controllers::disruption::{self, ControllerScale, DisruptionNote};

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::events::EventNote;

/// The controller's name in metrics and logs.
const NAME: &str = "disruption";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "controllermanager";
/// Budgets are decided again this often without a change (kube resyncs every 30 s).
const RESYNC: Duration = Duration::from_secs(30);

/// Runs the controller: its own watch of budgets, triggered too by the shared pod cache.
pub(crate) async fn controller(ctx: Arc<Ctx>, pods: Shared<Pod>) {
    let api: Api<PodDisruptionBudget> = Api::all(ctx.client.clone());
    let controller = Controller::new(api, watcher::Config::default());
    let budgets = controller.store();
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = controller
        .watches_shared_stream(pods, move |pod| covering(&budgets, &pod))
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

/// The budgets of the pod's namespace that select it.
fn covering(
    budgets: &Store<PodDisruptionBudget>,
    pod: &Pod,
) -> Vec<ObjectRef<PodDisruptionBudget>> {
    let one = std::slice::from_ref(pod);
    budgets
        .state()
        .iter()
        .filter(|b| disruption::selected(b, one).is_ok_and(|s| !s.is_empty()))
        .map(|b| ObjectRef::from_obj(b.as_ref()))
        .collect()
}

fn error_policy(pdb: Arc<PodDisruptionBudget>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&pdb), error)
}

fn key(pdb: &PodDisruptionBudget) -> String {
    format!(
        "pdb/{}/{}/{}",
        pdb.namespace().unwrap_or_default(),
        pdb.name_any(),
        pdb.uid().unwrap_or_default()
    )
}

async fn reconcile(pdb: Arc<PodDisruptionBudget>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = pdb.namespace().unwrap_or_default();
    let pods = ctx.pods_in(&ns);
    let selected = disruption::selected(&pdb, &pods).unwrap_or_default();
    let scales = scales_of(&ctx, &ns, &selected).await?;
    let now = Timestamp::now().as_second();
    let decision = disruption::reconcile(&pdb, &pods, &scales, now);
    if pdb.status.as_ref() != Some(&decision.status) {
        let mut with_status = PodDisruptionBudget::clone(&pdb);
        with_status.status = Some(decision.status);
        Api::<PodDisruptionBudget>::namespaced(ctx.client.clone(), &ns)
            .replace_status(&pdb.name_any(), &PostParams::default(), &with_status)
            .await
            .map_err(Error::api("writing the status of", pdb.name_any()))?;
    }
    report(&ctx, &pdb, decision.notes).await;
    ctx.backoff.reset(NAME, &key(&pdb));
    let until_recheck = decision
        .recheck_at
        .map(|at| Duration::from_secs(u64::try_from(at - now + 1).unwrap_or(1)));
    Ok(Action::requeue(
        until_recheck.map_or(RESYNC, |d| d.min(RESYNC)),
    ))
}

/// The scale behind each controller the selected pods name, keyed by that controller's uid
/// (`finders` of kube's disruption controller: ReplicaSets, counted through their
/// Deployment, and ReplicationControllers). Others are left out: the decision fails safe.
async fn scales_of(
    ctx: &Ctx,
    ns: &str,
    pods: &[&Pod],
) -> Result<BTreeMap<String, ControllerScale>, Error> {
    let mut scales = BTreeMap::new();
    for owner in pods.iter().filter_map(|p| controller_ref(&p.metadata)) {
        if scales.contains_key(&owner.uid) {
            continue;
        }
        if let Some(scale) = scale_of(ctx, ns, owner).await? {
            scales.insert(owner.uid.clone(), scale);
        }
    }
    Ok(scales)
}

async fn scale_of(
    ctx: &Ctx,
    ns: &str,
    owner: &OwnerReference,
) -> Result<Option<ControllerScale>, Error> {
    let scale = |uid: Option<String>, replicas: Option<i32>| ControllerScale {
        uid: uid.unwrap_or_default(),
        replicas: replicas.unwrap_or(1),
    };
    match (owner.api_version.as_str(), owner.kind.as_str()) {
        ("apps/v1", "ReplicaSet") => {
            let key = ObjectRef::<ReplicaSet>::new(&owner.name).within(ns);
            let Some(rs) = ctx
                .replica_sets
                .get(&key)
                .filter(|rs| rs.uid().as_deref() == Some(&owner.uid))
            else {
                return Ok(None);
            };
            match controller_ref(&rs.metadata).filter(|r| r.kind == "Deployment") {
                Some(d) => {
                    let api = Api::<Deployment>::namespaced(ctx.client.clone(), ns);
                    let found = api
                        .get_opt(&d.name)
                        .await
                        .map_err(Error::api("reading", d.name.clone()))?
                        .filter(|dep| dep.uid().as_deref() == Some(&d.uid));
                    Ok(found.map(|dep| scale(dep.uid(), dep.spec.and_then(|s| s.replicas))))
                }
                None => Ok(Some(scale(
                    rs.uid(),
                    rs.spec.as_ref().and_then(|s| s.replicas),
                ))),
            }
        }
        ("v1", "ReplicationController") if crate::replication_controller::served() => {
            let api = Api::<ReplicationController>::namespaced(ctx.client.clone(), ns);
            let found = api
                .get_opt(&owner.name)
                .await
                .map_err(Error::api("reading", owner.name.clone()))?
                .filter(|rc| rc.uid().as_deref() == Some(&owner.uid));
            Ok(found.map(|rc| scale(rc.uid(), rc.spec.and_then(|s| s.replicas))))
        }
        _ => Ok(None),
    }
}

/// Records the decision's notes as Events on the budget (once each, see `events`).
async fn report(ctx: &Ctx, pdb: &PodDisruptionBudget, notes: Vec<DisruptionNote>) {
    let object = ObjectReference {
        api_version: Some(PodDisruptionBudget::api_version(&()).into()),
        kind: Some("PodDisruptionBudget".into()),
        name: pdb.metadata.name.clone(),
        namespace: pdb.metadata.namespace.clone(),
        uid: pdb.metadata.uid.clone(),
        ..ObjectReference::default()
    };
    for note in notes {
        let note = match note {
            DisruptionNote::NoPods => EventNote::normal("NoPods", "No matching pods found".into()),
            DisruptionNote::UnmanagedPods(pods) => EventNote::warning(
                "UnmanagedPods",
                format!(
                    "Pods selected by this PodDisruptionBudget were found to be unmanaged: {}. \
                     As a result, the status of the PDB cannot be calculated correctly, which \
                     may result in undefined behavior. To account for these pods please set \
                     \".spec.minAvailable\" field of the PDB to an integer value.",
                    pods.join(", ")
                ),
            ),
            DisruptionNote::Failed(why) => {
                EventNote::warning("CalculateExpectedPodCountFailed", why)
            }
            DisruptionNote::NotDeleted(pod) => EventNote::warning(
                "NotDeleted",
                format!("Pod {pod} was expected to be deleted but it was not"),
            ),
        };
        ctx.events.record(EVENT_SOURCE, &object, note).await;
    }
}
