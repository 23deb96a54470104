//! A controller's writes to its pods: creations and deletions, `WRITE_CONCURRENCY` in flight
//! at once, the Events that report them on the owner, and removing a finalizer.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::context::Ctx;
use crate::error::Error;
use crate::events::EventNote;

/// Pod creations and deletions in flight at once for one owner.
const WRITE_CONCURRENCY: usize = 32;

/// Creates the pods; the names created, and the first error.
async fn create_pods(api: &Api<Pod>, pods: Vec<Pod>) -> (Vec<String>, Option<Error>) {
    let results: Vec<Result<String, Error>> = futures::stream::iter(pods)
        .map(|pod| async move {
            api.create(&PostParams::default(), &pod)
                .await
                .map(|p| p.name_any())
                .map_err(Error::api(
                    "creating a pod of",
                    pod.meta().generate_name.clone().unwrap_or_default(),
                ))
        })
        .buffer_unordered(WRITE_CONCURRENCY)
        .collect()
        .await;
    split(results)
}

/// Deletes the pods (one already gone counts as deleted); the names, and the first error.
pub(crate) async fn delete_pods(
    api: &Api<Pod>,
    names: Vec<String>,
) -> (Vec<String>, Option<Error>) {
    let results: Vec<Result<String, Error>> = futures::stream::iter(names)
        .map(|name| async move {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => Ok(name),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(name),
                Err(e) => Err(Error::api("deleting pod", name)(e)),
            }
        })
        .buffer_unordered(WRITE_CONCURRENCY)
        .collect()
        .await;
    split(results)
}

fn split(results: Vec<Result<String, Error>>) -> (Vec<String>, Option<Error>) {
    let mut done = Vec::new();
    let mut first = None;
    for result in results {
        match result {
            Ok(name) => done.push(name),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    (done, first)
}

/// Removes `finalizer` from the cached `pod` (a merge patch with the cached
/// `resourceVersion`, so a stale cache gets 409); a pod already gone is fine.
pub(crate) async fn remove_finalizer(
    api: &Api<Pod>,
    pod: &Pod,
    finalizer: &str,
) -> Result<(), Error> {
    let kept: Vec<&String> = pod
        .finalizers()
        .iter()
        .filter(|f| f.as_str() != finalizer)
        .collect();
    let patch = json!({"metadata": {
        "finalizers": kept,
        "resourceVersion": pod.resource_version(),
    }});
    match api
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::api("removing a finalizer of pod", pod.name_any())(e)),
    }
}

/// The controller that owns a set of pods, as its Events name it: the owner, and who reports.
pub(crate) struct PodOwner {
    pub(crate) object: ObjectReference,
    /// Kubernetes' name of the controller (`replicaset-controller`, `job-controller`, ...).
    pub(crate) source: &'static str,
}

impl PodOwner {
    pub(crate) fn of<K: Resource<DynamicType = ()>>(owner: &K, source: &'static str) -> PodOwner {
        PodOwner {
            object: owner.object_ref(&()),
            source,
        }
    }
}

/// Creates and deletes a controller's pods, recording them as the expectations of `key`
/// (the owner decides nothing new until the pod cache shows them) and as Events on the
/// owner (`Created pod: ...`, `Deleted pod: ...`, or the first error, in kube's words);
/// whether anything was written, or the first error.
pub(crate) async fn write_pods(
    ctx: &Ctx,
    key: &str,
    api: &Api<Pod>,
    owner: &PodOwner,
    create: Vec<Pod>,
    delete: Vec<String>,
) -> Result<bool, Error> {
    let (created, create_err) = create_pods(api, create).await;
    let (deleted, delete_err) = delete_pods(api, delete).await;
    let wrote = !created.is_empty() || !deleted.is_empty();
    record_pod_events(ctx, owner, &created, &deleted, [&create_err, &delete_err]).await;
    ctx.expectations.expect(key, created, deleted);
    create_err.or(delete_err).map_or(Ok(wrote), Err)
}

/// The Events of one round of pod writes, posted together.
async fn record_pod_events(
    ctx: &Ctx,
    owner: &PodOwner,
    created: &[String],
    deleted: &[String],
    [create_err, delete_err]: [&Option<Error>; 2],
) {
    let mut notes: Vec<EventNote> = Vec::new();
    notes.extend(
        created
            .iter()
            .map(|name| EventNote::normal("SuccessfulCreate", format!("Created pod: {name}"))),
    );
    notes.extend(
        deleted
            .iter()
            .map(|name| EventNote::normal("SuccessfulDelete", format!("Deleted pod: {name}"))),
    );
    if let Some(e) = create_err {
        notes.push(EventNote::warning(
            "FailedCreate",
            format!("Error creating: {}", e.cause()),
        ));
    }
    if let Some(e) = delete_err {
        notes.push(EventNote::warning(
            "FailedDelete",
            format!("Error deleting: {}", e.cause()),
        ));
    }
    futures::stream::iter(notes)
        .for_each_concurrent(WRITE_CONCURRENCY, |note| {
            ctx.events.record(owner.source, &owner.object, note)
        })
        .await;
}
