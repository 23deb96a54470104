//! The Endpoints and EndpointSlice controller: for every Service with a selector, the
//! Endpoints object and the EndpointSlices of the pods it selects, re-decided whenever a
//! Service or a pod of its namespace changes.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use skiff_controllers::endpoints::{
    EndpointsPlan, SERVICE_NAME, reconcile_endpoints, reconcile_slices,
};

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;

/// The controller's name in metrics and logs.
const NAME: &str = "endpoints";

/// Runs the controller: its own watch of Services, triggered too by the shared pod cache.
pub(crate) async fn controller(ctx: Arc<Ctx>, pods: Shared<Pod>) {
    let api: Api<Service> = Api::all(ctx.client.clone());
    let controller = Controller::new(api, watcher::Config::default());
    let services = controller.store();
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = controller
        .watches_shared_stream(pods, move |pod| selecting(&services, &pod))
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

/// The Services of the pod's namespace whose selector matches its labels.
fn selecting(services: &Store<Service>, pod: &Pod) -> Vec<ObjectRef<Service>> {
    let ns = pod.metadata.namespace.as_deref();
    let labels = pod.labels();
    services
        .state()
        .iter()
        .filter(|svc| svc.metadata.namespace.as_deref() == ns)
        .filter(|svc| {
            svc.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|sel| {
                    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
                })
        })
        .map(|svc| ObjectRef::from_obj(svc.as_ref()))
        .collect()
}

fn error_policy(svc: Arc<Service>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&svc), error)
}

fn key(svc: &Service) -> String {
    format!(
        "endpoints/{}/{}",
        svc.namespace().unwrap_or_default(),
        svc.name_any()
    )
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let pods = ctx.pods_in(&ns);
    write_endpoints(&ctx, &svc, &pods).await?;
    write_slices(&ctx, &svc, &pods).await?;
    ctx.backoff.reset(NAME, &key(&svc));
    tracing::trace!("controller-manager: endpoints of {ns}/{name} written");
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn write_endpoints(ctx: &Ctx, svc: &Service, pods: &[Arc<Pod>]) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &ns);
    let current = api
        .get_opt(&name)
        .await
        .map_err(Error::api("reading the Endpoints of", name.clone()))?;
    let EndpointsPlan::Write(want) = reconcile_endpoints(svc, pods, current.as_ref()) else {
        return Ok(());
    };
    let mut want = *want;
    let written = match current {
        Some(current) => {
            want.meta_mut().resource_version = current.resource_version();
            api.replace(&name, &PostParams::default(), &want).await
        }
        None => api.create(&PostParams::default(), &want).await,
    };
    written
        .map(|_| ())
        .map_err(Error::api("writing the Endpoints of", name))
}

async fn write_slices(ctx: &Ctx, svc: &Service, pods: &[Arc<Pod>]) -> Result<(), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    let existing = api
        .list(&ListParams::default().labels(&format!("{SERVICE_NAME}={name}")))
        .await
        .map_err(Error::api("listing the EndpointSlices of", name.clone()))?
        .items;
    let Some(plan) = reconcile_slices(svc, pods, &existing) else {
        return Ok(());
    };
    for slice in &plan.create {
        api.create(&PostParams::default(), slice)
            .await
            .map_err(Error::api("creating an EndpointSlice of", name.clone()))?;
    }
    for slice in plan.update {
        let slice_name = slice.name_any();
        let mut slice = slice;
        slice.meta_mut().resource_version = existing
            .iter()
            .find(|s| s.name_any() == slice_name)
            .and_then(ResourceExt::resource_version);
        api.replace(&slice_name, &PostParams::default(), &slice)
            .await
            .map_err(Error::api("updating EndpointSlice", slice_name.clone()))?;
    }
    for slice_name in &plan.delete {
        match api.delete(slice_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("deleting EndpointSlice", slice_name.clone())(e)),
        }
    }
    Ok(())
}
